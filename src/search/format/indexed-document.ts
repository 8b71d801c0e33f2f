/**
 * From package summaries to what the sharded index stores: postings and field lengths as MiniSearch
 * itself computes them (so the shards hold what one whole index would), the stable document id, the
 * display file and the compact document entry.
 *
 * @module
 */
import MiniSearch, { type AsPlainObject } from 'minisearch';
import { ShelfError } from '../../core/errors.ts';
import { PackageSummarySchema, type PackageSummary } from '../../core/schemas.ts';
import { indexOptions, SEARCH_FIELDS, type SearchDocument } from '../../core/search-options.ts';
import { searchDocument } from '../../core/search-options.ts';
import { contentName, documentId, fileContent } from './hash.ts';
import { encodeId } from './ids.ts';
import { platformMask } from '../platforms.ts';
import { DEPRECATED_FLAG, type DocEntryJson } from './wire.ts';
import type { Posting } from './term-tree.ts';

/** One package as the sharded index stores it. */
export interface IndexedDocument {
  /** Stable short id ({@link documentId} of the name). */
  id: number;
  summary: PackageSummary;
  /** The display file: its name (`<id>-<hash>`) and content. */
  display: { file: string; content: string };
  /** The compact entry filters, sorts and display need. */
  entry: DocEntryJson;
  /** MiniSearch's field lengths, by field id (0 for a missing field). */
  lengths: number[];
  /** term → field id → term frequency. */
  postings: Map<string, Map<number, number>>;
}

/** Name tokens paired in the name-pair index, at most (the first ones in sort order). */
export const MAX_PAIRED_NAME_TOKENS = 8;

/** The name-pair keys of a document: `"a b"` (a < b) for two terms of its `name` field (no term holds a space). */
export function pairKeys(postings: Map<string, Map<number, number>>): string[] {
  return pairKeysOf([...postings].filter(([, fields]) => fields.has(0)).map(([t]) => t));
}

/** {@link pairKeys} of a document whose name terms are known (any order). */
export function pairKeysOf(nameTerms: readonly string[]): string[] {
  const names = [...nameTerms];
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const kept = names.slice(0, MAX_PAIRED_NAME_TOKENS);
  const out: string[] = [];
  for (let i = 0; i < kept.length; i++) for (let j = i + 1; j < kept.length; j++) out.push(`${kept[i]} ${kept[j]}`);
  return out;
}

/** A summary validated, in canonical form (the schema's key order: equal summaries, equal display files). @throws ShelfError `invalid_argument` */
export function canonicalSummary(summary: unknown): PackageSummary {
  const parsed = PackageSummarySchema.safeParse(summary);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ShelfError('invalid_argument', `Invalid package summary${issue ? ` (${issue.path.join('.') || '(root)'}: ${issue.message})` : ''}.`);
  }
  const s = parsed.data;
  if (!Number.isFinite(Date.parse(s.updated_at))) {
    throw new ShelfError('invalid_argument', `Invalid package summary of ${s.name} (updated_at: "${s.updated_at}" is not a date).`);
  }
  return s;
}

function fieldLengths(raw: unknown): number[] {
  const arr = (raw ?? []) as (number | undefined | null)[];
  return SEARCH_FIELDS.map((_, i) => arr[i] ?? 0);
}

/** The display file of a package: `<id>-<hash>` (40 bits of its SHA-256): unique across packages and across their versions. */
function displayOf(id: number, summary: PackageSummary): { file: string; hash: string; content: string } {
  const content = fileContent(summary);
  const hash = contentName(content).slice(0, 10);
  return { file: `${encodeId(id)}-${hash}`, hash, content };
}

/** The display file name (`<id>-<hash>`) of a stored summary, as the index names it. */
export function displayFileOf(summary: PackageSummary): string {
  return displayOf(documentId(summary.name), summary).file;
}

function describe(id: number, summary: PackageSummary, raw: unknown): Omit<IndexedDocument, 'postings'> {
  const display = displayOf(id, summary);
  const entry: DocEntryJson = [
    encodeId(id),
    summary.name,
    display.hash,
    Date.parse(summary.updated_at),
    summary.server_type ?? null,
    platformMask(summary.platforms) | (summary.status === 'deprecated' ? DEPRECATED_FLAG : 0),
  ];
  return { id, summary, display: { file: display.file, content: display.content }, entry, lengths: fieldLengths(raw) };
}

/** Indexes one package with MiniSearch (the shared options): its postings and document entry. @throws ShelfError `invalid_argument` */
export function indexDocument(input: unknown): IndexedDocument {
  const summary = canonicalSummary(input);
  const mini = new MiniSearch<SearchDocument>(indexOptions());
  mini.add(searchDocument(summary));
  const json = mini.toJSON() as AsPlainObject;
  const postings = new Map<string, Map<number, number>>();
  for (const [term, fields] of json.index) {
    const byField = new Map<number, number>();
    for (const [fid, docs] of Object.entries(fields)) byField.set(Number(fid), (docs as Record<string, number>)['0']!);
    postings.set(term, byField);
  }
  return { ...describe(documentId(summary.name), summary, json.fieldLength['0']), postings };
}

/** All packages indexed at once (one MiniSearch, for speed): documents, and postings by term. */
export interface IndexedCorpus {
  /** By stable id, in the order they were given. */
  documents: Map<number, Omit<IndexedDocument, 'postings'>>;
  /** term → field id (ascending) → document id → posting (tf and the document's length of the field); terms in MiniSearch's order. */
  terms: [string, Map<number, Map<number, Posting>>][];
}

/**
 * MiniSearch's private structures {@link indexCorpus} reads (of the exact version `package.json`
 * pins; `test/search/engine.test.ts` checks them): `toJSON` would copy every posting into objects
 * keyed by decimal ids, to be parsed back.
 */
interface Internals {
  _documentIds: Map<number, string>;
  _fieldLength: Map<number, (number | undefined)[]>;
  _index: Iterable<[string, Map<number, Map<number, number>>]>;
}

function internalsOf(mini: MiniSearch<SearchDocument>): Internals {
  const internal = mini as unknown as Partial<Internals>;
  if (!(internal._documentIds instanceof Map) || !(internal._fieldLength instanceof Map) || typeof internal._index?.[Symbol.iterator] !== 'function') {
    throw new ShelfError('internal_error', "MiniSearch's private structures changed: indexCorpus must change with the version package.json pins.");
  }
  return internal as Internals;
}

/** Indexes many packages with one MiniSearch instance, as {@link indexDocument} each. @throws ShelfError `invalid_argument` (invalid summary, duplicate name) */
export function indexCorpus(inputs: readonly unknown[]): IndexedCorpus {
  if (!Array.isArray(inputs)) throw new ShelfError('invalid_argument', 'The "summaries" option must be an array.');
  const summaries = inputs.map(canonicalSummary);
  const mini = new MiniSearch<SearchDocument>(indexOptions());
  const ids = new Map<string, number>();
  const names = new Map<number, string>();
  for (const s of summaries) {
    if (ids.has(s.name)) throw new ShelfError('invalid_argument', `The package ${s.name} appears twice.`);
    const id = documentId(s.name);
    const other = names.get(id);
    if (other !== undefined) throw new ShelfError('internal_error', `The document ids of ${other} and ${s.name} collide.`);
    ids.set(s.name, id);
    names.set(id, s.name);
  }
  mini.addAll(summaries.map(searchDocument));
  const internal = internalsOf(mini);

  const documents = new Map<number, Omit<IndexedDocument, 'postings'>>();
  const byShortId = new Map<number, Omit<IndexedDocument, 'postings'>>();
  const byName = new Map(summaries.map((s) => [s.name, s]));
  for (const [short, lengths] of internal._fieldLength) {
    const id = ids.get(internal._documentIds.get(short)!)!;
    const document = describe(id, byName.get(names.get(id)!)!, lengths);
    documents.set(id, document);
    byShortId.set(short, document);
  }
  const terms: IndexedCorpus['terms'] = [];
  for (const [term, fields] of internal._index) {
    const byField = new Map<number, Map<number, Posting>>();
    for (const fid of [...fields.keys()].sort((a, b) => a - b)) {
      const m = new Map<number, Posting>();
      for (const [short, tf] of fields.get(fid)!) {
        const document = byShortId.get(short)!;
        m.set(document.id, [tf, document.lengths[fid]!]);
      }
      byField.set(fid, m);
    }
    terms.push([term, byField]);
  }
  return { documents, terms };
}
