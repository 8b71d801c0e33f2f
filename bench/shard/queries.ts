/**
 * The labelled queries of the sharded-index benchmark: each derived from a target package, as a
 * user looking for it would type (a name word; a name word and a keyword; a prefix; a typo).
 *
 * @module
 */
import type { SyntheticPackage } from '../corpus.ts';
import { Random } from '../lib/random.ts';

export type QueryKind = 'one-word' | 'two-word' | 'prefix' | 'misspelled';
export const KINDS: QueryKind[] = ['one-word', 'two-word', 'prefix', 'misspelled'];

export interface Query {
  kind: QueryKind;
  text: string;
}

/** Labelled queries: each derived from a target package, as a user looking for it would type. */
export function makeQueries(packages: SyntheticPackage[], perKind: number, seed: number): Query[] {
  const r = new Random(seed);
  const out: Query[] = [];
  const nameWords = (p: SyntheticPackage): string[] => p.short.split('-').filter((w) => w !== 'mcp' && w !== 'server');
  for (const kind of KINDS) {
    let made = 0;
    while (made < perKind) {
      const p = r.pick(packages);
      const words = nameWords(p);
      if (words.length === 0) continue;
      const word = r.pick(words);
      let text: string;
      if (kind === 'one-word') text = word;
      else if (kind === 'two-word') text = `${word} ${r.pick(p.keywords)}`;
      else if (kind === 'prefix') {
        if (word.length < 5) continue;
        text = word.slice(0, Math.min(word.length - 1, r.int(4, 6)));
      } else {
        if (word.length < 5) continue;
        text = misspell(word, r);
      }
      out.push({ kind, text });
      made++;
    }
  }
  return out;
}

/** One random edit: substitution, deletion, insertion or transposition, anywhere in the word. */
function misspell(word: string, r: Random): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const i = r.int(0, word.length - 1);
  switch (r.int(0, 3)) {
    case 0: {
      let c = r.pick([...letters]);
      while (c === word[i]) c = r.pick([...letters]);
      return word.slice(0, i) + c + word.slice(i + 1);
    }
    case 1:
      return word.slice(0, i) + word.slice(i + 1);
    case 2:
      return word.slice(0, i) + r.pick([...letters]) + word.slice(i);
    default: {
      const j = Math.min(i, word.length - 2);
      return word.slice(0, j) + word[j + 1] + word[j] + word.slice(j + 2);
    }
  }
}
