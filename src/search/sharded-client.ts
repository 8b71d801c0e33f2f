/**
 * Client-side search over the sharded index: reads ONE root (the generation pointer), then only
 * immutable files named by content hash — the dictionary pages around the query's words, the
 * `terms` files and pages of the terms that match, and the display files of the hits shown —
 * merges them into one serialized MiniSearch index with the registry's GLOBAL statistics, and
 * queries it with MiniSearch and the shared options. Results have the shape of
 * `SearchEngine.search` (`src/client/search.ts`), and are the same whenever every word could be
 * read whole.
 *
 * Where it can differ from the single index (measured in docs/sharded-search.md): a field of a
 * very common term is paged by impact and read only in part, within a byte budget (such words do
 * not restrict the AND, and the best candidates are then scored again exactly from their
 * summaries); prefix and fuzzy expansions are read best first within the same budget; fuzzy
 * matches with edits at both ends of a word are not looked up.
 *
 * Pure module: no Node APIs (the web page can import it); `fetch` is passed in.
 *
 * @module
 */
import MiniSearch, { type SearchResult } from 'minisearch';
import { fetchJson, globalFetch, type FetchLike } from '../core/fetch-json.ts';
import { readBounds, type ReadBounds } from '../core/read-bounds.ts';
import { isShelfError, ShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import type { PackageSummary } from '../core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, indexOptions, SEARCH_FIELDS, type SearchDocument } from '../core/search-options.ts';
import { compareHits, hitFacts, orderHits, searchFilter, validateSearchOptions, type HitFacts, type SearchHit, type SearchQueryOptions, type ValidSearchOptions } from './query.ts';
import { correctedDf, deltaTermsMatching, deltaView, type DeltaView } from './delta-view.ts';
import { searchDocument } from '../core/search-options.ts';
import { engineFrom, internalsOf, SizedMap, summaryIndex, type TermPostings } from './engine.ts';
import { decodeId } from './ids.ts';
import { match, maxDistance } from './matching.ts';
import { reverseTerm } from './reverse.ts';
import { pagedOf, parseDictEntries, parseHeadsFile, parsePageFile, parseRefsEntries, parseSuffixesEntries, parseSummary, parseTermsFile } from './validate.ts';
import { displayKey, shardedRootKey, shardKey } from './keys.ts';
import {
  CatalogFileSchema,
  DeltaFileSchema,
  ShardedRootSchema,
  type DictEntryJson,
  type DocEntryJson,
  type RefJson,
  type ShardedRoot,
  type TermEntryJson,
  type TermInfoJson,
  type TreeJson,
} from './schemas.ts';

export type { FetchLike };

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
 * then 100 kB more per tenfold growth, at most 350 kB. Larger registries have longer posting
 * lists for the same words; this keeps a first query within about 150 kB compressed at 10,000
 * packages and 300 kB at 100,000 (measured in docs/sharded-search.md).
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

/** What a client has downloaded so far. */
export interface TransferStats {
  /** Requests made. */
  requests: number;
  /** Body bytes received (as decoded by fetch). */
  bytes: number;
  /** Every key fetched, in order. */
  keys: string[];
}

/** A dictionary term that matches query words, and where its postings are. */
interface Candidate {
  term: string;
  /** MiniSearch's weight of the best match (1 exact, prefix and fuzzy weights otherwise). */
  weight: number;
  exact: boolean;
  /** The `terms` file holding it and its size. */
  file: string;
  bytes: number;
  /** Paged fields: field id → document frequency and head page. */
  paged: Map<number, { df: number; head: string; headBytes: number }>;
  /** The query words it matches. */
  words: string[];
  /** Read without the head pages of its paged fields (they did not fit the budget). */
  headless?: boolean;
}

/** The pages of a paged field a query reads. */
interface FieldPages {
  df: number;
  pages: string[];
  /** Every page of the field: its postings are complete. */
  complete: boolean;
}

/** A key range `[from, to)` of a tree to read, at most `cap` files at the last step, nearest `anchor` first. */
interface Range {
  from: string;
  to: string;
  anchor: string;
  cap: number;
  /** The query word that becomes partial when the range is cut (null: the range is only for typos). */
  word: string | null;
}

/** Dictionary files read per word for its prefix range. */
const MAX_PREFIX_FILES = 4;
/** Dictionary (and suffix) files read per word for typos. */
const MAX_FUZZY_FILES = 2;
/** Typo matches found through the suffixes that are then looked up in the dictionary. */
const MAX_OUTSIDE_LOOKUPS = 6;
/** Priority decay of successive pages of a paged field. */
const PAGE_DECAY = 0.7;
/** Candidates scored again from their summaries when a word is known only in part, per round. */
const RESCORE_POOL = 40;
/** The same for queries of three words or more, whose AND is rarer among the candidates. */
const RESCORE_POOL_LONG = 60;
/** Most rounds of candidates scored again. */
const RESCORE_ROUNDS = 3;
/** Terms found in the names of documents read, looked up in the dictionary per query. */
const MAX_NAME_LOOKUPS = 4;
/** Most word pairs looked up in the name-pair index. */
const MAX_PAIRS = 6;

const displayFile = (doc: DocEntryJson): string => `${doc[0]}-${doc[2]}`;

/** Document frequency of each selected term, per field, over the whole registry. */
function documentFrequencies(
  selected: Candidate[],
  files: Map<string, unknown>,
  pages: Map<string, Map<number, FieldPages>>,
  delta: DeltaView | null,
  deltaOnly: string[],
): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const corrected = (term: string, base: Map<number, number>): Map<number, number> => {
    const df = new Map<number, number>();
    const fids = new Set([...base.keys(), ...(delta?.postings.get(term)?.keys() ?? [])]);
    for (const fid of fids) df.set(fid, correctedDf(delta, term, fid, base.get(fid) ?? 0));
    return df;
  };
  for (const c of selected) {
    const base = new Map<number, number>();
    for (const [fid, flat] of Object.entries(termsEntry(files, c.file, c.term)[1])) base.set(Number(fid), flat.length / 3);
    for (const [fid, field] of pages.get(c.term) ?? []) base.set(fid, field.df);
    out.set(c.term, corrected(c.term, base));
  }
  for (const term of deltaOnly) out.set(term, corrected(term, new Map()));
  return out;
}

/**
 * Scores candidates exactly: MiniSearch indexes their summaries (as the registry does), then
 * sees the registry's document count, average field lengths and, for each selected term, its
 * document frequency per field. Terms outside the selection are dropped, as they are from the
 * merged index. AND over the candidates, then OR, as the single index does over everything.
 * Candidates come in rounds; each round indexes only its own summaries.
 */
function rescorer(
  root: ShardedRoot,
  tokens: string[],
  df: Map<string, Map<number, number>>,
  o: ValidSearchOptions,
): { add(summaries: PackageSummary[]): void; score(): { results: { name: string; score: number }[]; all: boolean } } {
  const local = summaryIndex();
  const facts = new Map<string, HitFacts>();
  const passes = searchFilter(o);
  const filter = (r: SearchResult): boolean => {
    const f = facts.get(String(r.id));
    return f !== undefined && passes(f);
  };
  const options = { ...DEFAULT_SEARCH_OPTIONS, filter };
  const n = root.search.document_count;
  return {
    add(summaries) {
      local.addAll(summaries.filter((s) => !facts.has(s.name)).map(searchDocument));
      for (const s of summaries) facts.set(s.name, hitFacts(s, 0));
    },
    score() {
      const parts = internalsOf(local);
      const index: [string, TermPostings][] = [];
      for (const [term, byField] of df) {
        const fields = parts.postings(term);
        if (!fields) continue;
        index.push([term, new Map([...fields].map(([fid, postings]) => [fid, new SizedMap(postings, byField.get(fid) ?? postings.size)]))]);
      }
      const engine = engineFrom({
        documentCount: n,
        averageFieldLength: root.search.field_length_total.map((t) => (n > 0 ? t / n : 0)),
        fields: root.search.fields,
        documents: parts.documents,
        fieldLength: parts.fieldLength,
        index,
      });
      let results = engine.search({ queries: tokens, combineWith: 'AND' }, options);
      const all = results.length > 0;
      if (!all) results = engine.search({ queries: tokens, combineWith: 'OR' }, options);
      return { results: results.map((r) => ({ name: String(r.id), score: r.score })), all };
    },
  };
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
  readonly stats: TransferStats = { requests: 0, bytes: 0, keys: [] };
  private root: ShardedRoot;
  private readonly fetchFn: FetchLike;
  private readonly bounds: ReadBounds;
  private readonly base: string;
  private readonly budget: number | null;
  private readonly maxListPages: number;
  /** Immutable files by key: never refetched, never invalidated. */
  private readonly cache = new Map<string, Promise<unknown>>();
  private rootEtag: string | null;
  /** Views of the delta files read, by file name. */
  private readonly deltas = new Map<string, DeltaView>();
  /** Summaries that came with a delta, by display file name (content-addressed, so never stale). */
  private readonly inline = new Map<string, PackageSummary>();

  private constructor(
    opts: Required<Omit<ShardedSearchOptions, 'fetch' | 'expansionBudget' | 'bounds'>> & { fetch: FetchLike; expansionBudget: number | null; bounds: ReadBounds },
    root: ShardedRoot,
    etag: string | null,
  ) {
    this.kind = opts.kind;
    this.fetchFn = opts.fetch;
    this.bounds = opts.bounds;
    this.base = opts.baseUrl.replace(/\/+$/, '');
    this.budget = opts.expansionBudget;
    this.maxListPages = opts.maxListPages;
    this.root = root;
    this.rootEtag = etag;
  }

  /**
   * Reads the root of a kind and returns a client bound to that generation.
   *
   * @throws ShelfError `invalid_argument` naming a bad option; `registry_unreachable` when the
   *   root cannot be read or is not a sharded index of this format.
   */
  static async open(options: ShardedSearchOptions): Promise<ShardedSearch> {
    const client = await ShardedSearch.openIfPublished(options);
    if (!client) throw new ShelfError('registry_unreachable', `${shardedRootKey(options.kind)} was not found at ${options.baseUrl}.`);
    return client;
  }

  /**
   * Like {@link ShardedSearch.open}, but answers null when the kind has no root yet: a registry
   * where nothing of the kind was ever published.
   */
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
    const client = new ShardedSearch({ ...o, fetch: fetchFn, expansionBudget: budget, maxListPages, bounds: readBounds(o.bounds) }, undefined as unknown as ShardedRoot, null);
    let read: { root: ShardedRoot | null; etag: string | null };
    try {
      read = await client.fetchRoot(null);
    } catch (error) {
      if (isShelfError(error, 'not_found')) return null;
      throw error;
    }
    client.root = read.root!;
    client.rootEtag = read.etag;
    return client;
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
    const { root, etag } = await this.fetchRoot(this.rootEtag).catch((error: unknown) => {
      throw isShelfError(error, 'not_found') ? new ShelfError('registry_unreachable', error.message, error.details) : error;
    });
    if (!root) return false;
    const changed = JSON.stringify(root) !== JSON.stringify(this.root);
    this.root = root;
    this.rootEtag = etag;
    return changed;
  }

  /**
   * Searches, like `SearchEngine.search`: prefix and fuzzy matching, all words must match and
   * when that finds nothing any word may; an empty query lists packages by name (or by recency
   * with `sort: 'recent'`) from the sharded catalog.
   *
   * @throws ShelfError `invalid_argument` naming the offending option; `registry_unreachable`
   *   when a file cannot be read or is malformed.
   */
  async search(query: string, opts: SearchQueryOptions = {}): Promise<SearchHit[]> {
    const o = validateSearchOptions(query, opts);
    if (query.trim() === '') return this.list(o);
    const tokens = tokenize(query);
    if (tokens.length === 0) return [];
    const root = this.root;
    const words = [...new Set(tokens)];
    const partial = new Set<string>();

    // 1. The dictionary around each word: its prefix range, and for typos the terms that keep its
    //    first k letters and, through the suffix dictionary, those that keep its last k. With
    //    k = ⌊length / (d + 1)⌋, d edits cannot touch both ends when d = 1, so that finds every
    //    term MiniSearch's fuzzy match finds at distance 1, in two narrow ranges.
    const ranges: Range[] = [];
    const suffixRanges: Range[] = [];
    for (const w of words) {
      ranges.push({ from: w, to: prefixEnd(w), anchor: w, cap: MAX_PREFIX_FILES, word: w });
      const d = maxDistance(w);
      if (d === 0) continue;
      const k = Math.max(2, Math.floor(w.length / (d + 1)));
      ranges.push({ from: w.slice(0, k), to: prefixEnd(w.slice(0, k)), anchor: w, cap: MAX_FUZZY_FILES, word: null });
      const rw = reverseTerm(w);
      suffixRanges.push({ from: rw.slice(0, k), to: prefixEnd(rw.slice(0, k)), anchor: rw, cap: MAX_FUZZY_FILES, word: null });
    }
    // The delta (packages announced since the base trees were written) is read whole, alongside.
    const [dict, reversed, delta] = await Promise.all([this.dictionary(ranges, partial), this.suffixes(suffixRanges), this.deltaOf(root)]);
    // Typo matches the forward ranges did not cover: look them up one by one, best first.
    const covered = new Set(dict.flatMap((e) => e[2].map(infoTerm)));
    const outside = new Map<string, number>();
    for (const rt of reversed) {
      const t = reverseTerm(rt);
      if (covered.has(t)) continue;
      for (const w of words) {
        const m = match(w, t);
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
    const deltaMatches = delta ? deltaTermsMatching(delta, words) : [];
    for (const t of deltaMatches) if (!covered.has(t) && !lookups.includes(t)) lookups.push(t);
    if (lookups.length > 0) {
      const read = new Set(dict.map((e) => e[0]));
      const found = await this.dictionary(lookups.map((t) => ({ from: t, to: `${t}\u0000`, anchor: t, cap: 1, word: null })), partial);
      dict.push(...found.filter((e) => !read.has(e[0]) && read.add(e[0])));
    }

    // 2. Matching terms, best first: exact words are always read, the rest within the budget.
    const cands = candidates(words, dict);
    const budget = { left: this.budget ?? defaultExpansionBudget(root.search.document_count) };
    /** Files this query reads, by name, with their sizes (bytes of JSON). */
    const planned = new Map<string, number>();
    const cost = (files: [string, number][]): number => files.reduce((n, [f, b]) => n + (planned.has(f) ? 0 : b), 0);
    const plan = (files: [string, number][]): void => files.forEach(([f, b]) => planned.set(f, b));
    const selected: Candidate[] = [];
    const select = (pool: Iterable<Candidate>): void => {
      const ordered = [...pool].sort((a, b) => Number(b.exact) - Number(a.exact) || b.weight - a.weight || compare(a.term, b.term));
      for (const c of ordered) {
        // A term's paged fields may share one `heads` file: count it once.
        const files: [string, number][] = [...new Map([[c.file, c.bytes], ...[...c.paged.values()].map((p) => [p.head, p.headBytes] as [string, number])])];
        let bytes = cost(files);
        if (!c.exact && bytes > budget.left) {
          c.words.forEach((w) => partial.add(w));
          // A common expansion: its terms file alone still gives its document frequencies and
          // inline postings; its paged fields are then filled in from the names of the documents read.
          if (c.paged.size === 0 || (bytes = cost(files.slice(0, 1))) > budget.left) continue;
          c.headless = true;
          files.length = 1;
        }
        if (!c.exact) budget.left -= bytes;
        plan(files);
        selected.push(c);
      }
    };
    select(cands.values());
    const files = new Map<string, unknown>();
    const load = (names: Iterable<string>): Promise<unknown> => Promise.all([...names].filter((f) => !files.has(f)).map(async (f) => files.set(f, await this.file(f))));
    await load(planned.keys());
    // A word with a field too large for its references to sit in its terms entry will be read in
    // part, so step 5 will want the name-pair candidates: look them up now, alongside steps 2b–4.
    let pairs: Promise<DocEntryJson[]> | null = null;
    const deepTrees = selected.flatMap((c) => (c.headless ? [] : Object.values(pagedOf(termsEntry(files, c.file, c.term)) ?? {}).filter((p) => p.t.height > 1)));
    if (words.length >= 2 && o.sort === 'relevance' && (partial.size > 0 || deepTrees.length > 0)) {
      pairs = this.pairCandidates(words);
      pairs.catch(() => undefined); // awaited below when used; a failure then is the query's
    }
    // Step 3 reads the first inner file of each level of those page trees whenever the budget
    // allows it (it nearly always does): start down them now, alongside the name lookups.
    for (const p of deepTrees) this.prefetchDescent(p.t.top as RefJson[], p.t.height, budget.left);

    // 2b. Typo and prefix matches the dictionary ranges missed (they are capped), found in the
    //     names of the packages read so far: `note` for `node` in `@x/node-note`, `ai` for `api`
    //     in `@api-ai/x`. A name match weighs most, so these are looked up one by one.
    const more = nameLookups(words, cands, selected, files, headPagesRead(selected, files));
    if (more.length > 0) {
      const found = candidates(words, await this.dictionary(more.map((t) => ({ from: t, to: `${t}\u0000`, anchor: t, cap: 1, word: null })), partial));
      for (const t of [...found.keys()]) if (cands.has(t)) found.delete(t);
      for (const [t, c] of found) cands.set(t, c);
      select(found.values());
      await load(planned.keys());
    }

    // 3. Further pages of paged fields, best terms and fields first, while the budget lasts: a
    //    field read to its end scores exactly; one read in part only adds its known scores.
    const pages = await this.planPages(selected, files, budget, planned);
    await load(planned.keys());
    for (const c of selected) {
      for (const [fid] of c.paged) if (!pages.get(c.term)?.get(fid)?.complete) c.words.forEach((w) => partial.add(w));
    }
    // Terms only the delta holds (a term the base holds goes in only when selected, with its base postings).
    const deltaOnly = deltaMatches.filter((t) => !cands.has(t));
    const mini = this.assemble(root, selected, files, pages, delta, deltaOnly);

    // 4. Query it as the single index does; words known only in part do not restrict the AND.
    const docs = mini.docs;
    const passes = searchFilter(o);
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
    const complete = tokens.filter((t) => !partial.has(t));
    let results: SearchResult[] = [];
    if (complete.length === tokens.length) {
      results = mini.engine.search({ queries: tokens, combineWith: 'AND' }, options);
    } else {
      // Some words are known only in part: a document missing from their pages may still hold
      // them, so they do not restrict the AND (only the complete words do). Documents known to
      // hold more words score higher (MiniSearch multiplies by the number matched), which is the
      // order candidates are scored again in below.
      const core = complete.length > 0 ? new Set(mini.engine.search({ queries: complete, combineWith: 'AND' }, options).map((r) => r.id)) : null;
      if (core === null || core.size > 0) {
        results = mini.engine.search({ queries: tokens, combineWith: 'OR' }, core ? { ...options, filter: (r) => core.has(r.id) } : options);
      }
    }
    if (results.length === 0) results = mini.engine.search({ queries: tokens, combineWith: 'OR' }, options);

    // 5. Order. When some word is known only in part, the best candidates are scored again,
    //    exactly: their display data is the whole summary, so MiniSearch can index them and score
    //    them with the registry's statistics (document count, average lengths, and the document
    //    frequency of every selected term). That settles which of them hold every word.
    let ranked = results.map((r) => entryFacts(docs.get(String(r.id))!, r.score));
    if (partial.size > 0 && o.sort === 'relevance') {
      ranked = orderHits(ranked, { sort: 'relevance', limit: ranked.length });
      // Packages whose name holds two of the words rank high in the single index, yet sit deep
      // in each common word's pages: the name-pair index finds them directly.
      const paired = words.length >= 2 ? (await (pairs ?? this.pairCandidates(words))).filter((d) => !delta?.hiddenNames.has(d[1])) : [];
      const candidates = new Map<string, Ranked>();
      for (const d of paired) candidates.set(d[1], entryFacts(d, 0));
      for (const h of ranked) if (!candidates.has(h.name)) candidates.set(h.name, h);
      const df = documentFrequencies(selected, files, pages, delta, deltaOnly);
      const pairedNames = new Set(paired.map((d) => d[1]));
      const rest = likelyOrder(
        ranked.filter((h) => !pairedNames.has(h.name)),
        words,
        partial,
        (w) => mini.engine.search(w, options),
        selected,
        df,
        root.search.document_count,
      );
      const queue = [...paired.map((d) => candidates.get(d[1])!), ...rest];
      const pooled: PackageSummary[] = [];
      const scorer = rescorer(root, tokens, df, o);
      let displayBytes = 0;
      let exact: { results: { name: string; score: number }[]; all: boolean } = { results: [], all: false };
      // Rounds of candidates, best first, until enough of them are known to hold every word, or
      // until the query has read its share of bytes (the first round is always scored).
      let spent = 0;
      for (const b of planned.values()) spent += b;
      const cap = queryByteCap(root.search.document_count, this.budget, words.length);
      for (let round = 0; round < RESCORE_ROUNDS && pooled.length < queue.length; round++) {
        const size = (round === 0 ? paired.length : 0) + Math.max(o.limit, words.length >= 3 ? RESCORE_POOL_LONG : RESCORE_POOL);
        if (round > 0 && spent + size * (displayBytes / pooled.length) > cap) break;
        const batch = queue.slice(pooled.length, pooled.length + size);
        const read = await Promise.all(batch.map((h) => this.display(displayFile(h.doc))));
        for (const r of read) {
          const b = JSON.stringify(r).length;
          displayBytes += b;
          spent += b;
        }
        pooled.push(...read);
        scorer.add(read);
        exact = scorer.score();
        if (exact.all && exact.results.length >= Math.min(o.limit, RESCORE_POOL)) break;
      }
      ranked = exact.results.map((r) => ({ ...candidates.get(r.name)!, score: r.score }));
    }
    const top = orderHits(ranked, o);
    const summaries = await Promise.all(top.map((h) => this.display(displayFile(h.doc))));
    return top.map((h, i) => ({ ...summaries[i]!, score: h.score }));
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
  ): Promise<Map<string, Map<number, FieldPages>>> {
    const out = new Map<string, Map<number, FieldPages>>();
    const queue: { priority: number; order: number; term: string; fid: number; file: string; bytes: number }[] = [];
    /** A paged field whose page references sit below the root of its page tree, descending. */
    type Descent = { term: string; fid: number; weight: number; order: number; refs: RefJson[]; height: number };
    const enqueue = (d: Descent): void => {
      const boost = (DEFAULT_SEARCH_OPTIONS.boost as Record<string, number> | undefined)?.[SEARCH_FIELDS[d.fid] ?? ''] ?? 1;
      d.refs.slice(1).forEach((r, i) => queue.push({ priority: d.weight * boost * PAGE_DECAY ** (i + 1), order: d.order, term: d.term, fid: d.fid, file: r[1], bytes: r[2] }));
    };
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
        if (c.headless) {
          byField.set(fid, { df: info.df, pages: [], complete: false });
          continue;
        }
        byField.set(fid, { df: info.df, pages: [info.head], complete: false });
        const d = { term: c.term, fid, weight: c.weight, order: met++, refs: paged.t.top as RefJson[], height: paged.t.height };
        if (d.height > 1) level.push(d);
        else enqueue(d);
      }
    }
    // The page references of a large field: the first inner file of each level, down to level 1.
    // Every field descends at once, one level per round of requests (the budget decided in order).
    while (level.length > 0) {
      const next: Descent[] = [];
      for (const d of level) {
        const first = d.refs[0]!;
        if (first[2] > budget.left) continue; // no budget for its references: the head page only
        if (!planned.has(first[1])) budget.left -= first[2];
        planned.set(first[1], first[2]);
        next.push(d);
      }
      await Promise.all(
        next.map(async (d) => {
          const file = d.refs[0]![1];
          d.refs = parseWith(parseRefsEntries, await this.file(file), file);
          d.height--;
        }),
      );
      next.filter((d) => d.height === 1).forEach(enqueue);
      level = next.filter((d) => d.height > 1);
    }
    // Best first; ties in the order the fields were met, then page by page.
    queue.sort((a, b) => b.priority - a.priority || a.order - b.order);
    const skipped = new Set<string>();
    for (const q of queue) {
      const key = `${q.term}\u0000${q.fid}`;
      // Pages are read in order: once one is skipped, the rest of that field is too.
      if (skipped.has(key)) continue;
      if (!planned.has(q.file) && q.bytes > budget.left) {
        skipped.add(key);
        continue;
      }
      if (!planned.has(q.file)) budget.left -= q.bytes;
      planned.set(q.file, q.bytes);
      out.get(q.term)!.get(q.fid)!.pages.push(q.file);
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
    if (height <= 1 || !first || first[2] > budget) return;
    this.file(first[1])
      .then((json) => this.prefetchDescent(parseWith(parseRefsEntries, json, first[1]), height - 1, budget - first[2]))
      .catch(() => undefined); // step 3 reads it again and reports the failure
  }

  /**
   * Packages whose name holds two of the words, from the name-pair index: for each pair, the
   * head page (best impact first) and the inline postings (shortest names first), at most
   * {@link RESCORE_POOL} per pair.
   */
  private async pairCandidates(words: string[]): Promise<DocEntryJson[]> {
    const keys: string[] = [];
    for (let i = 0; i < words.length; i++) {
      for (let j = i + 1; j < words.length; j++) {
        const [a, b] = [words[i]!, words[j]!].sort(compare) as [string, string];
        keys.push(`${a} ${b}`);
      }
    }
    const wanted = new Set(keys.slice(0, MAX_PAIRS));
    const dict = await this.dictionary([...wanted].map((k) => ({ from: k, to: `${k}\u0000`, anchor: k, cap: 1, word: null })), new Set(), this.root.search.pairs);
    // Each pair's terms file and head pages, all at once.
    const found: { file: string; key: string; heads: [number, string][] }[] = [];
    for (const [file, , infos] of dict) {
      for (const info of infos) {
        const key = infoTerm(info);
        if (!wanted.delete(key)) continue;
        found.push({ file, key, heads: typeof info === 'string' ? [] : Object.entries(info[1]).map(([fid, [, head]]) => [Number(fid), head] as [number, string]) });
      }
    }
    const files = new Map<string, unknown>();
    const names = new Set(found.flatMap((f) => [f.file, ...f.heads.map(([, head]) => head)]));
    await Promise.all([...names].map(async (f) => files.set(f, await this.file(f))));
    const out = new Map<string, DocEntryJson>();
    for (const { file, key, heads } of found) {
      const tf = termsFile(files, file);
      const docs: DocEntryJson[] = [];
      for (const [fid, head] of heads) {
        const page = pageFile(files, head, fid);
        for (const [id] of page.e) docs.push(page.docs.get(id)!);
      }
      const flat = termsEntry(files, file, key)[1]['0'] ?? [];
      const inline: [DocEntryJson, number][] = [];
      for (let i = 0; i + 2 < flat.length; i += 3) inline.push([tf.docs.get(String(flat[i]))!, Number(flat[i + 2])]);
      inline.sort((x, y) => x[1] - y[1] || compare(x[0][1], y[0][1]));
      docs.push(...inline.map(([d]) => d));
      for (const d of docs.slice(0, RESCORE_POOL)) if (d) out.set(d[1], d);
    }
    return [...out.values()];
  }

  /** Lists packages from the sharded catalog (an empty query). */
  private async list(o: ValidSearchOptions): Promise<SearchHit[]> {
    const root = this.root;
    const tree = o.sort === 'recent' ? root.catalog.by_recent : root.catalog.by_name;
    // The single index's orders, which are the trees' (an empty query scores every package 1).
    const order = compareHits(o.sort);
    const passes = searchFilter(o);
    const hits: SearchHit[] = [];
    // The delta's packages, merged in the tree's order; their base entries are skipped.
    const delta = await this.deltaOf(root);
    const extra = (delta?.summaries ?? [])
      .map((s) => ({ s, facts: hitFacts(s, 1) }))
      .filter((e) => passes(e.facts))
      .sort((a, b) => order(a.facts, b.facts));
    let next = 0;
    const take = (s: PackageSummary): boolean => {
      hits.push({ ...s, score: 1 });
      return hits.length >= o.limit;
    };
    let pages = 0;
    const visit = async (entries: unknown[], height: number): Promise<boolean> => {
      for (const e of entries) {
        const ref = e as RefJson;
        if (height === 1) {
          if (pages >= this.maxListPages) return true;
          pages++;
          const page = parseOr(CatalogFileSchema, await this.file(ref[1]), ref[1]);
          for (const s of page.e) {
            if (delta?.hiddenNames.has(s.name)) continue;
            const facts = hitFacts(s, 1);
            while (next < extra.length && order(extra[next]!.facts, facts) < 0) if (take(extra[next++]!.s)) return true;
            if (passes(facts) && take(s)) return true;
          }
        } else {
          if (await visit(parseWith(parseRefsEntries, await this.file(ref[1]), ref[1]), height - 1)) return true;
        }
      }
      return false;
    };
    if (!(await visit(tree.top, tree.height))) while (next < extra.length && !take(extra[next++]!.s));
    return hits;
  }

  /**
   * The dictionary entries meeting `ranges`. At most `cap` dictionary files are read per range,
   * nearest its anchor first; a word whose own range is cut is added to `partial`.
   */
  private async dictionary(ranges: Range[], partial: Set<string>, tree: TreeJson = this.root.search.terms): Promise<DictEntryJson[]> {
    const entries = await this.collect(tree, ranges, 1, (level, e) => (level === 1 ? infoTerm((e as DictEntryJson)[2][0]!) : (e as RefJson)[0]), (level, json) =>
      level === 1 ? parseWith(parseDictEntries, json, 'dictionary') : parseWith(parseRefsEntries, json, 'dictionary'),
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
      (level, e) => (level === 0 ? (e as string) : (e as RefJson)[0]),
      (level, json) => (level === 0 ? parseWith(parseSuffixesEntries, json, 'suffixes') : parseWith(parseRefsEntries, json, 'suffixes')),
      new Set(),
    );
    return (entries as string[]).filter((t) => ranges.some((r) => t >= r.from && t < r.to));
  }

  /**
   * Walks a tree from its inline top down to level `stop`, reading only the files whose key
   * ranges meet `ranges`, and returns the level-`stop` entries meeting them. The files of the
   * last step are capped per range (nearest the anchor first).
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
          const file = (s.entry as RefJson)[1];
          return { entries: parse(level - 1, await this.file(file)), lo: s.lo, hi: s.hi };
        }),
      );
    }
    return spans(stop, nodes)
      .filter((s) => ranges.some((r) => meets(r, s.lo, s.hi)))
      .map((s) => s.entry);
  }

  /** Builds the MiniSearch instance of a query from the selected terms' postings. */
  private assemble(
    root: ShardedRoot,
    selected: Candidate[],
    files: Map<string, unknown>,
    pages: Map<string, Map<number, FieldPages>>,
    delta: DeltaView | null,
    deltaOnly: string[],
  ): { engine: MiniSearch<SearchDocument>; docs: Map<string, DocEntryJson> } {
    const index = new Map<string, TermPostings>();
    const docs = new Map<number, DocEntryJson>();
    const lengths = new Map<number, number[]>();
    /** Short ids by file id: every posting names one, most of them many times. */
    const ids = new Map<string, number>();
    const trueDf: [string, number, number][] = [];
    const fieldOf = (entry: TermPostings, fid: number): Map<number, number> => {
      let postings = entry.get(fid);
      if (!postings) entry.set(fid, (postings = new Map()));
      return postings;
    };
    const add = (postings: Map<number, number>, fid: number, key: string, tf: number, len: number, doc: DocEntryJson | undefined, file: string): void => {
      if (!doc) throw new ShelfError('registry_unreachable', `The index file ${file} references document ${key} without its entry.`);
      // The delta holds this package now (or removed it): its base postings are stale.
      if (delta?.hiddenIds.has(key)) return;
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = decodeId(key)));
      postings.set(id, tf);
      docs.set(id, doc);
      let l = lengths.get(id);
      if (!l) lengths.set(id, (l = root.search.fields.map(() => 0)));
      l[fid] = len;
    };
    // The delta's postings of a term: its documents are complete (every field, every term).
    const addDelta = (term: string, entry: TermPostings): void => {
      for (const [fid, freqs] of delta?.postings.get(term) ?? []) {
        const postings = fieldOf(entry, fid);
        for (const [shortId, tf] of freqs) {
          const id = Number(shortId);
          postings.set(id, tf);
          docs.set(id, delta!.docs.get(shortId)!);
          if (!lengths.has(id)) lengths.set(id, [...delta!.lengths.get(shortId)!]);
        }
      }
    };
    for (const c of selected) {
      const tf = termsFile(files, c.file);
      const raw = termsEntry(files, c.file, c.term);
      const entry: TermPostings = new Map();
      for (const [field, flat] of Object.entries(raw[1])) {
        const fid = Number(field);
        const postings = fieldOf(entry, fid);
        for (let i = 0; i + 2 < flat.length; i += 3) {
          add(postings, fid, String(flat[i]), Number(flat[i + 1]), Number(flat[i + 2]), tf.docs.get(String(flat[i])), c.file);
        }
      }
      for (const [fid, field] of pages.get(c.term) ?? []) {
        const postings = new Map<number, number>();
        entry.set(fid, postings);
        for (const file of field.pages) {
          const page = pageFile(files, file, fid);
          for (const [key, freq, len] of page.e) add(postings, fid, key, freq, len, page.docs.get(key), file);
        }
        if (!field.complete) trueDf.push([c.term, fid, correctedDf(delta, c.term, fid, field.df)]);
      }
      addDelta(c.term, entry);
      index.set(c.term, entry);
    }
    for (const term of deltaOnly) {
      const entry: TermPostings = new Map();
      addDelta(term, entry);
      index.set(term, entry);
    }
    // A field read only in part lacks the postings of documents deeper in its pages. For the
    // fields derived from the package name alone (`name`, `scope`), every document read has them
    // in its entry: fill them in, exactly, so that a document found through one term (`lode` for
    // `node`) is scored with the name fields of the others (`@x/node-lode`).
    const open = NAME_FIELDS.map(([fid, field]) => ({
      fid,
      field,
      terms: new Map(
        [...index].filter(([term]) => {
          const f = pages.get(term)?.get(fid);
          return f !== undefined && !f.complete;
        }),
      ),
    })).filter((o) => o.terms.size > 0);
    if (open.length > 0) {
      for (const [id, doc] of docs) {
        for (const { fid, field, terms } of open) {
          const counts = nameFieldTerms(doc[1], field);
          let added = false;
          for (const [term, tf] of counts.terms) {
            const entry = terms.get(term);
            if (entry === undefined) continue;
            const postings = fieldOf(entry, fid);
            if (postings.has(id)) continue;
            postings.set(id, tf);
            added = true;
          }
          if (added) lengths.get(id)![fid] = counts.length;
        }
      }
    }
    // Pages read in part hold only the best postings of a field; BM25's idf must still see the
    // true document frequency.
    for (const [term, fid, df] of trueDf) {
      const entry = index.get(term)!;
      const postings = entry.get(fid);
      if (postings) entry.set(fid, new SizedMap(postings, df));
    }
    const n = root.search.document_count;
    const engine = engineFrom({
      documentCount: n,
      averageFieldLength: root.search.field_length_total.map((t) => (n > 0 ? t / n : 0)),
      fields: root.search.fields,
      // Results carry the package name as their id.
      documents: [...docs].map(([id, d]) => [id, d[1]]),
      fieldLength: lengths,
      index,
    });
    return { engine, docs: new Map([...docs.values()].map((d) => [d[1], d])) };
  }

  /** The view of a generation's delta (null without one), built once per delta file. */
  private async deltaOf(root: ShardedRoot): Promise<DeltaView | null> {
    if (!root.delta) return null;
    const file = root.delta.file;
    let view = this.deltas.get(file);
    if (!view) {
      view = deltaView(parseOr(DeltaFileSchema, await this.file(file), file));
      for (const [display, summary] of view.displays) this.inline.set(display, summary);
      this.deltas.set(file, view);
    }
    return view;
  }

  /** An immutable file by name (cached for the life of the client). */
  private file(name: string): Promise<unknown> {
    return this.getJson(shardKey(this.kind, name));
  }

  private async display(file: string): Promise<PackageSummary> {
    // A package of the delta: its summary came with the delta file.
    const inline = this.inline.get(file);
    if (inline) return inline;
    return parseWith(parseSummary, await this.getJson(displayKey(this.kind, file)), file);
  }

  private getJson(key: string): Promise<unknown> {
    let p = this.cache.get(key);
    if (!p) {
      p = this.fetchJson(key, null).then((r) => r.json);
      // A failed read is not cached: the next query tries again.
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  private async fetchRoot(etag: string | null): Promise<{ root: ShardedRoot | null; etag: string | null }> {
    const key = shardedRootKey(this.kind);
    const { json, etag: newEtag } = await this.fetchJson(key, etag, true);
    if (json === undefined) return { root: null, etag };
    const root = parseOr(ShardedRootSchema, json, key);
    if (root.kind !== this.kind) throw new ShelfError('registry_unreachable', `${key} is the root of ${root.kind}s, not ${this.kind}s.`);
    if (root.search.fields.join() !== SEARCH_FIELDS.join()) {
      throw new ShelfError('registry_unreachable', `${key} indexes fields ${root.search.fields.join(', ')}; this client searches ${SEARCH_FIELDS.join(', ')}.`);
    }
    return { root, etag: newEtag };
  }

  /** One file through the shared JSON fetch, counted in {@link ShardedSearch.stats}. */
  private async fetchJson(key: string, etag: string | null, isRoot = false): Promise<{ json: unknown; etag: string | null }> {
    const url = `${this.base}/${key}`;
    const result = await fetchJson(url, { fetch: this.fetchFn, etag, bounds: this.bounds, ...(isRoot ? { notFound: NO_ROOT } : {}) });
    this.stats.requests++;
    if (result.notModified) return { json: undefined, etag: result.etag };
    this.stats.bytes += result.bytes;
    this.stats.keys.push(key);
    return { json: result.value, etag: result.etag };
  }
}


/** A missing root: the kind has no generation yet (refresh() of a client that had one reports it). */
const NO_ROOT = (url: string): ShelfError => new ShelfError('not_found', `${url} was not found: no index of this kind yet.`, { url });

function parseWith<T>(parse: (json: unknown) => T, json: unknown, what: string): T {
  try {
    return parse(json);
  } catch (error) {
    throw new ShelfError('registry_unreachable', `The index file ${what} is malformed (${(error as Error).message}).`);
  }
}

function parseOr<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, json: unknown, what: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ShelfError('registry_unreachable', `The index file ${what} is malformed.`);
  return parsed.data;
}

const infoTerm = (info: TermInfoJson): string => (typeof info === 'string' ? info : info[0]);

/** The query's words as MiniSearch sees them: the shared tokenizer, then lower-case (its default processTerm). */
export function tokenize(query: string): string[] {
  return indexOptions()
    .tokenize!(query)
    .map((t) => t.toLowerCase())
    .filter((t) => t.length > 0);
}

/** The smallest string greater than every string starting with `prefix` (prefix "" → "\uffff"). */
export function prefixEnd(prefix: string): string {
  let p = prefix;
  while (p.length > 0 && p.charCodeAt(p.length - 1) === 0xffff) p = p.slice(0, -1);
  if (p.length === 0) return '\uffff\uffff';
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
}

/** The dictionary terms matching the words (exactly, by prefix, or within the fuzzy distance). */
function candidates(words: string[], dict: DictEntryJson[]): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  for (const [file, bytes, infos] of dict) {
    for (const info of infos) {
      const term = infoTerm(info);
      for (const w of words) {
        const m = match(w, term);
        if (!m) continue;
        let c = out.get(term);
        if (!c) {
          const paged = new Map<number, { df: number; head: string; headBytes: number }>();
          if (typeof info !== 'string') for (const [fid, [df, head, headBytes]] of Object.entries(info[1])) paged.set(Number(fid), { df, head, headBytes });
          out.set(term, (c = { term, weight: m.weight, exact: m.exact, file, bytes, paged, words: [] }));
        }
        c.weight = Math.max(c.weight, m.weight);
        c.exact ||= m.exact;
        c.words.push(w);
      }
    }
  }
  return out;
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

type ParsedTerms = { e: Map<string, TermEntryJson>; docs: Map<string, DocEntryJson> };
const parsedTerms = new WeakMap<object, ParsedTerms>();
type PagePostings = [string, number, number, number][];
/** Parsed `page` files (postings of one field) and `heads` files (postings by field). */
const parsedPages = new WeakMap<object, { e: PagePostings; docs: Map<string, DocEntryJson> } | { fields: Map<number, PagePostings>; docs: Map<string, DocEntryJson> }>();

/** A `terms` file, validated and indexed once per downloaded object. */
function termsFile(files: Map<string, unknown>, file: string): ParsedTerms {
  const json = files.get(file) as object;
  let parsed = parsedTerms.get(json);
  if (!parsed) {
    const raw = parseWith(parseTermsFile, json, file);
    parsed = { e: new Map(raw.e.map((e) => [e[0], e])), docs: new Map(raw.docs.map((d) => [d[0], d])) };
    parsedTerms.set(json, parsed);
  }
  return parsed;
}

function termsEntry(files: Map<string, unknown>, file: string, term: string): TermEntryJson {
  const entry = termsFile(files, file).e.get(term);
  if (!entry) throw new ShelfError('registry_unreachable', `The index file ${file} lacks the term "${term}" its dictionary lists.`);
  return entry;
}

/**
 * The postings of field `fid` in a `page` file, or in a `heads` file (the head pages of a term's
 * paged fields), with the documents they reference; without `fid`, a page's postings or no
 * postings, with every document of the file.
 */
function pageFile(files: Map<string, unknown>, file: string, fid?: number): { e: PagePostings; docs: Map<string, DocEntryJson> } {
  const json = files.get(file) as object;
  let parsed = parsedPages.get(json);
  if (!parsed) {
    if ((json as { t?: unknown }).t === 'heads') {
      const raw = parseWith(parseHeadsFile, json, file);
      parsed = { fields: new Map(raw.e), docs: new Map(raw.docs.map((d) => [d[0], d])) };
    } else {
      const raw = parseWith(parsePageFile, json, file);
      parsed = { e: raw.e, docs: new Map(raw.docs.map((d) => [d[0], d])) };
    }
    parsedPages.set(json, parsed);
  }
  if (!('fields' in parsed)) return parsed;
  if (fid === undefined) return { e: [], docs: parsed.docs };
  const e = parsed.fields.get(fid);
  if (!e) throw new ShelfError('registry_unreachable', `The index file ${file} lacks the head page of field ${fid} its term lists.`);
  return { e, docs: parsed.docs };
}

const TOKENIZE = indexOptions().tokenize!;

/** The head pages of the selected terms' paged fields that were read. */
function headPagesRead(selected: Candidate[], files: Map<string, unknown>): string[] {
  return selected.flatMap((c) => (c.headless ? [] : [...c.paged.values()].map((p) => p.head))).filter((f) => files.has(f));
}

/**
 * Terms of the names of the documents read so far that match a query word by prefix or typo but
 * are not among the dictionary's candidates: the best {@link MAX_NAME_LOOKUPS}, by weight, then
 * by how many of those names hold them.
 */
function nameLookups(words: string[], cands: Map<string, Candidate>, selected: Candidate[], files: Map<string, unknown>, heads: string[]): string[] {
  const names = new Set<string>();
  for (const c of selected) for (const d of termsFile(files, c.file).docs.values()) names.add(d[1]);
  for (const f of heads) for (const d of pageFile(files, f).docs.values()) names.add(d[1]);
  const found = new Map<string, { weight: number; count: number }>();
  for (const name of names) {
    for (const t of TOKENIZE(name, 'name')) {
      // Only lower-case tokens can be terms here (names are lower-case): skip the rest cheaply.
      if (t !== t.toLowerCase()) continue;
      if (cands.has(t)) continue;
      let f = found.get(t);
      if (f === undefined) {
        let weight = 0;
        for (const w of words) {
          const m = match(w, t);
          if (m && !m.exact) weight = Math.max(weight, m.weight);
        }
        found.set(t, (f = { weight, count: 0 }));
      }
      f.count++;
    }
  }
  return [...found]
    .filter(([, f]) => f.weight > 0)
    .sort((a, b) => b[1].weight - a[1].weight || b[1].count - a[1].count || compare(a[0], b[0]))
    .slice(0, MAX_NAME_LOOKUPS)
    .map(([t]) => t);
}

/** The fields whose text is a function of the package name alone: field id → field name. */
const NAME_FIELDS: [number, 'name' | 'scope'][] = (['name', 'scope'] as const).map((f) => [SEARCH_FIELDS.indexOf(f), f]);

/**
 * The terms of a name-derived field and its length, exactly as MiniSearch indexes them (the
 * shared tokenizer, then lower-case; the length counts distinct tokens).
 */
export function nameFieldTerms(name: string, field: 'name' | 'scope'): { terms: Map<string, number>; length: number } {
  const value = field === 'name' ? name : name.slice(1, name.indexOf('/'));
  const tokens = TOKENIZE(value, field);
  const terms = new Map<string, number>();
  for (const t of tokens) {
    const term = t.toLowerCase();
    if (term) terms.set(term, (terms.get(term) ?? 0) + 1);
  }
  return { terms, length: new Set(tokens).size };
}

/** The `q`-quantile of some numbers (0 when there are none). */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** For a word a candidate was not seen to hold, the quantile of the word's known scores its score assumes. */
const UNSEEN_CONTRIBUTION_QUANTILE = 0.25;

/**
 * Orders the candidates to score again by their expected single-index score: the probability
 * that they hold every word (1 for the words their postings read show; for a word known only in
 * part, the share of the documents not read that hold one of its terms, from the true document
 * frequencies), times their score if they do (what was read, plus, for each word not seen, a low
 * quantile of that word's scores among the documents read). MiniSearch's own order over what was
 * read ranks a document whose name holds one common word above one known to hold all of them in
 * its tools; the single index's AND keeps only the latter.
 */
function likelyOrder(
  hits: Ranked[],
  words: string[],
  partial: Set<string>,
  searchWord: (word: string) => SearchResult[],
  selected: Candidate[],
  df: Map<string, Map<number, number>>,
  n: number,
): Ranked[] {
  if (words.length < 3 || n === 0) return hits;
  const perWord = words.map((w) => {
    const scores = new Map<string, number>();
    for (const r of searchWord(w)) scores.set(String(r.id), r.score);
    let none = 1;
    for (const c of selected) {
      if (!c.words.includes(w)) continue;
      for (const d of df.get(c.term)?.values() ?? []) none *= 1 - Math.min(1, d / n);
    }
    const seen = scores.size;
    const holders = (1 - none) * n;
    const p = partial.has(w) && n > seen ? Math.max(0, Math.min(1, (holders - seen) / (n - seen))) : 0;
    return { scores, p, typical: quantile([...scores.values()], UNSEEN_CONTRIBUTION_QUANTILE) };
  });
  const expected = new Map<string, number>();
  for (const h of hits) {
    let chance = 1;
    let score = 0;
    for (const w of perWord) {
      const s = w.scores.get(h.name);
      if (s !== undefined) score += s;
      else {
        chance *= w.p;
        score += w.typical;
      }
    }
    expected.set(h.name, chance * score);
  }
  const likely = [...hits].sort((a, b) => expected.get(b.name)! - expected.get(a.name)! || b.score - a.score || compare(a.name, b.name));
  // Both orders, alternately: the documents that score best over what was read (often a common
  // word in the name), and those most likely to hold every word.
  const out: Ranked[] = [];
  const taken = new Set<string>();
  for (let i = 0; out.length < hits.length; i++) {
    for (const h of [hits[i], likely[i]]) {
      if (h && !taken.has(h.name)) {
        taken.add(h.name);
        out.push(h);
      }
    }
  }
  return out;
}

/** A hit as the sharded client ranks it: the shared facts, and the document entry they come from. */
interface Ranked extends HitFacts {
  doc: DocEntryJson;
}

/** The {@link HitFacts} of a document entry (`[id, name, display_hash, updated_ms, server_type, platform_mask]`). */
function entryFacts(doc: DocEntryJson, score: number): Ranked {
  return { id: doc[1], name: doc[1], score, updated_ms: doc[3], server_type: doc[4], platform_mask: doc[5], doc };
}
