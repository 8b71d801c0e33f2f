/**
 * The update's fast paths must give exactly what the slow ones they replace give: sizes counted
 * without serialising, files accepted without zod, term entries re-encoded from the text read.
 */
import { describe, expect, it } from 'vitest';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { encodeId } from '../../src/search/format/ids.ts';
import { DictFileSchema, RefsFileSchema, SuffixesFileSchema, type DocEntryJson } from '../../src/search/format/wire.ts';
import { docCost } from '../../src/search/format/sizes.ts';
import { decodeTermsFile, termTreeSpec } from '../../src/search/format/term-tree.ts';
import { parseDictEntries, parseRefsEntries, parseSuffixesEntries, parseSummary } from '../../src/search/format/validate.ts';
import { PackageSummarySchema } from '../../src/core/schemas.ts';
import type { RawJson } from '../../src/search/format/raw-json.ts';
import { makeCorpus, SMALL_POLICY } from './corpus.ts';

const FILE = '0123456789abcdef0123';

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

describe('files accepted without zod give what zod gives', () => {
  it('on every file of a build', async () => {
    const gen = await buildShardedIndex('bundle', makeCorpus({ count: 120, seed: 17 }), { policy: SMALL_POLICY });
    const seen = new Set<string>();
    for (const [key, content] of gen.files) {
      if (key.includes('/docs/')) continue;
      const json = JSON.parse(content) as { t: string };
      const pairs: Record<string, [(j: unknown) => unknown, (j: unknown) => unknown]> = {
        refs: [parseRefsEntries, (j) => RefsFileSchema.parse(j).e],
        dict: [parseDictEntries, (j) => DictFileSchema.parse(j).e],
        suffixes: [parseSuffixesEntries, (j) => SuffixesFileSchema.parse(j).e],
      };
      const pair = pairs[json.t];
      if (!pair) continue;
      seen.add(json.t);
      const fast = pair[0](json);
      const slow = pair[1](json);
      expect(fast).toEqual(slow);
      expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
    }
    expect([...seen].sort()).toEqual(['dict', 'refs', 'suffixes']);
  });

  it('malformed files fail with the schema error', () => {
    const ref = ['a', FILE, 1, 2];
    const bad: [(j: unknown) => unknown, (j: unknown) => unknown, unknown][] = [
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), { v: 1, t: 'refs', e: [['a', FILE, 1]] }],
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), { v: 1, t: 'refs', e: [['a', FILE.toUpperCase(), 1, 2]] }],
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), { v: 1, t: 'refs', e: [['a', FILE, -1, 2]] }],
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), { v: 1, t: 'refs', e: [['a', FILE, 2 ** 60, 2]] }],
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), { v: 2, t: 'refs', e: [ref] }],
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), { v: 1, t: 'dict', e: [ref] }],
      [parseDictEntries, (j) => DictFileSchema.parse(j), { v: 1, t: 'dict', e: [[FILE, 3, []]] }],
      [parseDictEntries, (j) => DictFileSchema.parse(j), { v: 1, t: 'dict', e: [[FILE, 3, [['x', { a: [1, FILE, 2] }]]]] }],
      [parseDictEntries, (j) => DictFileSchema.parse(j), { v: 1, t: 'dict', e: [[FILE, 3, [['x', { '0': [1, FILE] }]]]] }],
      [parseSuffixesEntries, (j) => SuffixesFileSchema.parse(j), { v: 1, t: 'suffixes', e: ['a', 1] }],
      [parseRefsEntries, (j) => RefsFileSchema.parse(j), null],
    ];
    for (const [fast, slow, json] of bad) {
      let expected: unknown;
      try {
        slow(json);
      } catch (error) {
        expected = (error as Error).message;
      }
      expect(expected, JSON.stringify(json)).toBeDefined();
      expect(() => fast(json), JSON.stringify(json)).toThrow(expected as string);
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

describe('display files accepted without zod give what zod gives', () => {
  it('on every display file of a build, with and without optional fields or unknown keys', async () => {
    const gen = await buildShardedIndex('bundle', makeCorpus({ count: 60, seed: 5 }), { policy: SMALL_POLICY });
    let count = 0;
    for (const [key, content] of gen.files) {
      if (!key.includes('/docs/')) continue;
      const json = JSON.parse(content) as Record<string, unknown>;
      const { display_name: _d, server_type: _s, author: _a, ...bare } = json;
      for (const variant of [json, bare, { ...json, extra: 1 }, { extra: [1], ...json }]) {
        const fast = parseSummary(variant);
        const slow = PackageSummarySchema.parse(variant);
        expect(JSON.stringify(fast)).toBe(JSON.stringify(slow));
        expect(fast).toEqual(slow);
      }
      count++;
    }
    expect(count).toBeGreaterThan(0);
  });

  it('malformed display files fail with the schema error', () => {
    const good = {
      kind: 'bundle', name: '@a/b', description: 'd', latest: null, newest: '1.0.0', platforms: [], tools: ['t'], keywords: [],
      published_at: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', verified: false,
    };
    expect(parseSummary(good)).toEqual(PackageSummarySchema.parse(good));
    const bad: unknown[] = [
      null, [], 'x', { ...good, kind: 'tool' }, { ...good, name: 1 }, { ...good, display_name: null }, { ...good, latest: undefined },
      { ...good, platforms: ['a', 2] }, { ...good, tools: 't' }, { ...good, author: 3 }, { ...good, verified: 'yes' }, { ...good, published_at: 0 },
    ];
    for (const json of bad) {
      let expected: unknown;
      try {
        PackageSummarySchema.parse(json);
      } catch (error) {
        expected = (error as Error).message;
      }
      expect(expected, JSON.stringify(json)).toBeDefined();
      expect(() => parseSummary(json), JSON.stringify(json)).toThrow(expected as string);
    }
  });
});
