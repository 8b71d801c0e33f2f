import { describe, expect, it } from 'vitest';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { contentName } from '../../src/search/format/hash.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { ShardFileSchema, type DictEntryJson } from '../../src/search/format/wire.ts';
import type { ShardingPolicy } from '../../src/search/format/policy.ts';
import { updateShardedIndex } from '../../src/search/write/update.ts';
import { makeCorpus, prng, SMALL_POLICY } from './corpus.ts';
import { bucketWith, expectError, expectSameGeneration, MemoryBucket, reachable } from './helpers.ts';

const policy = SMALL_POLICY;

/** A new version of a package: one more tool, a later date, another description. */
function revise(s: PackageSummary, n: number): PackageSummary {
  return {
    ...s,
    description: `${s.description} release ${n} adds calendar sync`,
    tools: [...s.tools, `sync_calendar_${n}`],
    newest: `1.${n}.0`,
    latest: `1.${n}.0`,
    updated_at: new Date(Date.parse(s.updated_at) + n * 60_000).toISOString(),
  };
}

function shuffled<T>(items: T[], seed: number): T[] {
  const r = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}


describe('incremental updates equal a build from scratch', () => {
  const corpus = makeCorpus({ count: 160, seed: 3 });

  it('adding every package one by one, in two different orders, gives the build of all of them', async () => {
    const scratch = await bucketWith(corpus, { policy });
    // The scenario is only meaningful if the trees have inner levels and some fields are paged.
    const root = scratch.root();
    expect(root.search.terms.height).toBeGreaterThanOrEqual(2);
    expect(root.catalog.by_name.height).toBeGreaterThanOrEqual(2);
    expect([...scratch.files.values()].some((v) => v.includes('"t":"page"'))).toBe(true);

    for (const seed of [1, 2]) {
      const bucket = await bucketWith([], { policy });
      for (const s of shuffled(corpus, seed)) await bucket.apply(s.name, s);
      expectSameGeneration(bucket, scratch);
    }
  });

  it('with larger pages after each head page (later_pages), adding and removing packages one by one gives the build', async () => {
    const headed = { ...policy, later_pages: { min: 1_500, target: 3_500, max: 6_000 } };
    const scratch = await bucketWith(corpus, { policy: headed });
    const pages = [...scratch.files.values()].filter((v) => v.includes('"t":"page"'));
    // The policy took effect: some page is larger than a head page may be.
    expect(pages.some((v) => v.length > policy.pages.max)).toBe(true);
    const bucket = await bucketWith([], { policy: headed });
    for (const s of shuffled(corpus, 3)) await bucket.apply(s.name, s);
    expectSameGeneration(bucket, scratch);
    for (const s of shuffled(corpus.slice(0, 60), 4)) await bucket.apply(s.name, null);
    expectSameGeneration(bucket, await bucketWith(corpus.slice(60), { policy: headed }));
  });

  it('replacing and removing packages in any order converges to the same files', async () => {
    const base = corpus.slice(0, 120);
    const revised = base.map((s, i) => (i % 3 === 0 ? revise(s, i) : s));
    // Each package gets at most one operation, so that any order has the same outcome.
    const removed = new Set(base.filter((_, i) => i % 3 === 1 && i % 2 === 0).map((s) => s.name));
    const added = corpus.slice(120);
    const final = [...revised.filter((s) => !removed.has(s.name)), ...added];
    const scratch = await bucketWith(final, { policy });

    const ops: [string, PackageSummary | null][] = [
      ...revised.filter((_, i) => i % 3 === 0).map((s) => [s.name, s] as [string, PackageSummary]),
      ...[...removed].map((n) => [n, null] as [string, null]),
      ...added.map((s) => [s.name, s] as [string, PackageSummary]),
    ];
    for (const seed of [5, 6]) {
      const bucket = await bucketWith(base, { policy });
      for (const [name, summary] of shuffled(ops, seed)) await bucket.apply(name, summary);
      expectSameGeneration(bucket, scratch);
    }
  });

  it('a word that grows past the paging threshold is paged, and folds back inline when it shrinks, as a build would', async () => {
    const base = corpus.slice(0, 60);
    const extra = corpus.slice(60, 110).map((s) => ({ ...s, description: `${s.description} zorbular` }));
    const bucket = await bucketWith(base, { policy });
    const pagedFields = async (b: MemoryBucket): Promise<number> => {
      // The dictionary lists a paged term as [term, {field: [df, head, bytes]}].
      const infos: unknown[] = [];
      for (const k of reachable(b, b.root())) {
        const v = b.files.get(k);
        if (v?.includes('"t":"dict"')) for (const e of (JSON.parse(v) as { e: DictEntryJson[] }).e) infos.push(...e[2]);
      }
      if (b.root().search.terms.height === 1) for (const e of b.root().search.terms.top as DictEntryJson[]) infos.push(...e[2]);
      const hit = infos.find((i) => Array.isArray(i) && i[0] === 'zorbular') as [string, Record<string, unknown>] | undefined;
      return hit ? Object.keys(hit[1]).length : 0;
    };
    let sawPaged = false;
    for (const [i, s] of extra.entries()) {
      await bucket.apply(s.name, s);
      if (i % 10 === 9) expectSameGeneration(bucket, await bucketWith([...base, ...extra.slice(0, i + 1)], { policy }));
      if ((await pagedFields(bucket)) > 0) sawPaged = true;
    }
    expect(sawPaged).toBe(true);
    for (const [i, s] of extra.entries()) {
      await bucket.apply(s.name, null);
      if (i % 10 === 9) expectSameGeneration(bucket, await bucketWith([...base, ...extra.slice(i + 1)], { policy }));
    }
    expect(await pagedFields(bucket)).toBe(0);
    expectSameGeneration(bucket, await bucketWith(base, { policy }));
  });

  it('announcing the same summary again changes nothing', async () => {
    const bucket = await bucketWith(corpus.slice(0, 50), { policy });
    const before = new Map(bucket.files);
    const u = await bucket.apply(corpus[7]!.name, corpus[7]!);
    expect(u.changed).toBe(false);
    expect(u.files.size).toBe(0);
    expect(bucket.files).toEqual(before);
  });

  it('removing a package the index does not hold changes nothing', async () => {
    const bucket = await bucketWith(corpus.slice(0, 50), { policy });
    const u = await updateShardedIndex(bucket.root(), '@nobody/nothing', null, bucket.read);
    expect(u.changed).toBe(false);
    expect(u.previous).toBeNull();
    expect(u.root).toEqual(bucket.root());
  });
});

describe('files are bounded and content-addressed', () => {
  const corpus = makeCorpus({ count: 400, seed: 9 });

  it('every file stays within its level bound (a file over it holds one entry), and is named by its content hash', async () => {
    const gen = await buildShardedIndex('bundle', corpus, { policy });
    const bound: Record<string, number> = {
      terms: policy.terms.max,
      dict: policy.dict.max,
      suffixes: policy.dict.max,
      refs: policy.refs.max,
      page: Math.max(policy.pages.max, (policy as ShardingPolicy).later_pages?.max ?? 0),
      catalog: policy.catalog.max,
    };
    let checked = 0;
    for (const [key, content] of gen.files) {
      if (key.includes('/docs/')) {
        const [, id, hash] = /\/docs\/([0-9a-z]+)-([0-9a-f]{10})\.json$/.exec(key)!;
        expect(contentName(content).slice(0, 10)).toBe(hash);
        expect(id!.length).toBeGreaterThan(0);
        continue;
      }
      expect(key).toMatch(/\/shards\/[0-9a-f]{20}\.json$/);
      expect(key).toContain(`/shards/${contentName(content)}.json`);
      const file = ShardFileSchema.parse(JSON.parse(content));
      // A heads file holds one head page per paged field of its term.
      const max = file.t === 'heads' ? file.e.length * policy.pages.max : bound[file.t]!;
      if (file.e.length > 1 || file.t === 'heads') expect(content.length, `${file.t} ${key}`).toBeLessThanOrEqual(max + 16);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
    expect(JSON.stringify(gen.root).length).toBeLessThan(4 * policy.root_max);
  });

  it('an update rewrites the files around the package and keeps every other name', async () => {
    const bucket = await bucketWith(corpus, { policy });
    const before = reachable(bucket, bucket.root());
    const target = corpus[123]!;
    const u = await bucket.apply(target.name, revise(target, 1));
    const after = reachable(bucket, bucket.root());
    const kept = [...before].filter((k) => after.has(k)).length;
    const added = [...after].filter((k) => !before.has(k));
    // Every new file is one the update produced; most of the generation is shared.
    for (const k of added) expect(u.files.has(k)).toBe(true);
    expect(kept / before.size).toBeGreaterThan(0.8);
    // The changed files really changed: none of the new names existed before.
    for (const k of u.files.keys()) if (k.includes('/shards/')) expect(before.has(k)).toBe(false);
  });

  it('the work of one update does not grow with the registry', async () => {
    const small = await bucketWith(corpus.slice(0, 100), { policy });
    const large = await bucketWith(corpus, { policy });
    const target = corpus[42]!;
    small.reads = 0;
    large.reads = 0;
    const a = await small.apply(target.name, revise(target, 2));
    const b = await large.apply(target.name, revise(target, 2));
    // Four times the packages: about the same number of files read and written (same terms),
    // never proportional to the registry.
    expect(b.files.size).toBeLessThan(a.files.size * 2 + 10);
    expect(large.reads).toBeLessThan(small.reads * 2 + 20);
    expect(b.files.size).toBeLessThan(large.files.size / 10);
  });
});

describe('bad input is refused with a stable code and produces nothing', () => {
  const corpus = makeCorpus({ count: 30, seed: 4 });

  it('refuses a root that is not a sharded root', async () => {
    const bucket = await bucketWith(corpus, { policy });
    await expectError(updateShardedIndex({ schema_version: 1 }, corpus[0]!.name, corpus[0]!, bucket.read), 'invalid_argument');
  });

  it('refuses a summary of another package, an invalid name and an invalid summary', async () => {
    const bucket = await bucketWith(corpus, { policy });
    const root = bucket.root();
    await expectError(updateShardedIndex(root, corpus[1]!.name, corpus[0]!, bucket.read), 'invalid_argument');
    await expectError(updateShardedIndex(root, 'not a name', null, bucket.read), 'invalid_name');
    await expectError(updateShardedIndex(root, '@Acme/Echo', null, bucket.read), 'invalid_argument');
    await expectError(updateShardedIndex(root, corpus[0]!.name, { ...corpus[0]!, updated_at: 'yesterday' }, bucket.read), 'invalid_argument');
    await expectError(updateShardedIndex(root, corpus[0]!.name, { ...corpus[0]!, kind: 'skill' }, bucket.read), 'invalid_argument');
  });

  it('reports a file the root references but the bucket lacks as an internal error', async () => {
    const bucket = await bucketWith(corpus, { policy });
    const root = bucket.root();
    const missing = [...reachable(bucket, root)].find((k) => k.includes('/shards/'))!;
    const files = new Map(bucket.files);
    bucket.files.delete(missing);
    await expectError(updateShardedIndex(root, corpus[2]!.name, revise(corpus[2]!, 3), bucket.read), 'internal_error');
    files.delete(missing);
    expect(bucket.files).toEqual(files);
  });

  it('refuses a build with duplicate names, an invalid policy or an unknown kind', async () => {
    await expectError(buildShardedIndex('bundle', [corpus[0]!, corpus[0]!]), 'invalid_argument');
    await expectError(buildShardedIndex('bundle', corpus, { policy: { ...policy, terms: { min: 10, target: 5, max: 20 } } }), 'invalid_argument');
    await expectError(buildShardedIndex('plugin' as 'bundle', corpus), 'invalid_argument');
  });

  it('a root written by the build is accepted as is', async () => {
    const bucket = await bucketWith(corpus, { policy });
    const raw = JSON.parse(bucket.files.get(shardedRootKey('bundle'))!) as unknown;
    const u = await updateShardedIndex(raw, corpus[3]!.name, revise(corpus[3]!, 4), bucket.read);
    expect(u.changed).toBe(true);
    expect(u.previous?.name).toBe(corpus[3]!.name);
  });
});
