/**
 * Validated package names, versions and platforms, parsed once at the edge. Past the parsers,
 * code handles {@link PackageName} and {@link Version} values that are known to be valid and
 * lower-cased, so storage keys built from them cannot escape their folder.
 *
 * No library: the web pages and `shelf search` load this module, and a version is checked with
 * the grammar semver.org publishes (the order of versions, which needs `semver`, is in
 * `versions.ts`).
 *
 * @module
 */
import { ShelfError } from './errors.ts';

/** The two kinds of package the registry holds. */
export type Kind = 'bundle' | 'skill';
/** Both kinds, in display order. */
export const KINDS: readonly Kind[] = ['bundle', 'skill'];
/** The plural used in URLs and keys (`v1/bundles/...`, `v1/skills/...`). */
export const KIND_PLURAL: Record<Kind, 'bundles' | 'skills'> = { bundle: 'bundles', skill: 'skills' };

// The design's `[a-z0-9][a-z0-9-]{0,38}` and `[a-z0-9][a-z0-9-]{0,213}`, refined to refuse a
// trailing dash as well as a leading one (GitHub refuses both in owner names).
const SCOPE_RE = /^[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?$/;
const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,212}[a-z0-9])?$/;
// Checked before lower-casing: `toLowerCase` folds some non-ASCII letters into ASCII ones
// (KELVIN SIGN "\u212A" becomes "k"), which would turn a look-alike into a real name.
const ASCII_RE = /^[\x20-\x7e]*$/;
/** Longest version string accepted; semver itself has no limit, storage keys do. */
export const MAX_VERSION_LENGTH = 128;

/** A valid, lower-cased scope, without the `@`: only {@link parseScope} and {@link parsePackageName} make one. */
export type Scope = string & { readonly __brand: 'Scope' };

/** A valid, lower-cased `@scope/name`: only {@link parsePackageName} makes one. */
export interface PackageName {
  /** `@scope/name` */
  readonly full: string;
  /** `scope`, without the `@` */
  readonly scope: Scope;
  /** `name` */
  readonly name: string;
  readonly __brand: 'PackageName';
}

/**
 * Parses `@scope/name`, lower-casing it first (names compare case-insensitively). Only ASCII
 * `[a-z0-9-]` is allowed, checked before lower-casing, so look-alike letters from other scripts
 * are refused rather than folded. Neither part may start or end with `-`.
 *
 * @throws ShelfError `invalid_name`
 */
export function parsePackageName(input: unknown): PackageName {
  if (typeof input !== 'string') throw new ShelfError('invalid_name', 'The package name must be a string.');
  if (!ASCII_RE.test(input)) throw new ShelfError('invalid_name', `"${truncate(input)}" contains a character that is not printable ASCII; names are ASCII letters, digits and "-".`);
  const lower = input.toLowerCase();
  const match = /^@([^/]*)\/([^/]*)$/.exec(lower);
  if (!match) throw new ShelfError('invalid_name', `"${truncate(input)}" is not of the form @scope/name.`);
  const [, scope = '', name = ''] = match;
  if (!SCOPE_RE.test(scope)) {
    throw new ShelfError('invalid_name', `The scope "${truncate(scope)}" must be 1 to 39 letters, digits or "-", not starting or ending with "-".`);
  }
  if (!NAME_RE.test(name)) {
    throw new ShelfError('invalid_name', `The name "${truncate(name)}" must be 1 to 214 letters, digits or "-", not starting or ending with "-".`);
  }
  return { full: `@${scope}/${name}`, scope: scope as Scope, name } as PackageName;
}

/** Parses a bare scope (with or without `@`). @throws ShelfError `invalid_name` */
export function parseScope(input: string): Scope {
  if (typeof input !== 'string' || !ASCII_RE.test(input)) throw new ShelfError('invalid_name', 'The scope must be ASCII letters, digits and "-".');
  const scope = input.toLowerCase().replace(/^@/, '');
  if (!SCOPE_RE.test(scope)) throw new ShelfError('invalid_name', `The scope "${truncate(scope)}" is not valid.`);
  return scope as Scope;
}

/** A valid strict semver 2.0 version without build metadata. */
export type Version = string & { readonly __brand: 'Version' };

/**
 * A strict semver 2.0 version without build metadata: the grammar of semver.org (its published
 * regular expression, build part left out). Numeric identifiers have no leading zero.
 */
const VERSION_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?$/;

/**
 * Parses a strict semver 2.0 version. Leading `v`, build metadata (`+build`, which semver says
 * does not distinguish versions and so cannot name an immutable one) and overlong strings are
 * refused, as are major, minor or patch numbers past 2^53 - 1 (which `semver` cannot order).
 *
 * @throws ShelfError `invalid_version`
 */
export function parseVersion(input: unknown): Version {
  if (typeof input !== 'string') throw new ShelfError('invalid_version', 'The version must be a string.');
  if (input.length > MAX_VERSION_LENGTH) {
    throw new ShelfError('invalid_version', `The version is longer than ${MAX_VERSION_LENGTH} characters.`);
  }
  if (input.includes('+')) {
    throw new ShelfError('invalid_version', `"${truncate(input)}" has build metadata, which cannot name a version.`);
  }
  const m = VERSION_RE.exec(input);
  if (m === null || m.slice(1, 4).some((n) => Number(n) > Number.MAX_SAFE_INTEGER)) {
    throw new ShelfError('invalid_version', `"${truncate(input)}" is not a strict semver 2.0 version.`);
  }
  return input as Version;
}

/** Operating systems an artifact can target. */
export const OSES = ['darwin', 'linux', 'win32', 'any'] as const;
/** Architectures an artifact can target. */
export const ARCHES = ['x64', 'arm64', 'any'] as const;
export type Os = (typeof OSES)[number];
export type Arch = (typeof ARCHES)[number];

/** An artifact's platform. Skills are always `any/any`. */
export interface Platform {
  os: Os;
  arch: Arch;
}

/** `linux-x64`, `any-any`: the platform's name in keys and file names. */
export function platformId(platform: Platform): string {
  return `${platform.os}-${platform.arch}`;
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
