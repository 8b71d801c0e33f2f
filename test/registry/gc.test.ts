/**
 * `shelf gc` (src/registry/gc.ts): deletes exactly the search files no root reaches once they
 * have been unreachable for the grace period, never a reachable one, not one a writer brought
 * back, and survives a crash midway. The clocks are the store's (`lastModified`) and the
 * collector's (`now`), both driven by the test. Concurrent announces are in
 * test/consistency/concurrency.test.ts (the burst runs while the collector loops).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shelf as runShelf } from '../cli/helpers.ts';
import { check } from '../../src/registry/check.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { gcStateKey, searchPrefix, shardedRootKey } from '../../src/core/paths.ts';
import { DEFAULT_GC_GRACE_MS, gc, GcStateSchema } from '../../src/registry/gc.ts';
import { reachableKeys } from '../../src/search/write/reach.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { applyToStore, readShardedRoot, writeShardFiles } from '../../src/search/write/publish.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { readStoredJson } from '../../src/store/json-documents.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { makeCorpus, SMALL_POLICY } from '../search/corpus.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

const HOUR = 3_600_000;
/** The committed JSON Schema of gc.json (index-schema/), which every state gc writes must meet. */
const gcStateFileSchema = new Ajv2020({ strict: false }).compile(JSON.parse(readFileSync(new URL('../../index-schema/gc-state.schema.json', import.meta.url), 'utf8')));
const policy = { ...SMALL_POLICY, delta_max: 3 };
const corpus = makeCorpus({ count: 30, seed: 7 });

/** A store whose clock the test moves, and a registry built on it by announces (search steps). */
async function registry(): Promise<{ store: MemoryStore; clock: { t: number }; later: PackageSummary[] }> {
  const clock = { t: Date.parse('2026-01-01T00:00:00Z') };
  const store = new MemoryStore({ now: () => clock.t });
  for (const s of corpus) {
    await applyToStore(store, 'bundle', s.name, s, { policy });
    clock.t += 1000;
  }
  // New versions and a removal: every one leaves the files it replaced behind.
  const later = corpus.slice(0, 8).map((s, i) => ({ ...s, description: `${s.description} v2 ${i}`, updated_at: new Date(clock.t + i).toISOString() }));
  for (const s of later) {
    await applyToStore(store, 'bundle', s.name, s, { policy });
    clock.t += 1000;
  }
  await applyToStore(store, 'bundle', corpus[9]!.name, null, { policy });
  return { store, clock, later };
}

const searchFiles = async (store: ObjectStore): Promise<string[]> =>
  (await store.list(searchPrefix('bundle'))).map((o) => o.key).filter((k) => k.includes('/shards/') || k.includes('/docs/'));

async function reachable(store: ObjectStore): Promise<Set<string>> {
  const root = (await readShardedRoot(store, 'bundle'))!.root;
  const reach = await reachableKeys('bundle', root, async (k) => (await readStoredJson(store, k))?.json ?? null);
  expect(reach.broken).toEqual([]);
  return reach.keys;
}

/** A fetch over a store, for the reader. */
const fetchFrom = (s: ObjectStore) => async (url: string): Promise<Response> => {
  const obj = await s.get(new URL(url).pathname.slice(1));
  return obj ? new Response(new TextDecoder().decode(obj.body), { headers: { etag: obj.etag } }) : new Response('not found', { status: 404 });
};

async function answers(store: ObjectStore): Promise<unknown[]> {
  const reader = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: fetchFrom(store) });
  const words = ['', ...corpus.slice(0, 12).map((s) => s.name.split('/')[1]!.split('-')[0]!)];
  return Promise.all(words.map((w) => reader.search(w, { limit: 10 })));
}

describe('shelf gc', () => {
  it('deletes exactly the unreachable files once they have been unreachable for the grace period, and the index answers as before', async () => {
    const { store, clock } = await registry();
    const before = await answers(store);
    const live = await reachable(store);
    const garbage = (await searchFiles(store)).filter((k) => !live.has(k));
    expect(garbage.length).toBeGreaterThan(20);

    // First run: every unreachable file is seen, none is old enough.
    clock.t += HOUR;
    const first = await gc(store, { now: () => clock.t });
    expect(first.freed.files).toBe(0);
    const kind = first.kinds.find((k) => k.kind === 'bundle')!;
    expect([kind.pending.files, kind.live.files, kind.deleted.files]).toEqual([garbage.length, live.size, 0]);
    const stored = (await readStoredJson(store, gcStateKey('bundle')))!.json;
    expect(gcStateFileSchema(stored), JSON.stringify(gcStateFileSchema.errors)).toBe(true);
    expect(gcStateFileSchema({ ...(stored as object), pending: { k: -1 } })).toBe(false);
    const state = GcStateSchema.parse(stored);
    expect(Object.keys(state.pending).sort()).toEqual([...garbage].sort());

    // A day later (less a second) still nothing; then everything unreachable goes, nothing else.
    expect((await gc(store, { now: () => clock.t + DEFAULT_GC_GRACE_MS - 1000 })).freed.files).toBe(0);
    const second = await gc(store, { now: () => clock.t + DEFAULT_GC_GRACE_MS });
    expect(second.freed.files).toBe(garbage.length);
    expect(second.freed.bytes).toBeGreaterThan(0);
    expect(second.kinds.find((k) => k.kind === 'bundle')!.deleted.keys).toEqual([...garbage].sort());
    expect(new Set(await searchFiles(store))).toEqual(live);
    expect(await answers(store)).toEqual(before);
    expect(Object.keys(GcStateSchema.parse((await readStoredJson(store, gcStateKey('bundle')))!.json).pending)).toEqual([]);

    // Nothing left to free; the skill kind, which has no index, is reported empty.
    const third = await gc(store, { now: () => clock.t + 2 * DEFAULT_GC_GRACE_MS });
    expect(third.freed).toEqual({ files: 0, bytes: 0 });
    expect(third.kinds.find((k) => k.kind === 'skill')).toMatchObject({ live: { files: 0 }, pending: { files: 0 }, deleted: { files: 0 } });
  });

  it('keeps a file a writer brought back after it was first seen unreachable, until it has been unreachable for the grace period again', async () => {
    const { store, clock } = await registry();
    const live = await reachable(store);
    const garbage = (await searchFiles(store)).filter((k) => !live.has(k));
    clock.t += HOUR;
    await gc(store, { now: () => clock.t });
    // A writer needs one of them again: its create-only write finds it, and writes it again.
    clock.t += HOUR;
    const revived = garbage[0]!;
    const { touched } = await writeShardFiles(store, new Map([[revived, new TextDecoder().decode((await store.get(revived))!.body)]]));
    expect(touched).toEqual([revived]);

    const later = clock.t - HOUR + DEFAULT_GC_GRACE_MS;
    const run = await gc(store, { now: () => later });
    expect(run.kinds.find((k) => k.kind === 'bundle')!.deleted.keys).toEqual(garbage.slice(1).sort());
    expect(await store.head(revived)).not.toBeNull();
    // Still unreachable: its grace period started again at that run, and runs out a day later.
    expect((await gc(store, { now: () => later + DEFAULT_GC_GRACE_MS })).kinds.find((k) => k.kind === 'bundle')!.deleted.keys).toEqual([revived]);
  });

  it('never deletes a file written within the writer window before it was first seen unreachable (an announce may be about to commit it)', async () => {
    const { store, clock } = await registry();
    const live = await reachable(store);
    const garbage = (await searchFiles(store)).filter((k) => !live.has(k));
    // Seen right after the writes, with a window longer than the whole history: all of it is too fresh.
    await gc(store, { now: () => clock.t, writerWindowMs: HOUR });
    expect((await gc(store, { now: () => clock.t + DEFAULT_GC_GRACE_MS, writerWindowMs: HOUR })).freed.files).toBe(0);
    // The next run sees them again (older than the window now), and a grace period later they go.
    const seen = clock.t + DEFAULT_GC_GRACE_MS;
    expect((await gc(store, { now: () => seen + DEFAULT_GC_GRACE_MS, writerWindowMs: HOUR })).freed.files).toBe(garbage.length);
  });

  it('with --dry-run reports what it would free and changes nothing', async () => {
    const { store, clock } = await registry();
    const files = await searchFiles(store);
    const report = await gc(store, { now: () => clock.t, graceMs: 0, writerWindowMs: 0, dryRun: true });
    expect(report.freed.files).toBeGreaterThan(0);
    expect(await searchFiles(store)).toEqual(files);
    expect(await store.get(gcStateKey('bundle'))).toBeNull();
  });

  it('a crash midway deletes nothing reachable; the next run finishes the job', async () => {
    const { store, clock } = await registry();
    const live = await reachable(store);
    const before = await answers(store);
    let deletes = 0;
    const crashing: ObjectStore = {
      description: 'crashing',
      get: (k) => store.get(k),
      head: (k) => store.head(k),
      put: (k, b, o) => store.put(k, b, o),
      list: (p) => store.list(p),
      delete: async (key) => {
        if (++deletes > 5) throw new Error('crash');
        await store.delete(key);
      },
    };
    await expect(gc(crashing, { now: () => clock.t, graceMs: 0, writerWindowMs: 0 })).rejects.toThrow('crash');
    expect(deletes).toBeGreaterThan(5);
    for (const key of live) expect(await store.head(key), key).not.toBeNull();
    expect(await answers(store)).toEqual(before);
    await gc(store, { now: () => clock.t, graceMs: 0, writerWindowMs: 0 });
    expect(new Set(await searchFiles(store))).toEqual(live);
    expect(await answers(store)).toEqual(before);
  });

  it('collects what a crashed announce wrote before its commit', async () => {
    const { store, clock } = await registry();
    const files = new Set(await searchFiles(store));
    const changed = { ...corpus[3]!, description: 'a release whose announce died before its commit' };
    await expect(
      applyToStore(store, 'bundle', changed.name, changed, {
        policy,
        beforeCommit: () => {
          throw new Error('crash');
        },
      }),
    ).rejects.toThrow('crash');
    const orphans = (await searchFiles(store)).filter((k) => !files.has(k));
    expect(orphans.length).toBeGreaterThan(0);
    clock.t += HOUR;
    const report = await gc(store, { now: () => clock.t, graceMs: 0 });
    const deleted = report.kinds.find((k) => k.kind === 'bundle')!.deleted.keys;
    expect(orphans.filter((k) => !deleted.includes(k))).toEqual([]);
    expect(new Set(await searchFiles(store))).toEqual(await reachable(store));
  });

  it('a reader that holds a root whose files were collected moves to the newest root', async () => {
    const { store, clock, later } = await registry();
    const reader = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: fetchFrom(store) });
    const word = later[0]!.name.split('/')[1]!.split('-')[0]!;
    // Another announce, then the old generation's files are collected.
    const next = { ...later[0]!, description: 'yet another release', updated_at: new Date(clock.t).toISOString() };
    await applyToStore(store, 'bundle', next.name, next, { policy });
    clock.t += HOUR;
    await gc(store, { now: () => clock.t, graceMs: 0, writerWindowMs: 0 });
    const hits = await reader.search(word, { limit: 30 });
    expect(hits.find((h) => h.name === next.name)?.description).toBe('yet another release');
  });

  it('refuses bad options, naming them', async () => {
    const store = new MemoryStore();
    await expect(gc(store, { graceMs: -1 })).rejects.toThrow(/"graceMs"/);
    await expect(gc(store, { writerWindowMs: 1.5 })).rejects.toThrow(/"writerWindowMs"/);
    await expect(gc(store, { kind: 'plugin' as never })).rejects.toThrow(/"kind"/);
    await expect(gc(store, { dryRun: 'yes' as never })).rejects.toThrow(/"dryRun"/);
  });
});

describe('shelf gc on a registry of announces', () => {
  let reg: TestRegistry;
  /** The bundle root after the first announce (its generation is garbage after the second). */
  let firstRoot: Uint8Array;
  beforeAll(async () => {
    reg = await startTestRegistry();
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.0.0' }))).status).toBe(201);
    firstRoot = (await reg.store.get(shardedRootKey('bundle')))!.body;
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.1.0' }))).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await reg?.close();
  });

  it('restores, by a rebuild, a file that a root committed while it was deleting reaches', async () => {
    let swapped = false;
    const racing: ObjectStore = {
      description: 'racing',
      get: (k) => reg.store.get(k),
      head: (k) => reg.store.head(k),
      put: (k, b, o) => reg.store.put(k, b, o),
      list: (p) => reg.store.list(p),
      // A writer whose generation is the old one commits just as the first file of it is deleted.
      delete: async (key) => {
        await reg.store.delete(key);
        if (!swapped && key.startsWith(searchPrefix('bundle'))) {
          swapped = true;
          await reg.store.put(shardedRootKey('bundle'), firstRoot, { contentType: 'application/json; charset=utf-8', cacheControl: 'no-cache' });
        }
      },
    };
    const report = await gc(racing, { kind: 'bundle', graceMs: 0, writerWindowMs: 0 });
    expect(swapped).toBe(true);
    expect(report.kinds[0]!.restored).toBe(true);
    // The rebuild put back the generation of the records: nothing a root reaches is missing.
    expect(await check(reg.store)).toMatchObject({ clean: true });
    expect((await reachableKeys('bundle', (await readShardedRoot(reg.store, 'bundle'))!.root, async (k) => (await readStoredJson(reg.store, k))?.json ?? null)).broken).toEqual([]);
  });

  it('shelf gc prints what it freed; --json gives the report; a bad --grace is refused', async () => {
    const run = (argv: string[]) => runShelf(argv, { env: { SHELF_DATA_DIR: join(reg.dir, 'bucket') }, isTTY: { stdout: false, stderr: false } });
    // Something to free: a third version leaves the second's files behind.
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.2.0' }))).status).toBe(201);
    const dry = await run(['gc', '--grace', '0s', '--writer-window', '0', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^bundles: would free [1-9]\d* files/m);
    expect(dry.stderr).toContain('warning: a grace period under 10m');
    const json = await run(['gc', '--grace', '0', '--writer-window', '0s', '--kind', 'bundle', '--json']);
    const report = JSON.parse(json.stdout);
    expect(report.freed.files).toBeGreaterThan(0);
    expect(report.kinds.map((k: { kind: string }) => k.kind)).toEqual(['bundle']);
    const again = await run(['gc']);
    expect(again.stdout).toMatch(/^Freed 0 files, 0 B \(fs:/m);
    expect(again.stdout).toMatch(/^bundles: freed 0 files \(0 B\); live \d+ files/m);
    expect(await check(reg.store)).toMatchObject({ clean: true });
    const bad = await run(['gc', '--grace', 'soon']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--grace must be a duration');
  });
});
