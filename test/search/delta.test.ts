import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { compactDelta, deltaHardCap, readDelta, updateDelta } from '../../src/search/write/delta.ts';
import { shardedRootKey, shardKey } from '../../src/core/paths.ts';
import { DeltaFileSchema, type ShardedRoot } from '../../src/search/format/wire.ts';
import { applyToStore, readShardedCatalog, readShardedRoot, rebuildToStore } from '../../src/search/write/publish.ts';
import { updateShardedIndex } from '../../src/search/write/update.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { makeCorpus, prng, SMALL_POLICY } from './corpus.ts';
import { MAX_DELTA } from '../../src/search/format/policy.ts';
import { bucketWith, expectError, expectSameGeneration, MemoryBucket, reachable } from './helpers.ts';

const policy = { ...SMALL_POLICY, delta_max: 6 };

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

/** The statistics a build from scratch of `summaries` has. */
async function statsOf(summaries: PackageSummary[]) {
  const { root } = await buildShardedIndex('bundle', summaries, { policy });
  return { document_count: root.search.document_count, field_length_total: root.search.field_length_total, count: root.catalog.count };
}

const stats = (root: ShardedRoot) => ({ document_count: root.search.document_count, field_length_total: root.search.field_length_total, count: root.catalog.count });

describe('announces through the delta', () => {
  const corpus = makeCorpus({ count: 140, seed: 41 });
  const base = corpus.slice(0, 120);

  it('an announce writes one delta file and the root, leaves the base trees alone, and keeps whole-registry statistics exact', async () => {
    const bucket = await bucketWith(base, { policy });
    const before = bucket.root();
    const added = corpus[120]!;
    const revised = revise(base[7]!, 1);
    const u1 = await bucket.applyDelta(added.name, added);
    const u2 = await bucket.applyDelta(revised.name, revised);
    const u3 = await bucket.applyDelta(base[9]!.name, null);
    for (const u of [u1, u2, u3]) {
      expect(u.changed).toBe(true);
      expect(u.compacted).toBe(false);
      expect([...u.files.keys()]).toEqual([shardKey('bundle', u.root.delta!.file)]);
    }
    const root = bucket.root();
    expect(root.search.terms).toEqual(before.search.terms);
    expect(root.search.pairs).toEqual(before.search.pairs);
    expect(root.catalog.by_name).toEqual(before.catalog.by_name);
    expect(root.delta!.count).toBe(3);
    expect(root.delta!.base).toEqual({ document_count: 120, field_length_total: before.search.field_length_total, catalog_count: 120 });
    const effective = [...base.filter((s) => s.name !== base[9]!.name).map((s) => (s.name === revised.name ? revised : s)), added];
    expect(stats(root)).toEqual(await statsOf(effective));

    const entries = await readDelta(root, bucket.read);
    expect(entries.map((e) => e[0])).toEqual([added.name, revised.name, base[9]!.name].sort());
    const byName = new Map(entries.map((e) => [e[0], e]));
    // A package the base did not hold has no base terms; a new version and a removal keep the base version's.
    expect(byName.get(added.name)![4]).toBeNull();
    expect(byName.get(revised.name)![2]).toEqual(revised);
    expect(Object.values(byName.get(revised.name)![4]!).flat()).not.toContain('sync');
    expect(byName.get(base[9]!.name)![2]).toBeNull();
    expect(byName.get(base[9]!.name)![3]).toBeNull();
    expect(Object.keys(byName.get(base[9]!.name)![4]!).length).toBeGreaterThan(0);
    expect(DeltaFileSchema.safeParse(JSON.parse(bucket.files.get(shardKey('bundle', root.delta!.file))!)).success).toBe(true);
  });

  it('a second announce of a package in the delta keeps its base version; removing a package only the delta holds drops its entry', async () => {
    const bucket = await bucketWith(base, { policy });
    const first = revise(base[3]!, 1);
    await bucket.applyDelta(first.name, first);
    const baseTerms = (await readDelta(bucket.root(), bucket.read))[0]![4];
    await bucket.applyDelta(first.name, revise(base[3]!, 2));
    const entries = await readDelta(bucket.root(), bucket.read);
    expect(entries).toHaveLength(1);
    expect(entries[0]![4]).toEqual(baseTerms);
    expect(entries[0]![2]).toEqual(revise(base[3]!, 2));

    const added = corpus[121]!;
    await bucket.applyDelta(added.name, added);
    expect(bucket.root().delta!.count).toBe(2);
    await bucket.applyDelta(added.name, null);
    expect(bucket.root().delta!.count).toBe(1);
    expect(stats(bucket.root())).toEqual(await statsOf(base.map((s, i) => (i === 3 ? revise(s, 2) : s))));
  });

  it('announces below the hard cap (twice delta_max) never compact; the one past it compacts inline, and the base then equals a build from scratch, in any order', async () => {
    const ops: [string, PackageSummary | null][] = [
      ...base.filter((_, i) => i % 17 === 0).map((s, i) => [s.name, revise(s, i)] as [string, PackageSummary]),
      ...base.filter((_, i) => i % 23 === 5).map((s) => [s.name, null] as [string, null]),
      ...corpus.slice(120, 129).map((s) => [s.name, s] as [string, PackageSummary]),
    ];
    const final = new Map(base.map((s) => [s.name, s as PackageSummary | null]));
    for (const [name, summary] of ops) final.set(name, summary);
    const effective = [...final.values()].filter((s): s is PackageSummary => s !== null);
    const scratch = await bucketWith(effective, { policy });
    for (const seed of [1, 2]) {
      const bucket = await bucketWith(base, { policy });
      const compactions: number[] = [];
      for (const [i, [name, summary]] of shuffled(ops, seed).entries()) {
        const u = await bucket.applyDelta(name, summary);
        if (u.compacted) {
          compactions.push(i);
          // It writes only files the new generation reaches, each once.
          const reached = reachable(bucket, u.root);
          for (const key of u.files.keys()) expect(reached.has(key), key).toBe(true);
        }
        expect(bucket.root().delta?.count ?? 0).toBeLessThanOrEqual(deltaHardCap(policy));
        expect(stats(bucket.root()).document_count).toBe(stats(bucket.root()).count);
      }
      // 22 announces with delta_max 6, so a hard cap of 12: the 13th compacts, nine are left in the delta.
      expect(deltaHardCap(policy)).toBe(12);
      expect(ops).toHaveLength(22);
      expect(compactions).toEqual([12]);
      const root = bucket.root();
      expect(root.delta!.count).toBe(9);
      expect(stats(root)).toEqual(stats(scratch.root()));
      const compacted = await compactDelta(root, bucket.read);
      bucket.publish(compacted.root, compacted.files);
      expectSameGeneration(bucket, scratch);
    }
  });

  it('announcing the summary the index already shows changes nothing', async () => {
    const bucket = await bucketWith(base, { policy });
    expect((await bucket.applyDelta(base[0]!.name, base[0]!)).changed).toBe(false);
    const next = revise(base[0]!, 4);
    await bucket.applyDelta(next.name, next);
    const u = await bucket.applyDelta(next.name, next);
    expect(u.changed).toBe(false);
    expect(u.files.size).toBe(0);
    expect((await bucket.applyDelta(corpus[130]!.name, null)).changed).toBe(false);
  });

  it('without delta_max every announce updates the base trees, as before', async () => {
    const bucket = await bucketWith(base, { policy: SMALL_POLICY });
    const next = revise(base[2]!, 3);
    const u = await bucket.applyDelta(next.name, next);
    expect(u.compacted).toBe(false);
    expect(bucket.root().delta).toBeUndefined();
    expectSameGeneration(bucket, await bucketWith(base.map((s, i) => (i === 2 ? next : s)), { policy: SMALL_POLICY }));
  });
});

describe('bad input and broken deltas', () => {
  const corpus = makeCorpus({ count: 40, seed: 43 });

  it('refuses an invalid delta_max, naming the option', async () => {
    await expectError(buildShardedIndex('bundle', corpus, { policy: { ...SMALL_POLICY, delta_max: -1 } }), 'invalid_argument');
    await expectError(buildShardedIndex('bundle', corpus, { policy: { ...SMALL_POLICY, delta_max: 1000 } }), 'invalid_argument');
    await buildShardedIndex('bundle', corpus, { policy: { ...SMALL_POLICY, delta_max: 1.5 } }).then(
      () => expect.unreachable(),
      (e: Error) => expect(e.message).toContain('policy.delta_max'),
    );
  });

  it('the hard cap is twice delta_max, never past MAX_DELTA, and 0 without a delta', () => {
    expect(deltaHardCap({ ...SMALL_POLICY, delta_max: 8 })).toBe(16);
    expect(deltaHardCap({ ...SMALL_POLICY, delta_max: 40 })).toBe(MAX_DELTA);
    expect(deltaHardCap({ ...SMALL_POLICY, delta_max: 0 })).toBe(0);
    expect(deltaHardCap(SMALL_POLICY)).toBe(0);
  });

  it('the base update refuses a root with a delta (it would drop it)', async () => {
    const bucket = await bucketWith(corpus.slice(0, 30), { policy });
    await bucket.applyDelta(corpus[30]!.name, corpus[30]!);
    await expectError(updateShardedIndex(bucket.root(), corpus[31]!.name, corpus[31]!, bucket.read), 'invalid_argument');
  });

  it('a missing or malformed delta file is an internal error, and a bad summary is refused before anything is read', async () => {
    const bucket = await bucketWith(corpus.slice(0, 30), { policy });
    await bucket.applyDelta(corpus[30]!.name, corpus[30]!);
    const key = shardKey('bundle', bucket.root().delta!.file);
    const good = bucket.files.get(key)!;
    bucket.files.set(key, '{"v":1,"t":"delta","e":[["x"]]}\n');
    const fresh = new MemoryBucket();
    for (const [k, v] of bucket.files) fresh.files.set(k, v);
    await expectError(updateDelta(fresh.root(), corpus[31]!.name, corpus[31]!, fresh.read), 'internal_error');
    fresh.files.delete(key);
    await expectError(updateDelta(fresh.root(), corpus[31]!.name, corpus[31]!, fresh.read), 'internal_error');
    bucket.files.set(key, good);
    const reads = bucket.reads;
    await expectError(updateDelta(bucket.root(), corpus[31]!.name, { ...corpus[31]!, name: corpus[32]!.name }, bucket.read), 'invalid_argument');
    expect(bucket.reads).toBe(reads);
  });
});

describe('the delta on a store', () => {
  const corpus = makeCorpus({ count: 60, seed: 47 });
  const dirs: string[] = [];
  afterEach(async () => {
    await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  });
  async function store(): Promise<FsStore> {
    const dir = await mkdtemp(join(tmpdir(), 'shelf-delta-'));
    dirs.push(dir);
    return new FsStore(dir, { durable: false });
  }
  async function snapshot(s: ObjectStore): Promise<MemoryBucket> {
    const bucket = new MemoryBucket();
    for (const o of await s.list('v1/search/bundles/')) bucket.files.set(o.key, new TextDecoder().decode((await s.get(o.key))!.body));
    return bucket;
  }

  it('concurrent announces all land in the delta or its compaction, and compacting gives the build of all of them', async () => {
    const s = await store();
    await rebuildToStore(s, 'bundle', corpus.slice(0, 40), { policy });
    const fast = { maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 };
    const results = await Promise.all(corpus.slice(40, 50).map((p) => applyToStore(s, 'bundle', p.name, p, { retry: fast })));
    expect(results.every((r) => r.changed)).toBe(true);
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    const { root } = (await readShardedRoot(s, 'bundle'))!;
    expect(root.catalog.count).toBe(50);
    expect((await readShardedCatalog(s, 'bundle', root)).map((p) => p.name)).toEqual(corpus.slice(0, 50).map((p) => p.name).sort());
    const bucket = await snapshot(s);
    const compacted = await compactDelta(root, bucket.read);
    bucket.publish(compacted.root, compacted.files);
    expectSameGeneration(bucket, await bucketWith(corpus.slice(0, 50), { policy }));
  });

  it('a crash before the root swap leaves the previous root and delta in place', async () => {
    const s = await store();
    await rebuildToStore(s, 'bundle', corpus.slice(0, 40), { policy });
    await applyToStore(s, 'bundle', corpus[40]!.name, corpus[40]!);
    const before = (await s.get(shardedRootKey('bundle')))!;
    const crash = applyToStore(s, 'bundle', corpus[41]!.name, corpus[41]!, {
      beforeCommit: () => {
        throw new Error('crash');
      },
    });
    await expect(crash).rejects.toThrow('crash');
    const after = (await s.get(shardedRootKey('bundle')))!;
    expect(after.etag).toBe(before.etag);
    const { root } = (await readShardedRoot(s, 'bundle'))!;
    expect((await readShardedCatalog(s, 'bundle', root)).map((p) => p.name)).toContain(corpus[40]!.name);
    expect((await readShardedCatalog(s, 'bundle', root)).map((p) => p.name)).not.toContain(corpus[41]!.name);
  });
});
