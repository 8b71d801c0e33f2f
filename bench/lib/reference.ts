/**
 * The ranking reference: one whole MiniSearch index over every package of a kind, built with the
 * registry's shared options (`src/core/search-options.ts`) and queried as the sharded reader
 * promises to query (the ranking rules of `src/search/ranking.ts`; the shared filters and orders
 * of `src/search/query.ts`). This is what the retired `single` layout published; the product now
 * publishes only the sharded index, and the bench and the search tests compare its results with
 * this reference.
 *
 * @module
 */
import MiniSearch, { type AsPlainObject, type SearchResult } from 'minisearch';
import * as z from 'zod';
import { ShelfError } from '../../src/core/errors.ts';
import type { Kind } from '../../src/core/names.ts';
import { PackageSummarySchema, SCHEMA_VERSION, type PackageSummary } from '../../src/core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, SEARCH_FIELDS, indexOptions, searchDocument, type SearchDocument } from '../../src/core/search-options.ts';
import { hitFacts, orderHits, rankScore, searchFilter, validateSearchOptions, type HitFacts, type SearchHit, type SearchQueryOptions } from '../../src/search/query.ts';
import { alternative, engineQuery, holdingToolWords, queryWords, rankResult, stemOf, suggestion, swapsOf, type Alternative } from '../../src/search/ranking.ts';
import { tokenize } from '../../src/search/read/pieces.ts';

const kind = z.enum(['bundle', 'skill']);

/** Fields the whole index stores with each hit, enough to render a result list (the sharded index keeps them in display files). */
const STORE_FIELDS = [
  'kind',
  'name',
  'display_name',
  'description',
  'latest',
  'newest',
  'server_type',
  'platforms',
  'tools',
  'keywords',
  'author',
  'published_at',
  'updated_at',
  'verified',
  'status',
  'status_message',
] as const;

/** The shared options, storing {@link STORE_FIELDS}. */
const referenceOptions = () => ({ ...indexOptions(), storeFields: [...STORE_FIELDS] });

/** Every package of a kind, sorted by name: what the other engines of the bench index. */
export const CatalogSchema = z.object({ schema_version: z.literal(SCHEMA_VERSION), kind, packages: z.array(PackageSummarySchema) });
export type Catalog = z.infer<typeof CatalogSchema>;

/** A serialised whole index, plus what loading it needs. */
export const ReferenceIndexSchema = z.object({
  schema_version: z.literal(SCHEMA_VERSION),
  kind,
  engine: z.literal('minisearch@7'),
  fields: z.array(z.string()),
  store_fields: z.array(z.string()),
  document_count: z.number().int().nonnegative(),
  index: z.record(z.string(), z.unknown()),
});
export type ReferenceIndex = z.infer<typeof ReferenceIndexSchema>;

/** A catalog of summaries, sorted by name. */
export function buildCatalog(kind: Kind, summaries: readonly PackageSummary[]): Catalog {
  return { schema_version: SCHEMA_VERSION, kind, packages: [...summaries].sort((a, b) => a.name.localeCompare(b.name)) };
}

/** The whole index of a catalog, serialised. */
export function buildReferenceIndex(kind: Kind, catalog: Catalog | null): ReferenceIndex {
  const search = new MiniSearch<SearchDocument>(referenceOptions());
  search.addAll((catalog?.packages ?? []).map(searchDocument));
  return {
    schema_version: SCHEMA_VERSION,
    kind,
    engine: 'minisearch@7',
    fields: [...SEARCH_FIELDS],
    store_fields: [...STORE_FIELDS],
    document_count: search.documentCount,
    index: search.toJSON() as unknown as Record<string, unknown>,
  };
}

/** The reference over summaries, ready to query. */
export function referenceSearch(summaries: readonly PackageSummary[], of: Kind = 'bundle'): ReferenceSearch {
  return new ReferenceSearch(buildReferenceIndex(of, buildCatalog(of, summaries)));
}

/**
 * A loaded whole index. Every stored summary is checked against the schema at load, so a
 * malformed index fails there rather than in the middle of a comparison.
 */
export class ReferenceSearch {
  /** The kind of package this index holds. */
  readonly kind: Kind;
  private readonly mini: MiniSearch<SearchDocument>;
  private readonly summaries = new Map<string, PackageSummary>();
  private readonly facts = new Map<string, HitFacts>();
  /** Every term of the index, and the terms by stem (the alternatives a word may have). */
  private readonly terms: Set<string>;
  private readonly byStem = new Map<string, string[]>();

  /** @throws ShelfError `registry_unreachable` when the index cannot be loaded or holds an invalid entry. */
  constructor(doc: ReferenceIndex) {
    this.kind = doc.kind;
    try {
      this.mini = MiniSearch.loadJS<SearchDocument>(doc.index as unknown as AsPlainObject, referenceOptions());
    } catch (error) {
      throw new ShelfError('registry_unreachable', `The ${doc.kind} index cannot be loaded (${error instanceof Error ? error.message : String(error)}).`);
    }
    for (const hit of this.mini.search(MiniSearch.wildcard)) {
      const parsed = PackageSummarySchema.safeParse(Object.fromEntries(STORE_FIELDS.flatMap((f) => (hit[f] === undefined ? [] : [[f, hit[f]]]))));
      if (!parsed.success) throw new ShelfError('registry_unreachable', `The ${doc.kind} index has an invalid entry for ${String(hit.id)}.`);
      this.summaries.set(String(hit.id), parsed.data);
      this.facts.set(String(hit.id), hitFacts(parsed.data, 0, String(hit.id)));
    }
    this.terms = new Set((this.mini as unknown as { _index: { keys(): Iterable<string> } })._index.keys());
    for (const t of this.terms) {
      const stem = stemOf(t);
      if (stem === null) continue;
      const list = this.byStem.get(stem);
      if (list) list.push(t);
      else this.byStem.set(stem, [t]);
    }
  }

  /** The alternatives of each word among every term of the index (`ranking.ts`). */
  private alternatives(words: readonly string[]): Map<string, Map<string, Alternative>> {
    const out = new Map<string, Map<string, Alternative>>();
    for (const w of words) {
      const alts = new Map<string, Alternative>();
      const stem = stemOf(w);
      for (const t of [...swapsOf(w).filter((v) => this.terms.has(v)), ...(stem === null ? [] : (this.byStem.get(stem) ?? []))]) {
        const a = alternative(w, t);
        if (a) alts.set(t, a);
      }
      out.set(w, alts);
    }
    return out;
  }

  /** "Did you mean": the nearest terms of the index to the query's words (`ranking.ts`), or null. */
  suggest(query: string): string | null {
    const words = queryWords(tokenize(query));
    return suggestion(words, this.terms, (t) => this.mini.search(t, { prefix: false, fuzzy: false }).length);
  }

  /** Number of packages in the index. */
  get size(): number {
    return this.summaries.size;
  }

  /**
   * Searches as the registry's readers do: the ranking rules of `ranking.ts` (prefix, fuzzy, swap
   * and stem matching; any word, documents holding more of them first); an empty query lists every package.
   *
   * @throws ShelfError `invalid_argument` naming the offending option.
   */
  search(query: string, opts: SearchQueryOptions = {}): SearchHit[] {
    const o = validateSearchOptions(query, opts);
    const passes = searchFilter(o);
    const filter = (result: SearchResult): boolean => {
      const facts = this.facts.get(String(result.id));
      return facts !== undefined && passes(facts);
    };
    let ranked: HitFacts[];
    if (query.trim() === '') ranked = orderHits(this.mini.search(MiniSearch.wildcard, { filter }).map((r) => ({ ...this.facts.get(String(r.id))!, score: r.score })), o);
    else {
      const words = queryWords(tokenize(query));
      const alternatives = this.alternatives(words);
      const results = words.length === 0 ? [] : this.mini.search(engineQuery(words, alternatives), { ...DEFAULT_SEARCH_OPTIONS, filter });
      // A deprecated package ranks lower, as in the sharded reader (listings are not ranked).
      ranked = orderHits(
        holdingToolWords(
          results.map((r) => {
            const facts = this.facts.get(String(r.id))!;
            const { score, tier, held } = rankResult(r, words, alternatives);
            return { ...facts, score: rankScore(score, facts.deprecated), tier, held };
          }),
          words,
        ),
        o,
      );
    }
    return ranked.map((f) => ({ ...this.summaries.get(f.id)!, score: f.score }));
  }
}
