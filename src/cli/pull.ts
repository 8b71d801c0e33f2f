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
 *   "size": 12345
 * }
 * ```
 * `file` is absolute; `os`/`arch` are the downloaded artifact's (e.g. `any`/`any` for a
 * universal build), not necessarily the requested platform.
 *
 * @module
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Kind } from '../core/names.ts';
import { ARTIFACT_EXTENSION } from '../core/paths.ts';
import { selectArtifact } from '../client/platform.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  parseArch,
  parseCommandArgs,
  parseOs,
  parsePackageSpec,
  type CommandContext,
} from './common.ts';
import { downloadVerified } from './download.ts';

/** Help text of the pull command for a kind. */
export function pullHelp(kind: Kind, host: { os: string; arch: string }): string {
  const ext = ARTIFACT_EXTENSION[kind];
  const osDefault = kind === 'bundle' ? `${host.os}, this machine` : 'any; skills are universal';
  const archDefault = kind === 'bundle' ? `${host.arch}, this machine` : 'any';
  return `Usage: shelf ${kind} pull <@scope/name[@version|@range]> [options]

Downloads a ${kind} and verifies its size and sha256 against the registry while streaming.
The file appears only once verified; a failed download leaves nothing behind and leaves
an existing file at the destination untouched. The version may be exact (@1.2.0) or a semver range (@^1.2);
without one, the latest release is pulled.

The artifact is chosen for the platform: exact os-arch, else os-any, else any-arch, else
any-any (a universal build).

Options:
  --os OS          Target OS: darwin, linux, win32, any (default: ${osDefault})
  --arch ARCH      Target architecture: x64, arm64, any (default: ${archDefault})
  -o, --output P   File to write, or an existing directory to write into
                   (default: <scope>-<name>-<version>-<os>-<arch>${ext} in the current directory)
  --json           Print {file, name, version, os, arch, sha256, size} as JSON
${COMMON_HELP}`;
}

/**
 * Resolves, downloads and verifies an artifact.
 *
 * @returns The exit code.
 */
export async function pullCommand(kind: Kind, args: string[], ctx: CommandContext): Promise<number> {
  const command = `shelf ${kind} pull`;
  const { values, positionals } = parseCommandArgs(command, {
    args,
    allowPositionals: true,
    options: {
      ...COMMON_OPTIONS,
      os: { type: 'string' },
      arch: { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    },
  });
  if (values.help) {
    ctx.out(pullHelp(kind, ctx.host));
    return 0;
  }
  const spec = parsePackageSpec(command, positionals);
  // Skills have only universal artifacts; asking for the host platform would just fall back.
  const defaults = kind === 'bundle' ? ctx.host : { os: 'any' as const, arch: 'any' as const };
  const want = {
    os: parseOs(command, values.os) ?? defaults.os,
    arch: parseArch(command, values.arch) ?? defaults.arch,
  };
  const client = ctx.client(values.registry);

  const pkg = await client.getPackage(kind, spec.name);
  const version = client.resolveVersion(pkg, spec.range);
  const doc = await client.getVersion(kind, spec.name, version);
  const artifact = selectArtifact(doc.artifacts, want);

  const fileName = `${spec.name.scope}-${spec.name.name}-${doc.version}-${artifact.os}-${artifact.arch}${ARTIFACT_EXTENSION[kind]}`;
  let dest = resolve(ctx.cwd, fileName);
  if (values.output !== undefined) {
    const output = resolve(ctx.cwd, values.output);
    const isDirectory = (await stat(output).catch(() => null))?.isDirectory() ?? false;
    dest = isDirectory ? join(output, fileName) : output;
  }

  const result = await downloadVerified({
    url: client.artifactUrl(artifact),
    dest,
    size: artifact.size,
    sha256: artifact.sha256,
  });

  const summary = {
    file: result.file,
    name: pkg.name,
    version: doc.version,
    os: artifact.os,
    arch: artifact.arch,
    sha256: result.sha256,
    size: result.size,
  };
  if (values.json) {
    ctx.out(JSON.stringify(summary, null, 2));
    return 0;
  }
  ctx.out(
    [
      `Pulled ${summary.name}@${summary.version} (${summary.os}-${summary.arch})`,
      `  File:    ${summary.file}`,
      `  Size:    ${summary.size} bytes`,
      `  SHA-256: ${summary.sha256} (verified)`,
    ].join('\n'),
  );
  return 0;
}
