/**
 * The trees of the sharded index, level by level: how entries are held in memory, keyed,
 * measured and written. `build.ts` and `update.ts` both go through these specs, which is what
 * makes an incremental update produce the same files as a build from scratch.
 *
 * - Term tree: level 0 `terms` files (term entries with their documents), level 1 `dict` files
 *   (one entry per `terms` file, listing its terms: the dictionary a client searches for prefix
 *   and fuzzy matches), levels ≥ 2 `refs` files. The name-pair tree has the same format.
 * - Suffix tree: level 0 `suffixes` files (every term spelled backwards), levels ≥ 1 `refs`.
 * - Page tree of a paged field: level 0 `page` files (postings best first, with their
 *   documents), levels ≥ 1 `refs`.
 * - Catalog trees: level 0 `catalog` files (summaries), levels ≥ 1 `refs`.
 *
 * Builder-side module.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, SEARCH_FIELDS } from '../../core/search-options.ts';
import { checkPolicy, type Accumulator, type ChunkPolicy } from './chunker.ts';
import { decodeId, encodeId } from './ids.ts';
import { match } from './matching.ts';
import { RawJson } from './raw-json.ts';
import {
  SHARDED_FORMAT_VERSION,
  type DocEntryJson,
  type PagedFieldJson,
  type PostingsJson,
  type RefJson,
  type TermEntryJson,
  type TermInfoJson,
} from './wire.ts';
import type { LevelSpec, TreeSpec } from './tree.ts';
import { parseCatalogEntries, parseDictEntries, parsePageFile, parseRefsEntries, parseSuffixesEntries, parseTermsFile } from './validate.ts';

export { reverseTerm } from './reverse.ts';

/** Size bounds of every kind of file, in bytes of JSON. Recorded in the root: an update uses the root's. */
export interface ShardingPolicy {
  /** `terms` files (postings and their documents). */
  terms: ChunkPolicy;
  /** `dict` files (the dictionary). */
  dict: ChunkPolicy;
  /** `refs` files (inner levels of every tree). */
  refs: ChunkPolicy;
  /** `page` files of paged fields: the head page, and the pages after it unless `later_pages` is given. */
  pages: ChunkPolicy;
  /**
   * `page` files after a paged field's head page (default: `pages`). A first query always reads
   * the head pages of the words it looks up and later pages only within its byte budget, so
   * larger later pages mean fewer requests for the same bytes without growing what every query reads.
   */
  later_pages?: ChunkPolicy;
  /** `catalog` files (summaries). */
  catalog: ChunkPolicy;
  /** A field of a term is paged when its postings and their documents exceed this many bytes. */
  page_threshold: number;
  /** Inline budget of the root's trees, in bytes. */
  root_max: number;
  /** Inline budget of a paged field's tree (inside its term entry), in bytes. */
  paged_root_max: number;
  /**
   * Packages a delta holds before an update compacts it into the base trees (`src/search/delta.ts`).
   * Absent or 0 (the default): no delta, every update rewrites the base trees directly.
   */
  delta_max?: number;
}

/**
 * The policy tuned on the benchmark corpus (see docs/sharded-search.md). A delta of 8 packages
 * adds about 3 kB (brotli) to a first query and makes 8 announces in 9 rewrite only the delta.
 */
export const DEFAULT_POLICY: ShardingPolicy = Object.freeze({
  terms: { min: 3_000, target: 9_000, max: 16_000 },
  dict: { min: 2_500, target: 6_000, max: 12_000 },
  refs: { min: 1_500, target: 4_000, max: 8_000 },
  pages: { min: 2_000, target: 5_000, max: 9_000 },
  later_pages: { min: 6_000, target: 15_000, max: 27_000 },
  catalog: { min: 8_000, target: 24_000, max: 48_000 },
  page_threshold: 7_000,
  root_max: 6_000,
  paged_root_max: 1_500,
  delta_max: 8,
});

/** Most packages a delta may hold: every first query downloads the whole delta file. */
export const MAX_DELTA = 64;

/**
 * Validates a policy eagerly, naming the option at fault.
 *
 * @throws ShelfError `invalid_argument`
 */
export function checkShardingPolicy(policy: ShardingPolicy): ShardingPolicy {
  if (typeof policy !== 'object' || policy === null) throw new ShelfError('invalid_argument', 'The "policy" option must be an object.');
  for (const name of ['terms', 'dict', 'refs', 'pages', 'catalog'] as const) checkPolicy(`policy.${name}`, policy[name]);
  if (policy.later_pages !== undefined) checkPolicy('policy.later_pages', policy.later_pages);
  for (const name of ['page_threshold', 'root_max', 'paged_root_max'] as const) {
    const v = policy[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 256) {
      throw new ShelfError('invalid_argument', `The "policy.${name}" option must be an integer ≥ 256; got ${String(v)}.`);
    }
  }
  if (policy.delta_max !== undefined && (typeof policy.delta_max !== 'number' || !Number.isInteger(policy.delta_max) || policy.delta_max < 0 || policy.delta_max > MAX_DELTA)) {
    throw new ShelfError('invalid_argument', `The "policy.delta_max" option must be an integer from 0 to ${MAX_DELTA}; got ${String(policy.delta_max)}.`);
  }
  if (policy.page_threshold >= policy.terms.max) {
    throw new ShelfError('invalid_argument', 'The "policy.page_threshold" option must be below "policy.terms.max".');
  }
  return policy;
}

// ---------------------------------------------------------------------------------------------
// Sizes. Every size is a JSON length; the cost of a posting is the same whether it is inline or
// paged, so the paging decision is the same function of the postings in both places.

/** Bytes of a document entry in a `docs` list. */
export function docCost(doc: DocEntryJson): number {
  return docJsonLength(doc) + 1;
}

/**
 * `JSON.stringify(doc).length`, counted without building the text (documents are measured
 * far more often than written). Falls back to serialising anything but a well-typed entry.
 */
function docJsonLength(doc: DocEntryJson): number {
  if (doc.length === 6) {
    const [id, name, display, updated, type, mask] = doc;
    if (
      typeof id === 'string' &&
      typeof name === 'string' &&
      typeof display === 'string' &&
      typeof updated === 'number' &&
      Number.isFinite(updated) &&
      (type === null || typeof type === 'string') &&
      typeof mask === 'number' &&
      Number.isFinite(mask)
    ) {
      // 2 brackets, 5 commas.
      return (
        7 +
        jsonStringLength(id) +
        jsonStringLength(name) +
        jsonStringLength(display) +
        numberLength(updated) +
        (type === null ? 4 : jsonStringLength(type)) +
        numberLength(mask)
      );
    }
  }
  return JSON.stringify(doc).length;
}

/** 10⁰ … 10¹⁵ (every safe integer has at most 16 digits). */
const POWERS_OF_TEN: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** `JSON.stringify(n).length` of a finite number. */
function numberLength(n: number): number {
  if (Number.isSafeInteger(n)) {
    const a = n < 0 ? -n : n;
    let len = 1;
    while (len < POWERS_OF_TEN.length && a >= POWERS_OF_TEN[len]!) len++;
    return n < 0 ? len + 1 : len;
  }
  return String(n).length;
}

/** `JSON.stringify(s).length` (UTF-16 code units, with the escapes JSON.stringify writes). */
function jsonStringLength(s: string): number {
  let n = s.length + 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0xd800 || c > 0xdfff)) continue;
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) n += 1;
    else if (c < 0x20) n += 5;
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    else n += 5; // a lone surrogate: \udxxx
  }
  return n;
}

/** Bytes of one posting with its document: the unit the paging threshold counts. */
export function postingCost(tf: number, len: number, doc: DocEntryJson): number {
  return doc[0].length + digits(tf) + digits(len) + 5 + docCost(doc);
}

/** Decimal digits of a non-negative integer (its JSON length). */
function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length;
}

/** The documents an entry brings into a file: their ids and their sizes in the `docs` list. */
interface EntryDocs {
  ids: number[];
  costs: number[];
  docs: DocEntryJson[];
}

/** Accumulates entries that each bring documents; every document is counted once per file. */
class DocAccumulator<E> implements Accumulator<E> {
  size: number;
  private readonly seen = new Set<number>();
  /** The entry `sizeWith` last measured and its result, which `add` of that entry reuses. */
  private last: E | undefined = undefined;
  private lastSize = 0;
  constructor(
    overhead: number,
    private readonly own: (e: E) => number,
    private readonly docs: (e: E) => EntryDocs,
  ) {
    this.size = overhead;
  }
  sizeWith(e: E): number {
    let size = this.size + this.own(e);
    const { ids, costs } = this.docs(e);
    for (let i = 0; i < ids.length; i++) if (!this.seen.has(ids[i]!)) size += costs[i]!;
    this.last = e;
    this.lastSize = size;
    return size;
  }
  add(e: E): void {
    const { ids, costs } = this.docs(e);
    if (this.last === e) {
      for (let i = 0; i < ids.length; i++) this.seen.add(ids[i]!);
      this.size = this.lastSize;
    } else {
      let size = this.size + this.own(e);
      for (let i = 0; i < ids.length; i++) {
        if (this.seen.has(ids[i]!)) continue;
        this.seen.add(ids[i]!);
        size += costs[i]!;
      }
      this.size = size;
    }
    this.last = undefined;
  }
}

class PlainAccumulator<E> implements Accumulator<E> {
  size: number;
  constructor(
    overhead: number,
    private readonly own: (e: E) => number,
  ) {
    this.size = overhead;
  }
  sizeWith(e: E): number {
    return this.size + this.own(e);
  }
  add(e: E): void {
    this.size += this.own(e);
  }
}

const OVERHEAD = 40;

// ---------------------------------------------------------------------------------------------
// Generic reference levels.

/** Level ≥ 1 (catalog, pages) or ≥ 2 (terms): `[first_key, file, bytes, weight]`. */
export function refsLevel(salt: string, policy: ChunkPolicy): LevelSpec<RefJson> {
  const weight = (e: RefJson): number => refJsonLength(e) + 1;
  return {
    salt,
    policy,
    key: (e) => e[0],
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    encode: (entries) => ({ v: SHARDED_FORMAT_VERSION, t: 'refs', e: entries }),
    decode: (file) => parseRefsEntries(file),
    ref: (entries, file, bytes) => [entries[0]![0], file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: (e) => e[1],
    childWeight: (e) => e[3],
  };
}

/** `JSON.stringify(ref).length` of a reference `[first_key, file, bytes, weight]`, counted without building the text. */
function refJsonLength(e: RefJson): number {
  if (e.length === 4) {
    const [key, file, bytes, weight] = e;
    if (typeof key === 'string' && typeof file === 'string' && typeof bytes === 'number' && Number.isFinite(bytes) && typeof weight === 'number' && Number.isFinite(weight)) {
      // 2 brackets, 3 commas.
      return 5 + jsonStringLength(key) + jsonStringLength(file) + numberLength(bytes) + numberLength(weight);
    }
  }
  return JSON.stringify(e).length;
}

function notAReference(): never {
  throw new ShelfError('internal_error', 'Level 0 entries do not reference files.');
}

// ---------------------------------------------------------------------------------------------
// Term tree.

/** A posting in memory: term frequency and the document's length of the field. */
export type Posting = [tf: number, len: number];

/** A term with its postings, in memory. */
export interface TermEntry {
  term: string;
  /** Field id → document id → posting, for the fields that are not paged (complete). */
  inline: Map<number, Map<number, Posting>>;
  /** Field id → the paged field. */
  paged: Map<number, PagedFieldJson>;
  /** The documents the inline postings reference. */
  docs: Map<number, DocEntryJson>;
}

/** What the chunker measures of a term entry, computed once per entry (entries are not changed once made). */
interface TermMeasure {
  /** The entry's JSON in a `terms` file (without its documents). */
  json: string | undefined;
  /** The documents it brings. */
  docs: EntryDocs | undefined;
  /** Its weight (own size and every document's). */
  weight: number;
}

const termMeasures = new WeakMap<TermEntry, TermMeasure>();
function termMeasure(entry: TermEntry): TermMeasure {
  if (entry instanceof DecodedTermEntry) return entry.measure;
  let m = termMeasures.get(entry);
  if (m === undefined) termMeasures.set(entry, (m = { json: undefined, docs: undefined, weight: -1 }));
  return m;
}

/** The JSON of a term entry in a `terms` file (without its documents), computed once. */
function termEntryJson(entry: TermEntry): string {
  const m = termMeasure(entry);
  return (m.json ??= (entry instanceof DecodedTermEntry ? entry.canonicalJson() : undefined) ?? termEntryText(entry));
}
const termEntryCost = (entry: TermEntry): number => termEntryJson(entry).length + 1;

/** `JSON.stringify(termEntryValue(entry))`, written directly in the common case. */
function termEntryText(entry: TermEntry): string {
  const fids = sortedIndexKeys(entry.inline);
  if (fids === null) return JSON.stringify(termEntryValue(entry));
  let out = `[${jsonString(entry.term)},{`;
  for (let f = 0; f < fids.length; f++) {
    const fid = fids[f]!;
    const postings = entry.inline.get(fid)!;
    const ids = [...postings.keys()];
    if (!isAscending(ids)) ids.sort((a, b) => a - b);
    let flat = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const [tf, len] = postings.get(id)!;
      const docId = entry.docs.get(id)?.[0] ?? encodeId(id);
      if (typeof tf !== 'number' || typeof len !== 'number') return JSON.stringify(termEntryValue(entry));
      flat += `${i === 0 ? '' : ','}${jsonString(docId)},${numberText(tf)},${numberText(len)}`;
    }
    out += `${f === 0 ? '' : ','}"${fid}":[${flat}]`;
  }
  out += '}';
  if (entry.paged.size === 0) return `${out}]`;
  const paged: Record<string, PagedFieldJson> = {};
  for (const fid of [...entry.paged.keys()].sort((a, b) => a - b)) paged[String(fid)] = entry.paged.get(fid)!;
  return `${out},${JSON.stringify(paged)}]`;
}

/**
 * The keys of a map sorted, when they are all array indices (whose order in a JS object is
 * numeric, so writing them sorted gives the object's key order); null otherwise.
 */
function sortedIndexKeys(map: Map<number, unknown>): number[] | null {
  const keys = [...map.keys()];
  for (const k of keys) if (!Number.isInteger(k) || k < 0 || k >= 4294967295) return null;
  if (!isAscending(keys)) keys.sort((a, b) => a - b);
  return keys;
}

function isAscending(a: number[]): boolean {
  for (let i = 1; i < a.length; i++) if (!(a[i - 1]! < a[i]!)) return false;
  return true;
}

/** `JSON.stringify(n)` of a number. */
function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** `JSON.stringify(s)` of a string, without the call when nothing needs escaping. */
function jsonString(s: string): string {
  return jsonStringLength(s) === s.length + 2 ? `"${s}"` : JSON.stringify(s);
}

function termEntryValue(entry: TermEntry): unknown[] {
  const idOf = (id: number): string => entry.docs.get(id)?.[0] ?? encodeId(id);
  const postings: Record<string, (string | number)[]> = {};
  for (const fid of [...entry.inline.keys()].sort((a, b) => a - b)) {
    const flat: (string | number)[] = [];
    for (const [id, [tf, len]] of [...entry.inline.get(fid)!].sort((a, b) => a[0] - b[0])) flat.push(idOf(id), tf, len);
    postings[String(fid)] = flat;
  }
  if (entry.paged.size === 0) return [entry.term, postings];
  const paged: Record<string, PagedFieldJson> = {};
  for (const fid of [...entry.paged.keys()].sort((a, b) => a - b)) paged[String(fid)] = entry.paged.get(fid)!;
  return [entry.term, postings, paged];
}

/** `,"docs":[...]}` of a file, documents sorted by id. */
function docsTail(docs: Map<number, DocEntryJson>): string {
  const ids = [...docs.keys()].sort((a, b) => a - b);
  // One serialisation of the whole list: the same text as joining each document's.
  return `,"docs":${JSON.stringify(ids.map((id) => docs.get(id)!))}}`;
}

/** The documents a term entry brings into a `terms` file, measured once. */
function termEntryDocs(entry: TermEntry): EntryDocs {
  const m = termMeasure(entry);
  if (m.docs === undefined && entry instanceof DecodedTermEntry) m.docs = entry.entryDocs();
  if (m.docs === undefined) {
    const ids: number[] = [];
    const costs: number[] = [];
    const docs: DocEntryJson[] = [];
    for (const [id, doc] of entry.docs) {
      ids.push(id);
      costs.push(docCost(doc));
      docs.push(doc);
    }
    m.docs = { ids, costs, docs };
  }
  return m.docs;
}

/** The dictionary's view of a term. */
export function termInfo(entry: TermEntry): TermInfoJson {
  if (entry.paged.size === 0) return entry.term;
  const fields: Record<string, [number, string, number]> = {};
  for (const fid of [...entry.paged.keys()].sort((a, b) => a - b)) {
    const p = entry.paged.get(fid)!;
    fields[String(fid)] = [p.n, p.h[0], p.h[1]];
  }
  return [entry.term, fields];
}

/** The term of a dictionary entry's term info. */
export const infoTerm = (info: TermInfoJson): string => (typeof info === 'string' ? info : info[0]);

/** A `dict` entry in memory: `[terms_file, bytes, term infos]`. */
export type DictEntry = [string, number, TermInfoJson[]];

function termsLevel(policy: ChunkPolicy): LevelSpec<TermEntry> {
  return {
    salt: 'terms/0',
    policy,
    key: (e) => e.term,
    weight: (e) => {
      const m = termMeasure(e);
      if (m.weight < 0) {
        let w = termEntryCost(e);
        for (const c of termEntryDocs(e).costs) w += c;
        m.weight = w;
      }
      return m.weight;
    },
    accumulator: () => new DocAccumulator<TermEntry>(OVERHEAD, termEntryCost, termEntryDocs),
    encode: (entries) => {
      const docs = new Map<number, DocEntryJson>();
      for (const e of entries) {
        const d = termEntryDocs(e);
        for (let i = 0; i < d.ids.length; i++) docs.set(d.ids[i]!, d.docs[i]!);
      }
      return new RawJson(`{"v":${SHARDED_FORMAT_VERSION},"t":"terms","e":[${entries.map(termEntryJson).join(',')}]${docsTail(docs)}`);
    },
    decode: (file) => decodeTermsFile(file),
    ref: (entries, file, bytes): DictEntry => [file, bytes, entries.map(termInfo)],
    child: notAReference,
    childWeight: notAReference,
  };
}

/** A document of a `terms` file, decoded once per file however many entries reference it. */
interface FileDoc {
  id: number;
  doc: DocEntryJson;
  /** Its size in the `docs` list ({@link docCost}); -1 until measured. */
  cost: number;
  /** The last entry of the file found to reference it (decoding marks them as it goes). */
  mark: number;
}

/**
 * A term entry read from a `terms` file. Its postings and documents are turned into maps only
 * when asked for: most entries an update reads are only measured and written again. When the
 * file wrote the entry the way {@link termEntryText} would (sorted fields and ids), its JSON is
 * the file's.
 */
class DecodedTermEntry implements TermEntry {
  readonly measure: TermMeasure;
  private postings: Map<number, Map<number, Posting>> | undefined = undefined;
  private docMap: Map<number, DocEntryJson> | undefined;
  constructor(
    readonly term: string,
    private readonly raw: PostingsJson,
    readonly paged: Map<number, PagedFieldJson>,
    docs: Map<number, DocEntryJson> | undefined,
    private readonly fileDocs: Map<string, FileDoc>,
    private readonly own: FileDoc[],
    private readonly canonical: TermEntryJson | null,
  ) {
    this.measure = { json: undefined, docs: undefined, weight: -1 };
    this.docMap = docs;
  }

  get inline(): Map<number, Map<number, Posting>> {
    if (this.postings === undefined) {
      const inline = new Map<number, Map<number, Posting>>();
      for (const fid of Object.keys(this.raw)) {
        const flat = this.raw[fid]!;
        const m = new Map<number, Posting>();
        for (let i = 0; i + 2 < flat.length; i += 3) m.set(this.fileDocs.get(String(flat[i]))!.id, [Number(flat[i + 1]), Number(flat[i + 2])]);
        inline.set(Number(fid), m);
      }
      this.postings = inline;
    }
    return this.postings;
  }

  get docs(): Map<number, DocEntryJson> {
    if (this.docMap === undefined) {
      const docs = new Map<number, DocEntryJson>();
      for (const d of this.own) docs.set(d.id, d.doc);
      this.docMap = docs;
    }
    return this.docMap;
  }

  /** The entry's JSON when the file holds it in canonical form, else undefined. */
  canonicalJson(): string | undefined {
    return this.canonical === null ? undefined : JSON.stringify(this.canonical);
  }

  entryDocs(): EntryDocs {
    const ids: number[] = [];
    const costs: number[] = [];
    const docs: DocEntryJson[] = [];
    for (const d of this.own) {
      if (d.cost < 0) d.cost = docCost(d.doc);
      ids.push(d.id);
      costs.push(d.cost);
      docs.push(d.doc);
    }
    return { ids, costs, docs };
  }
}

/** Whether a key of a JSON object is written as `String(Number(key))` in key order by an object built from numbers. */
function isCanonicalIndex(key: string): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < 4294967295 && String(n) === key;
}

/** Decodes a `terms` file into term entries (each with the documents its inline postings reference). */
export function decodeTermsFile(file: unknown): TermEntry[] {
  const parsed = parseTermsFile(file);
  const docs = new Map<string, FileDoc>();
  for (const doc of parsed.docs) docs.set(doc[0], { id: -1, doc, cost: -1, mark: -1 });
  // Two spellings of one id ("a" and "0a") make an entry's documents a map decision (the last
  // one wins): such a file takes the general path.
  const byId = new Map<number, FileDoc>();
  let aliases = false;
  for (const d of docs.values()) {
    d.id = decodeId(d.doc[0]);
    const other = byId.get(d.id);
    if (other !== undefined && other !== d) aliases = true;
    byId.set(d.id, d);
  }
  return parsed.e.map((raw, index) => {
    const ownDocs: FileDoc[] = [];
    const own = aliases ? new Map<number, DocEntryJson>() : undefined;
    let canonical = !aliases && (raw.length === 2 || Object.keys(raw[2]).length > 0);
    const postings = raw[1];
    for (const fid of Object.keys(postings)) {
      if (canonical && !isCanonicalIndex(fid)) canonical = false;
      const flat = postings[fid]!;
      let prev = -1;
      for (let i = 0; i + 2 < flat.length; i += 3) {
        const key = String(flat[i]);
        const d = docs.get(key);
        if (!d) throw new ShelfError('internal_error', `A terms file references document ${key} without its entry.`);
        if (!(d.id > prev)) canonical = false;
        prev = d.id;
        if (own) own.set(d.id, d.doc);
        else if (d.mark !== index) {
          d.mark = index;
          ownDocs.push(d);
        }
      }
    }
    const paged = new Map<number, PagedFieldJson>();
    if (raw.length === 3) {
      for (const [fid, p] of Object.entries(raw[2])) {
        if (canonical && !isCanonicalIndex(fid)) canonical = false;
        paged.set(Number(fid), p);
      }
    }
    if (own) for (const [id, doc] of own) ownDocs.push({ id, doc, cost: -1, mark: -1 });
    return new DecodedTermEntry(raw[0], postings, paged, own, docs, ownDocs, canonical ? raw : null);
  });
}

function dictLevel(policy: ChunkPolicy): LevelSpec<DictEntry> {
  // Dictionary entries are immutable once made: measure each once.
  const weights = new WeakMap<DictEntry, number>();
  const weight = (e: DictEntry): number => {
    let w = weights.get(e);
    if (w === undefined) weights.set(e, (w = JSON.stringify(e).length + 1));
    return w;
  };
  return {
    salt: 'terms/1',
    policy,
    key: (e) => infoTerm(e[2][0]!),
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    encode: (entries) => ({ v: SHARDED_FORMAT_VERSION, t: 'dict', e: entries }),
    decode: (file) => parseDictEntries(file) as DictEntry[],
    ref: (entries, file, bytes): RefJson => [infoTerm(entries[0]![2][0]!), file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: (e) => e[0],
    childWeight: notAReference,
  };
}

/** The term tree of a policy. */
export function termTreeSpec(policy: ShardingPolicy): TreeSpec {
  return termLikeTreeSpec(policy, 'term index');
}

/** The name-pair tree: the same format as the term tree, over pseudo-terms `"a b"`. */
export function pairTreeSpec(policy: ShardingPolicy): TreeSpec {
  return termLikeTreeSpec(policy, 'name-pair index');
}

function termLikeTreeSpec(policy: ShardingPolicy, name: string): TreeSpec {
  const levels = [termsLevel(policy.terms), dictLevel(policy.dict)] as LevelSpec<unknown>[];
  const refs = new Map<number, LevelSpec<unknown>>();
  return {
    name,
    rootMax: policy.root_max,
    level: (l) => {
      if (l < 2) return levels[l]!;
      let spec = refs.get(l);
      if (!spec) refs.set(l, (spec = refsLevel(`terms/${l}`, policy.refs) as LevelSpec<unknown>));
      return spec;
    },
  };
}

/** The suffix tree: every term spelled backwards (level 0 `suffixes`), levels ≥ 1 `refs`. */
export function suffixTreeSpec(policy: ShardingPolicy): TreeSpec {
  const weight = (e: string): number => (typeof e === 'string' ? jsonStringLength(e) : JSON.stringify(e).length) + 1;
  const leaf: LevelSpec<string> = {
    salt: 'suffixes/0',
    policy: policy.dict,
    key: (e) => e,
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    encode: (entries) => ({ v: SHARDED_FORMAT_VERSION, t: 'suffixes', e: entries }),
    decode: (file) => parseSuffixesEntries(file),
    ref: (entries, file, bytes): RefJson => [entries[0]!, file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: notAReference,
    childWeight: notAReference,
  };
  const refs = refsLevel('suffixes/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'suffix dictionary', rootMax: policy.root_max, level: (l) => (l === 0 ? (leaf as LevelSpec<unknown>) : refs) };
}

// ---------------------------------------------------------------------------------------------
// Page trees of paged fields.

/** One posting of a paged field, in memory. */
export interface PageEntry {
  id: number;
  tf: number;
  len: number;
  /** Impact of the term for this document over all its fields ({@link impact}). */
  q: number;
  doc: DocEntryJson;
  /** Impact order: best first, then by id. */
  key: string;
}

const K1 = 1.2;
const B = 0.7;
/**
 * Typical length of each field (tokens), for the impact order only. The order must not depend on
 * the registry's current averages, or every announce would reorder every page.
 */
const REFERENCE_LENGTH: Record<string, number> = { name: 2, display_name: 3, description: 16, keyword_text: 5, tool_text: 12, scope: 1 };
const BOOSTS = (DEFAULT_SEARCH_OPTIONS.boost ?? {}) as Record<string, number>;

/** What a document holds: its terms, and each term's `[field id, tf, field length]` per field. */
export interface DocumentTerms {
  terms: readonly string[];
  fields(term: string): Iterable<[number, number, number]>;
}

/**
 * The impact of a term for a document: roughly the document's score for a one-word query of
 * that term — BM25's term-frequency part at reference lengths, weighted by the field boosts,
 * summed over the fields — plus, with MiniSearch's prefix and fuzzy weights, the same for the
 * document's other terms that query would match (`versions` and `verion` for `version`). As an
 * integer. Every page of the term's paged fields is ordered by it, so a head page holds the
 * documents the term ranks highest. It is a function of the document alone, never of the
 * registry's statistics, so an announce never reorders other documents.
 */
export function termImpact(term: string, doc: DocumentTerms): number {
  let sum = 0;
  for (const t of doc.terms) {
    const m = match(term, t);
    if (!m) continue;
    let base = 0;
    for (const [fid, tf, len] of doc.fields(t)) {
      const field = SEARCH_FIELDS[fid] ?? '';
      const ref = REFERENCE_LENGTH[field] ?? 4;
      base += ((BOOSTS[field] ?? 1) * tf) / (tf + K1 * (1 - B + (B * len) / ref));
    }
    sum += m.weight * base;
  }
  return Math.round(sum * 1e5);
}

/** The terms of an indexed document, for {@link termImpact}. */
export function documentTerms(postings: Map<string, Map<number, number>>, lengths: number[]): DocumentTerms {
  return {
    terms: [...postings.keys()],
    fields: (t) => [...(postings.get(t) ?? [])].map(([fid, tf]) => [fid, tf, lengths[fid] ?? 0] as [number, number, number]),
  };
}

/** A page entry. */
export function pageEntry(id: number, tf: number, len: number, q: number, doc: DocEntryJson): PageEntry {
  return { id, tf, len, q, doc, key: `${String(99_999_999 - q).padStart(8, '0')}${String(id).padStart(16, '0')}` };
}

function pagesLevel(head: ChunkPolicy, later: ChunkPolicy): LevelSpec<PageEntry> {
  const own = (e: PageEntry): number => e.doc[0].length + digits(e.tf) + digits(e.len) + digits(e.q) + 8;
  return {
    salt: 'pages/0',
    policy: later,
    firstPolicy: head,
    key: (e) => e.key,
    weight: (e) => postingCost(e.tf, e.len, e.doc),
    accumulator: () => new DocAccumulator<PageEntry>(OVERHEAD, own, (e) => ({ ids: [e.id], costs: [docCost(e.doc)], docs: [e.doc] })),
    encode: (entries) =>
      new RawJson(
        `{"v":${SHARDED_FORMAT_VERSION},"t":"page","e":[${entries.map((e) => `[${JSON.stringify(e.doc[0])},${e.tf},${e.len},${e.q}]`).join(',')}]` +
          docsTail(new Map(entries.map((e) => [e.id, e.doc]))),
      ),
    decode: (file) => {
      const parsed = parsePageFile(file);
      const docs = new Map(parsed.docs.map((d) => [d[0], d]));
      return parsed.e.map(([key, tf, len, q]) => {
        const doc = docs.get(key);
        if (!doc) throw new ShelfError('internal_error', `A page references document ${key} without its entry.`);
        return pageEntry(decodeId(key), tf, len, q, doc);
      });
    },
    ref: (entries, file, bytes): RefJson => [entries[0]!.key, file, bytes, entries.reduce((n, e) => n + postingCost(e.tf, e.len, e.doc), 0)],
    child: notAReference,
    childWeight: notAReference,
  };
}

/**
 * The `heads` file of a term: the head page (the first leaf of the page tree) of each of its
 * paged fields, by field id, in one file, as JSON text ending in a newline.
 */
export function headsContent(leaves: ReadonlyMap<number, readonly PageEntry[]>): string {
  const docs = new Map<number, DocEntryJson>();
  const fields: string[] = [];
  for (const [fid, entries] of [...leaves].sort((a, b) => a[0] - b[0])) {
    for (const e of entries) docs.set(e.id, e.doc);
    fields.push(`[${fid},[${entries.map((e) => `[${JSON.stringify(e.doc[0])},${e.tf},${e.len},${e.q}]`).join(',')}]]`);
  }
  return `{"v":${SHARDED_FORMAT_VERSION},"t":"heads","e":[${fields.join(',')}]${docsTail(docs)}\n`;
}

/** The entries of a `page` file (validated). */
export const decodePage = (file: unknown): PageEntry[] => pagesLevel(DEFAULT_POLICY.pages, DEFAULT_POLICY.pages).decode(file);

/** The page tree of a paged field (the same for every field: entries carry their own order). */
export function pageTreeSpec(policy: ShardingPolicy): TreeSpec {
  const leaf = pagesLevel(policy.pages, policy.later_pages ?? policy.pages) as LevelSpec<unknown>;
  const refs = refsLevel('pages/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'paged postings', rootMax: policy.paged_root_max, level: (l) => (l === 0 ? leaf : refs) };
}

// ---------------------------------------------------------------------------------------------
// Catalog trees.

/** Largest `updated_at` the recency key can order (year 2286). */
const MAX_MS = 9_999_999_999_999;

/** Key of a summary in the recency order: newest first, then by name. */
export function recentKey(summary: PackageSummary): string {
  return `${String(MAX_MS - Date.parse(summary.updated_at)).padStart(13, '0')} ${summary.name}`;
}

function catalogLevel(salt: string, key: (s: PackageSummary) => string, policy: ChunkPolicy): LevelSpec<PackageSummary> {
  const weightCache = new WeakMap<PackageSummary, number>();
  const weight = (e: PackageSummary): number => {
    let w = weightCache.get(e);
    if (w === undefined) weightCache.set(e, (w = JSON.stringify(e).length + 1));
    return w;
  };
  return {
    salt,
    policy,
    key,
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    encode: (entries) => ({ v: SHARDED_FORMAT_VERSION, t: 'catalog', e: entries }),
    decode: (file) => parseCatalogEntries(file),
    ref: (entries, file, bytes): RefJson => [key(entries[0]!), file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: notAReference,
    childWeight: notAReference,
  };
}

/** The catalog tree ordered by name. */
export function catalogByNameSpec(policy: ShardingPolicy): TreeSpec {
  const leaf = catalogLevel('name/0', (s) => s.name, policy.catalog) as LevelSpec<unknown>;
  const refs = refsLevel('name/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'catalog by name', rootMax: policy.root_max, level: (l) => (l === 0 ? leaf : refs) };
}

/** The catalog tree ordered by recency. */
export function catalogByRecentSpec(policy: ShardingPolicy): TreeSpec {
  const leaf = catalogLevel('recent/0', recentKey, policy.catalog) as LevelSpec<unknown>;
  const refs = refsLevel('recent/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'catalog by recency', rootMax: policy.root_max, level: (l) => (l === 0 ? leaf : refs) };
}
