import { beforeAll, describe, expect, it } from 'vitest';
import { referenceSearch } from '../../bench/lib/reference.ts';
import { waveFetch, type WaveFetch } from '../../bench/lib/wave-fetch.ts';
import type { DictEntryJson, TreeJson } from '../../src/search/format/wire.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import type { SearchHit } from '../../src/search/query.ts';
import { makeCorpus } from './corpus.ts';
import { bucketWith, MemoryBucket } from './helpers.ts';

// How the reader plans its requests: which files a first query reads, and in how many rounds
// (waves of requests a network with equal response times would answer; `bench/lib/wave-fetch.ts`).

const BASE = 'http://registry.test';
const SHARDS = 'v1/search/bundles/shards/';

/** The dictionary files of a tree (terms or name pairs), with their entries. */
function dictFiles(bucket: MemoryBucket, tree: TreeJson): Map<string, DictEntryJson[]> {
  const out = new Map<string, DictEntryJson[]>();
  const walk = (file: string, level: number): void => {
    const json = JSON.parse(bucket.files.get(`${SHARDS}${file}.json`)!) as { e: unknown[] };
    if (level === 1) out.set(file, json.e as DictEntryJson[]);
    else for (const e of json.e as [string, string][]) walk(e[1], level - 1);
  };
  if (tree.height === 1) out.set('(root)', tree.top as DictEntryJson[]);
  else for (const e of tree.top as [string, string][]) walk(e[1], tree.height - 1);
  return out;
}

const fileOf = (url: string): string => /shards\/([^/]+)\.json$/.exec(url)?.[1] ?? '';
const waveOf = (w: WaveFetch, file: string): number => w.log.find((e) => fileOf(e.url) === file)?.wave ?? Number.NaN;
const wavesOfKind = (bucket: MemoryBucket, w: WaveFetch, kind: string): number[] =>
  w.log.filter((e) => e.url.includes('/shards/') && bucket.files.get(new URL(e.url).pathname.slice(1))!.startsWith(`{"v":1,"t":"${kind}"`)).map((e) => e.wave);

describe('a first query of two common words (read in part)', () => {
  const corpus = makeCorpus({ count: 2_000, seed: 8 });
  let bucket: MemoryBucket;
  /** The terms file of each dictionary term. */
  const termsFileOf = new Map<string, string>();
  /** The name-pair index's files: its dictionary files and the terms files they list. */
  const pairFiles = new Set<string>();
  beforeAll(async () => {
    bucket = await bucketWith(corpus);
    for (const entries of dictFiles(bucket, bucket.root().search.terms).values()) {
      for (const [file, , infos] of entries) for (const info of infos) termsFileOf.set(typeof info === 'string' ? info : info[0], file);
    }
    for (const [dict, entries] of dictFiles(bucket, bucket.root().search.pairs)) {
      pairFiles.add(dict);
      for (const [terms] of entries) pairFiles.add(terms);
    }
  });

  const ask = async (q: string, expansionBudget?: number): Promise<{ w: WaveFetch; hits: SearchHit[]; names: string[] }> => {
    const w = waveFetch(bucket.fetch);
    const client = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: w.fetch, ...(expansionBudget ? { expansionBudget } : {}) });
    const hits = (await client.searchPage(q, { limit: 5 })).hits;
    return { w, hits, names: hits.map((h) => h.name) };
  };

  it('reads the name-pair candidates alongside the pages, not after them: six rounds, the display files last', async () => {
    const reference = referenceSearch(corpus);
    for (const q of ['api server', 'server database', 'server files']) {
      const { w, names } = await ask(q);
      const pages = wavesOfKind(bucket, w, 'page');
      expect(pages.length, q).toBeGreaterThan(0); // a word is paged, and read in part
      const pairReads = w.log.filter((e) => pairFiles.has(fileOf(e.url))).map((e) => e.wave);
      expect(pairReads.length, q).toBeGreaterThan(0);
      // The pair lookup starts once the words' terms files show pages left out: with the pages.
      expect(Math.min(...pairReads), q).toBeLessThanOrEqual(Math.min(...pages));
      // root, dictionary, terms, pages (+ pair dictionary), pair terms, display files.
      expect(w.waves(), q).toBe(6);
      const displays = w.log.filter((e) => e.url.includes('/docs/')).map((e) => e.wave);
      expect(new Set(displays), q).toEqual(new Set([6]));
      expect(names[0], q).toBe(reference.search(q, { limit: 5 })[0]!.name);
    }
  });

  it('requests the words’ own terms files in the round after the dictionary, alongside the typo lookups', async () => {
    const { w } = await ask('server losto');
    const lookups = wavesOfKind(bucket, w, 'dict').filter((wave) => wave > 2);
    expect(lookups).toContain(3); // a typo match the ranges missed, looked up in round 3
    for (const word of ['server', 'losto']) expect(waveOf(w, termsFileOf.get(word)!), word).toBe(3);
  });

  it('reads the few pages the budget leaves out rather than scoring 40 candidates again: the whole index’s results, the display files of the hits shown', async () => {
    const reference = referenceSearch(corpus);
    for (const q of ['losto plevo', 'halo minor', 'slack xajex']) {
      // Within this budget each word's fields leave a few pages out.
      const { w, hits } = await ask(q, 100_000);
      const expected = reference.search(q, { limit: 5 });
      expect(hits.map((h) => h.name), q).toEqual(expected.map((h) => h.name));
      hits.forEach((h, i) => expect(h.score, q).toBeCloseTo(expected[i]!.score, 9));
      const displays = w.log.filter((e) => e.url.includes('/docs/'));
      expect(displays, q).toHaveLength(5);
      // Nothing is scored again, so the name-pair candidates are not wanted either.
      expect(w.log.filter((e) => pairFiles.has(fileOf(e.url))), q).toEqual([]);
      expect(wavesOfKind(bucket, w, 'page').length, q).toBeGreaterThan(0);
    }
  });
});
