/**
 * The ranking rules every search answers by, beyond MiniSearch's own prefix and fuzzy matching
 * (docs/sharded-search.md, "Ranking"): stop words left out, English stems and swapped letters
 * matched, every word optional (documents holding more of the words first, then those matching
 * without a typo), and a suggestion when nothing matches. The sharded reader and the bench's
 * whole-index reference both rank with it. Pure module.
 *
 * @module
 */
import type { Query, SearchResult } from 'minisearch';
import { stemmer } from 'stemmer';
import { DEFAULT_SEARCH_OPTIONS, isCompound } from '../core/search-options.ts';
import { match, maxDistance } from './format/matching.ts';

/** Words a query leaves out unless it holds nothing else: they would match by prefix almost everything. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  'a an and are as at be by for from has how i in is it its of on or that the this to was with'.split(' '),
);

/** The weight of a term with the query word's stem (`deploy` for `deploying`): below an exact match, above a prefix one. */
export const STEM_WEIGHT = 0.6;
const FUZZY_WEIGHT = DEFAULT_SEARCH_OPTIONS.weights?.fuzzy ?? 0.45;

/** Shortest word stemmed: shorter ones are too often a different word once cut. */
const MIN_STEM_WORD = 4;

/**
 * The words a query searches for, from its tokens: distinct, stop words left out (all of them
 * kept when the query holds nothing else).
 */
export function queryWords(tokens: readonly string[]): string[] {
  const distinct = [...new Set(tokens)];
  const content = distinct.filter((t) => !STOP_WORDS.has(t));
  return content.length > 0 ? content : distinct;
}

/**
 * The words of a query but a tool name's compound term (`_get_weather` for `get_weather`, see
 * `tokenizeText`): the words a page's candidates are counted by. The compound is one more word
 * of the query, so the package with that tool holds one word more than any other and ranks first.
 */
export function plainWords(words: readonly string[]): string[] {
  return words.filter((w) => !isCompound(w));
}

/**
 * The words a query written with a tool name requires: every word of each compound it holds
 * (`get`, `weather` for `get_weather`), stop words left out as from every query.
 */
export function toolWords(words: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const w of words) if (isCompound(w)) for (const part of w.slice(1).split('_')) if (words.includes(part)) out.add(part);
  return out;
}

/**
 * A tool name asks for that tool: of the hits, those holding every word of the tool names the
 * query was written with ({@link toolWords}), the package with that exact tool first (its
 * compound is one word more); every hit when none holds them all. A query of separate words stays
 * any-word (OR). Keeps the order.
 */
export function holdingToolWords<T extends { held?: ReadonlySet<string> }>(hits: T[], words: readonly string[]): T[] {
  const required = toolWords(words);
  if (required.size === 0) return hits;
  const holding = hits.filter((h) => [...required].every((w) => h.held?.has(w)));
  return holding.length > 0 ? holding : hits;
}

/** The Porter stem of a plain lower-case word of {@link MIN_STEM_WORD} letters or more, else null. */
export function stemOf(word: string): string | null {
  return word.length >= MIN_STEM_WORD && /^[a-z]+$/.test(word) ? stemmer(word) : null;
}

/**
 * The prefix every term sharing a word's stem starts with, as far as the reader must look for
 * them: the common start of the word and its stem (`deplo` for `deploying`, stem `deploi`), or
 * null when the word has no stem or that start is shorter than three letters.
 */
export function stemRange(word: string): string | null {
  const stem = stemOf(word);
  if (stem === null) return null;
  let n = 0;
  while (n < word.length && n < stem.length && word[n] === stem[n]) n++;
  return n >= 3 ? word.slice(0, n) : null;
}

/** Optimal string alignment distance 1: `a` and `b` differ by one swap of neighbouring letters. */
export function isSwap(a: string, b: string): boolean {
  if (a.length !== b.length || a === b) return false;
  let i = 0;
  while (a[i] === b[i]) i++;
  return a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
}

/** The words one swap of neighbouring letters from `word`, when its typo allowance is one edit (a swap costs two edits to Levenshtein). */
export function swapsOf(word: string): string[] {
  if (maxDistance(word) !== 1) return [];
  const out = new Set<string>();
  for (let i = 0; i + 1 < word.length; i++) if (word[i] !== word[i + 1]) out.add(word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2));
  return [...out];
}

/** How a term stands for a query word beyond MiniSearch's matching: its weight, and whether it is a typo. */
export interface Alternative {
  weight: number;
  typo: boolean;
}

/**
 * A term that stands for `word` though MiniSearch would not match it: one swap away (as a typo,
 * weighted as MiniSearch weighs one edit) or sharing its stem (not a typo). Null otherwise, and for
 * the terms MiniSearch matches itself (exact, prefix, within the fuzzy distance).
 */
export function alternative(word: string, term: string): Alternative | null {
  if (match(word, term) !== null) return null;
  if (isSwap(word, term) && maxDistance(word) === 1) return { weight: (FUZZY_WEIGHT * term.length) / (term.length + 1), typo: true };
  // Porter changes only a word's end: terms with one stem share its first three letters.
  if (term.slice(0, 3) !== word.slice(0, 3)) return null;
  const stem = stemOf(word);
  if (stem !== null && stemOf(term) === stem) return { weight: STEM_WEIGHT, typo: false };
  return null;
}

/** How a term matches a word by MiniSearch's rules (`match`) or as an {@link alternative}, or null. */
export function matchOf(word: string, term: string): { exact: boolean; weight: number } | null {
  const m = match(word, term);
  if (m) return m;
  const a = alternative(word, term);
  return a && { exact: false, weight: a.weight };
}

/** The alternatives of each word among some index terms. */
export function alternativesAmong(words: readonly string[], terms: Iterable<string>): Map<string, Map<string, Alternative>> {
  const out = new Map<string, Map<string, Alternative>>(words.map((w) => [w, new Map()]));
  for (const t of terms) {
    for (const w of words) {
      const a = alternative(w, t);
      if (a) out.get(w)!.set(t, a);
    }
  }
  return out;
}

/**
 * The query MiniSearch runs: each word (prefix and fuzzy, the shared options) or any of its
 * alternatives (exactly, at their weight), and any word (OR): {@link rankResults} then puts the
 * documents holding more of the words first.
 */
export function engineQuery(words: readonly string[], alternatives: Map<string, Map<string, Alternative>>): Query {
  return {
    combineWith: 'OR',
    queries: words.map((w) => {
      const alts = [...(alternatives.get(w) ?? [])];
      if (alts.length === 0) return w;
      return {
        combineWith: 'OR',
        queries: [w, ...alts.map(([t, a]) => ({ queries: [t], prefix: false, fuzzy: false, boostTerm: () => a.weight }))],
      };
    }),
  };
}

/** How well a result matches: the words it holds and, of those, the ones it matches only by a typo or only by its stem. */
export interface Coverage {
  /** Query words the document holds (exactly, by prefix, stem or typo). */
  matched: number;
  /** Of those, the words it holds only through a typo (fuzzy or swapped letters). */
  typos: number;
  /** Of those, the words it holds only through another form of their stem (no typo, no form starting with the word). */
  stems: number;
}

/** The rank tier of a {@link Coverage}: more words first, then fewer typos, then fewer words held only by their stem. Higher ranks first. */
export function tier(c: Coverage): number {
  return (c.matched * 1024 - c.typos) * 1024 - c.stems;
}

/**
 * A result's coverage of the words (the words it holds, their count, its tier) and its score:
 * MiniSearch's score per query term it matched (it multiplies by their count, which alternatives
 * would inflate) times the words it holds.
 */
export function rankResult(
  r: SearchResult,
  words: readonly string[],
  alternatives: Map<string, Map<string, Alternative>>,
): { score: number; tier: number; matched: number; held: Set<string> } {
  const sources = new Set(r.queryTerms);
  const held = new Set<string>();
  let matched = 0;
  let typos = 0;
  let stems = 0;
  for (const w of words) {
    const alts = alternatives.get(w);
    if (!sources.has(w) && ![...(alts?.keys() ?? [])].some((t) => sources.has(t))) continue;
    held.add(w);
    matched++;
    if (r.terms.some((t) => t.startsWith(w))) continue;
    if (r.terms.some((t) => alts?.get(t)?.typo === false)) stems++;
    else typos++;
  }
  return { score: (r.score / Math.max(1, sources.size)) * matched, tier: tier({ matched, typos, stems }), matched, held };
}

/** Most letters a suggested word may differ by: one swap or edit per three letters, at least one, at most three. */
function suggestionDistance(word: string): number {
  return Math.max(1, Math.min(3, Math.floor(word.length / 3)));
}

/** Edit distance with neighbouring swaps counted once (optimal string alignment), or max + 1 past `max`. */
export function osaDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(rows[i - 1]![j]! + 1, row[j - 1]! + 1, rows[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, rows[i - 2]![j - 2]! + 1);
      row.push(v);
      best = Math.min(best, v);
    }
    if (best > max) return max + 1;
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

/**
 * "Did you mean": for each word, the nearest of `terms` (fewest swaps and edits, within one per
 * three letters; ties to the more common term, then alphabetically), the word itself when none is
 * near; null when no word changed.
 *
 * @param frequency How many documents hold a term (ties to the commoner).
 */
export function suggestion(words: readonly string[], terms: Iterable<string>, frequency: (term: string) => number): string | null {
  const list = [...new Set(terms)];
  let changed = false;
  const out = words.map((w) => {
    if (list.includes(w)) return w;
    let best: { term: string; d: number; f: number } | null = null;
    const max = suggestionDistance(w);
    for (const t of list) {
      if (!/^[a-z0-9]+$/.test(t)) continue;
      const d = osaDistance(w, t, max);
      if (d > max) continue;
      const f = frequency(t);
      if (!best || d < best.d || (d === best.d && (f > best.f || (f === best.f && t < best.term)))) best = { term: t, d, f };
    }
    if (!best) return w;
    changed = true;
    return best.term;
  });
  return changed ? out.join(' ') : null;
}
