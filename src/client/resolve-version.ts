/**
 * Which version of a package a request means: `latest`, an exact version or a semver range,
 * resolved against the package document's version list and the lifecycle of each version.
 *
 * Pure module: no Node APIs.
 *
 * @module
 */
import semver from 'semver';
import { ShelfError } from '../core/errors.ts';
import { isSelectable, REMOVED_BY_OPERATOR } from '../core/lifecycle.ts';
import type { PackageDocument } from '../core/schemas.ts';

/**
 * Picks a version of a package:
 * - `undefined` or `latest`: `pkg.latest`, or the highest version when there are only prereleases;
 * - an exact version (`1.2.0`, `2.0.0-beta.1`): that version, if published, yanked or not (a
 *   lockfile keeps working; the caller warns);
 * - a semver range (`^1.2`, `~1.2.3`, `>=1 <3`, `1.x`): the highest published version in the
 *   range; prereleases only when the range itself names a prerelease of the same
 *   major.minor.patch (semver's usual rule, e.g. `^2.0.0-beta.0`).
 *
 * `latest` and ranges never choose a yanked version; nothing chooses a removed one.
 *
 * @returns The exact version string.
 * @throws ShelfError `package_removed` or `version_removed` (taken down by the operator),
 *   `not_found` when nothing matches, `invalid_version` when `requested` is neither a version
 *   nor a range.
 */
export function resolveVersion(pkg: PackageDocument, requested?: string): string {
  if (pkg.status === 'removed') {
    throw new ShelfError('package_removed', `${pkg.kind} ${pkg.name} was ${REMOVED_BY_OPERATOR}${pkg.status_message ? `: ${pkg.status_message}` : '.'}`, {
      reason: pkg.status_message ?? '',
      ...(pkg.status_changed_at ? { removed_at: pkg.status_changed_at } : {}),
    });
  }
  const listed = pkg.versions.filter((v) => semver.valid(v.version) !== null);
  const published = listed.filter((v) => v.status !== 'removed').map((v) => v.version);
  const selectable = listed.filter(isSelectable).map((v) => v.version);
  const yanked = listed.filter((v) => v.status === 'yanked').map((v) => v.version);
  const spec = requested?.trim();
  if (spec === undefined || spec === '' || spec === 'latest') {
    if (pkg.latest !== null && selectable.includes(pkg.latest)) return pkg.latest;
    // `latest` is null when every version is a prerelease (or yanked): then the newest prerelease will do.
    const sorted = [...selectable].sort(semver.rcompare);
    const newest = sorted.find((v) => semver.prerelease(v) === null) ?? sorted[0];
    if (newest === undefined) {
      throw new ShelfError('not_found', `${pkg.kind} ${pkg.name} has no version to choose${yanked.length > 0 ? ` (yanked: ${yanked.join(', ')}; name one exactly to use it)` : ''}`);
    }
    return newest;
  }
  const exact = semver.valid(spec);
  if (exact !== null) {
    const entry = listed.find((v) => v.version === exact);
    if (entry?.status === 'removed') {
      throw new ShelfError('version_removed', `${pkg.kind} ${pkg.name}@${exact} was ${REMOVED_BY_OPERATOR}${entry.status_message ? `: ${entry.status_message}` : '.'}`, {
        reason: entry.status_message ?? '',
        ...(entry.status_changed_at ? { removed_at: entry.status_changed_at } : {}),
      });
    }
    if (entry) return exact;
    throw new ShelfError('not_found', `${pkg.kind} ${pkg.name} has no version ${exact}${available(published)}`);
  }
  if (semver.validRange(spec) === null) {
    throw new ShelfError('invalid_version', `"${spec}" is neither a version nor a semver range.`);
  }
  const best = semver.maxSatisfying(selectable, spec);
  if (best === null) {
    const onlyYanked = semver.maxSatisfying(yanked, spec);
    throw new ShelfError(
      'not_found',
      `${pkg.kind} ${pkg.name} has no version matching ${spec}${onlyYanked ? ` that is not yanked (${onlyYanked} is; name it exactly to use it)` : available(selectable)}`,
    );
  }
  return best;
}

function available(versions: string[]): string {
  const shown = [...versions].sort(semver.rcompare).slice(0, 10);
  if (shown.length === 0) return '';
  return ` (available: ${shown.join(', ')}${versions.length > shown.length ? ', ...' : ''})`;
}

