/**
 * Queries generated with the corpus, deterministic for a seed:
 *
 * - **Workloads** for latency, in four classes: one word, two words, a prefix (3–5 letters),
 *   and a misspelled word (one edit in a word of 5+ letters). Half the words come from package
 *   names, half from the vocabulary by frequency, as people search for both.
 * - **Labelled queries** for relevance, each with the one package it is meant to find:
 *   a distinctive name word (`name`), a unique tool name (`tool`), a misspelled name word
 *   (`misspelled`), the start of a name word (`prefix`), and two description words that occur
 *   together in no other description (`description`).
 *
 * @module
 */
import { tokenize } from './engines.ts';
import type { Corpus, SyntheticPackage } from './corpus.ts';
import { vocabulary } from './corpus.ts';
import { Random, Zipf } from './lib/random.ts';

/** Latency query classes. */
export const QUERY_CLASSES = ['one-word', 'two-word', 'prefix', 'misspelled'] as const;
/** One latency query class. */
export type QueryClass = (typeof QUERY_CLASSES)[number];

/** Labelled query types. */
export const LABEL_TYPES = ['name', 'tool', 'misspelled', 'prefix', 'description'] as const;
/** One labelled query type. */
export type LabelType = (typeof LABEL_TYPES)[number];

/** A query whose intended result is known. */
export interface LabelledQuery {
  type: LabelType;
  query: string;
  /** The package the query is meant to find (`@scope/name`). */
  target: string;
}

/** Latency workloads by class. */
export type Workload = Record<QueryClass, string[]>;

/** Builds the latency workloads: `perClass` queries of each class. */
export function workloads(corpus: Corpus, perClass: number, seed = 808): Workload {
  if (!Number.isInteger(perClass) || perClass < 1) throw new TypeError(`"perClass" must be a positive integer, got ${String(perClass)}`);
  const random = new Random(seed);
  const words = vocabulary().filter((w) => w.length >= 3);
  const zipf = new Zipf(words.length, 1);
  const nameWords = corpus.packages.flatMap((p) => p.short.split('-')).filter((w) => w.length >= 3 && w !== 'mcp');
  const word = (minLength = 3): string => {
    for (;;) {
      const w = random.chance(0.5) ? random.pick(nameWords) : words[zipf.sample(random)]!;
      if (w.length >= minLength) return w;
    }
  };
  const out: Workload = { 'one-word': [], 'two-word': [], prefix: [], misspelled: [] };
  for (let i = 0; i < perClass; i++) {
    out['one-word'].push(word());
    out['two-word'].push(`${word()} ${word()}`);
    const w = word(4);
    out.prefix.push(w.slice(0, random.int(3, Math.min(5, w.length - 1))));
    out.misspelled.push(misspell(word(5), random));
  }
  return out;
}

/**
 * Builds up to `perType` labelled queries of each type. A query is kept only when the corpus
 * makes its intended answer unambiguous (the word is in one package name only, the tool name is
 * unique, the description pair occurs in one description only).
 */
export function labelledQueries(corpus: Corpus, perType: number, seed = 909): LabelledQuery[] {
  if (!Number.isInteger(perType) || perType < 1) throw new TypeError(`"perType" must be a positive integer, got ${String(perType)}`);
  const random = new Random(seed);
  const { packages } = corpus;

  // How many packages use each name word, tool name and description word.
  const nameUse = new Map<string, number>();
  const toolUse = new Map<string, number>();
  const descUse = new Map<string, Set<number>>();
  packages.forEach((p, i) => {
    for (const w of new Set(p.short.split('-'))) nameUse.set(w, (nameUse.get(w) ?? 0) + 1);
    for (const t of p.tools) toolUse.set(t.name, (toolUse.get(t.name) ?? 0) + 1);
    for (const w of new Set(tokenize(p.description.toLowerCase()))) {
      if (w.length < 4) continue;
      let set = descUse.get(w);
      if (!set) descUse.set(w, (set = new Set()));
      set.add(i);
    }
  });
  const sortedNameWords = [...nameUse.keys()].sort();

  const out: LabelledQuery[] = [];
  const counts = new Map<LabelType, number>(LABEL_TYPES.map((t) => [t, 0]));
  const want = (t: LabelType) => counts.get(t)! < perType;
  const add = (type: LabelType, query: string, p: SyntheticPackage) => {
    out.push({ type, query, target: p.name });
    counts.set(type, counts.get(type)! + 1);
  };
  // Visit packages in a seeded random order until every type has enough.
  const order = packages.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const index of order) {
    if (!LABEL_TYPES.some(want)) break;
    const p = packages[index]!;
    const distinctive = p.coined.filter((w) => nameUse.get(w) === 1 && w.length >= 5);
    const pickType = LABEL_TYPES.filter(want);
    const type = random.pick(pickType);
    if (type === 'name' && distinctive[0]) add('name', distinctive[0], p);
    else if (type === 'misspelled') {
      const w = distinctive.find((x) => x.length >= 6);
      if (w) add('misspelled', misspell(w, random, true), p);
    } else if (type === 'prefix') {
      const w = distinctive.find((x) => x.length >= 7);
      if (w) {
        const prefix = w.slice(0, Math.max(5, Math.ceil(w.length * 0.7)));
        if (countWithPrefix(sortedNameWords, prefix) === 1) add('prefix', prefix, p);
      }
    } else if (type === 'tool') {
      const tool = p.tools.find((t) => toolUse.get(t.name) === 1 && t.name.split('_').length >= 3);
      if (tool) add('tool', tool.name, p);
    } else if (type === 'description') {
      const words = [...new Set(tokenize(p.description.toLowerCase()))]
        .filter((w) => w.length >= 4 && !p.short.includes(w))
        .sort((a, b) => descUse.get(a)!.size - descUse.get(b)!.size || (a < b ? -1 : 1));
      const [a, b] = words;
      if (a && b && intersectionSize(descUse.get(a)!, descUse.get(b)!) === 1) add('description', `${a} ${b}`, p);
    }
  }
  return out;
}

/**
 * A typo of `word`, never at the first letter: a substitution, a deletion or a transposition of
 * two neighbours; with `singleEdit`, only the first two (one Levenshtein edit, what every fuzzy
 * engine claims to forgive).
 */
export function misspell(word: string, random: Random, singleEdit = false): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const at = random.int(1, word.length - 2);
  const kind = random.int(0, singleEdit ? 1 : 2);
  if (kind === 0) {
    let c: string;
    do c = random.pick([...letters]);
    while (c === word[at]);
    return word.slice(0, at) + c + word.slice(at + 1);
  }
  if (kind === 1) return word.slice(0, at) + word.slice(at + 1);
  if (word[at] === word[at + 1]) return misspell(word, random, singleEdit);
  return word.slice(0, at) + word[at + 1] + word[at] + word.slice(at + 2);
}

/** The first index of `sorted` whose string is not below `key`. */
export function lowerBound(sorted: readonly string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function countWithPrefix(sorted: readonly string[], prefix: string): number {
  const lo = lowerBound(sorted, prefix);
  let n = 0;
  while (lo + n < sorted.length && sorted[lo + n]!.startsWith(prefix)) n++;
  return n;
}

function intersectionSize(a: Set<number>, b: Set<number>): number {
  const [small, large] = a.size < b.size ? [a, b] : [b, a];
  let n = 0;
  for (const x of small) if (large.has(x)) n++;
  return n;
}
