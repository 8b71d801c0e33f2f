/**
 * The compactor (`src/search/write/compact.ts`, `shelf compact`): off the announce path, it merges
 * a delta that holds `delta_max` packages into the base trees, giving the build from scratch;
 * with nothing to do it writes nothing; racing announces, it loses none of their packages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { compact } from '../../src/registry/compact.ts';
import { compactStore } from '../../src/search/write/compact.ts';
import { applyToStore, readShardedCatalog, readShardedRoot, rebuildToStore } from '../../src/search/write/publish.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { makeCorpus, SMALL_POLICY } from './corpus.ts';
import { bucketWith, expectError, expectSameGeneration, MemoryBucket, reachable } from './helpers.ts';

const policy = { ...SMALL_POLICY, delta_max: 4 };
const corpus = makeCorpus({ count: 70, seed: 53 });
const base = corpus.slice(0, 50);
const fast = { maxAttempts: 20, baseDelayMs: 1, maxDelayMs: 5 };

/** A store holding a build of `base` and then `announced` through the delta. */
async function storeWith(announced: PackageSummary[]): Promise<MemoryStore> {
  const store = new MemoryStore();
  await rebuildToStore(store, 'bundle', base, { policy });
  for (const s of announced) await applyToStore(store, 'bundle', s.name, s);
  return store;
}

/** Every file of the bundle index, as a bucket the generation helpers read. */
async function snapshot(store: ObjectStore): Promise<MemoryBucket> {
  const bucket = new MemoryBucket();
  for (const o of await store.list('v1/search/bundles/')) bucket.files.set(o.key, new TextDecoder().decode((await store.get(o.key))!.body));
  return bucket;
}

/** Every key and ETag of a store (what "writes nothing" compares). */
async function etags(store: ObjectStore): Promise<string[]> {
  return (await store.list('')).map((o) => `${o.key} ${o.etag}`);
}

const names = async (store: ObjectStore) => (await readShardedCatalog(store, 'bundle', (await readShardedRoot(store, 'bundle'))!.root)).map((s) => s.name);

describe('the compactor', () => {
  it('compacts a delta holding delta_max packages into the base trees: the result equals a build from scratch, and it writes only files the new root reaches', async () => {
    const added = corpus.slice(50, 54);
    const store = await storeWith(added);
    expect((await readShardedRoot(store, 'bundle'))!.root.delta!.count).toBe(4);
    const result = await compactStore(store, 'bundle');
    expect(result).toMatchObject({ kind: 'bundle', compacted: true, packages: 4, attempts: 1 });
    expect(result.written).toBeGreaterThan(0);
    const bucket = await snapshot(store);
    expect(bucket.root().delta).toBeUndefined();
    expectSameGeneration(bucket, await bucketWith([...base, ...added], { policy }));
    // Files written that the new root does not reach would be garbage from the start.
    const before = await snapshot(await storeWith(added));
    const reached = reachable(bucket, bucket.root());
    for (const key of bucket.files.keys()) if (!before.files.has(key) && !key.endsWith('/root.json')) expect(reached.has(key), key).toBe(true);
  });

  it('with nothing to do writes nothing: no index, no delta, or a delta below delta_max (unless forced)', async () => {
    const empty = new MemoryStore();
    expect(await compactStore(empty, 'bundle')).toMatchObject({ compacted: false, skipped: 'no_index', written: 0 });
    expect(await etags(empty)).toEqual([]);

    const clean = await storeWith([]);
    const cleanBefore = await etags(clean);
    expect(await compactStore(clean, 'bundle')).toMatchObject({ compacted: false, skipped: 'no_delta', packages: 0, written: 0 });
    expect(await etags(clean)).toEqual(cleanBefore);

    const below = await storeWith(corpus.slice(50, 53));
    const belowBefore = await etags(below);
    expect(await compactStore(below, 'bundle')).toMatchObject({ compacted: false, skipped: 'below_threshold', packages: 3, written: 0 });
    expect(await compactStore(below, 'bundle', { force: false })).toMatchObject({ skipped: 'below_threshold' });
    expect(await etags(below)).toEqual(belowBefore);

    // --force compacts any delta, to the same generation as a build.
    expect(await compactStore(below, 'bundle', { force: true })).toMatchObject({ compacted: true, packages: 3 });
    expectSameGeneration(await snapshot(below), await bucketWith([...base, ...corpus.slice(50, 53)], { policy }));
  });

  it('an announce that commits while the compactor works makes it start again from the new root: both packages present, the root consistent', async () => {
    const store = await storeWith(corpus.slice(50, 54));
    const late = corpus[60]!;
    let raced = 0;
    const result = await compactStore(store, 'bundle', {
      retry: fast,
      beforeCommit: async () => {
        if (raced++ === 0) expect((await applyToStore(store, 'bundle', late.name, late)).changed).toBe(true);
      },
    });
    expect(result).toMatchObject({ compacted: true, packages: 5, attempts: 2 });
    const { root } = (await readShardedRoot(store, 'bundle'))!;
    expect(root.delta).toBeUndefined();
    expect(root.catalog.count).toBe(55);
    expect(await names(store)).toContain(late.name);
    expectSameGeneration(await snapshot(store), await bucketWith([...base, ...corpus.slice(50, 54), late], { policy }));
  });

  it('a compactor that commits while an announce works makes the announce start again: its package lands in a new delta over the compacted base', async () => {
    const store = await storeWith(corpus.slice(50, 54));
    const late = corpus[61]!;
    let raced = 0;
    const result = await applyToStore(store, 'bundle', late.name, late, {
      retry: fast,
      beforeCommit: async () => {
        if (raced++ === 0) expect((await compactStore(store, 'bundle')).compacted).toBe(true);
      },
    });
    expect(result).toMatchObject({ changed: true, attempts: 2 });
    const { root } = (await readShardedRoot(store, 'bundle'))!;
    expect(root.delta!.count).toBe(1);
    expect(root.delta!.base.catalog_count).toBe(54);
    expect(await names(store)).toEqual([...base, ...corpus.slice(50, 54), late].map((s) => s.name).sort());
    expect(await compactStore(store, 'bundle', { force: true })).toMatchObject({ compacted: true, packages: 1 });
    expectSameGeneration(await snapshot(store), await bucketWith([...base, ...corpus.slice(50, 54), late], { policy }));
  });

  it('gives up with write_contention when announces win every attempt, and every announced package is still there', async () => {
    const store = await storeWith(corpus.slice(50, 54));
    const late = corpus.slice(62, 64);
    let i = 0;
    const racing = compactStore(store, 'bundle', {
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      beforeCommit: async () => {
        const s = late[i++]!;
        await applyToStore(store, 'bundle', s.name, s);
      },
    });
    await expectError(racing, 'write_contention');
    const { root } = (await readShardedRoot(store, 'bundle'))!;
    expect(root.delta!.count).toBe(6);
    expect(await names(store)).toEqual([...base, ...corpus.slice(50, 54), ...late].map((s) => s.name).sort());
  });
});

describe('the hard cap on a store', () => {
  it('announces append to the delta up to twice delta_max; the one past it compacts inline', async () => {
    const store = await storeWith([]);
    const added = corpus.slice(50, 59);
    for (const [i, s] of added.entries()) {
      const before = await etags(store);
      await applyToStore(store, 'bundle', s.name, s);
      const { root } = (await readShardedRoot(store, 'bundle'))!;
      if (i < 8) {
        expect(root.delta!.count).toBe(i + 1);
        // Below the cap: one new delta file and the root, nothing else.
        const now = await etags(store);
        expect(now.filter((e) => !before.includes(e)).map((e) => e.split(' ')[0]!).filter((k) => !k.endsWith('/root.json'))).toHaveLength(1);
      } else expect(root.delta).toBeUndefined();
    }
    expectSameGeneration(await snapshot(store), await bucketWith([...base, ...added], { policy }));
  });
});

describe('shelf compact', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('reports each kind, compacts a due delta, leaves one below the threshold unless --force, and refuses a bad --kind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelf-compact-'));
    dirs.push(dir);
    const store = new FsStore(dir, { durable: false });
    await rebuildToStore(store, 'bundle', base, { policy });
    for (const s of corpus.slice(50, 52)) await applyToStore(store, 'bundle', s.name, s);
    const run = async (argv: string[]) => {
      let stdout = '';
      let stderr = '';
      const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), env: { SHELF_DATA_DIR: dir }, isTTY: { stdout: false, stderr: false } });
      return { code, stdout, stderr };
    };
    const below = await run(['compact']);
    expect(below.code).toBe(0);
    expect(below.stdout).toContain('bundles: 2 packages in the delta, below the threshold');
    expect(below.stdout).toContain('skills: no search index yet');
    expect((await readShardedRoot(store, 'bundle'))!.root.delta!.count).toBe(2);

    for (const s of corpus.slice(52, 54)) await applyToStore(store, 'bundle', s.name, s);
    const due = await run(['compact', '--kind', 'bundle', '--json']);
    expect(due.code).toBe(0);
    const report = JSON.parse(due.stdout) as Awaited<ReturnType<typeof compact>>;
    expect(report.kinds).toEqual([expect.objectContaining({ kind: 'bundle', compacted: true, packages: 4, attempts: 1 })]);
    expect((await readShardedRoot(store, 'bundle'))!.root.delta).toBeUndefined();
    expect((await run(['compact', '--kind', 'bundle'])).stdout).toBe('bundles: nothing to compact\n');

    await applyToStore(store, 'bundle', corpus[54]!.name, corpus[54]!);
    const forced = await run(['compact', '--force', '--kind', 'bundle']);
    expect(forced.stdout).toMatch(/^bundles: compacted 1 packages into the base trees \(\d+ files written, \d+ ms\)$/m);
    expect((await readShardedRoot(store, 'bundle'))!.root.delta).toBeUndefined();

    const bad = await run(['compact', '--kind', 'widget']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kind must be bundle or skill');
    const help = await run(['compact', '--help']);
    expect(help.stdout).toContain('Usage: shelf compact');
  });
});
