/**
 * The order of versions (semver precedence), for version lists and "latest". Kept apart from
 * `names.ts`, which parses versions without a library: only code that sorts versions loads
 * `semver`.
 *
 * @module
 */
import semver from 'semver';

/** True when the version has a prerelease part (`1.0.0-beta.1`). */
export function isPrerelease(version: string): boolean {
  return semver.prerelease(version) !== null;
}

/** Semver descending order, for version lists. */
export function compareVersionsDesc(a: string, b: string): number {
  return semver.rcompare(a, b);
}
