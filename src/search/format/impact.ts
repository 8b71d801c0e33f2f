/** The impact of a term for a document: the order of a paged field's postings. @module */
import { DEFAULT_SEARCH_OPTIONS, SEARCH_FIELDS } from '../../core/search-options.ts';
import SearchableMap from 'minisearch/SearchableMap';
import { ShelfError } from '../../core/errors.ts';
import { match, maxDistance } from './matching.ts';

export const K1 = 1.2;
export const B = 0.7;
/**
 * Typical length of each field (tokens), for the impact order only. The order must not depend on
 * the registry's current averages, or every announce would reorder every page.
 */
export const REFERENCE_LENGTH: Record<string, number> = { name: 2, display_name: 3, description: 16, keyword_text: 5, tool_text: 12, scope: 1 };
export const BOOSTS = (DEFAULT_SEARCH_OPTIONS.boost ?? {}) as Record<string, number>;

/** What a document holds: its terms, and each term's `[field id, tf, field length]` per field. */
export interface DocumentTerms {
  terms: readonly string[];
  fields(term: string): Iterable<[number, number, number]>;
}

/**
 * The impact of a term for a document, as an integer: roughly its score for a one-word query of
 * the term (BM25's term-frequency part at reference lengths, boosted, summed over fields, plus its
 * other terms that query matches by prefix or typo). Pages are ordered by it, so a head page holds
 * what the term ranks highest; it depends on the document alone, so an announce reorders no other.
 */
export function termImpact(term: string, doc: DocumentTerms): number {
  let sum = 0;
  for (const t of doc.terms) {
    const m = match(term, t);
    if (!m) continue;
    sum += m.weight * impactBase(doc.fields(t));
  }
  return Math.round(sum * 1e5);
}

/**
 * What one of a document's terms adds to an impact before its match weight: BM25's term-frequency
 * part at reference lengths, boosted, summed over the fields holding it (`[field id, tf, length]`).
 */
export function impactBase(fields: Iterable<[number, number, number]>): number {
  let base = 0;
  for (const [fid, tf, len] of fields) base += impactPart(fid, tf, len);
  return base;
}

/** One field's part of an {@link impactBase}. */
export function impactPart(fid: number, tf: number, len: number): number {
  const field = SEARCH_FIELDS[fid] ?? '';
  const ref = REFERENCE_LENGTH[field] ?? 4;
  return ((BOOSTS[field] ?? 1) * tf) / (tf + K1 * (1 - B + (B * len) / ref));
}

/**
 * {@link termImpact} for a build, where every term has a number (its index in `vocabulary`) and
 * every document's {@link impactBase}s are known: the same sums in the same order. The terms a
 * term matches are found once, in a radix tree of the vocabulary (its completions, and the terms
 * within its typo distance), rather than by matching it against every term of every document.
 * One table serves one term at a time (see {@link ImpactTable.of}); {@link ImpactTable.twin}
 * gives another over the same vocabulary.
 */
export class ImpactTable {
  /** Per vocabulary term: the serial of the last term found to match it, and the match weight. */
  private readonly stamp: Int32Array;
  private readonly weight: Float64Array;
  private serial = 0;

  constructor(
    private readonly vocabulary: readonly string[],
    private readonly index: SearchableMap<number> = SearchableMap.from(vocabulary.map((term, i) => [term, i])),
  ) {
    this.stamp = new Int32Array(vocabulary.length);
    this.weight = new Float64Array(vocabulary.length);
  }

  /** Another table over the same vocabulary, for a term asked about alongside this table's. */
  twin(): ImpactTable {
    return new ImpactTable(this.vocabulary, this.index);
  }

  /**
   * The impact of `term` for a document holding the terms numbered `terms`, with these bases; valid
   * until the next call of `of` on this table.
   */
  of(term: string): (terms: ArrayLike<number>, bases: ArrayLike<number>) => number {
    const serial = ++this.serial;
    const { stamp, weight } = this;
    const mark = (t: number): void => {
      const m = match(term, this.vocabulary[t]!);
      if (!m) return;
      stamp[t] = serial;
      weight[t] = m.weight;
    };
    // `match` accepts the term itself, its completions and the terms within its Levenshtein distance.
    for (const t of this.index.atPrefix(term).values()) mark(t);
    const distance = maxDistance(term);
    if (distance > 0) for (const [t] of this.index.fuzzyGet(term, distance).values()) mark(t);
    return (terms, bases) => {
      if (this.serial !== serial) throw new ShelfError('internal_error', `The impacts of "${term}" were asked after the next term's.`);
      let sum = 0;
      for (let i = 0; i < terms.length; i++) if (stamp[terms[i]!] === serial) sum += weight[terms[i]!]! * bases[i]!;
      return Math.round(sum * 1e5);
    };
  }
}

/** The terms of an indexed document, for {@link termImpact}. */
export function documentTerms(postings: Map<string, Map<number, number>>, lengths: number[]): DocumentTerms {
  return {
    terms: [...postings.keys()],
    fields: (t) => [...(postings.get(t) ?? [])].map(([fid, tf]) => [fid, tf, lengths[fid] ?? 0] as [number, number, number]),
  };
}
