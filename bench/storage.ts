/**
 * Live storage of the sharded index after the announces, against a fresh rebuild's: the bucket's
 * files under `v1/search/bundles/` as the announces left them, again after `shelf gc` (no grace
 * period: nothing reads the copy meanwhile), and the generation a rebuild from the same packages
 * would write. Goal: after the collector, within 1.2× of the fresh rebuild.
 *
 * @module
 */
import { searchPrefix } from '../src/core/paths.ts';
import { gc } from '../src/registry/gc.ts';
import { buildShardedIndex } from '../src/search/write/build.ts';
import { readShardedCatalog, readShardedRoot } from '../src/search/write/publish.ts';
import type { ObjectStore } from '../src/store/object-store.ts';

/** Files and bytes. */
export interface Footprint {
  files: number;
  bytes: number;
}

/** What {@link measureSearchStorage} found. */
export interface SearchStorageReport {
  /** Under `v1/search/bundles/` after the announces. */
  before_gc: Footprint;
  /** The same after `shelf gc`. */
  after_gc: Footprint;
  /** The files and root a rebuild from the same packages writes. */
  fresh: Footprint;
  /** `after_gc.bytes / fresh.bytes` (goal ≤ 1.2). */
  ratio: number;
  /** The collector's run, ms. */
  gc_ms: number;
}

async function footprint(store: ObjectStore): Promise<Footprint> {
  const listed = await store.list(searchPrefix('bundle'));
  return { files: listed.length, bytes: listed.reduce((n, o) => n + o.size, 0) };
}

/** Measures, then collects the garbage of the bundle index of `store` (a copy nothing else uses). */
export async function measureSearchStorage(store: ObjectStore): Promise<SearchStorageReport> {
  const before = await footprint(store);
  const started = performance.now();
  await gc(store, { kind: 'bundle', graceMs: 0, writerWindowMs: 0 });
  const gcMs = performance.now() - started;
  const after = await footprint(store);
  const current = (await readShardedRoot(store, 'bundle'))!;
  const generation = await buildShardedIndex('bundle', await readShardedCatalog(store, 'bundle', current.root), { policy: current.root.policy });
  const fresh = { files: generation.files.size + 1, bytes: Buffer.byteLength(`${JSON.stringify(generation.root)}\n`) };
  for (const content of generation.files.values()) fresh.bytes += Buffer.byteLength(content);
  // The collector keeps its own record beside the root; a rebuild writes none.
  return { before_gc: before, after_gc: after, fresh, ratio: Math.round((after.bytes / fresh.bytes) * 1000) / 1000, gc_ms: Math.round(gcMs) };
}
