/**
 * Platform matching for artifacts: which file of a version fits a machine.
 *
 * Pure module: no Node APIs (the web page imports it too). Callers pass the host platform in,
 * e.g. `hostPlatform(process.platform, process.arch)` in the CLI.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import type { Arch, Os, Platform } from '../core/names.ts';

/** Anything carrying a platform: an artifact, or a platform entry of a version summary. */
export interface HasPlatform {
  os: string;
  arch: string;
}

/**
 * Picks the artifact for a platform, most specific first: exact `os/arch`, then `os/any`
 * (an OS-specific but architecture-neutral build), then `any/arch`, then `any/any` (a universal
 * build). Skills only have `any/any`, so they always match.
 *
 * @param artifacts - The version's artifacts.
 * @param want - The platform to install on. `any` in either field only matches `any`.
 * @returns The chosen artifact (the same object, not a copy).
 * @throws ShelfError `no_matching_artifact`, listing the platforms that are available.
 */
export function selectArtifact<T extends HasPlatform>(artifacts: readonly T[], want: { os: string; arch: string }): T {
  const candidates: Array<[string, string]> = [
    [want.os, want.arch],
    [want.os, 'any'],
    ['any', want.arch],
    ['any', 'any'],
  ];
  for (const [os, arch] of candidates) {
    const found = artifacts.find((a) => a.os === os && a.arch === arch);
    if (found) return found;
  }
  const available = artifacts.map((a) => `${a.os}-${a.arch}`);
  throw new ShelfError(
    'no_matching_artifact',
    `No artifact for ${want.os}-${want.arch}; available: ${available.length > 0 ? available.join(', ') : 'none'}.`,
    { wanted: `${want.os}-${want.arch}`, available },
  );
}

const OS_MAP: Readonly<Record<string, Os>> = { darwin: 'darwin', linux: 'linux', win32: 'win32' };
const ARCH_MAP: Readonly<Record<string, Arch>> = { x64: 'x64', arm64: 'arm64' };

/**
 * Maps Node's `process.platform` / `process.arch` values to a registry platform. Anything the
 * registry has no artifacts for (freebsd, ia32...) becomes `any`, so only universal builds match.
 *
 * @example
 * ```ts
 * hostPlatform(process.platform, process.arch) // { os: 'linux', arch: 'x64' }
 * ```
 */
export function hostPlatform(nodePlatform: string, nodeArch: string): Platform {
  return {
    os: Object.hasOwn(OS_MAP, nodePlatform) ? OS_MAP[nodePlatform]! : 'any',
    arch: Object.hasOwn(ARCH_MAP, nodeArch) ? ARCH_MAP[nodeArch]! : 'any',
  };
}
