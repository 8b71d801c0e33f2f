/**
 * MiniSearch instances built from postings already in memory: the client fills MiniSearch's own
 * structures exactly as `MiniSearch.loadJS` would from the serialized form, without writing every
 * posting into objects keyed by decimal ids and parsing them back. This reaches into private
 * fields, so `package.json` pins MiniSearch's exact version and `test/search/engine.test.ts` fails
 * loudly when they change. Pure module.
 *
 * @module
 */
import MiniSearch from 'minisearch';
import type { PackageSummary } from '../../core/schemas.ts';
import { indexOptions, type SearchDocument } from '../../core/search-options.ts';
import { searchDocument } from '../../core/search-options.ts';

/** Postings of one term: field id → (short document id → term frequency). */
export type TermPostings = Map<number, Map<number, number>>;

/** What {@link engineFrom} builds an instance from. */
export interface EngineParts {
  /** Documents in the whole registry (BM25's N). */
  documentCount: number;
  /** Average length of each field over the whole registry, by field id. */
  averageFieldLength: readonly number[];
  /** Field names, by field id. */
  fields: readonly string[];
  /** Short id → the id results carry (the package name). */
  documents: Iterable<[number, string]>;
  /** Short id → length of each field, by field id. */
  fieldLength: Iterable<[number, number[]]>;
  /** The terms, each with its postings. */
  index: Iterable<[string, TermPostings]>;
}

/** MiniSearch's private structures that `loadJS` fills. */
interface Internals {
  _documentIds: Map<number, string>;
  _idToShortId: Map<string, number>;
  _fieldLength: Map<number, number[]>;
  _index: { set(term: string, postings: TermPostings): void; get(term: string): TermPostings | undefined };
}

/** A MiniSearch instance (the shared index options) over the given postings and statistics. */
export function engineFrom(parts: EngineParts): MiniSearch<SearchDocument> {
  const engine = MiniSearch.loadJS<SearchDocument>(
    {
      documentCount: parts.documentCount,
      nextId: 0,
      documentIds: {},
      fieldIds: Object.fromEntries(parts.fields.map((f, i) => [f, i])),
      fieldLength: {},
      averageFieldLength: [...parts.averageFieldLength],
      storedFields: {},
      dirtCount: 0,
      index: [],
      serializationVersion: 2,
    },
    indexOptions(),
  );
  const internal = engine as unknown as Internals;
  for (const [id, name] of parts.documents) {
    internal._documentIds.set(id, name);
    internal._idToShortId.set(name, id);
  }
  for (const [id, lengths] of parts.fieldLength) internal._fieldLength.set(id, lengths);
  for (const [term, postings] of parts.index) internal._index.set(term, postings);
  return engine;
}

/** A MiniSearch instance indexing summaries as the registry's index does (the shared options). */
export function summaryIndex(summaries: readonly PackageSummary[] = []): MiniSearch<SearchDocument> {
  const local = new MiniSearch<SearchDocument>(indexOptions());
  local.addAll(summaries.map(searchDocument));
  return local;
}

/** The structures of an instance built by MiniSearch itself (`add`), to score from. */
export function internalsOf(engine: MiniSearch<SearchDocument>): {
  documents: Map<number, string>;
  fieldLength: Map<number, number[]>;
  postings(term: string): TermPostings | undefined;
} {
  const internal = engine as unknown as Internals;
  return { documents: internal._documentIds, fieldLength: internal._fieldLength, postings: (term) => internal._index.get(term) };
}

/** A posting map whose `size` is the true document frequency of a field read in part: MiniSearch's BM25 reads df as the map's size. */
export class SizedMap<K, V> extends Map<K, V> {
  readonly #size: number;
  constructor(entries: Map<K, V>, size: number) {
    super(entries);
    this.#size = size;
  }
  override get size(): number {
    return this.#size;
  }
}
