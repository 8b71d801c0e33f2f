import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceSearch } from '../../bench/lib/reference.ts';
import { type SearchHit, type SearchQueryOptions } from '../../src/search/query.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { DEFAULT_POLICY } from '../../src/search/format/policy.ts';
import { levenshtein, maxDistance } from '../../src/search/format/matching.ts';
import { firstRescorePool, rescorePool, ShardedSearch } from '../../src/search/read/reader.ts';
import type { DictEntryJson } from '../../src/search/format/wire.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { makeCorpus, prng, SMALL_POLICY } from './corpus.ts';
import { bucketWith, expectError, MemoryBucket, reachable } from './helpers.ts';

const BASE = 'http://registry.test';

/** The ranking reference: one whole index over the same summaries. */
const wholeIndex = (summaries: PackageSummary[]) => referenceSearch(summaries);
const open = (bucket: MemoryBucket, extra: Partial<Parameters<typeof ShardedSearch.open>[0]> = {}): Promise<ShardedSearch> =>
  ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch, ...extra });


/** Every dictionary entry of the current generation, in order. */
function dictionary(bucket: MemoryBucket): DictEntryJson[] {
  const root = bucket.root();
  if (root.search.terms.height === 1) return root.search.terms.top as DictEntryJson[];
  const out: DictEntryJson[] = [];
  const walk = (file: string): void => {
    const json = JSON.parse(bucket.files.get(`v1/search/bundles/shards/${file}.json`)!) as { t: string; e: unknown[] };
    if (json.t === 'dict') out.push(...(json.e as DictEntryJson[]));
    else for (const e of json.e as [string, string][]) walk(e[1]);
  };
  for (const e of root.search.terms.top as [string, string][]) walk(e[1]);
  return out;
}

const termOf = (info: DictEntryJson[2][number]): string => (typeof info === 'string' ? info : info[0]);

/** The `terms` files a client fetched. */
function termsFilesFetched(bucket: MemoryBucket, client: ShardedSearch): Set<string> {
  return new Set(
    client.stats.keys
      .filter((k) => k.includes('/shards/') && bucket.files.get(k)!.startsWith('{"v":1,"t":"terms"'))
      .map((k) => /shards\/([0-9a-f]{20})\.json/.exec(k)![1]!),
  );
}

function expectSameHits(actual: SearchHit[], expected: SearchHit[]): void {
  expect(actual.map((h) => h.name)).toEqual(expected.map((h) => h.name));
  actual.forEach((h, i) => expect(h.score).toBeCloseTo(expected[i]!.score, 9));
  expect(actual.map(({ score: _, ...s }) => s)).toEqual(expected.map(({ score: _, ...s }) => s));
}

/** A term paged in two or more fields: its `heads` file and each field's first page (trees of height 1). */
function multiPaged(bucket: MemoryBucket): { term: string; heads: string; firstPages: string[] } | null {
  for (const text of bucket.files.values()) {
    if (!text.startsWith('{"v":1,"t":"terms"')) continue;
    for (const entry of (JSON.parse(text) as { e: unknown[][] }).e) {
      const paged = Object.entries((entry[2] ?? {}) as Record<string, { h: [string, number]; t: { height: number; top: [string, string][] } }>);
      if (paged.length < 2 || paged.some(([, p]) => p.t.height !== 1)) continue;
      paged.sort((a, b) => Number(a[0]) - Number(b[0]));
      return { term: String(entry[0]), heads: paged[0]![1].h[0], firstPages: paged.map(([, p]) => p.t.top[0]![1]) };
    }
  }
  return null;
}

describe('which files a query reads', () => {
  const corpus = makeCorpus({ count: 300, seed: 21 });
  let bucket: MemoryBucket;
  let dict: DictEntryJson[];
  let vocabulary: string[];
  beforeAll(async () => {
    bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
    dict = dictionary(bucket);
    vocabulary = dict.flatMap((e) => e[2].map(termOf));
  });
  const fileOf = (term: string): string => dict.find((e) => e[2].some((i) => termOf(i) === term))![0];

  it('an exact word reads the terms file that holds it and no other', async () => {
    expect(dict.length).toBeGreaterThan(20);
    // A word with no prefix extension and no typo neighbour in the vocabulary, not paged.
    const lonely = dict
      .flatMap((e) => e[2].filter((i): i is string => typeof i === 'string'))
      .find((t) => t.length >= 5 && vocabulary.every((o) => o === t || (!o.startsWith(t) && levenshtein(t, o, maxDistance(t)) > maxDistance(t))))!;
    expect(lonely).toBeDefined();
    const client = await open(bucket);
    const hits = await client.search(lonely);
    expect(hits.length).toBeGreaterThan(0);
    expect([...termsFilesFetched(bucket, client)]).toEqual([fileOf(lonely)]);
  });

  it('a prefix that spans two terms files reads both, and finds the terms of both', async () => {
    let found = false;
    for (let i = 0; i + 1 < dict.length && !found; i++) {
      const last = termOf(dict[i]![2].at(-1)!);
      const first = termOf(dict[i + 1]![2][0]!);
      let n = 0;
      while (n < Math.min(last.length, first.length) && last[n] === first[n]) n++;
      if (n < 3) continue;
      const prefix = last.slice(0, n);
      found = true;
      const client = await open(bucket);
      const hits = await client.search(prefix, { limit: 500 });
      const fetched = termsFilesFetched(bucket, client);
      expect(fetched.has(dict[i]![0])).toBe(true);
      expect(fetched.has(dict[i + 1]![0])).toBe(true);
      const expected = wholeIndex(corpus).search(prefix, { limit: 500 });
      expect(new Set(hits.map((h) => h.name))).toEqual(new Set(expected.map((h) => h.name)));
    }
    expect(found).toBe(true);
  });

  it('a typo inside a word, or in its first letter, reads the terms file of the word it means', async () => {
    const target = corpus.find((s) => {
      const w = s.name.split('/')[1]!.split('-')[0]!;
      return w.length >= 7 && vocabulary.includes(w);
    })!;
    const word = target.name.split('/')[1]!.split('-')[0]!;
    for (const typo of [`${word.slice(0, 3)}x${word.slice(4)}`, `q${word.slice(1)}`]) {
      const client = await open(bucket);
      const hits = await client.search(typo, { limit: 50 });
      expect(termsFilesFetched(bucket, client).has(fileOf(word)), typo).toBe(true);
      expect(hits.map((h) => h.name), typo).toContain(target.name);
    }
  });

  it('a word paged in several fields reads their head pages in one heads file, not each first page', async () => {
    const corpus400 = makeCorpus({ count: 400, seed: 3 });
    const large = await bucketWith(corpus400, { policy: SMALL_POLICY });
    const found = multiPaged(large);
    expect(found).not.toBeNull();
    const { term, heads, firstPages } = found!;
    const file = JSON.parse(large.files.get(`v1/search/bundles/shards/${heads}.json`)!) as { t: string; e: [number, unknown[]][] };
    expect(file.t).toBe('heads');
    // Each field's head page in the heads file holds the postings of its tree's first page.
    expect(file.e.map(([, e]) => e)).toEqual(firstPages.map((page) => (JSON.parse(large.files.get(`v1/search/bundles/shards/${page}.json`)!) as { e: unknown[] }).e));
    const client = await open(large);
    const hits = await client.search(term, { limit: 500 });
    expect(hits[0]!.name).toBe(wholeIndex(corpus400).search(term, { limit: 500 })[0]!.name);
    const fetched = client.stats.keys.filter((k) => k.includes('/shards/'));
    expect(fetched.filter((k) => k.endsWith(`/${heads}.json`))).toHaveLength(1);
    for (const page of firstPages) expect(fetched.some((k) => k.endsWith(`/${page}.json`)), page).toBe(false);
  });
});

describe('a page of results', () => {
  const corpus = makeCorpus({ count: 300, seed: 21 });
  let bucket: MemoryBucket;
  beforeAll(async () => {
    bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
  });
  const displaysRead = (client: ShardedSearch) => client.stats.keys.filter((k) => k.includes('/docs/'));

  it('says whether more hits follow, reading the display files of the hits shown and no other', async () => {
    const reference = wholeIndex(corpus);
    for (const q of ['weather', 'notes cal']) {
      const all = reference.search(q, { limit: 1_000 });
      expect(all.length).toBeGreaterThan(6);
      const client = await open(bucket, { expansionBudget: 50_000_000 });
      const page = await client.searchPage(q, { limit: 5 });
      expect(page.hits.map((h) => h.name)).toEqual(all.slice(0, 5).map((h) => h.name));
      expect(page.more).toBe(true);
      expect(new Set(displaysRead(client)).size).toBe(5);
      // The whole list: nothing follows it.
      const last = await client.searchPage(q, { limit: all.length });
      expect(last.hits).toHaveLength(all.length);
      expect(last.more).toBe(false);
    }
  });

  it('a one-word query read in part scores twice its limit again, up to 40 (display files read)', async () => {
    // A small budget: the common word is read in part, so its candidates are scored again.
    for (const [q, limit, scored] of [['server', 5, 10], ['server', 10, 20], ['server', 30, 40]] as const) {
      const client = await open(bucket, { expansionBudget: 20_000 });
      const hits = await client.search(q, { limit });
      expect(hits).toHaveLength(limit);
      expect(new Set(displaysRead(client)).size, `${q} at ${limit}`).toBe(scored);
    }
    expect(firstRescorePool(1, 5)).toBe(10);
    expect(firstRescorePool(2, 5)).toBe(40);
    expect(firstRescorePool(3, 5)).toBe(60);
    expect(firstRescorePool(2, 70)).toBe(70);
    // Later rounds: the full pool whatever the number of words, or the limit when larger.
    expect([rescorePool(1, 5), rescorePool(2, 5), rescorePool(3, 5), rescorePool(1, 70)]).toEqual([40, 40, 60, 70]);
  });

  it('an empty query says whether more packages follow, from the catalog pages alone', async () => {
    const client = await open(bucket, { maxListPages: 1_000 });
    const page = await client.searchPage('', { limit: 10 });
    expect(page.hits).toHaveLength(10);
    expect(page.more).toBe(true);
    const whole = await client.searchPage('', { limit: corpus.length });
    expect(whole.hits).toHaveLength(corpus.length);
    expect(whole.more).toBe(false);
    expect(displaysRead(client)).toEqual([]);
  });
});

describe('results equal the whole index', () => {
  it('without paged fields every query gives the same hits, scores, filters and orders', async () => {
    const corpus = makeCorpus({ count: 500, seed: 5 });
    const unpaged = { ...DEFAULT_POLICY, terms: { min: 3_000, target: 9_000, max: 2_000_000 }, page_threshold: 1_000_000 };
    const bucket = await bucketWith(corpus, { policy: unpaged });
    const reference = wholeIndex(corpus);
    const r = prng(77);
    const queries: [string, SearchQueryOptions][] = [];
    for (let i = 0; i < 40; i++) {
      const s = corpus[Math.floor(r() * corpus.length)]!;
      const name = s.name.split('/')[1]!.split('-')[0]!;
      const options: SearchQueryOptions[] = [{}, { type: 'node' }, { os: 'linux' }, { os: 'win32', arch: 'arm64' }, { sort: 'recent' }, { sort: 'name', limit: 7 }];
      const o = options[i % options.length]!;
      queries.push([name, o], [`${name} ${s.keywords[0]}`, o], [name.slice(0, 4), o], [`${name.slice(0, 2)}z${name.slice(3)}`, o]);
    }
    const client = await open(bucket, { expansionBudget: 50_000_000 });
    for (const [q, o] of queries) expectSameHits(await client.search(q, o), reference.search(q, o));
  });

  it('with common words paged, the top result agrees on at least 95% of queries and the top 5 on 90%', async () => {
    const corpus = makeCorpus({ count: 2_000, seed: 8 });
    const bucket = await bucketWith(corpus);
    // Paged fields exist, so this measures the approximation, not the exact case.
    expect([...bucket.files.values()].some((v) => v.startsWith('{"v":1,"t":"page"'))).toBe(true);
    const reference = wholeIndex(corpus);
    const r = prng(99);
    let top1 = 0;
    let top5 = 0;
    let n = 0;
    const client = await open(bucket);
    for (let i = 0; i < 60; i++) {
      const s = corpus[Math.floor(r() * corpus.length)]!;
      const words = s.name.split('/')[1]!.split('-');
      const w = words[Math.floor(r() * words.length)]!;
      for (const q of [w, `${w} ${s.keywords[0]}`, w.slice(0, Math.max(3, w.length - 2)), `${w.slice(0, 1)}${w.slice(2)}`]) {
        const a = (await client.search(q, { limit: 5 })).map((h) => h.name);
        const b = reference.search(q, { limit: 5 }).map((h) => h.name);
        top1 += a[0] === b[0] ? 1 : 0;
        top5 += b.length === 0 ? Number(a.length === 0) : a.filter((x) => b.includes(x)).length / b.length;
        n++;
      }
    }
    expect(top1 / n).toBeGreaterThanOrEqual(0.95);
    expect(top5 / n).toBeGreaterThanOrEqual(0.9);
  });

  it('an empty query lists packages by name, or by recency, with the filters applied', async () => {
    const corpus = makeCorpus({ count: 300, seed: 6 });
    const bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
    const reference = wholeIndex(corpus);
    const client = await open(bucket, { maxListPages: 1_000 });
    for (const o of [{}, { sort: 'name' as const }, { sort: 'recent' as const, limit: 30 }, { type: 'python' }, { os: 'win32' as const, arch: 'arm64' as const, sort: 'recent' as const }]) {
      expectSameHits(await client.search('', o), reference.search('', o));
    }
    // The page cap bounds what a filtered listing reads.
    const capped = await open(bucket, { maxListPages: 1 });
    const few = await capped.search('', { os: 'win32', arch: 'arm64', limit: 300 });
    expect(capped.stats.keys.filter((k) => k.includes('/shards/')).length).toBeLessThanOrEqual(1 + bucket.root().catalog.by_name.height);
    expect(few.length).toBeLessThan(reference.search('', { os: 'win32', arch: 'arm64', limit: 300 }).length);
  });
});

describe('generations', () => {
  const corpus = makeCorpus({ count: 200, seed: 12 });
  let server: Server;
  let base: string;
  const bucket = new MemoryBucket();
  beforeAll(async () => {
    const built = await bucketWith(corpus.slice(0, 150), { policy: SMALL_POLICY });
    for (const [k, v] of built.files) bucket.files.set(k, v);
    server = createServer((req, res) => {
      const key = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
      const body = bucket.files.get(key);
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' }).end(body ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('a client that read generation 1 keeps answering from it after generation 2 is written, and moves on when it refreshes', async () => {
    const g1 = bucket.root();
    const g1Files = reachable(bucket, g1);
    const client = await ShardedSearch.open({ baseUrl: base, kind: 'bundle' });
    const newcomer = { ...corpus[160]!, description: `${corpus[160]!.description} xylophonic` };
    const changed = { ...corpus[3]!, description: 'rewritten entirely', updated_at: '2026-01-01T00:00:00.000Z' };
    expect(await client.search('xylophonic')).toEqual([]);

    // Generation 2, written the way an announce writes it: immutable files first, root last.
    const u1 = await updateAndStage(bucket, newcomer);
    // A crash here leaves generation 2's files unreferenced: nobody sees them.
    const fresh = await ShardedSearch.open({ baseUrl: base, kind: 'bundle' });
    expect(await fresh.search('xylophonic')).toEqual([]);
    bucket.files.set(shardedRootKey('bundle'), `${JSON.stringify(u1)}\n`);
    const u2 = await updateAndStage(bucket, changed);
    bucket.files.set(shardedRootKey('bundle'), `${JSON.stringify(u2)}\n`);

    const before = client.stats.keys.length;
    expect(await client.search('xylophonic')).toEqual([]);
    const old = (await client.search(corpus[3]!.name.split('/')[1]!.split('-')[0]!, { limit: 100 })).find((h) => h.name === changed.name);
    expect(old?.description).toBe(corpus[3]!.description);
    // Everything it read since is a file of generation 1.
    for (const k of client.stats.keys.slice(before)) expect(g1Files.has(k) || k.includes('/docs/'), k).toBe(true);

    const next = await ShardedSearch.open({ baseUrl: base, kind: 'bundle' });
    expect((await next.search('xylophonic')).map((h) => h.name)).toEqual([newcomer.name]);
    expect(await client.refresh()).toBe(true);
    expect((await client.search('xylophonic')).map((h) => h.name)).toEqual([newcomer.name]);
    expect(await client.refresh()).toBe(false);
  });
});

/** Runs an update against the bucket's current root and writes its immutable files, not the root. */
async function updateAndStage(bucket: MemoryBucket, summary: PackageSummary): Promise<unknown> {
  const { updateShardedIndex } = await import('../../src/search/write/update.ts');
  const u = await updateShardedIndex(bucket.root(), summary.name, summary, bucket.read);
  for (const [k, v] of u.files) if (!bucket.files.has(k)) bucket.files.set(k, v);
  return u.root;
}

describe('bad input and broken files', () => {
  const corpus = makeCorpus({ count: 60, seed: 2 });

  it('refuses bad options with invalid_argument, naming the option', async () => {
    const bucket = await bucketWith(corpus);
    await expectError(ShardedSearch.open({ baseUrl: 'ftp://x', kind: 'bundle', fetch: bucket.fetch }), 'invalid_argument');
    await expectError(ShardedSearch.open({ baseUrl: BASE, kind: 'plugin' as 'bundle', fetch: bucket.fetch }), 'invalid_argument');
    await expectError(open(bucket, { expansionBudget: -1 }), 'invalid_argument');
    await expectError(open(bucket, { maxListPages: 0 }), 'invalid_argument');
    const client = await open(bucket);
    await expectError(client.search('x', { limit: 0 }), 'invalid_argument');
    await expectError(client.search('x', { os: 'plan9' }), 'invalid_argument');
    await expectError(client.search('x', { sort: 'size' as 'name' }), 'invalid_argument');
    await expectError(client.search(42 as unknown as string), 'invalid_argument');
  });

  it('reports a missing or malformed root, or a root of another kind, as registry_unreachable', async () => {
    const bucket = await bucketWith(corpus);
    await expectError(ShardedSearch.open({ baseUrl: BASE, kind: 'skill', fetch: bucket.fetch }), 'registry_unreachable');
    // "No index yet" is a value for callers that ask for one.
    expect(await ShardedSearch.openIfPublished({ baseUrl: BASE, kind: 'skill', fetch: bucket.fetch })).toBeNull();
    expect((await ShardedSearch.openIfPublished({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch }))?.size).toBe(corpus.length);
    bucket.files.set(shardedRootKey('skill'), bucket.files.get(shardedRootKey('bundle'))!);
    await expectError(ShardedSearch.open({ baseUrl: BASE, kind: 'skill', fetch: bucket.fetch }), 'registry_unreachable');
    bucket.files.set(shardedRootKey('bundle'), '{"schema_version":1}');
    await expectError(open(bucket), 'registry_unreachable');
    const down = async (): Promise<Response> => {
      throw new Error('connection refused');
    };
    await expectError(ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: down }), 'registry_unreachable');
  });

  it('sends each request once more when it fails before any response, and answers as without the failures', async () => {
    const bucket = await bucketWith(corpus);
    const word = corpus[0]!.name.split('/')[1]!.split('-')[0]!;
    const expected = await (await open(bucket)).search(word);
    const attempts = new Map<string, number>();
    const flaky = (failures: number) => async (url: string): Promise<Response> => {
      const n = (attempts.get(url) ?? 0) + 1;
      attempts.set(url, n);
      if (n <= failures) throw new TypeError('fetch failed');
      return bucket.fetch(url);
    };
    expect(await (await open(bucket, { fetch: flaky(1) })).search(word)).toEqual(expected);
    expect(attempts.size).toBeGreaterThan(2);
    for (const n of attempts.values()) expect(n).toBe(2);
    attempts.clear();
    await expectError(open(bucket, { fetch: flaky(2) }), 'registry_unreachable');
    expect([...attempts.values()]).toEqual([2]);
  });

  it('reports a corrupted terms file as registry_unreachable', async () => {
    const bucket = await bucketWith(corpus);
    const word = corpus[0]!.name.split('/')[1]!.split('-')[0]!;
    const probe = await open(bucket);
    await probe.search(word);
    const key = [...termsFilesFetched(bucket, probe)].map((f) => `v1/search/bundles/shards/${f}.json`)[0]!;
    bucket.files.set(key, '{"v":1,"t":"terms","e":[["x",{"0":["not-an-id!",1,1]}]],"docs":[]}');
    await expectError((await open(bucket)).search(word), 'registry_unreachable');
    bucket.files.set(key, '{"v":1,"t":"terms"');
    await expectError((await open(bucket)).search(word), 'registry_unreachable');
  });

  it('reports a heads file that lacks a field its term pages as registry_unreachable', async () => {
    const bucket = await bucketWith(makeCorpus({ count: 400, seed: 3 }), { policy: SMALL_POLICY });
    const { term, heads } = multiPaged(bucket)!;
    expect((await (await open(bucket)).search(term)).length).toBeGreaterThan(0);
    const key = `v1/search/bundles/shards/${heads}.json`;
    const file = JSON.parse(bucket.files.get(key)!) as { e: unknown[] };
    bucket.files.set(key, JSON.stringify({ ...file, e: file.e.slice(1) }));
    await expectError((await open(bucket)).search(term), 'registry_unreachable');
    bucket.files.set(key, JSON.stringify({ ...file, e: [[0, [['1a2b', 1, 1]]]] }));
    await expectError((await open(bucket)).search(term), 'registry_unreachable');
  });

  it('reports a corrupted inner file of a page tree as registry_unreachable, though it was read ahead', async () => {
    const bucket = await bucketWith(makeCorpus({ count: 400, seed: 3 }), { policy: SMALL_POLICY });
    // A term with a field paged deep enough that its page references sit in an inner file.
    let deep: { term: string; inner: string } | null = null;
    for (const text of bucket.files.values()) {
      if (deep || !text.startsWith('{"v":1,"t":"terms"')) continue;
      for (const entry of (JSON.parse(text) as { e: unknown[][] }).e) {
        for (const paged of Object.values((entry[2] ?? {}) as Record<string, { t: { height: number; top: [string, string][] } }>)) {
          if (paged.t.height > 1) deep ??= { term: String(entry[0]), inner: paged.t.top[0]![1] };
        }
      }
    }
    expect(deep).not.toBeNull();
    const before = await (await open(bucket)).search(deep!.term);
    expect(before.length).toBeGreaterThan(0);
    bucket.files.set(`v1/search/bundles/shards/${deep!.inner}.json`, '{"v":1,"t":"refs","e":[["x"]]}');
    await expectError((await open(bucket)).search(deep!.term), 'registry_unreachable');
  });
});
