/**
 * The client over a generation with a delta: the delta's packages are found as the whole index
 * over the whole registry finds them, their base versions are not, and the delta file is read
 * once per generation.
 */
import { describe, expect, it } from 'vitest';
import { referenceSearch } from '../../bench/lib/reference.ts';
import { type SearchHit, type SearchQueryOptions } from '../../src/search/query.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { shardKey } from '../../src/core/paths.ts';
import { DEFAULT_POLICY } from '../../src/search/format/policy.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { makeCorpus, prng, SMALL_POLICY } from './corpus.ts';
import { bucketWith, expectError, MemoryBucket } from './helpers.ts';

const BASE = 'http://registry.test';
/** The ranking reference: one whole index over the same summaries. */
const wholeIndex = (summaries: PackageSummary[]) => referenceSearch(summaries);
const open = (bucket: MemoryBucket, extra: Partial<Parameters<typeof ShardedSearch.open>[0]> = {}): Promise<ShardedSearch> =>
  ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch, ...extra });

function expectSameHits(actual: SearchHit[], expected: SearchHit[], what: string): void {
  expect(actual.map((h) => h.name), what).toEqual(expected.map((h) => h.name));
  actual.forEach((h, i) => expect(h.score, `${what}: score of ${h.name}`).toBeCloseTo(expected[i]!.score, 9));
  expect(actual.map(({ score: _, ...s }) => s), what).toEqual(expected.map(({ score: _, ...s }) => s));
}

/** A new version of a package: new words in its description and tools, a later date, another server type. */
function revise(s: PackageSummary, n: number): PackageSummary {
  return {
    ...s,
    description: `${s.description} release ${n} adds quillwort sync`,
    tools: [...s.tools, `sync_calendar_${n}`],
    server_type: n % 2 === 0 ? 'python' : 'node',
    newest: `1.${n}.0`,
    latest: `1.${n}.0`,
    updated_at: new Date(Date.parse('2026-06-01T00:00:00.000Z') + n * 60_000).toISOString(),
  };
}

/**
 * A registry built from `base`, then changed through the delta: `added` new packages, revisions
 * of base packages, removals. Returns the bucket and the registry's packages now.
 */
async function changed(base: PackageSummary[], added: PackageSummary[], policy: typeof SMALL_POLICY & { delta_max: number }) {
  const bucket = await bucketWith(base, { policy });
  const now = new Map(base.map((s) => [s.name, s]));
  const steps: [string, PackageSummary | null][] = [
    [added[0]!.name, added[0]!],
    [base[3]!.name, revise(base[3]!, 1)],
    [base[10]!.name, null],
    [added[1]!.name, added[1]!],
    [base[3]!.name, revise(base[3]!, 2)],
    [base[17]!.name, revise(base[17]!, 3)],
    [base[25]!.name, null],
  ];
  for (const [name, summary] of steps) {
    const u = await bucket.applyDelta(name, summary);
    expect(u.compacted).toBe(false);
    if (summary) now.set(name, summary);
    else now.delete(name);
  }
  expect(bucket.root().delta?.count).toBe(6);
  return { bucket, now: [...now.values()], steps };
}

/** Queries that touch the delta's packages: their names, their new and old words, typos and prefixes of them. */
function queriesAbout(packages: PackageSummary[], seed: number): [string, SearchQueryOptions][] {
  const r = prng(seed);
  const options: SearchQueryOptions[] = [{}, { type: 'node' }, { type: 'python' }, { os: 'linux' }, { sort: 'recent' }, { sort: 'name', limit: 7 }];
  const out: [string, SearchQueryOptions][] = [];
  for (const [i, s] of packages.entries()) {
    const name = s.name.split('/')[1]!.split('-')[0]!;
    const o = options[i % options.length]!;
    const word = s.description.split(' ')[Math.floor(r() * 4)]!;
    out.push([name, o], [`${name} ${word}`, o], [name.slice(0, 4), o], [`${name.slice(0, 2)}z${name.slice(3)}`, o], [word, options[(i + 1) % options.length]!]);
  }
  out.push(['quillwort', {}], ['quillwort sync', {}], ['quillw', {}], ['quilwort', {}], ['sync_calendar_2', {}], ['calendar', { limit: 50 }], ['release', {}]);
  return out;
}

describe('search over a generation with a delta', () => {
  const corpus = makeCorpus({ count: 320, seed: 31 });
  const base = corpus.slice(0, 300);
  const added = corpus.slice(300);

  it('without paged fields, every query gives the hits, scores, filters and orders of the whole index over the registry now', async () => {
    const unpaged = { ...DEFAULT_POLICY, terms: { min: 3_000, target: 9_000, max: 2_000_000 }, page_threshold: 1_000_000, delta_max: 8 };
    const { bucket, now, steps } = await changed(base, added, unpaged);
    const reference = wholeIndex(now);
    const client = await open(bucket, { expansionBudget: 50_000_000 });
    const touched = steps.map(([name]) => [...base, ...added].find((s) => s.name === name)!);
    for (const [q, o] of queriesAbout([...touched, ...base.slice(40, 60)], 3)) {
      expectSameHits(await client.search(q, o), reference.search(q, o), `${q} ${JSON.stringify(o)}`);
    }
    // The removed packages are gone; the revised one is found by its new words only in its new version.
    const removed = base[10]!;
    expect((await client.search(removed.name.split('/')[1]!, { limit: 100 })).some((h) => h.name === removed.name)).toBe(false);
    const hits = await client.search('quillwort');
    expect(hits.map((h) => h.name).sort()).toEqual([base[3]!.name, base[17]!.name].sort());
    expect(hits.find((h) => h.name === base[3]!.name)!.newest).toBe('1.2.0');
  });

  it('with the small policy (paged fields, multi-level trees), queries about the delta agree with the whole index', async () => {
    const { bucket, now, steps } = await changed(base, added, { ...SMALL_POLICY, delta_max: 8 });
    expect([...bucket.files.values()].some((v) => v.startsWith('{"v":1,"t":"page"'))).toBe(true);
    const reference = wholeIndex(now);
    const client = await open(bucket);
    const touched = steps.map(([name]) => [...base, ...added].find((s) => s.name === name)!);
    let top1 = 0;
    let top5 = 0;
    let n = 0;
    for (const [q, o] of queriesAbout(touched, 4)) {
      const a = (await client.search(q, { ...o, limit: 5 })).map((h) => h.name);
      const b = reference.search(q, { ...o, limit: 5 }).map((h) => h.name);
      top1 += a[0] === b[0] ? 1 : 0;
      top5 += b.length === 0 ? Number(a.length === 0) : a.filter((x) => b.includes(x)).length / b.length;
      n++;
      // Never a removed package, never a base version of a changed one.
      for (const { score: _, ...hit } of await client.search(q, { ...o, limit: 20 })) expect(hit, hit.name).toEqual(now.find((s) => s.name === hit.name));
    }
    expect(top1 / n).toBeGreaterThanOrEqual(0.95);
    expect(top5 / n).toBeGreaterThanOrEqual(0.9);
  });

  it('an empty query lists the registry now, by name or by recency, with the filters applied', async () => {
    const { bucket, now } = await changed(base, added, { ...SMALL_POLICY, delta_max: 8 });
    const reference = wholeIndex(now);
    const client = await open(bucket, { maxListPages: 1_000 });
    for (const o of [{}, { sort: 'name' as const, limit: 400 }, { sort: 'recent' as const, limit: 30 }, { type: 'python', limit: 400 }, { os: 'linux' as const, sort: 'recent' as const, limit: 400 }]) {
      expectSameHits(await client.search('', o), reference.search('', o), JSON.stringify(o));
    }
  });

  it('after compaction (the delta past its hard cap), results still equal the whole index, and the root has no delta', async () => {
    // delta_max 1: the hard cap is 2, so the third announce compacts inline.
    const unpaged = { ...DEFAULT_POLICY, terms: { min: 3_000, target: 9_000, max: 2_000_000 }, page_threshold: 1_000_000, delta_max: 1 };
    const bucket = await bucketWith(base, { policy: unpaged });
    const now = new Map(base.map((s) => [s.name, s]));
    const steps: [string, PackageSummary | null][] = [
      [added[0]!.name, added[0]!],
      [base[3]!.name, revise(base[3]!, 1)],
      [base[10]!.name, null],
    ];
    const compacted: boolean[] = [];
    for (const [name, summary] of steps) {
      compacted.push((await bucket.applyDelta(name, summary)).compacted);
      if (summary) now.set(name, summary);
      else now.delete(name);
    }
    expect(compacted).toEqual([false, false, true]);
    expect(bucket.root().delta).toBeUndefined();
    const reference = wholeIndex([...now.values()]);
    const client = await open(bucket, { expansionBudget: 50_000_000 });
    for (const [q, o] of queriesAbout([base[3]!, base[10]!, added[0]!], 5)) expectSameHits(await client.search(q, o), reference.search(q, o), q);
  });
});

describe('document frequencies with a delta', () => {
  it("a word read only in part (paged) scores the delta's packages with its document frequency over the registry now", async () => {
    const corpus = makeCorpus({ count: 400, seed: 33 });
    const bucket = await bucketWith(corpus, { policy: { ...SMALL_POLICY, delta_max: 8 } });
    // A common word whose description field is paged: a first query reads only its best pages.
    const word = 'weather';
    const holders = corpus.filter((s) => s.description.split(' ').includes(word));
    expect(holders.length).toBeGreaterThan(60);
    const now = new Map(corpus.map((s) => [s.name, s]));
    // The delta removes four holders, revises two, and adds one whose name and description hold the word.
    for (const s of holders.slice(0, 4)) {
      await bucket.applyDelta(s.name, null);
      now.delete(s.name);
    }
    for (const [i, s] of holders.slice(4, 6).entries()) {
      const r = revise(s, i + 1);
      await bucket.applyDelta(s.name, r);
      now.set(s.name, r);
    }
    const fresh: PackageSummary = { ...corpus[0]!, name: `@zz/${word}-station`, display_name: 'Weather Station', description: `${word} station ${word} readings` };
    await bucket.applyDelta(fresh.name, fresh);
    now.set(fresh.name, fresh);
    expect(bucket.root().delta?.count).toBe(7);

    const client = await open(bucket);
    const hits = await client.search(word, { limit: 10 });
    expect(client.stats.keys.some((k) => bucket.files.get(k)?.startsWith('{"v":1,"t":"page"'))).toBe(true);
    const expected = wholeIndex([...now.values()]).search(word, { limit: 400 });
    const mine = hits.find((h) => h.name === fresh.name);
    expect(mine).toBeDefined();
    // BM25's idf sees the registry's document frequency now: base − removed and old versions + new ones.
    expect(mine!.score).toBeCloseTo(expected.find((h) => h.name === fresh.name)!.score, 9);
    for (const h of hits) expect(now.has(h.name), h.name).toBe(true);
  });
});

describe('what a client downloads of the delta', () => {
  const corpus = makeCorpus({ count: 220, seed: 32 });

  it('reads the delta file once per generation and never the display files of its packages; a refresh reads the new delta', async () => {
    const policy = { ...SMALL_POLICY, delta_max: 8 };
    const bucket = await bucketWith(corpus.slice(0, 200), { policy });
    const fresh = revise(corpus[5]!, 7);
    await bucket.applyDelta(fresh.name, fresh);
    const deltaKey = shardKey('bundle', bucket.root().delta!.file);
    const client = await open(bucket);
    const hits = await client.search('quillwort');
    expect(hits.map((h) => h.name)).toEqual([fresh.name]);
    expect(hits[0]!.newest).toBe('1.7.0');
    await client.search(fresh.name.split('/')[1]!.split('-')[0]!);
    await client.search('');
    expect(client.stats.keys.filter((k) => k === deltaKey)).toHaveLength(1);
    // Its summary came with the delta: no display file of the package was fetched (none exists).
    expect(client.stats.keys.some((k) => k.includes('/docs/') && bucket.files.get(k)?.includes(fresh.name) && bucket.files.get(k)!.includes('1.7.0'))).toBe(false);

    const another = corpus[210]!;
    await bucket.applyDelta(another.name, { ...another, description: `${another.description} zanthoxylum` });
    expect(await client.search('zanthoxylum')).toEqual([]);
    expect(await client.refresh()).toBe(true);
    expect((await client.search('zanthoxylum')).map((h) => h.name)).toEqual([another.name]);
    expect(client.stats.keys.filter((k) => k === shardKey('bundle', bucket.root().delta!.file))).toHaveLength(1);
  });

  it('a missing or malformed delta file is registry_unreachable, like any other piece', async () => {
    const bucket = await bucketWith(corpus.slice(0, 200), { policy: { ...SMALL_POLICY, delta_max: 8 } });
    await bucket.applyDelta(corpus[210]!.name, corpus[210]!);
    const key = shardKey('bundle', bucket.root().delta!.file);
    const good = bucket.files.get(key)!;
    bucket.files.set(key, '{"v":1,"t":"delta","e":[["@a/b","!!",null,null,null]]}');
    await expectError((await open(bucket)).search('server'), 'registry_unreachable');
    await expectError((await open(bucket)).search(''), 'registry_unreachable');
    bucket.files.delete(key);
    await expectError((await open(bucket)).search('server'), 'registry_unreachable');
    bucket.files.set(key, good);
    expect((await (await open(bucket)).search(corpus[210]!.name.split('/')[1]!, { limit: 50 })).some((h) => h.name === corpus[210]!.name)).toBe(true);
  });
});
