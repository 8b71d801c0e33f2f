/**
 * `npm run build:lambda [-- --sourcemap] [-- --out-dir DIR]`: bundles the announce function
 * (`src/lambda.ts`) with esbuild into ONE ES module for the Node.js 22 Lambda runtime,
 * `dist/lambda/index.mjs`, and zips it into `dist/lambda/shelf-announce.zip`, ready to upload
 * (the CDK stack in `infra/` deploys that zip). Prints the bundle's size, raw and zipped.
 *
 * Everything the function imports is in the bundle, the AWS SDK included, so the artifact that
 * is tested (`test/deploy/lambda-bundle.test.ts`) is exactly the one that runs; nothing depends on
 * the SDK version the runtime happens to ship. The build refuses a bundle that pulls in a
 * development-only module (see {@link checkBundleInputs}), and writes nothing in that case.
 *
 * @module
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { zipSync } from 'fflate';
import { nonRuntimeInputs, packagePath, type Lockfile } from './runtime-packages.ts';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Default output folder. */
export const DEFAULT_OUT_DIR = join(ROOT, 'dist', 'lambda');
/** Name of the zip in the output folder. */
export const ZIP_NAME = 'shelf-announce.zip';
/** Name of the bundle in the output folder and in the zip (the handler is `index.handler`). */
export const BUNDLE_NAME = 'index.mjs';

// The bundled AWS SDK (CommonJS) calls require(); an ES module has none, so give it one.
const BANNER = "import { createRequire } from 'module'; const require = createRequire(import.meta.url);";
// Fixed zip timestamps: the same bundle gives the same zip, so CDK sees no change to deploy.
const ZIP_EPOCH = new Date('2020-01-01T00:00:00Z');

/** Options of {@link buildLambda}. */
export interface BuildLambdaOptions {
  /** Output folder. Default `dist/lambda`. */
  outDir?: string;
  /** Also write `index.mjs.map` (and put it in the zip). Default false. */
  sourcemap?: boolean;
}

/** What {@link buildLambda} wrote. */
export interface BuiltLambda {
  /** Absolute path of `index.mjs`. */
  bundleFile: string;
  /** Absolute path of the zip. */
  zipFile: string;
  /** Size of `index.mjs` in bytes. */
  bundleBytes: number;
  /** Size of the zip in bytes. */
  zipBytes: number;
  /** Every input esbuild put in the bundle, as paths relative to the repository root. */
  inputs: string[];
  /** Bytes each package or source folder contributes to `index.mjs`, largest first. */
  contributions: Array<[string, number]>;
}

/** A module that must never be in the function's bundle, and why. */
const FORBIDDEN: Array<{ test: (input: string) => boolean; why: string }> = [
  { test: (i) => i.startsWith('src/dev/'), why: 'development mode (src/dev) is never deployed' },
  { test: (i) => i.startsWith('src/cli/') || i.startsWith('src/server/') || i.startsWith('test/'), why: 'the function needs neither the CLI, the local server nor tests' },
  {
    test: (i) => i.includes('node_modules/@anthropic-ai/mcpb/') && !i.includes('node_modules/@anthropic-ai/mcpb/dist/schemas/') && !i.includes('/node_modules/zod/'),
    why: 'only the manifest schemas of @anthropic-ai/mcpb are needed at runtime, not its packer',
  },
  { test: (i) => i.includes('node_modules/@inquirer/'), why: '@inquirer (the mcpb packer CLI prompts) is not needed at runtime' },
];

/** Inputs that must be in the bundle: the entry point and the runtime pieces easiest to lose. */
const REQUIRED = ['src/lambda.ts', 'node_modules/@anthropic-ai/mcpb/dist/schemas/index.js'];

/**
 * Checks a bundle's inputs: none may be development-only, which means neither one of
 * {@link FORBIDDEN} nor a package outside the runtime libraries and their dependencies
 * (`scripts/runtime-packages.ts`).
 *
 * @param inputs - esbuild metafile input paths, relative to the repository root.
 * @param lock - The parsed `package-lock.json` (lockfile v2/v3, with its `packages` map).
 * @throws Error listing every offending input and the reason.
 */
export function checkBundleInputs(inputs: string[], lock: Lockfile): void {
  const problems: string[] = [];
  const allowed: string[] = [];
  for (const input of inputs) {
    const rule = FORBIDDEN.find((r) => r.test(input));
    if (rule) problems.push(`${input}: ${rule.why}`);
    else allowed.push(input);
  }
  problems.push(...nonRuntimeInputs(allowed, lock));
  for (const required of REQUIRED) {
    if (!inputs.includes(required)) problems.push(`${required}: required at runtime but missing from the bundle`);
  }
  if (problems.length > 0) throw new Error(`The Lambda bundle has inputs it must not have:\n  ${problems.join('\n  ')}`);
}

/**
 * Bundles, checks and zips the function. Files are written only after the checks pass, each
 * through a temporary file and a rename, so a failed build leaves the previous one intact.
 *
 * @throws Error when esbuild fails or the bundle has a forbidden input.
 */
export async function buildLambda(options: BuildLambdaOptions = {}): Promise<BuiltLambda> {
  if (options.outDir !== undefined && (typeof options.outDir !== 'string' || options.outDir === '')) {
    throw new TypeError('"outDir" option must be a non-empty string');
  }
  const outDir = resolve(options.outDir ?? DEFAULT_OUT_DIR);
  const sourcemap = options.sourcemap === true;
  const bundleFile = join(outDir, BUNDLE_NAME);
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/lambda.ts'],
    outfile: bundleFile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    // Prefer packages' ES module builds: they tree-shake (the AWS SDK ships both).
    mainFields: ['module', 'main'],
    // Inputs keep their paths under this checkout's node_modules even when it is a symlink (a
    // shared install, a worktree): the checks below match those paths, and the lockfile names them.
    preserveSymlinks: true,
    minify: true,
    sourcemap: sourcemap ? 'linked' : false,
    banner: { js: BANNER },
    metafile: true,
    write: false,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs).sort();
  checkBundleInputs(inputs, JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')));

  const files = new Map<string, Uint8Array>();
  for (const file of result.outputFiles) files.set(file.path.slice(outDir.length + 1), file.contents);
  const bundle = files.get(BUNDLE_NAME);
  if (!bundle) throw new Error(`esbuild produced no ${BUNDLE_NAME}.`);
  // Mode 0644: Lambda runs the code as another user, which must be able to read it.
  const zip = zipSync(
    Object.fromEntries([...files].map(([name, bytes]) => [name, [bytes, { os: 3, attrs: 0o100644 << 16 }]])),
    { level: 9, mtime: ZIP_EPOCH },
  );

  mkdirSync(outDir, { recursive: true });
  if (!sourcemap) rmSync(`${bundleFile}.map`, { force: true }); // never leave a stale map beside a new bundle
  for (const [name, bytes] of files) writeAtomically(join(outDir, name), bytes);
  const zipFile = join(outDir, ZIP_NAME);
  writeAtomically(zipFile, zip);
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(BUNDLE_NAME))?.[1];
  return { bundleFile, zipFile, bundleBytes: bundle.byteLength, zipBytes: zip.byteLength, inputs, contributions: contributions(output?.inputs ?? {}) };
}

function writeAtomically(file: string, bytes: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes);
    renameSync(tmp, file);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** `1234567` → `1.18 MiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

/** Bytes each package (or source folder) contributes to the bundle, largest first. */
function contributions(inputs: Record<string, { bytesInOutput: number }>): Array<[string, number]> {
  const sizes = new Map<string, number>();
  for (const [path, { bytesInOutput }] of Object.entries(inputs)) {
    const key = packagePath(path)?.replace(/^.*node_modules\//, '') ?? (path.split('/').slice(0, 2).join('/') || path);
    sizes.set(key, (sizes.get(key) ?? 0) + bytesInOutput);
  }
  return [...sizes].sort((a, b) => b[1] - a[1]);
}

async function cli(argv: string[]): Promise<number> {
  let sourcemap = false;
  let outDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--sourcemap') sourcemap = true;
    else if (arg === '--out-dir' && argv[i + 1]) outDir = argv[++i];
    else if (arg === '-h' || arg === '--help') {
      console.log('Usage: npm run build:lambda [-- --sourcemap] [-- --out-dir DIR]');
      return 0;
    } else {
      console.error(`error[invalid_argument]: unknown or incomplete option ${JSON.stringify(arg)}; see --help`);
      return 2;
    }
  }
  const built = await buildLambda({ sourcemap, ...(outDir ? { outDir } : {}) });
  const rel = (p: string) => p.replace(`${ROOT}/`, '');
  console.log(`${rel(built.bundleFile)}  ${formatBytes(built.bundleBytes)} (${built.bundleBytes} bytes)`);
  console.log(`${rel(built.zipFile)}  ${formatBytes(built.zipBytes)} zipped (${built.zipBytes} bytes)${sourcemap ? ', with source map' : ''}`);
  console.log(`largest parts: ${built.contributions.slice(0, 6).map(([name, n]) => `${name} ${formatBytes(n)}`).join(', ')}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
