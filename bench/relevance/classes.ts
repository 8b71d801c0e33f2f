/**
 * Labelled queries for the relevance classes of issue 28, generated from the corpus (deterministic
 * for a seed) from each class's description, never from any engine's results. Each query names
 * the packages that answer it (`relevant`); a query is kept only when the corpus makes that set
 * unambiguous.
 *
 * - `transposed`: a distinctive name word of 4–7 letters with two neighbouring letters swapped
 *   (`sentyr` for sentry): two edits for an edit distance, one slip for a typist.
 * - `stop-words`: two description words that occur together in one description only, joined by
 *   a stop word (`convert … to …`).
 * - `stemming`: a tool's verb inflected, with the tool's noun (`deploying widget` for
 *   `deploy_widget`, `summarization page` for `summarize_page`): every package with a tool of
 *   that verb and noun is relevant (at most 10).
 * - `or-intent`: three words of one package's description and keywords, where 5–10 packages have
 *   at least two of them and at most two have all three: every one of those 5–10 is relevant.
 * - `rare-near-miss`: the start (4–5 letters) of a common word, where a rare word (in one or two
 *   packages) is one edit from it: the packages with a word starting with the prefix are relevant.
 * - `scope-twice`: a word that is a scope and also a name word of packages: the packages with it
 *   in their own name are relevant, not the scope's packages that only carry it as their scope.
 *
 * @module
 */
import { STOP_WORDS, type Corpus, type SyntheticPackage } from '../corpus.ts';
import { tokenize } from '../engines.ts';
import { Random } from '../lib/random.ts';
import { lowerBound } from '../queries.ts';

/** The relevance classes. */
export const RELEVANCE_CLASSES = ['transposed', 'stop-words', 'stemming', 'or-intent', 'rare-near-miss', 'scope-twice'] as const;
/** One relevance class. */
export type RelevanceClass = (typeof RELEVANCE_CLASSES)[number];

/** A query and the packages that answer it. */
export interface ClassQuery {
  class: RelevanceClass;
  query: string;
  /** Every package that answers the query (`@scope/name`). */
  relevant: string[];
}

/** Stop words a query may carry (a small English list). */
export const QUERY_STOP_WORDS = ['to', 'for', 'with', 'and', 'the', 'in', 'of', 'from', 'a', 'on'] as const;

const words = (text: string) => tokenize(text.toLowerCase()).filter((w) => /^[a-z]+$/.test(w));

/** A package's words in every field Shelf indexes but the scope. */
function packageTerms(p: SyntheticPackage): Set<string> {
  return new Set(words([p.short, p.displayName, p.description, p.keywords.join(' '), p.tools.map((t) => t.name).join(' ')].join(' ')));
}

/** Description and keyword words of 4+ letters, stop words left out. */
function contentTerms(p: SyntheticPackage): Set<string> {
  return new Set(words(`${p.description} ${p.keywords.join(' ')}`).filter((w) => w.length >= 4 && !STOP_WORDS.has(w)));
}

/** Every string one edit (substitution, deletion, insertion, neighbour swap) from `w`. */
export function oneEdit(w: string): Set<string> {
  const out = new Set<string>();
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i <= w.length; i++) {
    for (const c of letters) {
      out.add(w.slice(0, i) + c + w.slice(i));
      if (i < w.length) out.add(w.slice(0, i) + c + w.slice(i + 1));
    }
    if (i < w.length) out.add(w.slice(0, i) + w.slice(i + 1));
    if (i + 1 < w.length) out.add(w.slice(0, i) + w[i + 1] + w[i] + w.slice(i + 2));
  }
  out.delete(w);
  return out;
}

/** An inflected form of `w` a stemmer maps back to it, or null when the word already looks inflected. */
export function inflect(w: string): string | null {
  if (/(ing|ed|s|ation)$/.test(w)) return null;
  if (/i[sz]e$/.test(w)) return `${w.slice(0, -1)}ation`;
  if (w.endsWith('e')) return `${w.slice(0, -1)}ing`;
  // A short word ending consonant-vowel-consonant doubles its last letter (stop → stopping).
  if (w.length <= 4 && /[^aeiou][aeiou][^aeiouwxy]$/.test(w)) return `${w}${w.at(-1)}ing`;
  return `${w}ing`;
}

/** Builds up to `perClass` queries of each relevance class. */
export function relevanceQueries(corpus: Corpus, perClass: number, seed = 2828): ClassQuery[] {
  if (!Number.isInteger(perClass) || perClass < 1) throw new TypeError(`"perClass" must be a positive integer, got ${String(perClass)}`);
  const random = new Random(seed);
  const { packages } = corpus;
  const terms = packages.map(packageTerms);
  const content = packages.map(contentTerms);
  const docsOf = new Map<string, Set<number>>();
  const nameUse = new Map<string, number>();
  terms.forEach((set, i) => {
    for (const t of set) {
      let d = docsOf.get(t);
      if (!d) docsOf.set(t, (d = new Set()));
      d.add(i);
    }
    for (const w of new Set(packages[i]!.short.split('-'))) nameUse.set(w, (nameUse.get(w) ?? 0) + 1);
  });
  const df = (t: string) => docsOf.get(t)?.size ?? 0;
  const contentDocs = new Map<string, Set<number>>();
  content.forEach((set, i) => {
    for (const t of set) {
      let d = contentDocs.get(t);
      if (!d) contentDocs.set(t, (d = new Set()));
      d.add(i);
    }
  });
  // Packages by (verb, noun) of their tool names.
  const toolPairs = new Map<string, number[]>();
  packages.forEach((p, i) => {
    for (const key of new Set(p.tools.map((t) => t.name.split('_').slice(0, 2).join(' ')))) push(toolPairs, key, i);
  });
  const both = (a: Set<number>, b: Set<number>) => [...(a.size < b.size ? a : b)].filter((x) => (a.size < b.size ? b : a).has(x));

  const out: ClassQuery[] = [];
  const count = new Map<RelevanceClass, number>(RELEVANCE_CLASSES.map((c) => [c, 0]));
  const seen = new Set<string>();
  const add = (c: RelevanceClass, query: string, relevant: number[]) => {
    if (count.get(c)! >= perClass || seen.has(`${c}:${query}`)) return;
    seen.add(`${c}:${query}`);
    out.push({ class: c, query, relevant: relevant.map((i) => packages[i]!.name).sort() });
    count.set(c, count.get(c)! + 1);
  };
  const want = (c: RelevanceClass) => count.get(c)! < perClass;

  const order = packages.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }

  for (const index of order) {
    if (!RELEVANCE_CLASSES.slice(0, 4).some(want)) break;
    const p = packages[index]!;
    // transposed
    if (want('transposed')) {
      const w = p.coined.find((x) => nameUse.get(x) === 1 && x.length >= 4 && x.length <= 7);
      if (w) {
        const at = random.int(1, w.length - 2);
        const typo = w.slice(0, at) + w[at + 1] + w[at] + w.slice(at + 2);
        if (typo !== w && df(typo) === 0) add('transposed', typo, [index]);
      }
    }
    // A description pair that occurs together in this description only.
    const pair = [...content[index]!].filter((w) => !p.short.includes(w)).sort((a, b) => contentDocs.get(a)!.size - contentDocs.get(b)!.size || (a < b ? -1 : 1));
    const [a, b] = pair;
    const unique = a && b && both(contentDocs.get(a)!, contentDocs.get(b)!).length === 1;
    if (unique && want('stop-words')) add('stop-words', `${a} ${random.pick([...QUERY_STOP_WORDS])} ${b}`, [index]);
    // stemming: a tool's verb inflected, with its noun; every package with a tool of that verb and noun answers.
    if (want('stemming')) {
      const tool = p.tools.map((t) => t.name.split('_')).find(([verb, noun]) => verb && noun && noun.length >= 4 && inflect(verb) !== null);
      if (tool) {
        const [verb, noun] = tool as [string, string];
        const relevant = (toolPairs.get(`${verb} ${noun}`) ?? []);
        if (relevant.length <= 10) add('stemming', `${inflect(verb)} ${noun}`, relevant);
      }
    }
    // or-intent: three of this package's words, 5–10 packages with at least two of them.
    if (want('or-intent')) {
      const pool = [...content[index]!].filter((w) => contentDocs.get(w)!.size >= 3);
      for (let attempt = 0; attempt < 20 && pool.length >= 3; attempt++) {
        const picked = new Set<string>();
        while (picked.size < 3) picked.add(random.pick(pool));
        const [x, y, z] = [...picked].map((w) => contentDocs.get(w)!);
        const hits = new Map<number, number>();
        for (const set of [x!, y!, z!]) for (const d of set) hits.set(d, (hits.get(d) ?? 0) + 1);
        const relevant = [...hits].filter(([, k]) => k >= 2).map(([d]) => d);
        const all = [...hits].filter(([, k]) => k === 3).length;
        if (relevant.length >= 5 && relevant.length <= 10 && all <= 2) {
          add('or-intent', [...picked].join(' '), relevant);
          break;
        }
      }
    }
  }

  // rare-near-miss: prefixes of common words with a rare word one edit away.
  const common = [...docsOf.keys()].filter((t) => t.length >= 6 && df(t) >= Math.max(10, packages.length / 200)).sort();
  for (let i = common.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [common[i], common[j]] = [common[j]!, common[i]!];
  }
  const sortedTerms = [...docsOf.keys()].sort();
  for (const w of common) {
    if (!want('rare-near-miss')) break;
    for (const length of [5, 4]) {
      const prefix = w.slice(0, length);
      const near = [...oneEdit(prefix)].filter((v) => !v.startsWith(prefix) && df(v) >= 1 && df(v) <= 2);
      if (near.length === 0) continue;
      const relevant = new Set<number>();
      for (let k = lowerBound(sortedTerms, prefix); k < sortedTerms.length && sortedTerms[k]!.startsWith(prefix); k++) for (const d of docsOf.get(sortedTerms[k]!)!) relevant.add(d);
      const nearOnly = near.flatMap((v) => [...docsOf.get(v)!]).filter((d) => !relevant.has(d));
      if (relevant.size >= 5 && nearOnly.length > 0) {
        add('rare-near-miss', prefix, [...relevant]);
        break;
      }
    }
  }

  // scope-twice: a scope that is one plain word, also a name word of packages.
  const byScope = new Map<string, number[]>();
  const byNameWord = new Map<string, number[]>();
  packages.forEach((p, i) => {
    push(byScope, p.scope, i);
    for (const w of new Set(p.short.split('-'))) push(byNameWord, w, i);
  });
  const scopes = [...byScope.keys()].filter((s) => /^[a-z]+$/.test(s) && byNameWord.has(s)).sort();
  for (const scope of scopes) {
    if (!want('scope-twice')) break;
    const strong = byNameWord.get(scope)!;
    const weak = byScope.get(scope)!.filter((i) => !terms[i]!.has(scope));
    if (strong.length >= 1 && weak.length >= 1) add('scope-twice', scope, strong);
  }
  return out;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** How one engine ranked one query: the first result answers it, and the share of the top 5 that does (of at most 5 relevant). */
export function judge(top: readonly string[], relevant: readonly string[]): { top1: boolean; top5: number } {
  const set = new Set(relevant);
  const want = Math.min(5, set.size);
  return { top1: top[0] !== undefined && set.has(top[0]), top5: want === 0 ? 0 : top.slice(0, 5).filter((n) => set.has(n)).length / want };
}
