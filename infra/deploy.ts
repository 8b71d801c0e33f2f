/**
 * One command per operator task:
 *
 * - `npm run deploy -- -c audience=https://registry.example.com [cdk deploy flags...]` builds the
 *   function (`scripts/build-lambda.ts`), runs the CDK CLI's `deploy` on `infra/app.ts` (the CLI
 *   is the `aws-cdk` dev dependency, pinned by the lockfile: `npm ci` installs it), then uploads
 *   `v1/config.json` and the web pages with the stack's outputs (`scripts/upload-assets.ts`), with
 *   the same `--profile` as the CDK.
 * - `npm run synth -- -c audience=...` builds the function and synthesizes the CloudFormation
 *   template into `dist/cdk.out/` offline, without the CDK CLI and without an AWS account, and
 *   prints the warnings synthesis recorded (the CDK CLI prints them; a bare synth would not).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ShelfError } from '../src/core/errors.ts';
import { buildLambda, formatBytes, ROOT } from '../scripts/build-lambda.ts';
import { envFromOutputs, uploadAssets } from '../scripts/upload-assets.ts';
import { CONTEXT_KEYS } from './settings.ts';

/** Where the cloud assembly is written. */
export const CDK_OUT = join(ROOT, 'dist', 'cdk.out');
/** Where `cdk deploy` writes the stack's outputs, read by the asset upload. */
export const OUTPUTS_FILE = join(ROOT, 'dist', 'cdk-outputs.json');
/** The CDK CLI: the `aws-cdk` dev dependency, at the version the lockfile pins (never fetched by npx). */
export const CDK_CLI = join(ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const APP = 'npx tsx infra/app.ts';

/** The CDK CLI's arguments for the deploy: this app, and the operator's own flags last. */
export function cdkDeployArgs(passthrough: string[]): string[] {
  return ['deploy', '--app', APP, '--output', CDK_OUT, '--outputs-file', OUTPUTS_FILE, ...passthrough];
}

/**
 * The AWS profile the operator named among the deploy's flags (`--profile p` or `--profile=p`),
 * which every AWS call of the deploy must use: the CDK's and the asset upload's.
 */
export function profileOf(args: string[]): string | undefined {
  let profile: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--profile') profile = args[++i];
    else if (args[i]!.startsWith('--profile=')) profile = args[i]!.slice('--profile='.length);
  }
  return profile;
}

/**
 * The warnings and errors a synthesis recorded in its cloud assembly (`manifest.json`), as lines
 * `[warning] path: message`. The CDK CLI prints them; a synth without it must print them itself.
 */
export function synthMessages(outdir: string): string[] {
  const manifestFile = join(outdir, 'manifest.json');
  if (!existsSync(manifestFile)) return [];
  type Metadata = Record<string, Array<{ type: string; data: unknown }>>;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { artifacts?: Record<string, { metadata?: Metadata; additionalMetadataFile?: string }> };
  const lines: string[] = [];
  for (const artifact of Object.values(manifest.artifacts ?? {})) {
    // Newer assemblies keep a stack's metadata in a file of its own.
    const extra = artifact.additionalMetadataFile ? (JSON.parse(readFileSync(join(outdir, artifact.additionalMetadataFile), 'utf8')) as Metadata) : {};
    for (const metadata of [artifact.metadata ?? {}, extra]) {
      for (const [path, entries] of Object.entries(metadata)) {
        for (const entry of entries) {
          const level = entry.type === 'aws:cdk:warning' ? 'warning' : entry.type === 'aws:cdk:error' ? 'error' : null;
          if (level) lines.push(`[${level}] ${path}: ${String(entry.data)}`);
        }
      }
    }
  }
  return lines;
}

/**
 * Parses `-c key=value` / `--context key=value` (and `--context=key=value`) pairs; with
 * `others`, every other argument is collected there (the deploy passes them on to the CDK CLI).
 * A key the app does not know is refused, so a typo such as `-c audiance=...` never deploys.
 * Keys with `:` or `@` (CDK feature flags) are let through.
 *
 * @throws ShelfError `invalid_argument` naming the argument at fault.
 */
export function parseContextArgs(argv: string[], others?: string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let pair: string | undefined;
    if (arg === '-c' || arg === '--context') pair = argv[++i];
    else if (arg.startsWith('--context=')) pair = arg.slice('--context='.length);
    else if (others) {
      others.push(arg);
      continue;
    } else throw new ShelfError('invalid_argument', `synth takes only -c key=value context, got ${JSON.stringify(arg)}.`);
    const eq = pair?.indexOf('=') ?? -1;
    if (pair === undefined || eq <= 0) throw new ShelfError('invalid_argument', `${arg} needs key=value, got ${JSON.stringify(pair ?? null)}.`);
    const key = pair.slice(0, eq);
    if (!(CONTEXT_KEYS as readonly string[]).includes(key) && !/[:@]/.test(key)) {
      throw new ShelfError('invalid_argument', `Unknown context key ${JSON.stringify(key)}; the keys are ${CONTEXT_KEYS.join(', ')} (see infra/README.md).`);
    }
    context[key] = pair.slice(eq + 1);
  }
  return context;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: 'inherit', env });
    child.on('error', fail);
    child.on('close', (code) => done(code ?? 1));
  });
}

async function build(): Promise<void> {
  const built = await buildLambda();
  console.log(`built ${built.zipFile.replace(`${ROOT}/`, '')} (${formatBytes(built.zipBytes)} zipped, ${formatBytes(built.bundleBytes)} raw)`);
}

async function cli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'synth') {
    const context = parseContextArgs(rest);
    await build();
    const code = await run(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
      ...process.env,
      CDK_OUTDIR: CDK_OUT,
      CDK_CONTEXT_JSON: JSON.stringify(context),
    });
    for (const line of synthMessages(CDK_OUT)) console.error(line);
    if (code === 0) console.log(`synthesized into ${CDK_OUT.replace(`${ROOT}/`, '')}/`);
    return code;
  }
  if (command === 'deploy') {
    if (rest.includes('-h') || rest.includes('--help')) {
      console.log('Usage: npm run deploy -- -c audience=<your registry URL> [-c key=value...] [cdk deploy flags]\nSee infra/README.md.');
      return 0;
    }
    parseContextArgs(rest, []); // refuses unknown keys before anything is built or deployed
    if (!existsSync(CDK_CLI)) throw new ShelfError('invalid_config', `The CDK CLI is not installed (${CDK_CLI}): run "npm ci" first.`);
    await build();
    const code = await run(process.execPath, [CDK_CLI, ...cdkDeployArgs(rest)]);
    if (code !== 0) return code;
    // The upload uses the profile the CDK used (and the stack's region, from its outputs).
    const profile = profileOf(rest);
    const base = { ...process.env, ...(profile ? { AWS_PROFILE: profile } : {}) };
    const uploaded = await uploadAssets(envFromOutputs(JSON.parse(readFileSync(OUTPUTS_FILE, 'utf8')), undefined, base));
    console.log(`${uploaded.store}: wrote ${uploaded.config} and ${uploaded.web.length} web files`);
    return 0;
  }
  console.error('error[invalid_argument]: usage: tsx infra/deploy.ts deploy|synth [-c key=value...]');
  return 2;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const code = (err as { code?: unknown })?.code;
      console.error(`error[${typeof code === 'string' ? code : 'internal_error'}]: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(code === 'invalid_argument' ? 2 : 1);
    },
  );
}
