/**
 * The pieces a query reads: candidate terms and where their postings are, the parsed views of
 * `terms`, `page` and `heads` files (parsed once per file), the query's words, and the terms found
 * in the names of the documents read. Pure module.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import { DEFAULT_SEARCH_OPTIONS, indexOptions, SEARCH_FIELDS } from '../../core/search-options.ts';
import { matchOf } from '../ranking.ts';
import { checkHeadsFile, checkPageFile, checkTermsFile } from '../format/validate.ts';
import { DictEntry, DocEntry, TermEntry } from '../format/wire-fields.ts';
import type { DictEntryJson, DocEntryJson, RefJson, TermEntryJson } from '../format/wire.ts';
import { parseWith } from './transport.ts';

/** Terms found in the names of documents read, looked up in the dictionary per query. */
const MAX_NAME_LOOKUPS = 4;
/** Priority decay of successive pages of a paged field. */
const PAGE_DECAY = 0.7;

/** A dictionary term that matches query words, and where its postings are. */
export interface Candidate {
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
export interface FieldPages {
  df: number;
  pages: string[];
  /** Every page of the field: its postings are complete. */
  complete: boolean;
}

/** A key range `[from, to)` of a tree to read, at most `cap` files at the last step, nearest `anchor` first. */
export interface Range {
  from: string;
  to: string;
  anchor: string;
  cap: number;
  /** The query word that becomes partial when the range is cut (null: the range is only for typos). */
  word: string | null;
}

/** The range of one term exactly (a typo's variant, a lookup by name): never cut, never a query word's. */
export function exactRange(term: string): Range {
  return { from: term, to: `${term}\u0000`, anchor: term, cap: 1, word: null };
}

export const infoTerm = DictEntry.term;

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
export function candidates(words: string[], dict: DictEntryJson[]): Map<string, Candidate> {
  const out = new Map<string, Candidate>();
  for (const [file, bytes, infos] of dict) {
    for (const info of infos) {
      const term = infoTerm(info);
      for (const w of words) {
        const m = matchOf(w, term);
        if (!m) continue;
        let c = out.get(term);
        if (!c) {
          const paged = new Map<number, { df: number; head: string; headBytes: number }>();
          for (const [fid, [df, head, headBytes]] of Object.entries(DictEntry.paged(info))) paged.set(Number(fid), { df, head, headBytes });
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

export const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

type ParsedTerms = { e: Map<string, TermEntryJson>; docs: Map<string, DocEntryJson> };

const parsedTerms = new WeakMap<object, ParsedTerms>();

export type PagePostings = [string, number, number, number][];

/** Parsed `page` files (postings of one field) and `heads` files (postings by field). */
const parsedPages = new WeakMap<object, { e: PagePostings; docs: Map<string, DocEntryJson> } | { fields: Map<number, PagePostings>; docs: Map<string, DocEntryJson> }>();

/** A `terms` file, validated and indexed once per downloaded object. */
export function termsFile(files: Map<string, unknown>, file: string): ParsedTerms {
  const json = files.get(file) as object;
  let parsed = parsedTerms.get(json);
  if (!parsed) {
    const raw = parseWith(checkTermsFile, json, file);
    parsed = { e: new Map(raw.e.map((e) => [TermEntry.term(e), e])), docs: new Map(raw.docs.map((d) => [DocEntry.id(d), d])) };
    parsedTerms.set(json, parsed);
  }
  return parsed;
}

export function termsEntry(files: Map<string, unknown>, file: string, term: string): TermEntryJson {
  const entry = termsFile(files, file).e.get(term);
  if (!entry) throw new ShelfError('registry_unreachable', `The index file ${file} lacks the term "${term}" its dictionary lists.`);
  return entry;
}

/** Field `fid`'s postings in a `page` or `heads` file, with their documents (without `fid`: a page's, or none, and every document). */
export function pageFile(files: Map<string, unknown>, file: string, fid?: number): { e: PagePostings; docs: Map<string, DocEntryJson> } {
  const json = files.get(file) as object;
  let parsed = parsedPages.get(json);
  if (!parsed) {
    if ((json as { t?: unknown }).t === 'heads') {
      const raw = parseWith(checkHeadsFile, json, file);
      parsed = { fields: new Map(raw.e), docs: new Map(raw.docs.map((d) => [DocEntry.id(d), d])) };
    } else {
      const raw = parseWith(checkPageFile, json, file);
      parsed = { e: raw.e, docs: new Map(raw.docs.map((d) => [DocEntry.id(d), d])) };
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
export function headPagesRead(selected: Candidate[], files: Map<string, unknown>): string[] {
  return selected.flatMap((c) => (c.headless ? [] : [...c.paged.values()].map((p) => p.head))).filter((f) => files.has(f));
}

/** Terms of the names read so far matching a word by prefix or typo, not yet candidates: the best {@link MAX_NAME_LOOKUPS} by weight, then frequency. */
export function nameLookups(words: string[], cands: Map<string, Candidate>, selected: Candidate[], files: Map<string, unknown>, heads: string[]): string[] {
  const names = new Set<string>();
  for (const c of selected) for (const d of termsFile(files, c.file).docs.values()) names.add(DocEntry.name(d));
  for (const f of heads) for (const d of pageFile(files, f).docs.values()) names.add(DocEntry.name(d));
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
          const m = matchOf(w, t);
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
export const NAME_FIELDS: [number, 'name' | 'scope'][] = (['name', 'scope'] as const).map((f) => [SEARCH_FIELDS.indexOf(f), f]);

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

/** A further page of a paged field (after its head page), as step 3 of a query ranks them. */
export interface PageRef {
  priority: number;
  /** The order its field was met in (ties). */
  order: number;
  term: string;
  fid: number;
  file: string;
  bytes: number;
}

/** The further pages of a field whose page references are `refs` (the head page first): each weighs the term's match weight times the field's boost, decaying page by page. */
export function furtherPages(term: string, fid: number, weight: number, order: number, refs: RefJson[]): PageRef[] {
  const boost = (DEFAULT_SEARCH_OPTIONS.boost as Record<string, number> | undefined)?.[SEARCH_FIELDS[fid] ?? ''] ?? 1;
  return refs.slice(1).map((r, i) => ({ priority: weight * boost * PAGE_DECAY ** (i + 1), order, term, fid, file: r[1], bytes: r[2] }));
}

/** Best first; ties in the order the fields were met, then page by page (a stable sort). */
export function byPriority(pages: PageRef[]): PageRef[] {
  return pages.sort((a, b) => b.priority - a.priority || a.order - b.order);
}

/**
 * The pages (best first) read within `left` bytes, the files already `planned` costing nothing:
 * once a page of a field does not fit, neither do the field's next ones (pages are read in order).
 * Returns those read, the files left out, and the bytes left.
 */
export function withinBudget(pages: readonly PageRef[], planned: ReadonlyMap<string, number>, left: number): { read: PageRef[]; leftOut: Set<string>; left: number } {
  const read: PageRef[] = [];
  const leftOut = new Set<string>();
  const skipped = new Set<string>();
  const taken = new Set<string>();
  for (const p of pages) {
    const key = `${p.term}\u0000${p.fid}`;
    const free = planned.has(p.file) || taken.has(p.file);
    if (skipped.has(key) || (!free && p.bytes > left)) {
      skipped.add(key);
      if (!free) leftOut.add(p.file);
      continue;
    }
    if (!free) left -= p.bytes;
    taken.add(p.file);
    read.push(p);
  }
  for (const f of taken) leftOut.delete(f);
  return { read, leftOut, left };
}

/**
 * The pages step 3 reads: those {@link withinBudget}, or every page when the files that leaves out
 * are at most `maxLeftOut` and all the pages' new bytes fit `completing` (reading them then spares
 * scoring candidates again). `leftOut` is empty when every page is read.
 */
export function pagesToRead(
  pages: readonly PageRef[],
  planned: ReadonlyMap<string, number>,
  left: number,
  completing: number,
  maxLeftOut: number,
): { read: PageRef[]; leftOut: Set<string>; left: number } {
  const plan = withinBudget(pages, planned, left);
  const extra = newBytes(pages, planned);
  if (plan.leftOut.size === 0 || plan.leftOut.size > maxLeftOut || extra > completing) return plan;
  return { ...withinBudget(pages, planned, Number.POSITIVE_INFINITY), left: Math.max(0, left - extra) };
}

/** Bytes of the files already planned (what a query has spent of its budget). */
export function plannedBytes(planned: ReadonlyMap<string, number>): number {
  let bytes = 0;
  for (const b of planned.values()) bytes += b;
  return bytes;
}

/** Bytes of the pages' files not `planned` yet, each counted once. */
export function newBytes(pages: readonly PageRef[], planned: ReadonlyMap<string, number>): number {
  const files = new Map(pages.filter((p) => !planned.has(p.file)).map((p) => [p.file, p.bytes]));
  let bytes = 0;
  for (const b of files.values()) bytes += b;
  return bytes;
}
