/**
 * The rebuild at scale: it reads a registry's package documents a bounded number at a time. A
 * rebuild that opened every package document at once failed on a 100,000-package registry with
 * EMFILE (too many open files); here the bound is observed on a few hundred packages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { shardedRootKey } from '../../src/core/paths.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { generateCorpus } from '../../bench/corpus.ts';
import { loadRegistry } from '../../bench/load.ts';

const PACKAGES = 300;
let dir = '';
afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

/** A store that counts the reads of package documents (`v1/bundles/@scope/name.json`) in flight. */
function countingReads(store: ObjectStore): { store: ObjectStore; max: () => number } {
  let inFlight = 0;
  let max = 0;
  const counted: ObjectStore = {
    description: store.description,
    head: (key) => store.head(key),
    put: (key, body, options) => store.put(key, body, options),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    get: async (key) => {
    const doc = /^v1\/bundles\/@[^/]+\/[^/]+\.json$/.test(key);
    if (doc) max = Math.max(max, ++inFlight);
    try {
      return await store.get(key);
    } finally {
      if (doc) inFlight--;
    }
    },
  };
  return { store: counted, max: () => max };
}

it('a rebuild from the records of 300 packages reads at most 64 package documents at a time, and builds the sharded index of all of them', async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-rebuild-reads-'));
  await loadRegistry(new FsStore(dir, { durable: false }), generateCorpus({ packages: PACKAGES, seed: 5 }), { derived: false });
  const { store, max } = countingReads(new FsStore(dir, { durable: false }));
  const result = await rebuild(store, { concurrency: 8 });
  expect(result.packages).toBe(PACKAGES);
  expect(result.changed).toContain(shardedRootKey('bundle'));
  expect(max()).toBeGreaterThan(8);
  expect(max()).toBeLessThanOrEqual(64);
});
