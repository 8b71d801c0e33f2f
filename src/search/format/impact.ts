/** The impact of a term for a document: the order of a paged field's postings. @module */
import { DEFAULT_SEARCH_OPTIONS, SEARCH_FIELDS } from '../../core/search-options.ts';
import { match } from './matching.ts';

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
 * every document's {@link impactBase}s are known: the same sums in the same order, each term's
 * match against the term asked for computed once, in flat arrays rather than maps.
 */
export class ImpactTable {
  /** Per vocabulary term: the serial of the term last matched against it, and the match weight (NaN: no match). */
  private readonly stamp: Int32Array;
  private readonly weight: Float64Array;
  private serial = 0;

  constructor(private readonly vocabulary: readonly string[]) {
    this.stamp = new Int32Array(vocabulary.length);
    this.weight = new Float64Array(vocabulary.length);
  }

  /** The impact of `term` for a document holding the terms numbered `terms` with these bases. */
  of(term: string): (terms: ArrayLike<number>, bases: ArrayLike<number>) => number {
    const serial = ++this.serial;
    return (terms, bases) => {
      let sum = 0;
      for (let i = 0; i < terms.length; i++) {
        const t = terms[i]!;
        if (this.stamp[t] !== serial) {
          this.stamp[t] = serial;
          this.weight[t] = match(term, this.vocabulary[t]!)?.weight ?? Number.NaN;
        }
        const w = this.weight[t]!;
        if (w === w) sum += w * bases[i]!;
      }
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
