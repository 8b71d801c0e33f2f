/** Which tree holds an index term: the term tree, or the name-pair tree for a tool name's compound. @module */
import { isCompound } from '../../core/search-options.ts';

/**
 * Splits index terms (or entries carrying one) by the tree that holds them: a tool name's compound
 * term (`_get_weather`, see `isCompound`) lives in the name-pair tree, which only a query naming a
 * tool looks up, so the term and suffix trees every query walks keep their size and depth (ranking
 * rule 8 in docs/sharded-search.md); every other term lives in the term tree. The build, the
 * incremental update and the reader all place terms by it, so each looks where the others write.
 *
 * @param items - terms, or entries carrying one
 * @param termOf - the term of an item
 * @returns the items of the term tree and those of the name-pair tree, each in the order given
 */
export function placeTerms<T>(items: Iterable<T>, termOf: (item: T) => string): { terms: T[]; pairs: T[] } {
  const terms: T[] = [];
  const pairs: T[] = [];
  for (const item of items) (isCompound(termOf(item)) ? pairs : terms).push(item);
  return { terms, pairs };
}
