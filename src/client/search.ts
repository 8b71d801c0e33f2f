/**
 * Client-side search over a whole prebuilt index (`v1/search/{kind}s.json`, the `single`
 * layout): the client downloads the whole MiniSearch index and queries it locally.
 *
 * Pure module: no Node APIs (the web page imports it too).
 *
 * @module
 */
import MiniSearch, { type AsPlainObject, type SearchResult } from 'minisearch';
import { ShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import { PackageSummarySchema, type PackageSummary, type SearchIndexDocument } from '../core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, STORE_FIELDS, indexOptions, type SearchDocument } from '../core/search-options.ts';
import { hitFacts, orderHits, rankScore, searchFilter, validateSearchOptions, type HitFacts, type SearchHit, type SearchQueryOptions } from '../search/query.ts';

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
      results.map((r) => {
        const facts = this.facts.get(String(r.id))!;
        return { ...facts, score: query.trim() === '' ? r.score : rankScore(r.score, facts.deprecated) };
      }),
      o,
    );
    return ranked.map((f) => ({ ...this.summaries.get(f.id)!, score: f.score }));
  }
}

function pickStored(hit: SearchResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of STORE_FIELDS) {
    if (hit[field] !== undefined) out[field] = hit[field];
  }
  return out;
}
