/**
 * Client-side search over a prebuilt index (`v1/search/{kind}s.json`). The registry builds the
 * MiniSearch index once per announce; clients download it and query it locally, so search needs
 * no server.
 *
 * Pure module: no Node APIs (the web page imports it too).
 *
 * @module
 */
import MiniSearch, { type AsPlainObject, type SearchOptions, type SearchResult } from 'minisearch';
import { ShelfError } from '../core/errors.ts';
import { ARCHES, OSES, type Kind } from '../core/names.ts';
import { PackageSummarySchema, type PackageSummary, type SearchIndexDocument } from '../core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, STORE_FIELDS, indexOptions, type SearchDocument } from '../core/search-options.ts';
import { filterMask, platformMask } from '../search/platforms.ts';

/** Result orders {@link SearchEngine.search} supports. */
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

/**
 * A loaded search index. Construct it from a {@link SearchIndexDocument} (usually through
 * `RegistryClient.loadSearch`), then call {@link SearchEngine.search} as often as needed.
 *
 * @example
 * ```ts
 * const engine = await client.loadSearch('bundle');
 * engine.search('weather', { os: 'linux', sort: 'relevance', limit: 5 });
 * ```
 */
export class SearchEngine {
  /** The kind of package this index holds. */
  readonly kind: Kind;
  private readonly mini: MiniSearch<SearchDocument>;
  /** Summaries by document id, validated once at load so every search returns well-formed data. */
  private readonly summaries = new Map<string, PackageSummary>();
  /** What filters and orders read of each package, by document id. */
  private readonly facts = new Map<string, HitFacts>();

  /**
   * Loads the serialized index. Every stored summary is checked against the schema here, so a
   * malformed index fails at load rather than in the middle of rendering results.
   *
   * @throws ShelfError `registry_unreachable` when the index cannot be loaded or holds an invalid entry.
   */
  constructor(doc: SearchIndexDocument) {
    this.kind = doc.kind;
    try {
      this.mini = MiniSearch.loadJS<SearchDocument>(doc.index as unknown as AsPlainObject, indexOptions());
    } catch (error) {
      throw new ShelfError(
        'registry_unreachable',
        `The ${doc.kind} search index cannot be loaded (${error instanceof Error ? error.message : String(error)}).`,
      );
    }
    for (const hit of this.mini.search(MiniSearch.wildcard)) {
      const parsed = PackageSummarySchema.safeParse(pickStored(hit));
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        throw new ShelfError(
          'registry_unreachable',
          `The ${doc.kind} search index has an invalid entry for ${String(hit.id)}` +
            (issue ? ` (${issue.path.join('.') || '(root)'}: ${issue.message}).` : '.'),
        );
      }
      this.summaries.set(String(hit.id), parsed.data);
      this.facts.set(String(hit.id), hitFacts(parsed.data, 0, String(hit.id)));
    }
  }

  /** Number of packages in the index. */
  get size(): number {
    return this.summaries.size;
  }

  /**
   * Searches the index. Words match by prefix and with typos (see `DEFAULT_SEARCH_OPTIONS`);
   * all words must match, and when that finds nothing any word may match. An empty query lists
   * every package (then filters and sort still apply).
   *
   * @param query - Free text; empty or blank lists everything.
   * @param opts - Filters, sort and limit; validated before searching.
   * @returns At most `limit` hits, in the requested order.
   * @throws ShelfError `invalid_argument` naming the offending option.
   */
  search(query: string, opts: SearchQueryOptions = {}): SearchHit[] {
    const o = validateSearchOptions(query, opts);
    const passes = searchFilter(o);
    const filter = (result: SearchResult): boolean => {
      const facts = this.facts.get(String(result.id));
      return facts !== undefined && passes(facts);
    };
    let results: SearchResult[];
    if (query.trim() === '') {
      results = this.mini.search(MiniSearch.wildcard, { filter });
    } else {
      results = this.mini.search(query, { ...DEFAULT_SEARCH_OPTIONS, filter });
      // AND is precise but unforgiving of one odd word; OR still finds something useful.
      if (results.length === 0) {
        results = this.mini.search(query, { ...DEFAULT_SEARCH_OPTIONS, combineWith: 'OR', filter });
      }
    }
    const ranked = orderHits(
      results.map((r) => ({ ...this.facts.get(String(r.id))!, score: r.score })),
      o,
    );
    return ranked.map((f) => ({ ...this.summaries.get(f.id)!, score: f.score }));
  }
}

/** Search options after {@link validateSearchOptions}. */
export interface ValidSearchOptions {
  type: string | undefined;
  os: string | undefined;
  arch: string | undefined;
  sort: SearchSort;
  limit: number;
}

/**
 * What the filters and orders of a search read of a package: the same few facts whether they
 * come from a whole summary ({@link hitFacts}) or from a sharded index's compact document entry.
 */
export interface HitFacts {
  /** Identifies the hit to its caller (a document id, a name). */
  id: string;
  /** The package name: the `name` order, and ties of the others. */
  name: string;
  /** Relevance. */
  score: number;
  /** `updated_at` in milliseconds: the `recent` order. */
  updated_ms: number;
  /** `server_type`, or null: the `type` filter. */
  server_type: string | null | undefined;
  /** The platforms as a mask (`platformMask` in `src/search/platforms.ts`): the `os`/`arch` filters. */
  platform_mask: number;
}

/** The {@link HitFacts} of a summary. */
export function hitFacts(summary: PackageSummary, score: number, id: string = summary.name): HitFacts {
  return {
    id,
    name: summary.name,
    score,
    updated_ms: Date.parse(summary.updated_at),
    server_type: summary.server_type ?? null,
    platform_mask: platformMask(summary.platforms),
  };
}

/**
 * The filters of a search as a predicate: the `type` filter, and the `os`/`arch` filters, which
 * match an OS and an architecture on the same platform entry (`any` matches every value). Shared
 * by {@link SearchEngine} and the sharded client (`src/search/sharded-client.ts`).
 */
export function searchFilter(o: Pick<ValidSearchOptions, 'type' | 'os' | 'arch'>): (facts: Pick<HitFacts, 'server_type' | 'platform_mask'>) => boolean {
  const fm = filterMask(o.os, o.arch);
  const type = o.type;
  return (facts) => (type === undefined || facts.server_type === type) && (fm === null || (facts.platform_mask & fm) !== 0);
}

/**
 * Orders hits as a search's `sort` asks (ties by name, so results are deterministic) and keeps
 * the first `limit`. Shared by {@link SearchEngine} and the sharded client. Does not filter:
 * filters apply inside the engine's query (see {@link searchFilter}), so that an AND query that
 * matches nothing after filtering falls back to OR.
 */
export function orderHits<T extends Pick<HitFacts, 'name' | 'score' | 'updated_ms'>>(hits: readonly T[], o: Pick<ValidSearchOptions, 'sort' | 'limit'>): T[] {
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

type Sortable = Pick<HitFacts, 'name' | 'score' | 'updated_ms'>;
const byName = (a: Sortable, b: Sortable): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

// Ties fall back to the name so results are deterministic.
const COMPARATORS: Record<SearchSort, (a: Sortable, b: Sortable) => number> = {
  relevance: (a, b) => b.score - a.score || byName(a, b),
  recent: (a, b) => b.updated_ms - a.updated_ms || byName(a, b),
  name: byName,
};

/** The order of a sort over hits (ties by name): what {@link orderHits} sorts with. */
export function compareHits(sort: SearchSort): (a: Sortable, b: Sortable) => number {
  return COMPARATORS[sort];
}

function pickStored(hit: SearchResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of STORE_FIELDS) {
    if (hit[field] !== undefined) out[field] = hit[field];
  }
  return out;
}
