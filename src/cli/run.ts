/**
 * `shelf bundle run @scope/name[@range] [options] [-- server args]`: starts a bundle's MCP
 * server over stdio, so the command can be an agent host's server command.
 *
 * Steps: resolve the version and the artifact for this machine; reuse the cached copy if it
 * still verifies, else download it verified into the cache; unpack it once with
 * `extractZipSafely`; compute the command from the manifest (`launch-config.ts`); start it with
 * stdin, stdout and stderr inherited, forward termination signals, and exit with its status.
 *
 * Standard output belongs to the server (it is the MCP channel): this command writes nothing
 * there, except with `--dry-run`, which prints the command as JSON instead of starting it:
 * ```json
 * { "name": "@acme/echo", "version": "1.2.0", "status": "active", "os": "any", "arch": "any", "dir": "/abs/unpacked",
 *   "command": "/usr/bin/node", "args": ["/abs/unpacked/server/index.js"], "env": {"KEY": "value"},
 *   "verified": { "sha256", "size", "registry_signature": {"keyid", "package_signed_at"} | null, "attestation": {…} | null } }
 * ```
 * `verified` is what was checked before the sha256 was trusted (see `pull.ts`).
 * Values of `sensitive` user_config keys are shown as `***` there.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { ShelfError, isShelfError } from '../core/errors.ts';
import type { PackageName } from '../core/names.ts';
import { obtainArtifact, unpackBundle, type ObtainedArtifact } from './artifact-cache.ts';
import { bundleRecordPath, readBundleRecord, writeBundleRecord } from './bundle-records.ts';
import { statusJson, warnStatus } from './status-notice.ts';
import { effectiveStatus, statusNotice } from '../core/lifecycle.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  parseArch,
  commandArgs,
  parseOs,
  parsePackageSpec,
  requireCacheDir,
  usageError,
  type CommandContext,
} from './common.ts';
import { buildLaunchConfig, userConfigEnvName, type LaunchConfig } from './launch-config.ts';

/** Help text of `shelf bundle run`. */
export function runHelp(host: { os: string; arch: string }): string {
  return `Usage: shelf bundle run <@scope/name[@version|@range]> [options] [-- server args...]

Starts a bundle's MCP server on this machine, speaking MCP over stdin/stdout. Use it as the
server command of an agent host, e.g. {"command": "npx", "args": ["shelf", "bundle", "run", "@acme/echo"]}.

The bundle is downloaded once into the cache and verified (size and sha256); later runs reuse
the cached copy after checking it again, and revalidate the registry's documents with ETags.
It is unpacked safely (no path traversal, absolute paths, links, or oversized content) and
started as its manifest's server.mcp_config says (\${__dirname} is the unpacked directory,
platform_overrides apply). When the registry cannot be reached (or stalls past the timeouts, or
sends a document over the size cap), the cached copy is used, with a note: whether it was
removed since could not be checked. A version the registry shows as removed by its operator is
refused, cached or not; a yanked or deprecated one runs with a warning, and ranges and "latest"
skip yanked versions.

Configuration declared in the manifest's user_config is given with --config KEY=VALUE (repeat
it for a key that takes several values) or the environment variable SHELF_CONFIG_<KEY>
(several values separated by "${process.platform === 'win32' ? ';' : ':'}"). Defaults apply; a required key without a value is an error.

Options:
  --os OS          Platform of the artifact (default: ${host.os}, this machine)
  --arch ARCH      Architecture of the artifact (default: ${host.arch}, this machine)
  -c, --config K=V A user_config value (repeatable)
  --dry-run        Print the command, arguments and environment as JSON instead of starting it
  -- args...       Extra arguments appended to the server's arguments
${COMMON_HELP}

Exit status: the server's (128 + signal number when it is killed by a signal).`;
}

/**
 * Resolves, caches, unpacks and starts a bundle.
 *
 * @returns The server's exit code.
 */
export async function runCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf bundle run';
  // Everything after "--" belongs to the server, not to us.
  const separator = args.indexOf('--');
  const ours = separator === -1 ? args : args.slice(0, separator);
  const extra = separator === -1 ? [] : args.slice(separator + 1);
  const parsed = commandArgs(command, ours, {
    ...COMMON_OPTIONS,
    os: { type: 'string' },
    arch: { type: 'string' },
    config: { type: 'string', short: 'c', multiple: true },
    'dry-run': { type: 'boolean' },
  }, ctx, runHelp(ctx.host));
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const spec = parsePackageSpec(command, positionals);
  const want = { os: parseOs(command, values.os) ?? ctx.host.os, arch: parseArch(command, values.arch) ?? ctx.host.arch };
  const userValues = parseConfigFlags(command, values.config ?? []);
  const cacheDir = requireCacheDir(ctx);
  const offline = values.offline === true || ctx.globalOffline;
  const registry = ctx.registryUrl(values.registry);

  const obtain = (off: boolean): Promise<ObtainedArtifact> =>
    obtainArtifact({
      client: ctx.client(values.registry, { offline: off }),
      cacheDir,
      kind: 'bundle',
      name: spec.name,
      range: spec.range,
      want,
      offline: off,
      progress: { write: ctx.writeErr, enabled: ctx.stderrIsTTY },
    });
  const previous = await readBundleRecord(bundleRecordPath(cacheDir, registry, spec.name, want));
  let obtained: ObtainedArtifact;
  let checked = !offline;
  try {
    obtained = await obtain(offline);
  } catch (error) {
    // An agent host starting its servers on a plane, or against a registry that stalls or answers
    // an oversized document: the last verified copy is better than nothing (or than hanging).
    if (offline || !(isShelfError(error, 'registry_unreachable') || isShelfError(error, 'document_too_large'))) throw error;
    ctx.err(`shelf: ${error.message} Using the cached copy.`);
    checked = false;
    obtained = await obtain(true).catch((cacheError: unknown) => {
      throw isShelfError(cacheError, 'not_cached') ? error : cacheError;
    });
  }
  const label = `${obtained.pkg.name}@${obtained.version.version}`;
  if (!checked) {
    ctx.err(`shelf: note: ${label} runs from the cache without asking the registry whether it was yanked, deprecated or removed since.`);
  }
  warnStatus(ctx, obtained.pkg, obtained.version.version);
  // The copy this bundle ran as before was taken down: say why another version runs now.
  if (checked && previous && previous.version !== obtained.version.version) {
    const before = effectiveStatus(obtained.pkg, previous.version);
    if (before.status === 'removed') ctx.err(`shelf: ${statusNotice(obtained.pkg.name, previous.version, before)} Running ${obtained.version.version} instead.`);
  }
  if (!offline) await recordBundle(cacheDir, registry, spec.name, spec.range, want, obtained);

  const dir = await unpackBundle(cacheDir, obtained.file, obtained.artifact.sha256);
  const manifest = await readManifest(dir);
  const launch = buildLaunchConfig(manifest, {
    dirname: dir,
    platform: process.platform,
    pathSeparator: sep,
    systemDirs: systemDirs(ctx.env),
    userValues: collectUserValues(manifest, userValues, ctx.env),
    resolvePath: (p) => resolve(ctx.cwd, p),
  });
  // The host's own Node runs "node" bundles, as desktop hosts do with their built-in runtime.
  const executable = launch.command === 'node' ? process.execPath : launch.command;
  const serverArgs = [...launch.args, ...extra];

  if (values['dry-run']) {
    ctx.out(
      JSON.stringify(
        redact(
          {
            name: obtained.pkg.name,
            version: obtained.version.version,
            ...statusJson(obtained.status),
            os: obtained.artifact.os,
            arch: obtained.artifact.arch,
            dir,
            command: executable,
            args: serverArgs,
            env: launch.env,
            verified: obtained.verified,
          },
          launch,
        ),
        null,
        2,
      ),
    );
    return 0;
  }
  return startServer(executable, serverArgs, launch.env, ctx, `${obtained.pkg.name}@${obtained.version.version}`);
}

/** `--config KEY=VALUE` flags, grouped by key (a key may repeat for `multiple` options). */
function parseConfigFlags(command: string, flags: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw usageError(command, `--config takes KEY=VALUE; got "${flag}"`);
    const key = flag.slice(0, eq);
    (out[key] ??= []).push(flag.slice(eq + 1));
  }
  return out;
}

/** Flags win over `SHELF_CONFIG_<KEY>` variables, which only apply to keys the manifest declares. */
function collectUserValues(
  manifest: Record<string, unknown>,
  flags: Record<string, string[]>,
  env: Record<string, string | undefined>,
): Record<string, string[]> {
  const values: Record<string, string[]> = { ...flags };
  const declared = typeof manifest.user_config === 'object' && manifest.user_config !== null ? manifest.user_config : {};
  for (const [key, option] of Object.entries(declared as Record<string, { multiple?: boolean }>)) {
    if (Object.hasOwn(values, key)) continue;
    const fromEnv = env[userConfigEnvName(key)];
    if (fromEnv === undefined) continue;
    values[key] = option?.multiple ? fromEnv.split(process.platform === 'win32' ? ';' : ':').filter((v) => v !== '') : [fromEnv];
  }
  return values;
}

function systemDirs(env: Record<string, string | undefined>): Record<string, string> {
  const home = env.HOME || env.USERPROFILE || homedir();
  return { HOME: home, DESKTOP: join(home, 'Desktop'), DOCUMENTS: join(home, 'Documents'), DOWNLOADS: join(home, 'Downloads') };
}

async function readManifest(dir: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch {
    throw new ShelfError('invalid_manifest', 'The bundle has no manifest.json at its root.');
  }
  try {
    const manifest: unknown = JSON.parse(text);
    if (typeof manifest === 'object' && manifest !== null && !Array.isArray(manifest)) return manifest as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new ShelfError('invalid_manifest', "The bundle's manifest.json is not a JSON object.");
}

async function recordBundle(
  cacheDir: string,
  registry: string,
  name: PackageName,
  range: string | undefined,
  want: { os: string; arch: string },
  obtained: ObtainedArtifact,
): Promise<void> {
  await writeBundleRecord(cacheDir, name, {
    registry,
    name: obtained.pkg.name,
    range: range ?? 'latest',
    version: obtained.version.version,
    want,
    os: obtained.artifact.os,
    arch: obtained.artifact.arch,
    sha256: obtained.artifact.sha256,
    size: obtained.artifact.size,
    file: obtained.file,
    cached_at: new Date().toISOString(),
  }).catch(() => {
    // The record only feeds `outdated`; failing to write it must not stop the server.
  });
}

function redact<T>(value: T, launch: LaunchConfig): T {
  if (launch.secrets.length === 0) return value;
  const hide = (s: string) => launch.secrets.reduce((acc, secret) => acc.split(secret).join('***'), s);
  return JSON.parse(JSON.stringify(value), (_key, v: unknown) => (typeof v === 'string' ? hide(v) : v)) as T;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Starts the server with inherited stdio and resolves with its exit code. */
function startServer(command: string, args: string[], env: Record<string, string>, ctx: CommandContext, label: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      stdio: 'inherit',
      cwd: ctx.cwd,
      env: { ...ctx.env, ...env },
      windowsHide: true,
    });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const cleanup = () => {
      for (const signal of SIGNALS) process.off(signal, forward);
    };
    for (const signal of SIGNALS) process.on(signal, forward);
    child.once('error', (error: NodeJS.ErrnoException) => {
      cleanup();
      reject(
        new ShelfError(
          'server_start_failed',
          error.code === 'ENOENT'
            ? `Cannot start ${label}: the command "${command}" was not found. The bundle needs it installed and on PATH.`
            : `Cannot start ${label} (${command}): ${error.message}`,
          { command },
        ),
      );
    });
    child.once('exit', (code, signal) => {
      cleanup();
      resolvePromise(code ?? 128 + signalNumber(signal));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  return signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 0;
}
