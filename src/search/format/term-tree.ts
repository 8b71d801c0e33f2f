/**
 * The term tree (and the name-pair and suffix trees): term entries in memory, their exact JSON
 * encoding and size, `terms` and `dict` levels. Build and update both go through these specs,
 * which is what makes an update produce the files a build does.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import type { ChunkPolicy } from './chunker.ts';
import { decodeId, encodeId } from './ids.ts';
import { RawJson } from './raw-json.ts';
import { SHARDED_FORMAT_VERSION, type DocEntryJson, type PagedFieldJson, type PostingsJson, type RefJson, type TermEntryJson, type TermInfoJson } from './wire.ts';
import type { LevelSpec, TreeSpec } from './tree.ts';
import { checkDictFile, checkSuffixesFile, checkTermsFile, valid } from './validate.ts';
import { type ShardingPolicy } from './policy.ts';
import { notAReference, refsLevel } from './refs-level.ts';
import { DocAccumulator, type EntryDocs, OVERHEAD, PlainAccumulator, docCost, docJson, jsonStringLength, jsonWeight } from './sizes.ts';

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
export interface TermMeasure {
  /** The entry's JSON in a `terms` file (without its documents). */
  json: string | undefined;
  /** The documents it brings. */
  docs: EntryDocs | undefined;
  /** Its weight (own size and every document's). */
  weight: number;
}

export const termMeasures = new WeakMap<TermEntry, TermMeasure>();
export function termMeasure(entry: TermEntry): TermMeasure {
  if (entry instanceof DecodedTermEntry) return entry.measure;
  let m = termMeasures.get(entry);
  if (m === undefined) termMeasures.set(entry, (m = { json: undefined, docs: undefined, weight: -1 }));
  return m;
}

/** The JSON of a term entry in a `terms` file (without its documents), computed once. */
export function termEntryJson(entry: TermEntry): string {
  const m = termMeasure(entry);
  return (m.json ??= (entry instanceof DecodedTermEntry ? entry.canonicalJson() : undefined) ?? termEntryText(entry));
}
export const termEntryCost = (entry: TermEntry): number => termEntryJson(entry).length + 1;

/** `JSON.stringify(termEntryValue(entry))`, written directly in the common case. */
export function termEntryText(entry: TermEntry): string {
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
  return entry.paged.size === 0 ? `${out}]` : `${out},${JSON.stringify(pagedFields(entry))}]`;
}

/** The paged fields of an entry, by field id in order. */
function pagedFields(entry: TermEntry): Record<string, PagedFieldJson> {
  const paged: Record<string, PagedFieldJson> = {};
  for (const fid of [...entry.paged.keys()].sort((a, b) => a - b)) paged[String(fid)] = entry.paged.get(fid)!;
  return paged;
}

/** A map's keys sorted when all are array indices (a JS object's key order), else null. */
export function sortedIndexKeys(map: Map<number, unknown>): number[] | null {
  const keys = [...map.keys()];
  for (const k of keys) if (!Number.isInteger(k) || k < 0 || k >= 4294967295) return null;
  if (!isAscending(keys)) keys.sort((a, b) => a - b);
  return keys;
}

export function isAscending(a: number[]): boolean {
  for (let i = 1; i < a.length; i++) if (!(a[i - 1]! < a[i]!)) return false;
  return true;
}

/** `JSON.stringify(n)` of a number. */
export function numberText(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

/** `JSON.stringify(s)` of a string, without the call when nothing needs escaping. */
export function jsonString(s: string): string {
  return jsonStringLength(s) === s.length + 2 ? `"${s}"` : JSON.stringify(s);
}

export function termEntryValue(entry: TermEntry): unknown[] {
  const idOf = (id: number): string => entry.docs.get(id)?.[0] ?? encodeId(id);
  const postings: Record<string, (string | number)[]> = {};
  for (const fid of [...entry.inline.keys()].sort((a, b) => a - b)) {
    const flat: (string | number)[] = [];
    for (const [id, [tf, len]] of [...entry.inline.get(fid)!].sort((a, b) => a[0] - b[0])) flat.push(idOf(id), tf, len);
    postings[String(fid)] = flat;
  }
  return entry.paged.size === 0 ? [entry.term, postings] : [entry.term, postings, pagedFields(entry)];
}

/** `,"docs":[...]}` of a file, documents sorted by id. */
export function docsTail(docs: Map<number, DocEntryJson>): string {
  const ids = [...docs.keys()].sort((a, b) => a - b);
  // The same text as serialising the whole list, each document serialised once per run.
  let out = ',"docs":[';
  for (let i = 0; i < ids.length; i++) out += `${i === 0 ? '' : ','}${docJson(docs.get(ids[i]!)!)}`;
  return `${out}]}`;
}


/** The documents a term entry brings into a `terms` file, measured once. */
export function termEntryDocs(entry: TermEntry): EntryDocs {
  const m = termMeasure(entry);
  if (m.docs === undefined && entry instanceof DecodedTermEntry) m.docs = entry.entryDocs();
  if (m.docs === undefined) {
    m.docs = { ids: [], costs: [], docs: [] };
    for (const [id, doc] of entry.docs) {
      m.docs.ids.push(id);
      m.docs.costs.push(docCost(doc));
      m.docs.docs.push(doc);
    }
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

export function termsLevel(policy: ChunkPolicy): LevelSpec<TermEntry> {
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
export interface FileDoc {
  id: number;
  doc: DocEntryJson;
  /** Its size in the `docs` list ({@link docCost}); -1 until measured. */
  cost: number;
  /** The last entry of the file found to reference it (decoding marks them as it goes). */
  mark: number;
}

/**
 * A term entry read from a `terms` file, made into maps only when asked (an update mostly measures
 * and writes entries again); its JSON is the file's when written as {@link termEntryText} would.
 */
export class DecodedTermEntry implements TermEntry {
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
    const out: EntryDocs = { ids: [], costs: [], docs: [] };
    for (const d of this.own) {
      if (d.cost < 0) d.cost = docCost(d.doc);
      out.ids.push(d.id);
      out.costs.push(d.cost);
      out.docs.push(d.doc);
    }
    return out;
  }
}

/** Whether a key of a JSON object is written as `String(Number(key))` in key order by an object built from numbers. */
export function isCanonicalIndex(key: string): boolean {
  const n = Number(key);
  return Number.isInteger(n) && n >= 0 && n < 4294967295 && String(n) === key;
}

/** Decodes a `terms` file into term entries (each with the documents its inline postings reference). */
export function decodeTermsFile(file: unknown): TermEntry[] {
  const parsed = valid(checkTermsFile(file));
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

export function dictLevel(policy: ChunkPolicy): LevelSpec<DictEntry> {
  const weight = jsonWeight<DictEntry>();
  return {
    salt: 'terms/1',
    policy,
    key: (e) => infoTerm(e[2][0]!),
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    encode: (entries) => ({ v: SHARDED_FORMAT_VERSION, t: 'dict', e: entries }),
    decode: (file) => valid(checkDictFile(file)).e as DictEntry[],
    ref: (entries, file, bytes): RefJson => [infoTerm(entries[0]![2][0]!), file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: (e) => e[0],
    childWeight: notAReference,
  };
}

/** The term tree of a policy. */
export function termTreeSpec(policy: ShardingPolicy): TreeSpec {
  return termLikeTreeSpec(policy, 'term index');
}

/** The name-pair tree: the same format as the term tree, over pseudo-terms `"a b"` and tool names' compound terms (`_get_weather`). */
export function pairTreeSpec(policy: ShardingPolicy): TreeSpec {
  return termLikeTreeSpec(policy, 'name-pair index');
}

export function termLikeTreeSpec(policy: ShardingPolicy, name: string): TreeSpec {
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
    decode: (file) => valid(checkSuffixesFile(file)).e,
    ref: (entries, file, bytes): RefJson => [entries[0]!, file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: notAReference,
    childWeight: notAReference,
  };
  const refs = refsLevel('suffixes/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'suffix dictionary', rootMax: policy.root_max, level: (l) => (l === 0 ? (leaf as LevelSpec<unknown>) : refs) };
}
