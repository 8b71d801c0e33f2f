import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { applyToStore, readShardedCatalog, readShardedRoot, rebuildToStore } from '../../src/search/write/publish.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { makeCorpus, SMALL_POLICY } from './corpus.ts';
import { bucketWith, expectSameGeneration, MemoryBucket } from './helpers.ts';

const policy = SMALL_POLICY;
const dirs: string[] = [];
async function store(): Promise<FsStore> {
  const dir = await mkdtemp(join(tmpdir(), 'shelf-sharded-'));
  dirs.push(dir);
  return new FsStore(dir, { durable: false });
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** Copies what a store holds under the kind's prefix into a memory bucket, for comparisons. */
async function snapshot(s: ObjectStore): Promise<MemoryBucket> {
  const bucket = new MemoryBucket();
  for (const o of await s.list('v1/search/bundles/')) bucket.files.set(o.key, new TextDecoder().decode((await s.get(o.key))!.body));
  return bucket;
}

/** A fetch over a store, for the client. */
const fetchFrom = (s: ObjectStore) => async (url: string): Promise<Response> => {
  const obj = await s.get(new URL(url).pathname.slice(1));
  return obj ? new Response(new TextDecoder().decode(obj.body), { headers: { etag: obj.etag } }) : new Response('not found', { status: 404 });
};

describe('the sharded index on a store', () => {
  const corpus = makeCorpus({ count: 60, seed: 31 });

  it('concurrent announces of different packages all land, and the result equals a build from scratch', async () => {
    const s = await store();
    await rebuildToStore(s, 'bundle', corpus.slice(0, 40), { policy });
    const fast = { maxAttempts: 200, baseDelayMs: 1, maxDelayMs: 20 };
    const results = await Promise.all(corpus.slice(40, 48).map((p) => applyToStore(s, "bundle", p.name, p, { retry: fast })));
    expect(results.every((r) => r.changed)).toBe(true);
    // They raced for the root: some had to retry, none was lost.
    expect(results.some((r) => r.attempts > 1)).toBe(true);
    expectSameGeneration(await snapshot(s), await bucketWith(corpus.slice(0, 48), { policy }));
  });

  it('a crash after the files and before the root leaves the previous generation intact, and the retry converges', async () => {
    const s = await store();
    await rebuildToStore(s, 'bundle', corpus.slice(0, 50), { policy });
    const before = (await readShardedRoot(s, 'bundle'))!;
    const target = corpus[55]!;
    const crash = applyToStore(s, 'bundle', target.name, target, {
      beforeCommit: () => {
        throw new Error('power cut');
      },
    });
    await expect(crash).rejects.toThrow('power cut');
    const after = (await readShardedRoot(s, 'bundle'))!;
    expect(after.etag).toBe(before.etag);
    // Readers still get the whole previous generation.
    const client = await ShardedSearch.open({ baseUrl: 'http://store.test', kind: 'bundle', fetch: fetchFrom(s) });
    expect(client.size).toBe(50);
    const word = corpus[3]!.name.split('/')[1]!.split('-')[0]!;
    expect((await client.search(word, { limit: 100 })).map((h) => h.name)).toContain(corpus[3]!.name);
    expect((await client.search(target.name.split('/')[1]!.split('-')[0]!, { limit: 100 })).map((h) => h.name)).not.toContain(target.name);
    // Announcing again (the publisher's retry) finishes the job.
    const retried = await applyToStore(s, 'bundle', target.name, target);
    expect(retried.changed).toBe(true);
    expectSameGeneration(await snapshot(s), await bucketWith([...corpus.slice(0, 50), target], { policy }));
  });

  it('creates the root on the first announce, and an unchanged announce writes nothing', async () => {
    const s = await store();
    expect(await readShardedRoot(s, 'bundle')).toBeNull();
    await applyToStore(s, 'bundle', corpus[0]!.name, corpus[0]!, { policy });
    const root = (await readShardedRoot(s, 'bundle'))!;
    expect(root.root.search.document_count).toBe(1);
    const again = await applyToStore(s, 'bundle', corpus[0]!.name, corpus[0]!);
    expect(again).toEqual({ changed: false, written: 0, attempts: 1 });
    expect((await readShardedRoot(s, 'bundle'))!.etag).toBe(root.etag);
  });

  it('gives up with write_contention when the root keeps changing under it, leaving the root as the others wrote it', async () => {
    const s = await store();
    await rebuildToStore(s, 'bundle', corpus.slice(0, 10), { policy });
    let bumps = 0;
    const error = await applyToStore(s, 'bundle', corpus[20]!.name, corpus[20]!, {
      retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 },
      // Another writer commits between every read and swap.
      beforeCommit: async () => {
        const other = corpus[30 + bumps++]!;
        await applyToStore(s, 'bundle', other.name, other);
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isShelfError(error, 'write_contention')).toBe(true);
    const root = (await readShardedRoot(s, 'bundle'))!.root;
    expect(root.search.document_count).toBe(13);
    expect(await s.get(shardedRootKey('skill'))).toBeNull();
  });
});

describe('the catalog and the index an announce keeps', () => {
  const summary = makeCorpus({ count: 1, seed: 5 })[0]!;
  const echo = { ...summary, name: '@acme/echo', description: 'echoes text back', tools: ['echo'], keywords: [] };

  it('replaces a package\'s entry instead of duplicating it, in name order', async () => {
    const s = new MemoryStore();
    await applyToStore(s, 'bundle', echo.name, echo);
    await applyToStore(s, 'bundle', echo.name, { ...echo, description: 'new' });
    await applyToStore(s, 'bundle', '@acme/aaa', { ...echo, name: '@acme/aaa' });
    const catalog = await readShardedCatalog(s, 'bundle', (await readShardedRoot(s, 'bundle'))!.root);
    expect(catalog.map((p) => [p.name, p.description])).toEqual([
      ['@acme/aaa', 'echoes text back'],
      ['@acme/echo', 'new'],
    ]);
  });

  it('is read with the shared options, and finds by prefix and by typo', async () => {
    const s = new MemoryStore();
    await applyToStore(s, 'bundle', echo.name, echo);
    await applyToStore(s, 'bundle', '@globex/weather', { ...echo, name: '@globex/weather', description: 'forecasts', tools: ['forecast'] });
    const search = await ShardedSearch.open({ baseUrl: 'http://registry.invalid', kind: 'bundle', fetch: fetchFrom(s) });
    expect((await search.search('ech'))[0]?.name).toBe('@acme/echo');
    expect((await search.search('wether'))[0]?.name).toBe('@globex/weather');
    expect((await search.search('forecast'))[0]?.name).toBe('@globex/weather');
  });
});
