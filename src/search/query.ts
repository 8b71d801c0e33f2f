/**
 * The query contract every search answers to: options (filters, sort, limit) and their validation,
 * hits, the facts filters and orders read of a package, and the orders. The sharded reader and the
 * bench's whole-index reference both use it, so they answer a query the same way. Pure module.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { ARCHES, OSES } from '../core/names.ts';
import type { PackageSummary } from '../core/schemas.ts';
import { filterMask, platformMask } from './platforms.ts';

/** Result orders a search supports. */
export const SEARCH_SORTS = ['relevance', 'recent', 'name'] as const;
/** A result order: best match first, most recently updated first, or by name. */
export type SearchSort = (typeof SEARCH_SORTS)[number];
/** Server types a bundle can declare (`manifest.server.type`). */
export const SERVER_TYPES = ['node', 'python', 'binary', 'uv'] as const;
/** Results returned when {@link SearchQueryOptions.limit} is not given. */
export const DEFAULT_SEARCH_LIMIT = 20;

/** Filters, order and size of a search. Every field is optional. */
export interface SearchQueryOptions {
  /** Only bundles of this `server_type` (`node`, `python`, `binary`, `uv`). */
  type?: string;
  /** Only packages with an artifact for this OS (an `any` OS artifact matches every OS). */
  os?: string;
  /** Only packages with an artifact for this architecture (`any` matches every architecture). */
  arch?: string;
  /** Result order; default `relevance`. */
  sort?: SearchSort;
  /** Most results to return, a positive integer; default {@link DEFAULT_SEARCH_LIMIT}. */
  limit?: number;
}

/** One search hit: the package summary stored in the index plus its relevance score. */
export type SearchHit = PackageSummary & { score: number };

/** Search options after {@link validateSearchOptions}. */
export interface ValidSearchOptions {
  type: string | undefined;
  os: string | undefined;
  arch: string | undefined;
  sort: SearchSort;
  limit: number;
}

/** What filters and orders read of a package, from a whole summary ({@link hitFacts}) or a compact document entry. */
export interface HitFacts {
  /** Identifies the hit to its caller (a document id, a name). */
  id: string;
  /** The package name: the `name` order, and ties of the others. */
  name: string;
  /** Relevance. */
  score: number;
  /** The relevance tier (`tier` in `ranking.ts`: more query words held, then fewer typos), above the score; 0 for listings. */
  tier: number;
  /** `updated_at` in milliseconds: the `recent` order. */
  updated_ms: number;
  /** `server_type`, or null: the `type` filter. */
  server_type: string | null | undefined;
  /** The platforms as a mask (`platformMask` in `src/search/platforms.ts`): the `os`/`arch` filters. */
  platform_mask: number;
  /** Deprecated (the package, or the version its result shows): its relevance is {@link rankScore}d down. */
  deprecated: boolean;
}

/** How much relevance a deprecated package keeps: below an equal active one (even one matching half as well), yet still found by name. */
export const DEPRECATED_RELEVANCE = 0.5;

/** The relevance a hit ranks by: the engine's score, lowered for a deprecated package. */
export function rankScore(score: number, deprecated: boolean): number {
  return deprecated ? score * DEPRECATED_RELEVANCE : score;
}

/** The {@link HitFacts} of a summary. */
export function hitFacts(summary: PackageSummary, score: number, id: string = summary.name, tier = 0): HitFacts {
  return {
    id,
    name: summary.name,
    score,
    tier,
    updated_ms: Date.parse(summary.updated_at),
    server_type: summary.server_type ?? null,
    platform_mask: platformMask(summary.platforms),
    deprecated: summary.status === 'deprecated',
  };
}

/** The filters as a predicate: `type`, and `os`/`arch` on the same platform entry (`any` matches every value). */
export function searchFilter(o: Pick<ValidSearchOptions, 'type' | 'os' | 'arch'>): (facts: Pick<HitFacts, 'server_type' | 'platform_mask'>) => boolean {
  const fm = filterMask(o.os, o.arch);
  const type = o.type;
  return (facts) => (type === undefined || facts.server_type === type) && (fm === null || (facts.platform_mask & fm) !== 0);
}

/**
 * Orders hits as `sort` asks (relevance: tier, then score; ties by name) and keeps the first
 * `limit`. Does not filter: filters apply inside the engine's query ({@link searchFilter}).
 */
export function orderHits<T extends Sortable>(hits: readonly T[], o: Pick<ValidSearchOptions, 'sort' | 'limit'>): T[] {
  return [...hits].sort(COMPARATORS[o.sort]).slice(0, o.limit);
}

/**
 * Validates a query and its options, as every search entry point does.
 *
 * @throws ShelfError `invalid_argument` naming the offending option.
 */
export function validateSearchOptions(query: unknown, opts: SearchQueryOptions | undefined): ValidSearchOptions {
  if (typeof query !== 'string') throw new ShelfError('invalid_argument', 'The search query must be a string.');
  const { type, os, arch, sort = 'relevance', limit = DEFAULT_SEARCH_LIMIT } = opts ?? {};
  if (type !== undefined && (typeof type !== 'string' || type === '')) {
    throw new ShelfError('invalid_argument', 'The "type" option must be a non-empty string.');
  }
  if (os !== undefined && !(OSES as readonly string[]).includes(os)) {
    throw new ShelfError('invalid_argument', `The "os" option must be one of ${OSES.join(', ')}; got "${String(os)}".`);
  }
  if (arch !== undefined && !(ARCHES as readonly string[]).includes(arch)) {
    throw new ShelfError('invalid_argument', `The "arch" option must be one of ${ARCHES.join(', ')}; got "${String(arch)}".`);
  }
  if (!(SEARCH_SORTS as readonly string[]).includes(sort)) {
    throw new ShelfError('invalid_argument', `The "sort" option must be one of ${SEARCH_SORTS.join(', ')}; got "${String(sort)}".`);
  }
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    throw new ShelfError('invalid_argument', `The "limit" option must be a positive integer; got ${String(limit)}.`);
  }
  return { type, os, arch, sort, limit };
}

type Sortable = Pick<HitFacts, 'name' | 'score' | 'updated_ms'> & { tier?: number };
const byName = (a: Sortable, b: Sortable): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const COMPARATORS: Record<SearchSort, (a: Sortable, b: Sortable) => number> = {
  relevance: (a, b) => (b.tier ?? 0) - (a.tier ?? 0) || b.score - a.score || byName(a, b),
  recent: (a, b) => b.updated_ms - a.updated_ms || byName(a, b),
  name: byName,
};

/** The order of a sort over hits (ties by name): what {@link orderHits} sorts with. */
export function compareHits(sort: SearchSort): (a: Sortable, b: Sortable) => number {
  return COMPARATORS[sort];
}
