/**
 * `npm run build:cli` (also run by `npm pack`, through `prepack`): compiles the published command
 * line into `dist/cli/`, and the web pages into `dist/www/`.
 *
 * - `dist/cli/main.js` and its chunks: `src/cli/main.ts` bundled by esbuild into ES modules with
 *   code splitting, so each command loads only its own code (`shelf --help` reads a few kilobytes;
 *   `shelf search` the client and the search engine, never the packer, the server or the S3 SDK).
 *   Every library the code uses is inlined (minisearch, semver, zod, yaml, fflate, jose, the mcpb
 *   manifest schemas), so the package has no dependencies to download. A few are left out and loaded
 *   only when asked for, from next to the package: `@aws-sdk/client-s3` (a bucket named by
 *   `SHELF_STORE=s3://...`; `@aws-sdk/client-kms` likewise, for a KMS signing key),
 *   `@aws-sdk/client-cloudfront` (the CDN invalidation of `shelf takedown`) and
 *   `@anthropic-ai/mcpb`'s packer (`shelf serve --dev`). `bin/shelf.js`
 *   runs it when there are no sources beside it.
 * - `dist/cli/THIRD-PARTY-LICENSES.md`: the name, version, licence and licence text of every
 *   package inlined.
 * - `dist/www/`: the web pages' script and style sheet, so `shelf serve` publishes its pages
 *   without esbuild.
 *
 * The build refuses a bundle that inlines a development tool, the packer or the AWS SDK, and
 * writes nothing then; otherwise it replaces `dist/cli/` whole (built aside, then renamed).
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { PREBUILT_DIR, writePrebuiltAssets } from '../src/registry/web-assets.ts';
import { formatBytes } from './build-lambda.ts';
import { nonRuntimeInputs, packagePath, type Lockfile } from './runtime-packages.ts';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where the command line is written (`bin/shelf.js` imports `../dist/cli/main.js`). */
export const CLI_DIR = join(ROOT, 'dist', 'cli');
/** The licence notices of the inlined packages, in {@link CLI_DIR}. */
export const LICENSES_FILE = 'THIRD-PARTY-LICENSES.md';

// Bundled CommonJS (semver) calls require(); an ES module has none, so each chunk gets one.
const BANNER = "import { createRequire as __shelfCreateRequire } from 'node:module'; const require = __shelfCreateRequire(import.meta.url);";

/**
 * Packages imported at run time from next to the installed package, never inlined: the S3 SDK,
 * the mcpb packer (its manifest schemas, `@anthropic-ai/mcpb/schemas`, are inlined), and esbuild
 * (the web pages are prebuilt in `dist/www/`).
 */
const EXTERNAL = /^(@aws-sdk\/client-(s3|kms)(\/.*)?|@aws-sdk\/client-cloudfront|@anthropic-ai\/mcpb|esbuild)$/;

/** A module that must never be inlined into the command line, and why. */
const FORBIDDEN: Array<{ test: (input: string) => boolean; why: string }> = [
  { test: (i) => i.startsWith('test/') || i.startsWith('bench/') || i.startsWith('scripts/'), why: 'tests, bench and build scripts are not shipped' },
  { test: (i) => i.includes('node_modules/@aws-sdk/') || i.includes('node_modules/@smithy/'), why: 'the AWS SDK is loaded from next to the package, only for an S3 store' },
  {
    test: (i) => packagePath(i) === 'node_modules/@anthropic-ai/mcpb' && !i.includes('node_modules/@anthropic-ai/mcpb/dist/schemas/'),
    why: 'only the manifest schemas of @anthropic-ai/mcpb are inlined, not its packer',
  },
];

/** What {@link buildCli} wrote. */
export interface BuiltCli {
  /** Absolute path of `dist/cli/`. */
  dir: string;
  /** Every file written to it, relative, sorted. */
  files: string[];
  /** Bytes of JavaScript in `dist/cli/`. */
  bytes: number;
  /** The inlined packages, `name@version`, sorted. */
  packages: string[];
  /** The files `dist/www/` holds now. */
  web: string[];
}

/** Options of {@link buildCli}. */
export interface BuildCliOptions {
  /** Output folder of the command line. Default {@link CLI_DIR}. */
  outDir?: string;
  /** Also write the web pages' prebuilt assets into `dist/www/`. Default true. */
  web?: boolean;
}

/**
 * Builds the command line (and by default the web pages' assets).
 *
 * @throws Error when esbuild fails or the bundle inlines what it must not.
 */
export async function buildCli(options: BuildCliOptions = {}): Promise<BuiltCli> {
  if (options.outDir !== undefined && (typeof options.outDir !== 'string' || options.outDir === '')) {
    throw new TypeError('"outDir" option must be a non-empty string');
  }
  const outDir = resolve(options.outDir ?? CLI_DIR);
  const staging = `${outDir}.${process.pid}.tmp`;
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'src/cli/main.ts' },
    outdir: staging,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Prefer packages' ES module builds: they tree-shake.
    mainFields: ['module', 'main'],
    // Inputs keep their paths under this checkout's node_modules even when it is a symlink.
    preserveSymlinks: true,
    minify: true,
    legalComments: 'none',
    chunkNames: 'chunk-[hash]',
    banner: { js: BANNER },
    plugins: [externalPackages()],
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as Lockfile;
  const problems = [
    ...inputs.flatMap((input) => FORBIDDEN.filter((r) => r.test(input)).map((r) => `${input}: ${r.why}`)),
    ...nonRuntimeInputs(inputs, lock),
  ];
  if (!inputs.includes('src/cli/main.ts')) problems.push('src/cli/main.ts: the entry point is missing from the bundle');
  if (problems.length > 0) throw new Error(`The command line's bundle has inputs it must not have:\n  ${problems.join('\n  ')}`);

  const packages = inlinedPackages(inputs);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    for (const file of result.outputFiles) writeFileSync(file.path, file.contents, { mode: 0o644 });
    writeFileSync(join(staging, LICENSES_FILE), licenseNotices(packages));
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(staging, outDir);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const web = options.web === false ? [] : await writePrebuiltAssets(PREBUILT_DIR);
  const files = readdirSync(outDir).sort();
  const bytes = result.outputFiles.reduce((sum, f) => sum + f.contents.byteLength, 0);
  return { dir: outDir, files, bytes, packages: packages.map((p) => `${p.name}@${p.version}`), web };
}

/** Marks {@link EXTERNAL} imports external by their exact specifier (esbuild's own option would take every subpath too). */
function externalPackages(): Plugin {
  return {
    name: 'shelf-external',
    setup(b) {
      b.onResolve({ filter: /^(@aws-sdk|@anthropic-ai|esbuild)/ }, (args) => (EXTERNAL.test(args.path) ? { path: args.path, external: true } : undefined));
    },
  };
}

interface InlinedPackage {
  name: string;
  version: string;
  license: string;
  text: string;
}

/** Every package whose files are inputs, with its licence text (the LICENSE file beside its package.json). */
function inlinedPackages(inputs: string[]): InlinedPackage[] {
  const dirs = new Set(inputs.map(packagePath).filter((p): p is string => p !== null));
  type Meta = { name: string; version: string; license?: string; repository?: string | { url?: string } };
  const metas = [...dirs].map((dir) => ({ dir, meta: JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Meta }));
  const licenseFile = (dir: string) => readdirSync(join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const repositoryOf = (meta: Meta) => (typeof meta.repository === 'string' ? meta.repository : meta.repository?.url);
  const packages: InlinedPackage[] = [];
  for (const { dir, meta } of metas) {
    let file = licenseFile(dir);
    let from = dir;
    // A package of a monorepo may ship without the repository's LICENSE that its siblings carry (@sigstore/verify).
    if (!file && repositoryOf(meta)) {
      const sibling = metas.find((m) => m.dir !== dir && repositoryOf(m.meta) === repositoryOf(meta) && m.meta.license === meta.license && licenseFile(m.dir));
      if (sibling) [file, from] = [licenseFile(sibling.dir), sibling.dir];
    }
    if (!file) throw new Error(`${meta.name} is inlined into the command line but has no LICENSE file to include.`);
    packages.push({ name: meta.name, version: meta.version, license: meta.license ?? 'see text', text: readFileSync(join(ROOT, from, file), 'utf8').trim() });
  }
  return packages.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function licenseNotices(packages: InlinedPackage[]): string {
  const sections = packages.map((p) => `## ${p.name} ${p.version} (${p.license})\n\n\`\`\`\n${p.text}\n\`\`\`\n`);
  return `# Third-party software in the shelf command line\n\nThe files in this folder inline the following packages.\n\n${sections.join('\n')}`;
}

async function cli(argv: string[]): Promise<number> {
  if (argv.includes('-h') || argv.includes('--help')) {
    console.log('Usage: npm run build:cli   (writes dist/cli/ and dist/www/; npm pack runs it)');
    return 0;
  }
  if (argv.length > 0) {
    console.error(`error[invalid_argument]: unknown option ${JSON.stringify(argv[0])}; see --help`);
    return 2;
  }
  const built = await buildCli();
  console.log(`Wrote ${built.files.length} files to ${built.dir} (${formatBytes(built.bytes)} of JavaScript), inlining ${built.packages.join(', ')}.`);
  console.log(`Wrote ${built.web.length} files to ${PREBUILT_DIR}.`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && existsSync(ROOT)) {
  process.exitCode = await cli(process.argv.slice(2));
}
