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
import { parsePlatformId } from './platform.ts';

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
    const o = validateOptions(query, opts);
    const filter = (result: SearchResult): boolean => {
      const summary = this.summaries.get(String(result.id));
      return summary !== undefined && matches(summary, o);
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
    const hits: SearchHit[] = results.map((r) => ({ ...this.summaries.get(String(r.id))!, score: r.score }));
    hits.sort(COMPARATORS[o.sort]);
    return hits.slice(0, o.limit);
  }
}

interface ValidOptions {
  type: string | undefined;
  os: string | undefined;
  arch: string | undefined;
  sort: SearchSort;
  limit: number;
}

function validateOptions(query: unknown, opts: SearchQueryOptions): ValidOptions {
  if (typeof query !== 'string') throw new ShelfError('invalid_argument', 'The search query must be a string.');
  const { type, os, arch, sort = 'relevance', limit = DEFAULT_SEARCH_LIMIT } = opts;
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

/**
 * OS and architecture are matched on the same platform entry: asking for linux + arm64 must not
 * match a package that only has linux-x64 and darwin-arm64 builds.
 */
function matches(summary: PackageSummary, o: ValidOptions): boolean {
  if (o.type !== undefined && summary.server_type !== o.type) return false;
  if (o.os === undefined && o.arch === undefined) return true;
  return summary.platforms.some((id) => {
    const p = parsePlatformId(id);
    if (!p) return false;
    const osOk = o.os === undefined || p.os === o.os || p.os === 'any';
    const archOk = o.arch === undefined || p.arch === o.arch || p.arch === 'any';
    return osOk && archOk;
  });
}

const byName = (a: SearchHit, b: SearchHit): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

// Ties fall back to the name so results are deterministic.
const COMPARATORS: Record<SearchSort, (a: SearchHit, b: SearchHit) => number> = {
  relevance: (a, b) => b.score - a.score || byName(a, b),
  recent: (a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at) || byName(a, b),
  name: byName,
};

function pickStored(hit: SearchResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of STORE_FIELDS) {
    if (hit[field] !== undefined) out[field] = hit[field];
  }
  return out;
}
