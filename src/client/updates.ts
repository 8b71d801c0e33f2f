/**
 * Whether an installed version of a package is behind the registry (pure: no I/O, no Node APIs).
 *
 * @module
 */
import semver from 'semver';
import { isShelfError } from '../core/errors.ts';
import { effectiveStatus, type EffectiveStatus } from '../core/lifecycle.ts';
import type { PackageDocument } from '../core/schemas.ts';
import { resolveVersion } from './registry-client.ts';

/** How an installed version compares with what the registry offers. */
export interface UpdateStatus {
  /** The installed version. */
  current: string;
  /** The installed version's status now (yanked, deprecated, removed: its package's too). */
  status: EffectiveStatus;
  /** The highest version satisfying the range it was installed with; null when none does any more. */
  wanted: string | null;
  /** The registry's latest release (see `resolveVersion`); null when there is none. */
  latest: string | null;
  /** True when `wanted` or `latest` is higher than `current`. */
  outdated: boolean;
}

/**
 * Compares an installed version with a package document.
 *
 * @param pkg - The package document, freshly fetched.
 * @param current - The installed version.
 * @param range - The version or range it was installed with (`latest`, `^1.2`, `1.2.0`).
 * @throws ShelfError `invalid_version` when `range` is neither a version nor a range.
 */
export function checkUpdate(pkg: PackageDocument, current: string, range: string): UpdateStatus {
  const status = effectiveStatus(pkg, current);
  const wanted = resolveOrNull(pkg, range);
  const latest = resolveOrNull(pkg, 'latest');
  const higher = (v: string | null) => v !== null && semver.valid(current) !== null && semver.gt(v, current);
  return { current, status, wanted, latest, outdated: higher(wanted) || higher(latest) };
}

/** Ranges never choose a yanked or removed version; nothing at all is chosen from a removed package. */
function resolveOrNull(pkg: PackageDocument, range: string): string | null {
  try {
    return resolveVersion(pkg, range);
  } catch (error) {
    if (isShelfError(error, 'not_found') || isShelfError(error, 'package_removed') || isShelfError(error, 'version_removed')) return null;
    throw error;
  }
}
