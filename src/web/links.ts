/**
 * The web pages' own URLs, built and parsed in one place. Pages are static files at the bucket
 * root, so a package or scope is named in the query string:
 *
 * - home: `./?q=weather&kind=skill...` (see `home-state.ts`)
 * - package: `package.html?bundle=@acme/echo`, `package.html?skill=@acme/release-notes`, and
 *   `&version=2.1.0-beta.1` for one version
 * - scope: `scope.html?scope=acme`
 *
 * Links are relative, so the pages work under any host. Names and versions are validated before
 * they are put into a link, so they contain only `[a-z0-9@/.-]` and need no escaping.
 *
 * Pure module: no DOM, no Node APIs.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { parsePackageName, parseScope, parseVersion, type Kind, type PackageName, type Version } from '../core/names.ts';
import { WEB_PAGES } from '../core/paths.ts';
import { homeStateToSearch, type HomeState } from './home-state.ts';

/** The home page, optionally with a search. */
export function homeHref(state?: HomeState): string {
  return `./${state ? homeStateToSearch(state) : ''}`;
}

/**
 * The page of a package, or of one of its versions.
 *
 * @throws ShelfError `invalid_name`, `invalid_version`
 */
export function packageHref(kind: Kind, name: string, version?: string): string {
  const pkg = parsePackageName(name);
  const v = version === undefined ? '' : `&version=${parseVersion(version)}`;
  return `${WEB_PAGES.package}?${kind}=${pkg.full}${v}`;
}

/**
 * The page of a scope.
 *
 * @throws ShelfError `invalid_name`
 */
export function scopeHref(scope: string): string {
  return `${WEB_PAGES.scope}?scope=${parseScope(scope)}`;
}

/** What a package page's URL names. */
export interface PackagePageParams {
  kind: Kind;
  name: PackageName;
  /** A specific version; absent for the latest. */
  version?: Version;
}

/**
 * Reads a package page's query string.
 *
 * @throws ShelfError `invalid_argument` when no package is named (or both kinds are),
 *   `invalid_name`, `invalid_version`
 */
export function parsePackageParams(search: string | URLSearchParams): PackagePageParams {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const bundle = params.get('bundle');
  const skill = params.get('skill');
  if ((bundle === null) === (skill === null)) {
    throw new ShelfError('invalid_argument', 'The address must name one package, as ?bundle=@scope/name or ?skill=@scope/name.');
  }
  const kind: Kind = bundle !== null ? 'bundle' : 'skill';
  const result: PackagePageParams = { kind, name: parsePackageName((bundle ?? skill)!.trim()) };
  const version = params.get('version');
  if (version !== null && version !== '' && version !== 'latest') result.version = parseVersion(version.trim());
  return result;
}

/**
 * Reads a scope page's query string (`?scope=acme` or `?scope=@acme`).
 *
 * @throws ShelfError `invalid_argument` when absent, `invalid_name`
 */
export function parseScopeParams(search: string | URLSearchParams): string {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const scope = params.get('scope');
  if (scope === null || scope.trim() === '') throw new ShelfError('invalid_argument', 'The address must name a scope, as ?scope=name.');
  return parseScope(scope.trim());
}
