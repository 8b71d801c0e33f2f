/**
 * Client-side search over the sharded index: reads ONE root (the generation pointer), then only
 * the immutable files a query needs, merges them into one MiniSearch index with the registry's
 * global statistics and queries it with the shared options. Results are those of one whole index
 * whenever every word could be read whole; where they can differ: docs/sharded-search.md, "The
 * reader". Pure module: no Node APIs (the web page imports it); `fetch` is passed in.
 *
 * @module
 */
import type { SearchOptions, SearchResult } from 'minisearch';
import { globalFetch, type FetchLike } from '../../core/fetch-json.ts';
import { readBounds, type ReadBounds } from '../../core/read-bounds.ts';
import { isShelfError, ShelfError } from '../../core/errors.ts';
import type { Kind } from '../../core/names.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, isCompound, SEARCH_FIELDS, SEARCHED_FIELDS } from '../../core/search-options.ts';
import { shardedRootKey } from '../../core/paths.ts';
import { orderHits, rankScore, searchFilter, validateSearchOptions, type SearchHit, type SearchQueryOptions, type ValidSearchOptions } from '../query.ts';
import { maxDistance } from '../format/matching.ts';
import { placeTerms } from '../format/placement.ts';
import { alternativesAmong, engineQuery, holdingToolWords, matchOf, plainWords, queryWords, rankResult, stemRange, suggestion, swapsOf } from '../ranking.ts';
import { reverseTerm } from '../format/reverse.ts';
import { checkDeltaFile, checkDictFile, checkRefsFile, checkSuffixesFile, pagedOf } from '../format/validate.ts';
import { DictEntry, DocEntry, Ref, TermEntry } from '../format/wire-fields.ts';
import type { DictEntryJson, DocEntryJson, RefJson, ShardedRoot, TreeJson } from '../format/wire.ts';
import { deltaTermsMatching, deltaView, type DeltaView } from './delta-view.ts';
import { listCatalog } from './listing.ts';
import { assemble } from './merge.ts';
import {
  candidates,
  compare,
  headPagesRead,
  infoTerm,
  byPriority,
  exactRange,
  furtherPages,
  nameLookups,
  pageFile,
  prefixEnd,
  termsEntry,
  termsFile,
  tokenize,
  pagesToRead,
  plannedBytes,
  type Candidate,
  type FieldPages,
  type PageRef,
  type Range,
} from './pieces.ts';
import { documentFrequencies, entryFacts, likelyOrder, rescorer, type Ranked, type Rescorer } from './scoring.ts';
import { isGone, parseWith, Transport, type TransferStats } from './transport.ts';

export type { FetchLike, TransferStats };
export { nameFieldTerms, prefixEnd, tokenize } from './pieces.ts';

/** One page of results: the hits shown, and whether more follow them. */
export interface SearchPage {
  /** At most `limit` hits, with their display data. */
  hits: SearchHit[];
  /** Whether the query has more hits than `limit` (known without reading their display data). */
  more: boolean;
}

/** Options of {@link ShardedSearch.open}. */
export interface ShardedSearchOptions {
  /** Fetches a URL; default the global `fetch`. */
  fetch?: FetchLike;
  /** Base URL of the registry's static files (the CDN), e.g. `https://registry.example.com`. */
  baseUrl: string;
  /** Which index: `bundle` or `skill`. */
  kind: Kind;
  /**
   * Bytes of index files (uncompressed JSON) a query may read for prefix and fuzzy expansions
   * and further pages of common words, beyond the files of its exact words. Default
   * {@link defaultExpansionBudget} of the registry's size.
   */
  expansionBudget?: number;
  /** Most catalog pages an empty query reads to fill a filtered list. Default 8. */
  maxListPages?: number;
  /** Size and time bounds of every read. Default {@link DEFAULT_READ_BOUNDS}. */
  bounds?: Partial<ReadBounds>;
}

/**
 * Default of {@link ShardedSearchOptions.expansionBudget}: 150 kB of JSON up to 10,000 packages,
 * then 100 kB more per tenfold growth, at most 350 kB: larger registries have longer posting lists
 * for the same words, and this keeps first queries within the design's goals.
 */
export function defaultExpansionBudget(documents: number): number {
  const growth = Math.log10(Math.max(documents, 10_000) / 10_000);
  return Math.round(Math.min(350_000, 150_000 + 100_000 * growth));
}

/**
 * Bytes of JSON (the index files a query planned, plus the display files of the candidates it
 * scored again) past which it scores no further round of candidates: 1.7 times the expansion
 * budget, 2.5 times for three words or more (their AND is rarer among the candidates, so more of
 * them must be scored to find it). The first round is always scored.
 */
export function queryByteCap(documents: number, budget: number | null, words: number): number {
  return Math.round((words >= 3 ? 2.5 : 1.7) * (budget ?? defaultExpansionBudget(documents)));
}

/** Dictionary files read per word for its prefix range. */
const MAX_PREFIX_FILES = 4;
/** Dictionary (and suffix) files read per word for typos. */
const MAX_FUZZY_FILES = 2;
/** Typo matches found through the suffixes that are then looked up in the dictionary. */
const MAX_OUTSIDE_LOOKUPS = 6;
/** Candidates scored again from their summaries when a word is known only in part, per round. */
const RESCORE_POOL = 40;
/** The same for queries of three words or more, whose AND is rarer among the candidates. */
const RESCORE_POOL_LONG = 60;
/**
 * Candidates scored again per round (besides the name-pair ones): {@link RESCORE_POOL}
 * ({@link RESCORE_POOL_LONG} for three words or more), or `limit` when larger.
 */
export function rescorePool(words: number, limit: number): number {
  return Math.max(limit, words >= 3 ? RESCORE_POOL_LONG : RESCORE_POOL);
}
/**
 * Candidates scored again in the first round (besides the name-pair ones): {@link rescorePool},
 * or twice `limit` for one word when that is fewer. A one-word query's pages are read best impact
 * first, so the best of what was read are its best candidates already (at 10,000 packages, a
 * page's 5 results from 10 candidates agree with the whole index as they did from 40, on every
 * query class of the bench, while 5, 6 or 7 lost some on one class or another), and each candidate costs a display file.
 * Two words lose agreement that way (the pair a document holds is not what either word's pages
 * are ordered by), so they keep the full pool.
 */
export function firstRescorePool(words: number, limit: number): number {
  const pool = rescorePool(words, limit);
  return words === 1 ? Math.min(pool, 2 * limit) : pool;
}
/**
 * Most further pages a query of two words or more reads beyond its budget to know its words
 * whole: when the pages left out of their fields are this few (and within {@link queryByteCap}),
 * reading them costs fewer requests than scoring {@link RESCORE_POOL} candidates again from their
 * display files, and the results are then the whole index's exactly.
 */
const MAX_COMPLETING_PAGES = 10;
/** Most rounds of candidates scored again. */
const RESCORE_ROUNDS = 3;
/** Most word pairs looked up in the name-pair index. */
const MAX_PAIRS = 6;
/** Ids of the fields a query searches (`SEARCHED_FIELDS`: all but the scope). */
const SEARCHED_IDS: ReadonlySet<number> = new Set(SEARCHED_FIELDS.map((f) => SEARCH_FIELDS.indexOf(f as (typeof SEARCH_FIELDS)[number])));

/** What one query has found so far, passed from step to step of {@link ShardedSearch.search}. */
interface QueryState {
  o: ValidSearchOptions;
  /** The words searched for (`queryWords` in `ranking.ts`: distinct tokens, stop words left out). */
  words: string[];
  /** Of those, the plain words (`plainWords`: a tool name's compound term left out): what the candidate heuristics count. */
  plain: string[];
  /** Words known only in part (a range cut, an expansion or page left out): they do not restrict the AND. */
  partial: Set<string>;
  root: ShardedRoot;
  delta: DeltaView | null;
  /** The delta's terms that match a word. */
  deltaMatches: string[];
  /** Dictionary terms matching the words. */
  cands: Map<string, Candidate>;
  /** Those whose postings are read. */
  selected: Candidate[];
  /** Bytes of JSON left for expansions and further pages. */
  budget: { left: number };
  /** Files this query reads, by name, with their sizes (bytes of JSON). */
  planned: Map<string, number>;
  /** Files read, by name. */
  files: Map<string, unknown>;
  /** The name-pair candidates, when looked up ahead. */
  pairs: Promise<DocEntryJson[]> | null;
  /** Every term seen near the words (dictionary and suffix ranges): what a suggestion picks from. */
  near: Set<string>;
}

/**
 * A search client over one generation of a sharded index.
 *
 * @example
 * ```ts
 * const search = await ShardedSearch.open({ baseUrl: 'https://registry.example.com', kind: 'bundle' });
 * const hits = await search.search('weather', { os: 'linux', limit: 5 });
 * ```
 */
export class ShardedSearch {
  /** The kind of package searched. */
  readonly kind: Kind;
  /** Transfer counters, for benchmarks and tests. */
  readonly stats: TransferStats;
  private readonly budget: number | null;
  private readonly maxListPages: number;
  /** Views of the delta files read, by file name. */
  private readonly deltas = new Map<string, DeltaView>();

  private constructor(
    opts: { kind: Kind; expansionBudget: number | null; maxListPages: number },
    private readonly transport: Transport,
    private root: ShardedRoot,
    private rootEtag: string | null,
  ) {
    this.kind = opts.kind;
    this.stats = transport.stats;
    this.budget = opts.expansionBudget;
    this.maxListPages = opts.maxListPages;
  }

  /**
   * Reads the root of a kind and returns a client bound to that generation.
   *
   * @throws ShelfError `invalid_argument` naming a bad option; `registry_unreachable` when the
   *   root is absent, cannot be read or is not a sharded index of this format.
   */
  static async open(options: ShardedSearchOptions): Promise<ShardedSearch> {
    const client = await ShardedSearch.openIfPublished(options);
    if (!client) throw new ShelfError('registry_unreachable', `${shardedRootKey(options.kind)} was not found at ${options.baseUrl}.`);
    return client;
  }

  /** Like {@link ShardedSearch.open}, but null when nothing of the kind was ever published (no root). */
  static async openIfPublished(options: ShardedSearchOptions): Promise<ShardedSearch | null> {
    const o = options ?? ({} as ShardedSearchOptions);
    if (typeof o.baseUrl !== 'string' || !/^https?:\/\//.test(o.baseUrl)) {
      throw new ShelfError('invalid_argument', `The "baseUrl" option must be an http(s) URL; got ${JSON.stringify(o.baseUrl)}.`);
    }
    if (o.kind !== 'bundle' && o.kind !== 'skill') throw new ShelfError('invalid_argument', `The "kind" option must be bundle or skill; got ${JSON.stringify(o.kind)}.`);
    const fetchFn = o.fetch ?? globalFetch;
    if (typeof fetchFn !== 'function') throw new ShelfError('invalid_argument', 'The "fetch" option must be a function.');
    const budget = o.expansionBudget ?? null;
    if (budget !== null && (!Number.isInteger(budget) || budget < 0)) {
      throw new ShelfError('invalid_argument', `The "expansionBudget" option must be a non-negative integer; got ${String(budget)}.`);
    }
    const maxListPages = o.maxListPages ?? 8;
    if (!Number.isInteger(maxListPages) || maxListPages < 1) throw new ShelfError('invalid_argument', `The "maxListPages" option must be a positive integer; got ${String(maxListPages)}.`);
    const transport = new Transport(fetchFn, o.baseUrl.replace(/\/+$/, ''), o.kind, readBounds(o.bounds));
    const read = await transport.fetchRoot(null).catch((error: unknown) => {
      if (isShelfError(error, 'not_found')) return null;
      throw error;
    });
    return read && new ShardedSearch({ kind: o.kind, expansionBudget: budget, maxListPages }, transport, read.root!, read.etag);
  }

  /** The generation this client reads: the root document. */
  get generation(): ShardedRoot {
    return this.root;
  }

  /** Number of packages in this generation. */
  get size(): number {
    return this.root.search.document_count;
  }

  /**
   * Revalidates the root (`If-None-Match`) and moves to the newest generation. Files already
   * downloaded stay cached: they are immutable, and the new generation shares most of them.
   *
   * @returns True when the generation changed.
   */
  async refresh(): Promise<boolean> {
    const { root, etag } = await this.transport.fetchRoot(this.rootEtag).catch((error: unknown) => {
      throw isShelfError(error, 'not_found') ? new ShelfError('registry_unreachable', error.message, { url: error.details?.url ?? '', status: 404 }) : error;
    });
    if (!root) return false;
    const changed = JSON.stringify(root) !== JSON.stringify(this.root);
    this.root = root;
    this.rootEtag = etag;
    return changed;
  }

  /**
   * Searches under the query contract (`query.ts`) and the ranking rules (`ranking.ts`): prefix,
   * fuzzy, swap and stem matching, any word (documents holding more of them first); an empty query
   * lists packages from the catalog.
   *
   * @throws ShelfError `invalid_argument` naming the offending option; `registry_unreachable`
   *   when a file cannot be read or is malformed.
   */
  async search(query: string, opts: SearchQueryOptions = {}): Promise<SearchHit[]> {
    return (await this.searchPage(query, opts)).hits;
  }

  /**
   * Like {@link ShardedSearch.search}, and says whether more hits follow the `limit` shown: a
   * page showing `limit` results offers "more" without reading the display file of one more hit.
   *
   * @throws ShelfError `invalid_argument` naming the offending option; `registry_unreachable`
   *   when a file cannot be read or is malformed.
   */
  async searchPage(query: string, opts: SearchQueryOptions = {}): Promise<SearchPage> {
    try {
      return await this.answer(query, opts);
    } catch (error) {
      // A file of this generation is gone: the client held its root past `shelf gc`'s grace
      // period. A newer generation answers instead.
      if (isShelfError(error, 'registry_unreachable') && isGone(error.details) && (await this.refresh())) return this.answer(query, opts);
      throw error;
    }
  }

  /**
   * "Did you mean": the query with each word replaced by the nearest term of the index around it
   * (`suggestion` in `ranking.ts`), or null when none is nearer than the word itself. Reads the
   * dictionary files a search of the query reads (cached when it just ran).
   *
   * @throws ShelfError `invalid_argument` when the query is not a string; `registry_unreachable`
   *   when a file cannot be read or is malformed.
   */
  async suggest(query: string): Promise<string | null> {
    const o = validateSearchOptions(query, {});
    const q = this.state(query, o);
    if (q === null) return null;
    const dict = await this.readDictionary(q);
    // Beyond the typo ranges: the terms starting as the word would with one of its first letters
    // swapped back (`snetyr` → `se…`), a file each, nearest that spelling.
    const ranges: Range[] = [];
    for (const w of q.words) {
      for (let i = 0; i < Math.min(3, w.length - 1); i++) {
        const v = w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2);
        ranges.push({ from: v.slice(0, 2), to: prefixEnd(v.slice(0, 2)), anchor: v, cap: 1, word: null });
      }
    }
    dict.push(...(await this.dictionary(ranges, new Set())));
    // The delta's terms (its packages are not in the base dictionary), counted in its packages.
    const df = new Map<string, number>();
    for (const [t, byField] of q.delta?.postings ?? []) {
      q.near.add(t);
      df.set(t, new Set([...byField.values()].flatMap((m) => [...m.keys()])).size);
    }
    for (const e of new Map(dict.map((d) => [DictEntry.file(d), d])).values()) {
      for (const info of DictEntry.terms(e)) {
        q.near.add(infoTerm(info));
        df.set(infoTerm(info), (df.get(infoTerm(info)) ?? 0) + Object.values(DictEntry.paged(info)).reduce((n, [d]) => n + d, 1));
      }
    }
    return suggestion(q.words, q.near, (t) => df.get(t) ?? 0);
  }

  /** A query's starting state, or null when it has no words. */
  private state(query: string, o: ValidSearchOptions): QueryState | null {
    const words = queryWords(tokenize(query));
    if (words.length === 0) return null;
    const root = this.root;
    return {
      o,
      words,
      plain: plainWords(words),
      partial: new Set(),
      root,
      delta: null,
      deltaMatches: [],
      cands: new Map(),
      selected: [],
      budget: { left: this.budget ?? defaultExpansionBudget(root.search.document_count) },
      planned: new Map(),
      files: new Map(),
      pairs: null,
      near: new Set(),
    };
  }

  /** A query, step by step: each step is a method of its own, below. */
  private async answer(query: string, opts: SearchQueryOptions): Promise<SearchPage> {
    const o = validateSearchOptions(query, opts);
    if (query.trim() === '') {
      // Catalog pages carry the summaries: one more hit costs nothing to know.
      const listed = await listCatalog(this.transport, this.root, await this.deltaOf(this.root), { ...o, limit: o.limit + 1 }, this.maxListPages);
      return { hits: listed.slice(0, o.limit), more: listed.length > o.limit };
    }
    const q = this.state(query, o);
    if (q === null) return { hits: [], more: false };
    const root = q.root;
    const dict = await this.readDictionary(q);
    q.cands = candidates(q.words, dict);
    this.select(q, q.cands.values());
    await this.load(q);
    this.readAhead(q);
    await this.lookUpNames(q);
    const pages = await this.readPages(q);
    // Terms only the delta holds (a term the base holds goes in only when selected, with its base postings).
    const deltaOnly = q.deltaMatches.filter((t) => !q.cands.has(t));
    const mini = assemble(root, q.selected, q.files, pages, q.delta, deltaOnly);
    const { results, options } = this.runQuery(q, mini);
    const ranked = await this.order(q, mini, results, options, pages, deltaOnly);
    return this.present(holdingToolWords(ranked, q.words), o);
  }

  /**
   * 1. The dictionary around each word: its prefix range, and for typos the terms keeping its first
   *    or (through the suffixes) last k = ⌊length / (d + 1)⌋ letters: at d = 1 one edit cannot touch
   *    both ends, so that finds every term MiniSearch's fuzzy match does (and most one swap away; the
   *    rest are looked up), and the range of its stem (`stemRange`). The delta is read alongside.
   */
  private async readDictionary(q: QueryState): Promise<DictEntryJson[]> {
    const { words, partial } = q;
    const ranges: Range[] = [];
    const suffixRanges: Range[] = [];
    // A tool name's compound term is in the pair tree (`placeTerms`), matched exactly only.
    const placed = placeTerms(words, (w) => w);
    const compounds = placed.pairs.map(exactRange);
    for (const w of placed.terms) {
      ranges.push({ from: w, to: prefixEnd(w), anchor: w, cap: MAX_PREFIX_FILES, word: w });
      const stem = stemRange(w);
      if (stem !== null && stem !== w) ranges.push({ from: stem, to: prefixEnd(stem), anchor: w, cap: MAX_FUZZY_FILES, word: null });
      const d = maxDistance(w);
      if (d === 0) continue;
      const k = Math.max(2, Math.floor(w.length / (d + 1)));
      ranges.push({ from: w.slice(0, k), to: prefixEnd(w.slice(0, k)), anchor: w, cap: MAX_FUZZY_FILES, word: null });
      const rw = reverseTerm(w);
      suffixRanges.push({ from: rw.slice(0, k), to: prefixEnd(rw.slice(0, k)), anchor: rw, cap: MAX_FUZZY_FILES, word: null });
      // A swap that keeps neither end (the middle of a short word): looked up on its own.
      for (const v of swapsOf(w)) if (!v.startsWith(w.slice(0, k)) && !v.endsWith(w.slice(-k))) ranges.push(exactRange(v));
    }
    const [dict, reversed, delta, tools] = await Promise.all([
      this.dictionary(ranges, partial),
      this.suffixes(suffixRanges),
      this.deltaOf(q.root),
      compounds.length > 0 ? this.dictionary(compounds, partial, q.root.search.pairs) : [],
    ]);
    dict.push(...tools);
    q.delta = delta;
    this.readExactAhead(q, dict);
    // Typo matches the forward ranges did not cover: look them up one by one, best first.
    const covered = new Set(dict.flatMap((e) => DictEntry.terms(e).map(infoTerm)));
    const outside = new Map<string, number>();
    for (const t of covered) q.near.add(t);
    for (const rt of reversed) {
      const t = reverseTerm(rt);
      q.near.add(t);
      if (covered.has(t)) continue;
      for (const w of words) {
        const m = matchOf(w, t);
        if (m && !m.exact) outside.set(t, Math.max(outside.get(t) ?? 0, m.weight));
      }
    }
    const lookups = [...outside]
      .sort((a, b) => b[1] - a[1] || compare(a[0], b[0]))
      .slice(0, MAX_OUTSIDE_LOOKUPS)
      .map(([t]) => t);
    // The delta's matching terms are looked up too: the base's postings of a term the delta also
    // holds must be read with it (and one the base lacks is then known to be new). Their
    // dictionary files are mostly those already read.
    q.deltaMatches = delta ? deltaTermsMatching(delta, words) : [];
    for (const t of q.deltaMatches) if (!covered.has(t) && !lookups.includes(t)) lookups.push(t);
    if (lookups.length > 0) {
      const read = new Set(dict.map(DictEntry.file));
      const { terms, pairs } = placeTerms(lookups, (t) => t);
      const found = (await Promise.all([this.dictionary(terms.map(exactRange), partial), this.dictionary(pairs.map(exactRange), partial, q.root.search.pairs)])).flat();
      dict.push(...found.filter((e) => !read.has(DictEntry.file(e)) && read.add(DictEntry.file(e))));
    }
    return dict;
  }

  /** 2. Matching terms, best first: exact words are always read, the rest within the budget. */
  private select(q: QueryState, pool: Iterable<Candidate>): void {
    const { planned, budget } = q;
    const cost = (files: [string, number][]): number => files.reduce((n, [f, b]) => n + (planned.has(f) ? 0 : b), 0);
    const ordered = [...pool].sort((a, b) => Number(b.exact) - Number(a.exact) || b.weight - a.weight || compare(a.term, b.term));
    for (const c of ordered) {
      // A term's paged fields may share one `heads` file: count it once.
      const files: [string, number][] = [...new Map([[c.file, c.bytes], ...[...c.paged.values()].map((p) => [p.head, p.headBytes] as [string, number])])];
      let bytes = cost(files);
      if (!c.exact && bytes > budget.left) {
        c.words.forEach((w) => q.partial.add(w));
        // A common expansion: its terms file alone still gives its document frequencies and
        // inline postings; its paged fields are then filled in from the names of the documents read.
        if (c.paged.size === 0 || (bytes = cost(files.slice(0, 1))) > budget.left) continue;
        c.headless = true;
        files.length = 1;
      }
      if (!c.exact) budget.left -= bytes;
      files.forEach(([f, b]) => planned.set(f, b));
      q.selected.push(c);
    }
  }

  /** Reads every file planned so far that is not read yet. */
  private async load(q: QueryState): Promise<void> {
    await Promise.all([...q.planned.keys()].filter((f) => !q.files.has(f)).map(async (f) => q.files.set(f, await this.transport.file(f))));
  }

  /**
   * A word known to be read in part (a range or expansion cut, a field too large for its page
   * references to sit in its entry, more pages than the budget) makes step 5 want the name-pair
   * candidates, and step 3 the deep page trees' first inner files: start both now, alongside steps 2b–4.
   */
  private readAhead(q: QueryState): void {
    const deepTrees = q.selected.flatMap((c) => (c.headless ? [] : Object.values(pagedOf(termsEntry(q.files, c.file, c.term)) ?? {}).filter((p) => p.t.height > 1)));
    if (q.partial.size > 0 || this.readInPart(q, q.selected, q.files)) this.readPairsAhead(q);
    for (const p of deepTrees) this.prefetchDescent(p.t.top as RefJson[], p.t.height, q.budget.left);
  }

  /**
   * The words' own terms are read whatever the budget (step 2): their terms files and head pages
   * are requested as soon as the dictionary names them, alongside the lookups of step 1. When
   * they alone show a word will be read in part, the name-pair candidates are requested then too.
   */
  private readExactAhead(q: QueryState, dict: DictEntryJson[]): void {
    const exact = [...candidates(q.words, dict).values()].filter((c) => c.exact);
    const files = new Map<string, unknown>();
    const reads = exact.flatMap((c) => [c.file, ...[...c.paged.values()].map((p) => p.head)]).map(async (f) => files.set(f, await this.transport.file(f)));
    Promise.all(reads)
      .then(() => {
        if (this.readInPart(q, exact, files)) this.readPairsAhead(q);
      })
      .catch(() => undefined); // step 2 reads them again and reports the failure
  }

  /** Starts reading the name-pair candidates step 5 wants when a word is read in part (two words or more, by relevance). */
  private readPairsAhead(q: QueryState): void {
    if (q.pairs || q.plain.length < 2 || q.o.sort !== 'relevance') return;
    q.pairs = this.pairCandidates(q.plain);
    q.pairs.catch(() => undefined); // awaited in step 5 when used; a failure then is the query's
  }

  /**
   * Whether step 3 will leave some paged field of these terms read in part: its page references
   * do not sit in its entry (a deeper tree), or the further pages of their searched fields
   * outweigh the budget left (step 3 then leaves one of them out). Known before a page is read.
   */
  private readInPart(q: QueryState, cands: Candidate[], files: Map<string, unknown>): boolean {
    const pages: PageRef[] = [];
    let order = 0;
    for (const c of cands) {
      if (c.headless) continue;
      for (const [fid, p] of Object.entries(pagedOf(termsEntry(files, c.file, c.term)) ?? {})) {
        if (!SEARCHED_IDS.has(Number(fid)) || !c.paged.has(Number(fid))) continue;
        if (p.t.height > 1) return true;
        pages.push(...furtherPages(c.term, Number(fid), c.weight, order++, p.t.top as RefJson[]));
      }
    }
    return pagesToRead(byPriority(pages), q.planned, q.budget.left, this.completing(q), MAX_COMPLETING_PAGES).leftOut.size > 0;
  }

  /**
   * Bytes of further pages step 3 may read beyond the budget to read every page of the words'
   * fields (at most {@link MAX_COMPLETING_PAGES}): what is left of {@link queryByteCap} when the
   * query has two words or more, is sorted by relevance and knows every word whole so far (no
   * range or expansion cut), so that reading them spares scoring candidates again; 0 otherwise.
   */
  private completing(q: QueryState): number {
    if (q.words.length < 2 || q.o.sort !== 'relevance' || q.partial.size > 0) return 0;
    return Math.max(0, queryByteCap(q.root.search.document_count, this.budget, q.plain.length) - plannedBytes(q.planned));
  }

  /**
   * 2b. Typo and prefix matches the dictionary ranges missed (they are capped), found in the
   *     names of the packages read so far: `note` for `node` in `@x/node-note`, `ai` for `api`
   *     in `@api-ai/x`. A name match weighs most, so these are looked up one by one.
   */
  private async lookUpNames(q: QueryState): Promise<void> {
    const more = nameLookups(q.words, q.cands, q.selected, q.files, headPagesRead(q.selected, q.files));
    if (more.length === 0) return;
    const found = candidates(q.words, await this.dictionary(more.map(exactRange), q.partial));
    for (const t of [...found.keys()]) if (q.cands.has(t)) found.delete(t);
    for (const [t, c] of found) q.cands.set(t, c);
    this.select(q, found.values());
    await this.load(q);
  }

  /**
   * 3. Further pages of paged fields, best terms and fields first, while the budget lasts: a
   *    field read to its end scores exactly; one read in part only adds its known scores.
   */
  private async readPages(q: QueryState): Promise<Map<string, Map<number, FieldPages>>> {
    const pages = await this.planPages(q.selected, q.files, q.budget, q.planned, this.completing(q));
    await this.load(q);
    for (const c of q.selected) {
      for (const [fid] of c.paged) if (SEARCHED_IDS.has(fid) && !pages.get(c.term)?.get(fid)?.complete) c.words.forEach((w) => q.partial.add(w));
    }
    return pages;
  }

  /**
   * 4. Query what was read as the whole index would (`ranking.ts`): any word, documents holding more
   *    of them first. Where a word is known only in part, step 5 settles the order.
   */
  private runQuery(q: QueryState, mini: ReturnType<typeof assemble>): { results: Ranked[]; options: SearchOptions } {
    const { words } = q;
    const docs = mini.docs;
    const passes = searchFilter(q.o);
    const verdicts = new Map<string, boolean>();
    const filter = (r: SearchResult): boolean => {
      const id = String(r.id);
      let ok = verdicts.get(id);
      if (ok === undefined) {
        const d = docs.get(id);
        verdicts.set(id, (ok = d !== undefined && passes(entryFacts(d, 0))));
      }
      return ok;
    };
    const options = { ...DEFAULT_SEARCH_OPTIONS, filter };
    const alternatives = alternativesAmong(words, [...q.cands.keys(), ...q.deltaMatches]);
    const results = mini.engine.search(engineQuery(words, alternatives), options).map((r) => {
      const { score, tier, held } = rankResult(r, words, alternatives);
      return { ...entryFacts(docs.get(String(r.id))!, score, tier), held };
    });
    return { results, options };
  }

  /**
   * 5. Order. When some word is known only in part, the best candidates holding every word known
   *    whole (the core) are scored again exactly, from their whole summaries and the registry's
   *    statistics: that settles which hold every word. The others, which lack a word for certain,
   *    follow in the order of what was read.
   */
  private async order(
    q: QueryState,
    mini: ReturnType<typeof assemble>,
    results: Ranked[],
    options: SearchOptions,
    pages: Map<string, Map<number, FieldPages>>,
    deltaOnly: string[],
  ): Promise<Ranked[]> {
    const { o, words, plain, partial, root, delta } = q;
    if (partial.size === 0 || o.sort !== 'relevance') return results;
    const sorted = orderHits(results, { sort: 'relevance', limit: results.length });
    // A document missing from a partial word's pages may still hold it: only the complete words
    // decide the core (every document, when none holds them all). A tool name's compound term does
    // not: the core would be its one package, and the rest of the page left unscored.
    const complete = plain.filter((w) => !partial.has(w));
    const holdsComplete = (h: Ranked): boolean => complete.every((w) => h.held?.has(w));
    const core = sorted.filter(holdsComplete);
    const ranked = core.length > 0 ? core : sorted;
    // Packages whose name holds two of the words rank high in the whole index, yet sit deep
    // in each common word's pages: the name-pair index finds them directly.
    // The packages with a tool the query names (its compound term, read whole) rank first in the
    // whole index, yet seen to hold fewer words than others where a word is read in part: they are
    // scored again before any other.
    const tooled = sorted.filter((h) => words.some((w) => isCompound(w) && h.held?.has(w)));
    const tooledNames = new Set(tooled.map((h) => h.name));
    const paired = plain.length >= 2 ? (await (q.pairs ?? this.pairCandidates(plain))).filter((d) => !delta?.hiddenNames.has(DocEntry.name(d)) && !tooledNames.has(DocEntry.name(d))) : [];
    const candidates = new Map<string, Ranked>();
    for (const h of tooled) candidates.set(h.name, h);
    for (const d of paired) candidates.set(DocEntry.name(d), entryFacts(d, 0));
    for (const h of ranked) if (!candidates.has(h.name)) candidates.set(h.name, h);
    const df = documentFrequencies(q.selected, q.files, pages, delta, deltaOnly);
    const pairedNames = new Set(paired.map(DocEntry.name));
    const rest = likelyOrder(
      ranked.filter((h) => !pairedNames.has(h.name) && !tooledNames.has(h.name)),
      plain,
      partial,
      (w) => mini.engine.search(w, options),
      q.selected,
      df,
      root.search.document_count,
    );
    const queue = [...tooled, ...paired.map((d) => candidates.get(DocEntry.name(d))!), ...rest];
    const pooled: PackageSummary[] = [];
    const scorer = rescorer(root, words, alternativesAmong(words, df.keys()), df, o);
    let displayBytes = 0;
    let exact: ReturnType<Rescorer['score']> = { results: [], complete: 0 };
    // Rounds of candidates, best first, until enough of them are known to hold every word, or
    // until the query has read its share of bytes (the first round is always scored).
    let spent = plannedBytes(q.planned);
    const cap = queryByteCap(root.search.document_count, this.budget, plain.length);
    for (let round = 0; round < RESCORE_ROUNDS && pooled.length < queue.length; round++) {
      const size = round === 0 ? tooled.length + paired.length + firstRescorePool(plain.length, o.limit) : rescorePool(plain.length, o.limit);
      if (round > 0 && spent + size * (displayBytes / pooled.length) > cap) break;
      const batch = queue.slice(pooled.length, pooled.length + size);
      const read = await Promise.all(batch.map((h) => this.transport.display(DocEntry.displayFile(h.doc))));
      for (const r of read) {
        const b = JSON.stringify(r).length;
        displayBytes += b;
        spent += b;
      }
      pooled.push(...read);
      scorer.add(read);
      exact = scorer.score();
      if (exact.complete >= Math.min(o.limit, RESCORE_POOL)) break;
    }
    const pooledNames = new Set(pooled.map((p) => p.name));
    const others = sorted.filter((h) => !pooledNames.has(h.name) && !holdsComplete(h));
    const scored: Ranked[] = exact.results.map((r) => {
      const c = candidates.get(r.name)!;
      return { ...c, score: rankScore(r.score, c.deprecated), tier: r.tier, held: r.held };
    });
    const seen = new Set(scored.map((h) => h.name));
    return [...scored, ...others.filter((h) => !seen.has(h.name))];
  }

  /** 6. The hits shown, in the requested order, with their display data (only theirs), and whether more follow. */
  private async present(ranked: Ranked[], o: ValidSearchOptions): Promise<SearchPage> {
    const top = orderHits(ranked, { sort: o.sort, limit: o.limit + 1 });
    const shown = top.slice(0, o.limit);
    const summaries = await Promise.all(shown.map((h) => this.transport.display(DocEntry.displayFile(h.doc))));
    return { hits: shown.map((h, i) => ({ ...summaries[i]!, score: h.score })), more: top.length > o.limit };
  }

  /**
   * Chooses further pages of the selected terms' paged fields within the budget (adding them to
   * `planned`) and returns, per term and field, the pages to read and whether they are all of them.
   */
  private async planPages(
    selected: Candidate[],
    files: Map<string, unknown>,
    budget: { left: number },
    planned: Map<string, number>,
    completing: number,
  ): Promise<Map<string, Map<number, FieldPages>>> {
    const out = new Map<string, Map<number, FieldPages>>();
    const queue: PageRef[] = [];
    /** A paged field whose page references sit below the root of its page tree, descending. */
    type Descent = { term: string; fid: number; weight: number; order: number; refs: RefJson[]; height: number };
    const enqueue = (d: Descent): void => void queue.push(...furtherPages(d.term, d.fid, d.weight, d.order, d.refs));
    let level: Descent[] = [];
    let met = 0;
    for (const c of selected) {
      if (c.paged.size === 0) continue;
      const entry = termsEntry(files, c.file, c.term);
      const byField = new Map<number, FieldPages>();
      out.set(c.term, byField);
      for (const [fid, info] of c.paged) {
        const paged = pagedOf(entry)?.[String(fid)];
        if (!paged) throw new ShelfError('registry_unreachable', `The index file ${c.file} lacks the pages its dictionary lists for "${c.term}".`);
        // A field no query searches (the scope): its head page only, and it leaves no word partial.
        if (c.headless || !SEARCHED_IDS.has(fid)) {
          byField.set(fid, { df: info.df, pages: c.headless ? [] : [info.head], complete: false });
          continue;
        }
        byField.set(fid, { df: info.df, pages: [info.head], complete: false });
        const d = { term: c.term, fid, weight: c.weight, order: met++, refs: paged.t.top as RefJson[], height: paged.t.height };
        if (d.height > 1) level.push(d);
        else enqueue(d);
      }
    }
    // A deep tree is read in part whatever happens: no page beyond the budget then.
    if (level.length > 0) completing = 0;
    // The page references of a large field: the first inner file of each level, down to level 1.
    // Every field descends at once, one level per round of requests (the budget decided in order).
    while (level.length > 0) {
      const next: Descent[] = [];
      for (const d of level) {
        const first = d.refs[0]!;
        if (first[2] > budget.left) continue; // no budget for its references: the head page only
        if (!planned.has(Ref.file(first))) budget.left -= Ref.bytes(first);
        planned.set(Ref.file(first), Ref.bytes(first));
        next.push(d);
      }
      await Promise.all(
        next.map(async (d) => {
          const file = Ref.file(d.refs[0]!);
          d.refs = parseWith(checkRefsFile, await this.transport.file(file), file).e;
          d.height--;
        }),
      );
      next.filter((d) => d.height === 1).forEach(enqueue);
      level = next.filter((d) => d.height > 1);
    }
    byPriority(queue);
    // Every page, when those the budget leaves out are few enough to read beyond it (`completing`).
    const plan = pagesToRead(queue, planned, budget.left, completing, MAX_COMPLETING_PAGES);
    budget.left = plan.left;
    for (const p of plan.read) {
      planned.set(p.file, p.bytes);
      out.get(p.term)!.get(p.fid)!.pages.push(p.file);
    }
    // A field is complete when every page was read (only possible when its references are inline).
    for (const c of selected) {
      const entry = termsEntry(files, c.file, c.term);
      for (const [fid, field] of out.get(c.term) ?? []) {
        const tree = pagedOf(entry)![String(fid)]!.t;
        field.complete = tree.height === 1 && field.pages.length === tree.top.length;
      }
    }
    return out;
  }

  /** Warms the cache with the first inner file of each level of a page tree that fits `budget`. */
  private prefetchDescent(refs: RefJson[], height: number, budget: number): void {
    const first = refs[0];
    if (height <= 1 || !first || Ref.bytes(first) > budget) return;
    this.transport.file(Ref.file(first))
      .then((json) => this.prefetchDescent(parseWith(checkRefsFile, json, Ref.file(first)).e, height - 1, budget - Ref.bytes(first)))
      .catch(() => undefined); // step 3 reads it again and reports the failure
  }

  /** Packages whose name holds two of the words (name-pair index): per pair, head page then inline postings, at most {@link RESCORE_POOL}. */
  private async pairCandidates(words: string[]): Promise<DocEntryJson[]> {
    const keys: string[] = [];
    for (let i = 0; i < words.length; i++) {
      for (let j = i + 1; j < words.length; j++) {
        const [a, b] = [words[i]!, words[j]!].sort(compare) as [string, string];
        keys.push(`${a} ${b}`);
      }
    }
    const wanted = new Set(keys.slice(0, MAX_PAIRS));
    const dict = await this.dictionary([...wanted].map(exactRange), new Set(), this.root.search.pairs);
    // Each pair's terms file and head pages, all at once.
    const found: { file: string; key: string; heads: [number, string][] }[] = [];
    for (const [file, , infos] of dict) {
      for (const info of infos) {
        const key = infoTerm(info);
        if (!wanted.delete(key)) continue;
        found.push({ file, key, heads: Object.entries(DictEntry.paged(info)).map(([fid, [, head]]) => [Number(fid), head] as [number, string]) });
      }
    }
    const files = new Map<string, unknown>();
    const names = new Set(found.flatMap((f) => [f.file, ...f.heads.map(([, head]) => head)]));
    await Promise.all([...names].map(async (f) => files.set(f, await this.transport.file(f))));
    const out = new Map<string, DocEntryJson>();
    for (const { file, key, heads } of found) {
      const tf = termsFile(files, file);
      const docs: DocEntryJson[] = [];
      for (const [fid, head] of heads) {
        const page = pageFile(files, head, fid);
        for (const [id] of page.e) docs.push(page.docs.get(id)!);
      }
      const flat = TermEntry.postings(termsEntry(files, file, key))['0'] ?? [];
      const inline: [DocEntryJson, number][] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) inline.push([tf.docs.get(String(flat[i]))!, Number(flat[i + 2])]);
      inline.sort((x, y) => x[1] - y[1] || compare(x[0][1], y[0][1]));
      docs.push(...inline.map(([d]) => d));
      for (const d of docs.slice(0, RESCORE_POOL)) if (d) out.set(DocEntry.name(d), d);
    }
    return [...out.values()];
  }

  /**
   * The dictionary entries meeting `ranges`. At most `cap` dictionary files are read per range,
   * nearest its anchor first; a word whose own range is cut is added to `partial`.
   */
  private async dictionary(ranges: Range[], partial: Set<string>, tree: TreeJson = this.root.search.terms): Promise<DictEntryJson[]> {
    const entries = await this.collect(tree, ranges, 1, (level, e) => (level === 1 ? infoTerm(DictEntry.terms(e as DictEntryJson)[0]!) : Ref.firstKey(e as RefJson)), (level, json) =>
      level === 1 ? parseWith(checkDictFile, json, 'dictionary').e : parseWith(checkRefsFile, json, 'dictionary').e,
      partial,
    );
    return entries as DictEntryJson[];
  }

  /** The terms spelled backwards in the suffix files meeting `ranges`. */
  private async suffixes(ranges: Range[]): Promise<string[]> {
    if (ranges.length === 0) return [];
    const entries = await this.collect(
      this.root.search.suffixes,
      ranges,
      0,
      (level, e) => (level === 0 ? (e as string) : Ref.firstKey(e as RefJson)),
      (level, json) => (level === 0 ? parseWith(checkSuffixesFile, json, 'suffixes').e : parseWith(checkRefsFile, json, 'suffixes').e),
      new Set(),
    );
    return (entries as string[]).filter((t) => ranges.some((r) => t >= r.from && t < r.to));
  }

  /**
   * Walks a tree from its inline top down to level `stop`, reading only files whose key ranges meet
   * `ranges` (the last step's capped per range, nearest the anchor first), and returns the entries.
   */
  private async collect(
    tree: TreeJson,
    ranges: Range[],
    stop: number,
    keyOf: (level: number, entry: unknown) => string,
    parse: (level: number, json: unknown) => unknown[],
    partial: Set<string>,
  ): Promise<unknown[]> {
    interface Node {
      entries: unknown[];
      lo: string;
      hi: string | null;
    }
    const spans = (level: number, nodes: Node[]): { entry: unknown; lo: string; hi: string | null }[] =>
      nodes.flatMap((n) =>
        n.entries.map((e, i) => ({ entry: e, lo: i === 0 ? n.lo : keyOf(level, e), hi: i + 1 < n.entries.length ? keyOf(level, n.entries[i + 1]) : n.hi })),
      );
    const meets = (r: Range, lo: string, hi: string | null): boolean => lo < r.to && (hi === null || r.from < hi);
    let nodes: Node[] = [{ entries: tree.top, lo: '', hi: null }];
    for (let level = tree.height; level > stop; level--) {
      const all = spans(level, nodes);
      const chosen = new Set<number>();
      for (const r of ranges) {
        let hits = all.map((s, i) => [s, i] as const).filter(([s]) => meets(r, s.lo, s.hi));
        if (level - 1 === stop && hits.length > r.cap) {
          // Nearest the anchor first: the entry holding it, then outwards.
          const at = hits.findIndex(([s]) => s.hi === null || r.anchor < s.hi);
          const pivot = at < 0 ? hits.length - 1 : at;
          hits = hits
            .map((h, k) => [h, Math.abs(k - pivot)] as const)
            .sort((a, b) => a[1] - b[1])
            .slice(0, r.cap)
            .map(([h]) => h);
          if (r.word) partial.add(r.word);
        }
        for (const [, i] of hits) chosen.add(i);
      }
      const picked = [...chosen].sort((a, b) => a - b).map((i) => all[i]!);
      nodes = await Promise.all(
        picked.map(async (s) => {
          const file = Ref.file(s.entry as RefJson);
          return { entries: parse(level - 1, await this.transport.file(file)), lo: s.lo, hi: s.hi };
        }),
      );
    }
    return spans(stop, nodes)
      .filter((s) => ranges.some((r) => meets(r, s.lo, s.hi)))
      .map((s) => s.entry);
  }

  /** The view of a generation's delta (null without one), built once per delta file. */
  private async deltaOf(root: ShardedRoot): Promise<DeltaView | null> {
    if (!root.delta) return null;
    const file = root.delta.file;
    let view = this.deltas.get(file);
    if (!view) {
      view = deltaView(parseWith(checkDeltaFile, await this.transport.file(file), file));
      for (const [display, summary] of view.displays) this.transport.inline.set(display, summary);
      this.deltas.set(file, view);
    }
    return view;
  }
}
