/**
 * The bench's file classes (`bench/lib/file-classes.ts`) on a small real build: every file gets
 * the class its content and its tree say, a first query's requests are classed, and the storage
 * by class adds up to the build.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { shardedRootKey } from '../../src/core/paths.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { buildShardedIndex, type ShardedGeneration } from '../../src/search/write/build.ts';
import { generateCorpus, type Corpus } from '../../bench/corpus.ts';
import { referenceSearch } from '../../bench/lib/reference.ts';
import { workloads } from '../../bench/queries.ts';
import { PAGE_RESULTS, workloadCost } from '../../bench/relevance/first-query-cost.ts';
import { classifyFiles, classOf, storageByClass, type FileClass } from '../../bench/lib/file-classes.ts';
import { packageFiles } from '../../bench/records.ts';

const PACKAGES = 400;
let corpus: Corpus;
let gen: ShardedGeneration;
let classes: Map<string, FileClass>;

beforeAll(async () => {
  corpus = generateCorpus({ packages: PACKAGES, seed: 5 });
  gen = await buildShardedIndex('bundle', corpus.packages.map((p) => packageFiles(p).summary));
  classes = classifyFiles('bundle', gen.root, gen.files);
});

/** The file types (`t`) each class may hold. */
const TYPES: Partial<Record<FileClass, string[]>> = {
  'term tree nodes': ['dict', 'refs'],
  terms: ['terms'],
  'pair tree nodes': ['dict', 'refs'],
  'pair terms': ['terms'],
  'suffix tree': ['suffixes', 'refs'],
  'head pages': ['page', 'heads'],
  'further pages': ['page'],
  'page tree nodes': ['refs'],
  'catalog tree nodes': ['refs'],
  catalog: ['catalog'],
};

describe('file classes of a build', () => {
  it('classes every file by its tree, consistent with its type, none left over', () => {
    const seen = new Set<FileClass>();
    for (const [key, content] of gen.files) {
      const fc = classes.get(key);
      expect(fc, key).toBeDefined();
      seen.add(fc!);
      if (fc === 'display') expect(key).toMatch(/\/docs\/[0-9a-z]+-[0-9a-f]{10}\.json$/);
      else expect(TYPES[fc!], `${key} is ${fc}`).toContain((JSON.parse(content) as { t: string }).t);
    }
    expect(seen.has('other')).toBe(false);
    for (const fc of ['terms', 'term tree nodes', 'pair terms', 'suffix tree', 'head pages', 'further pages', 'catalog', 'display'] as const) expect(seen, fc).toContain(fc);
    expect(classOf(classes, shardedRootKey('bundle'))).toBe('root');
  });

  const fetch = async (url: string): Promise<Response> => {
    const key = new URL(url).pathname.slice(1);
    const v = key === shardedRootKey('bundle') ? JSON.stringify(gen.root) : gen.files.get(key);
    return v === undefined ? new Response('not found', { status: 404 }) : new Response(v);
  };

  it("classes every request of a fresh client's first query", async () => {
    const client = await ShardedSearch.open({ baseUrl: 'http://classes.invalid', kind: 'bundle', fetch });
    await client.searchPage('data', { limit: 5 });
    const requested = client.stats.keys.map((k) => classOf(classes, k));
    expect(requested).toHaveLength(client.stats.requests);
    expect(requested[0]).toBe('root');
    expect(requested).not.toContain('other');
    expect(requested.filter((c) => c === 'display').length).toBeGreaterThan(0);
  });

  it("the workload's requests by class add up to its requests, shown display files at most a page's", async () => {
    const summaries = corpus.packages.map((p) => packageFiles(p).summary);
    const rows = await workloadCost(PACKAGES, workloads(corpus, 4), fetch, referenceSearch(summaries), ['one-word', 'two-word'], classes);
    for (const row of rows) {
      const byClass = row.by_class!;
      expect(byClass.root).toEqual({ p50: 1, max: 1, mean: 1 });
      expect(byClass.other).toBeUndefined();
      expect(byClass.display?.max ?? 0).toBeLessThanOrEqual(PAGE_RESULTS);
      for (const c of Object.values(byClass)) expect(c.max).toBeLessThanOrEqual(row.requests.max);
      // Every query requests at least the root: the per-class maxima bound the total.
      expect(Object.values(byClass).reduce((n, c) => n + c.max, 0)).toBeGreaterThanOrEqual(row.requests.max);
    }
  });

  it('storage by class adds up to the build, with each document entry counted in every file that repeats it', () => {
    const storage = storageByClass('bundle', gen.root, gen.files);
    const bytes = [...gen.files.values()].reduce((n, c) => n + Buffer.byteLength(c), 0) + JSON.stringify(gen.root).length + 1;
    expect(storage.total.files).toBe(gen.files.size + 1);
    expect(storage.total.bytes).toBe(bytes);
    expect(Object.values(storage.classes).reduce((n, s) => n + s.bytes, 0)).toBe(bytes);
    expect(storage.total.gzip).toBeGreaterThan(0);
    expect(storage.total.gzip).toBeLessThan(bytes);
    expect(storage.classes.display?.files).toBe(PACKAGES);
    expect(storage.docs.distinct).toBe(PACKAGES);
    expect(storage.total.docEntries).toBeGreaterThan(PACKAGES);
    expect(storage.docs.onceBytes).toBeLessThan(storage.total.docBytes);
    expect(storage.classes.display?.docEntries).toBe(0);
  });
});
