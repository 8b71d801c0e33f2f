import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { DisplayFileSchema, SHARDED_SCHEMAS, ShardedRootSchema, ShardFileSchema, TermsFileSchema, PageFileSchema, HeadsFileSchema } from '../../src/search/format/wire.ts';
import { checkHeadsFile, checkPageFile, checkTermsFile, valid } from '../../src/search/format/validate.ts';
import { makeCorpus, SMALL_POLICY } from './corpus.ts';

describe('the published format', () => {
  it('every file a build writes matches its zod schema, and the fast validators agree with them', async () => {
    const gen = await buildShardedIndex('bundle', makeCorpus({ count: 120, seed: 17 }), { policy: SMALL_POLICY });
    expect(ShardedRootSchema.safeParse(gen.root).success).toBe(true);
    const seen = new Set<string>();
    for (const [key, content] of gen.files) {
      const json = JSON.parse(content) as { t?: string };
      if (key.includes('/docs/')) {
        expect(DisplayFileSchema.safeParse(json).success).toBe(true);
        continue;
      }
      expect(ShardFileSchema.safeParse(json).success, key).toBe(true);
      seen.add(json.t!);
      if (json.t === 'terms') expect(valid(checkTermsFile(json))).toEqual(TermsFileSchema.parse(json));
      if (json.t === 'page') expect(valid(checkPageFile(json))).toEqual(PageFileSchema.parse(json));
      if (json.t === 'heads') expect(valid(checkHeadsFile(json))).toEqual(HeadsFileSchema.parse(json));
    }
    expect([...seen].sort()).toEqual(['catalog', 'dict', 'heads', 'page', 'refs', 'suffixes', 'terms']);
  });

  it('the fast validators refuse what the schemas refuse', () => {
    const doc = ['1a2b', '@a/b', '0123456789', 1, 'node', 3];
    const bad: unknown[] = [
      { v: 2, t: 'terms', e: [], docs: [] },
      { v: 1, t: 'terms', e: [['x', { '0': ['1a2b', 0, 1] }]], docs: [doc] },
      { v: 1, t: 'terms', e: [['x', { '0': ['1a2b', 1] }]], docs: [doc] },
      { v: 1, t: 'terms', e: [['x', { a: ['1a2b', 1, 1] }]], docs: [doc] },
      { v: 1, t: 'terms', e: [['x', {}, {}, ['1a2b']]], docs: [doc] },
      { v: 1, t: 'terms', e: [], docs: [['1a2b', '@a/b', 'xyz', 1, 'node', 3]] },
    ];
    for (const json of bad) {
      expect(TermsFileSchema.safeParse(json).success, JSON.stringify(json)).toBe(false);
      expect(checkTermsFile(json).ok, JSON.stringify(json)).toBe(false);
    }
    const badPage = { v: 1, t: 'page', e: [['1a2b', 1, 1]], docs: [doc] };
    expect(PageFileSchema.safeParse(badPage).success).toBe(false);
    expect(checkPageFile(badPage).ok).toBe(false);
    for (const badHeads of [
      { v: 1, t: 'heads', e: [[0, [['1a2b', 1, 1]]]], docs: [doc] },
      { v: 1, t: 'heads', e: [['0', [['1a2b', 1, 1, 5]]]], docs: [doc] },
      { v: 1, t: 'heads', e: [[0]], docs: [doc] },
    ]) {
      expect(HeadsFileSchema.safeParse(badHeads).success, JSON.stringify(badHeads)).toBe(false);
      expect(checkHeadsFile(badHeads).ok, JSON.stringify(badHeads)).toBe(false);
    }
  });

  it('every schema converts to a JSON Schema for index-schema/', () => {
    for (const [file, schema] of Object.entries(SHARDED_SCHEMAS)) {
      const json = z.toJSONSchema(schema, { unrepresentable: 'any' }) as { title?: string };
      expect(json.title, file).toBeTruthy();
    }
  });
});
