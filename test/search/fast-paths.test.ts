/**
 * The update's fast paths must give exactly what the slow ones they replace give: sizes counted
 * without serialising, term entries re-encoded from the text read. (Files are checked without
 * zod everywhere: `validate.test.ts` holds the validators to the schemas.)
 */
import { describe, expect, it } from 'vitest';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { encodeId } from '../../src/search/format/ids.ts';
import type { DocEntryJson } from '../../src/search/format/wire.ts';
import { docCost } from '../../src/search/format/sizes.ts';
import { decodeTermsFile, termTreeSpec } from '../../src/search/format/term-tree.ts';
import type { RawJson } from '../../src/search/format/raw-json.ts';
import { documentTerms, ImpactTable, impactBase, termImpact } from '../../src/search/format/impact.ts';
import { indexDocument } from '../../src/search/format/indexed-document.ts';
import { makeCorpus, SMALL_POLICY } from './corpus.ts';

describe('sizes counted without serialising', () => {
  it('docCost is the JSON length of the entry plus its comma, whatever the name holds', () => {
    const names = ['@a/b', 'quote"d', 'back\\slash', 'tab\there', 'nl\nx', 'ctl\u0001\u001f', 'del\u007f', 'é and ü', '😀 pair', 'lone \ud800 high', 'lone \udc00 low', 'end \ud83d'];
    const numbers = [0, 7, 10, 99, 1_763_596_800_000, -5, -1_000, 2 ** 53 - 1, 1.5, 1e21];
    for (const name of names) {
      for (const n of numbers) {
        for (const type of [null, 'node', 'a"b']) {
          const doc = ['1a2b', name, '0123456789', n, type, Math.abs(Math.trunc(n)) % 1000] as DocEntryJson;
          expect(docCost(doc), JSON.stringify(doc)).toBe(JSON.stringify(doc).length + 1);
        }
      }
    }
  });
});

describe('term entries re-encoded from a terms file', () => {
  const doc = (id: number, name: string): DocEntryJson => [encodeId(id), name, '0123456789', 1, null, 0];
  const encode = (json: unknown): string => {
    const spec = termTreeSpec(SMALL_POLICY).level(0);
    return (spec.encode(decodeTermsFile(json)) as RawJson).text;
  };

  it('a file in canonical form comes back byte for byte', async () => {
    const gen = await buildShardedIndex('bundle', makeCorpus({ count: 120, seed: 17 }), { policy: SMALL_POLICY });
    let n = 0;
    for (const content of gen.files.values()) {
      const json = JSON.parse(content) as { t?: string };
      if (json.t !== 'terms') continue;
      expect(`${encode(json)}\n`).toBe(content);
      n++;
    }
    expect(n).toBeGreaterThan(3);
  });

  it('a file out of canonical form comes back canonical (fields and ids sorted, one spelling per id)', () => {
    const a = doc(10, '@a/a');
    const b = doc(11, '@a/b');
    const json = {
      v: 1,
      t: 'terms',
      e: [
        ['x', { '01': [encodeId(11), 1, 2, encodeId(10), 3, 4], '0': [encodeId(10), 1, 1] }],
        ['y', { '0': [encodeId(10), 1, 1] }, {}],
        ['z', { '2': ['0a', 2, 2, encodeId(11), 1, 1] }],
      ],
      docs: [a, b, ['0a', '@a/a-alias', '0123456789', 1, null, 0]],
    };
    const text = encode(json);
    expect(JSON.parse(text).e).toEqual([
      ['x', { '0': ['a', 1, 1], '1': ['a', 3, 4, 'b', 1, 2] }],
      ['y', { '0': ['a', 1, 1] }],
      ['z', { '2': ['0a', 2, 2, 'b', 1, 1] }],
    ]);
    // Documents by id; the alias "0a" of id 10 is the last spelling of it "z" references.
    expect(JSON.parse(text).docs).toEqual([['0a', '@a/a-alias', '0123456789', 1, null, 0], b]);
  });
});

describe("the build's impact table", () => {
  it("gives termImpact's impact of every term, typos and prefixes of it included, for every document", () => {
    const docs = makeCorpus({ count: 100, seed: 5 }).map(indexDocument);
    const vocabulary = [...new Set(docs.flatMap((d) => [...d.postings.keys()]))].sort();
    const numbers = new Map(vocabulary.map((t, i) => [t, i]));
    const own = docs.map((d) => {
      const terms = documentTerms(d.postings, d.lengths);
      return { terms, numbered: terms.terms.map((t) => numbers.get(t)!), bases: terms.terms.map((t) => impactBase(terms.fields(t))) };
    });
    const table = new ImpactTable(vocabulary);
    let matched = 0;
    // Every vocabulary term, plus words that are only prefixes or typos of terms.
    for (const word of [...vocabulary.filter((_, i) => i % 2 === 0), ...vocabulary.slice(0, 40).map((t) => t.slice(0, -1)), ...vocabulary.slice(0, 40).map((t) => `${t.slice(1)}x`)]) {
      const of = table.of(word);
      for (const d of own) {
        const expected = termImpact(word, d.terms);
        expect(of(d.numbered, d.bases), `${word} in ${d.terms.terms.join(' ')}`).toBe(expected);
        if (expected > 0) matched++;
      }
    }
    expect(matched).toBeGreaterThan(1000);
  });

  it('refuses a term asked after the next one (its marks are gone)', () => {
    const table = new ImpactTable(['alpha', 'beta']);
    const first = table.of('alpha');
    table.of('beta');
    expect(() => first([0], [1])).toThrow(/asked after/);
  });
});
