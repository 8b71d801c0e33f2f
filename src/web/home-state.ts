/**
 * The home page's search state and its place in the URL. The query string is the state (so a
 * search can be shared and the back button works): `?q=weather&kind=skill&type=node&os=linux&arch=x64&sort=name`.
 * Only values that differ from the defaults are written, in a fixed order, so equal states have
 * equal URLs. Unknown or invalid values in a URL someone typed are dropped, not errors.
 *
 * Pure module: no DOM, no Node APIs.
 *
 * @module
 */
import { ARCHES, OSES, type Arch, type Kind, type Os } from '../core/names.ts';
import { SEARCH_SORTS, SERVER_TYPES, type SearchSort } from '../search/query.ts';

/** What the home page searches for. */
export interface HomeState {
  /** Free text; may be empty (lists everything). */
  q: string;
  kind: Kind;
  /** Server type filter (bundles only). */
  type?: string;
  os?: Os;
  arch?: Arch;
  sort: SearchSort;
}

/** The state of a bare `/`. */
export const DEFAULT_HOME_STATE: Readonly<HomeState> = Object.freeze({ q: '', kind: 'bundle', sort: 'relevance' });

/** Longest query kept from a URL; longer text is cut (a query is words, not a document). */
export const MAX_QUERY_LENGTH = 200;

const pick = <T extends string>(allowed: readonly T[], value: string | null): T | undefined =>
  value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;

/**
 * Reads the state from a query string (`?q=...`, with or without `?`) or parameters. Lenient:
 * whatever is not understood falls back to the default.
 */
export function parseHomeState(search: string | URLSearchParams): HomeState {
  const params = typeof search === 'string' ? new URLSearchParams(search) : search;
  const kind: Kind = params.get('kind') === 'skill' ? 'skill' : 'bundle';
  const state: HomeState = {
    q: (params.get('q') ?? '').slice(0, MAX_QUERY_LENGTH),
    kind,
    sort: pick(SEARCH_SORTS, params.get('sort')) ?? 'relevance',
  };
  // Skills have no server type; a type in a skills URL would filter out everything.
  const type = kind === 'bundle' ? pick(SERVER_TYPES, params.get('type')) : undefined;
  if (type) state.type = type;
  // `any` is what a universal artifact declares, not a filter value: no filter matches it already.
  const os = pick(OSES, params.get('os'));
  if (os && os !== 'any') state.os = os;
  const arch = pick(ARCHES, params.get('arch'));
  if (arch && arch !== 'any') state.arch = arch;
  return state;
}

/** The canonical query string of a state: `''` for the default state, else `?q=...&...`. */
export function homeStateToSearch(state: HomeState): string {
  const params = new URLSearchParams();
  if (state.q !== '') params.set('q', state.q);
  if (state.kind !== DEFAULT_HOME_STATE.kind) params.set('kind', state.kind);
  if (state.type && state.kind === 'bundle') params.set('type', state.type);
  if (state.os) params.set('os', state.os);
  if (state.arch) params.set('arch', state.arch);
  if (state.sort !== DEFAULT_HOME_STATE.sort) params.set('sort', state.sort);
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** True when two states put the same query string in the URL. */
export function sameHomeState(a: HomeState, b: HomeState): boolean {
  return homeStateToSearch(a) === homeStateToSearch(b);
}

/**
 * How a state change enters the browser history:
 * - `none` when the URL would not change;
 * - `replace` while the user refines one query by typing (`wea` → `weather`, or deleting back), so
 *   the back button skips the keystrokes;
 * - `push` for a new query and for every filter, kind or sort change, so back returns to it.
 */
export function historyAction(current: HomeState, next: HomeState, cause: 'typing' | 'control'): 'push' | 'replace' | 'none' {
  if (sameHomeState(current, next)) return 'none';
  if (cause === 'typing') {
    const { q: a, ...restA } = current;
    const { q: b, ...restB } = next;
    const sameFilters = homeStateToSearch({ ...restA, q: '' }) === homeStateToSearch({ ...restB, q: '' });
    const x = a.trim().toLowerCase();
    const y = b.trim().toLowerCase();
    if (sameFilters && x !== '' && y !== '' && (x.startsWith(y) || y.startsWith(x))) return 'replace';
  }
  return 'push';
}
