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
