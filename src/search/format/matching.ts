/**
 * How MiniSearch matches a query word to an index term under `DEFAULT_SEARCH_OPTIONS`, as plain
 * functions: exact, prefix and fuzzy, with MiniSearch's weights. The client picks dictionary terms
 * with them, the builder orders pages by impact. Pure module.
 *
 * @module
 */
import { DEFAULT_SEARCH_OPTIONS, FUZZY, isCompound } from '../../core/search-options.ts';

/** MiniSearch's cap on the fuzzy distance (its `maxFuzzy` default). */
const MAX_FUZZY = 6;
const PREFIX_WEIGHT = DEFAULT_SEARCH_OPTIONS.weights?.prefix ?? 0.375;
const FUZZY_WEIGHT = DEFAULT_SEARCH_OPTIONS.weights?.fuzzy ?? 0.45;

/** MiniSearch's fuzzy distance for a word under `DEFAULT_SEARCH_OPTIONS.fuzzy` ({@link FUZZY}; none for a compound term). */
export function maxDistance(word: string): number {
  return isCompound(word) ? 0 : Math.min(MAX_FUZZY, Math.round(word.length * FUZZY));
}

/** Levenshtein distance, or max + 1 as soon as it exceeds `max`. */
export function levenshtein(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/** How a term matches a query word — MiniSearch's weight, and whether exactly — or null. */
export function match(word: string, term: string): { exact: boolean; weight: number } | null {
  if (term === word) return { exact: true, weight: 1 };
  if (isCompound(word)) return null;
  if (term.startsWith(word)) {
    const dist = term.length - word.length;
    return { exact: false, weight: (PREFIX_WEIGHT * term.length) / (term.length + 0.3 * dist) };
  }
  const d = maxDistance(word);
  if (d === 0 || Math.abs(term.length - word.length) > d) return null;
  // One edit cannot change both the first and the last letter of a word of two letters or more.
  if (d === 1 && term[0] !== word[0] && term.at(-1) !== word.at(-1)) return null;
  const dist = levenshtein(word, term, d);
  if (dist > d) return null;
  return { exact: false, weight: (FUZZY_WEIGHT * term.length) / (term.length + dist) };
}
