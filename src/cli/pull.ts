/**
 * `shelf bundle pull` / `shelf skill pull`: download a package's artifact for a platform,
 * verified against the sha256 and size in its version document.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * {
 *   "file": "/abs/path/acme-echo-1.2.0-linux-x64.mcpb",
 *   "name": "@acme/echo",
 *   "version": "1.2.0",
 *   "os": "linux",
 *   "arch": "x64",
 *   "sha256": "<64 hex>",
 *   "size": 12345,
 *   "cached": false,
 *   "status": "active",
 *   "verified": {
 *     "sha256": "<64 hex>", "size": 12345,
 *     "registry_signature": { "keyid": "<64 hex>", "package_signed_at": "2026-…" },
 *     "attestation": null
 *   }
 * }
 * ```
 * `status` is the version's (`active`, `deprecated`, `yanked`; `deprecated` also when its package
 * is), with `status_message` when the publisher gave one; a warning says the same on stderr.
 * `verified` says what was checked before the sha256 was trusted (`client/trust.ts`,
 * {@link Verification}): `registry_signature` is null for a registry that does not sign,
 * `attestation` null for an artifact without a Sigstore attestation.
 * `file` is absolute; `os`/`arch` are the downloaded artifact's (e.g. `any`/`any` for a
 * universal build), not necessarily the requested platform. `cached` is true with `--cache`:
 * `file` is then the verified copy in the cache, which `shelf bundle run`, `outdated` and
 * `update` use.
 *
 * @module
 */
import { copyFile, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import type { Artifact } from '../core/schemas.ts';
import type { Kind } from '../core/names.ts';
import { ARTIFACT_EXTENSION } from '../core/paths.ts';
import { selectArtifact } from '../client/platform.ts';
import { resolveVersion } from '../client/resolve-version.ts';
import { describeVerification, type Verification } from '../client/trust.ts';
import { cachedArtifactPath, downloadArtifact, fileMatches, obtainArtifact } from './artifact-cache.ts';
import { writeBundleRecord } from './bundle-records.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatTable,
  parseArch,
  commandArgs,
  parseOs,
  parsePackageSpec,
  requireCacheDir,
  usageError,
  type CommandContext,
} from './common.ts';
import { statusJson, warnStatus } from './status-notice.ts';
import { createProgressBar } from './progress.ts';

/** Help text of the pull command for a kind. */
export function pullHelp(kind: Kind, host: { os: string; arch: string }): string {
  const ext = ARTIFACT_EXTENSION[kind];
  const osDefault = kind === 'bundle' ? `${host.os}, this machine` : 'any; skills are universal';
  const archDefault = kind === 'bundle' ? `${host.arch}, this machine` : 'any';
  const cacheHelp =
    kind === 'bundle'
      ? `  --cache          Keep the bundle in the cache instead (for "run", "outdated", "update");
                   prints the cached file
`
      : '';
  return `Usage: shelf ${kind} pull <@scope/name[@version|@range]> [options]

Downloads a ${kind} and verifies its size and sha256 against the registry while streaming.
The file appears only once verified; a failed download leaves nothing behind and leaves
an existing file at the destination untouched. The version may be exact (@1.2.0) or a semver
range (@^1.2); without one, the latest release is pulled. Ranges and "latest" skip yanked
versions; an exact one (@1.2.0) is pulled with a warning. A progress bar is drawn on stderr
when it is a terminal. With --offline, a verified copy in the cache is used.

The artifact is chosen for the platform: exact os-arch, else os-any, else any-arch, else
any-any (a universal build).

Options:
  --os OS          Target OS: darwin, linux, win32, any (default: ${osDefault})
  --arch ARCH      Target architecture: x64, arm64, any (default: ${archDefault})
  -o, --output P   File to write, or an existing directory to write into
                   (default: <scope>-<name>-<version>-<os>-<arch>${ext} in the current directory)
${cacheHelp}  --verify         Also verify its Sigstore attestation on this machine, before downloading
                   (see "shelf bundle verify"); --repository R and --workflow PATH pin it
  --json           Print {file, name, version, os, arch, sha256, size, cached, status, verified}
                   as JSON (and "attestation" with --verify)
${COMMON_HELP}`;
}

/**
 * Resolves, downloads and verifies an artifact.
 *
 * @returns The exit code.
 */
export async function pullCommand(kind: Kind, args: string[], ctx: CommandContext): Promise<number> {
  const command = `shelf ${kind} pull`;
  const parsed = commandArgs(command, args, {
    ...COMMON_OPTIONS,
    os: { type: 'string' },
    arch: { type: 'string' },
    output: { type: 'string', short: 'o' },
    cache: { type: 'boolean' },
    verify: { type: 'boolean' },
    repository: { type: 'string' },
    workflow: { type: 'string' },
    json: { type: 'boolean' },
  }, ctx, pullHelp(kind, ctx.host));
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (values.cache && kind !== 'bundle') throw usageError(command, '--cache applies to bundles only');
  if (values.cache && values.output !== undefined) throw usageError(command, '--cache and --output cannot be combined');
  const spec = parsePackageSpec(command, positionals);
  // Skills have only universal artifacts; asking for the host platform would just fall back.
  const defaults = kind === 'bundle' ? ctx.host : { os: 'any' as const, arch: 'any' as const };
  const want = {
    os: parseOs(command, values.os) ?? defaults.os,
    arch: parseArch(command, values.arch) ?? defaults.arch,
  };
  const offline = values.offline === true || ctx.globalOffline;
  const client = ctx.client(values.registry, { offline });
  if (!values.verify && (values.repository !== undefined || values.workflow !== undefined)) throw usageError(command, '--repository and --workflow pin what --verify checks; add --verify');
  // --verify: the artifact's Sigstore attestation, checked on this machine (`verify.ts`).
  const attest = values.verify
    ? await (async () => {
        const { parsePins, trustMaterialOf, verifyArtifactAttestation } = await import('./verify.ts');
        const pins = parsePins(command, values);
        const trust = await trustMaterialOf(ctx.env);
        return async (artifact: Artifact) => {
          const { verified, expected } = await verifyArtifactAttestation(client, artifact, pins, trust);
          return { path: artifact.attestation!.path, ...verified, expected };
        };
      })()
    : null;
  let attestation: Record<string, unknown> | undefined;

  let summary: {
    file: string;
    name: string;
    version: string;
    os: string;
    arch: string;
    sha256: string;
    size: number;
    cached: boolean;
    status: string;
    status_message?: string;
    verified: Verification;
  };
  if (values.cache) {
    const cacheDir = requireCacheDir(ctx);
    const got = await obtainArtifact({
      client,
      cacheDir,
      kind,
      name: spec.name,
      range: spec.range,
      want,
      offline,
      progress: { write: ctx.writeErr, enabled: ctx.stderrIsTTY },
    });
    // Verified before it is recorded for run/outdated/update (the cached file is content-addressed, never used unverified).
    if (attest) attestation = await attest(got.artifact);
    await writeBundleRecord(cacheDir, spec.name, {
      registry: ctx.registryUrl(values.registry),
      name: got.pkg.name,
      range: spec.range ?? 'latest',
      version: got.version.version,
      want,
      os: got.artifact.os,
      arch: got.artifact.arch,
      sha256: got.artifact.sha256,
      size: got.artifact.size,
      file: got.file,
      cached_at: new Date().toISOString(),
    });
    const { artifact } = got;
    const status = warnStatus(ctx, got.pkg, got.version.version);
    summary = { file: got.file, name: got.pkg.name, version: got.version.version, os: artifact.os, arch: artifact.arch, sha256: artifact.sha256, size: artifact.size, cached: true, ...statusJson(status), verified: got.verified };
  } else {
    const pkg = await client.getPackage(kind, spec.name);
    const version = resolveVersion(pkg, spec.range);
    const doc = await client.getVersion(kind, spec.name, version);
    const artifact = selectArtifact(doc.artifacts, want);
    const status = warnStatus(ctx, pkg, doc.version);
    // Before anything is downloaded: the download then checks the bytes against the attested sha256.
    if (attest) attestation = await attest(artifact);

    const fileName = `${spec.name.scope}-${spec.name.name}-${doc.version}-${artifact.os}-${artifact.arch}${ARTIFACT_EXTENSION[kind]}`;
    let dest = resolve(ctx.cwd, fileName);
    if (values.output !== undefined) {
      const output = resolve(ctx.cwd, values.output);
      const isDirectory = (await stat(output).catch(() => null))?.isDirectory() ?? false;
      dest = isDirectory ? join(output, fileName) : output;
    }

    if (offline) {
      await copyFromCache(ctx, kind, artifact, dest, `${pkg.name}@${doc.version}`);
    } else {
      await downloadArtifact(client, artifact, dest, createProgressBar(ctx.writeErr, `${pkg.name}@${doc.version}`, ctx.stderrIsTTY));
    }
    const verified = client.verification(pkg, doc, artifact);
    summary = { file: dest, name: pkg.name, version: doc.version, os: artifact.os, arch: artifact.arch, sha256: artifact.sha256, size: artifact.size, cached: false, ...statusJson(status), verified };
  }

  if (values.json) {
    ctx.out(JSON.stringify(attestation ? { ...summary, attestation } : summary, null, 2));
    return 0;
  }
  const s = ctx.style;
  ctx.out(
    [
      `${s.green('Pulled')} ${s.bold(summary.name)}@${s.cyan(summary.version)} (${summary.os}-${summary.arch})${summary.cached ? s.dim(' into the cache') : ''}`,
      formatTable(
        [
          ['File:', summary.file],
          ['Size:', `${summary.size} bytes`],
          ['SHA-256:', `${summary.sha256} ${s.green('(verified)')}`],
          ['Trust:', describeVerification(summary.verified)],
          ...(attestation ? [['Attestation:', `${s.green('verified')} (Sigstore), signed by ${String(attestation.certificate_identity)}`]] : []),
        ],
        '  ',
      ),
    ].join('\n'),
  );
  return 0;
}

/**
 * Offline pull: copies the cached artifact (verified again) to `dest` through a temporary file,
 * so the destination only ever appears complete.
 */
async function copyFromCache(
  ctx: CommandContext,
  kind: Kind,
  artifact: { sha256: string; size: number; os: string; arch: string },
  dest: string,
  label: string,
): Promise<void> {
  const cached = cachedArtifactPath(requireCacheDir(ctx), kind, artifact.sha256);
  if (!(await fileMatches(cached, artifact.size, artifact.sha256))) {
    throw new ShelfError('not_cached', `${label} (${artifact.os}-${artifact.arch}) is not in the cache; run once without --offline.`);
  }
  if (!(await stat(dirname(dest)).catch(() => null))?.isDirectory()) {
    throw new ShelfError('invalid_argument', `The directory ${dirname(dest)} does not exist.`);
  }
  const temp = join(dirname(dest), `.${basename(dest)}.${randomBytes(6).toString('hex')}.partial`);
  try {
    await copyFile(cached, temp);
    await rename(temp, dest);
  } finally {
    await rm(temp, { force: true }).catch(() => {});
  }
}
