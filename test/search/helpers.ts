/**
 * Test helpers for the sharded index: an in-memory bucket that holds generations, a fetch over
 * it, and comparisons of generations.
 */
import { expect } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { buildShardedIndex, type BuildOptions } from '../../src/search/write/build.ts';
import { contentName } from '../../src/search/format/hash.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import type { ShardedRoot } from '../../src/search/format/wire.ts';
import { updateDelta, type DeltaUpdate } from '../../src/search/write/delta.ts';
import { updateShardedIndex, type ShardedUpdate } from '../../src/search/write/update.ts';

/** A bucket in memory: keys → contents, plus counters of what was read. */
export class MemoryBucket {
  readonly files = new Map<string, string>();
  reads = 0;

  private readonly parsed = new Map<string, unknown>();

  /** Reads a JSON file (null when absent), as `updateShardedIndex` wants. Immutable files are parsed once. */
  read = async (key: string): Promise<unknown> => {
    this.reads++;
    const v = this.files.get(key);
    if (v === undefined) return null;
    let json = this.parsed.get(key);
    if (json === undefined) this.parsed.set(key, (json = JSON.parse(v)));
    return json;
  };

  /** A fetch over the bucket, for the client. */
  fetch = async (url: string): Promise<Response> => {
    const key = new URL(url).pathname.slice(1);
    const v = this.files.get(key);
    return v === undefined ? new Response('not found', { status: 404 }) : new Response(v, { headers: { etag: `"${contentName(v)}"` } });
  };

  /** Writes a generation's files (create-only semantics: existing keys are left alone) and its root. */
  publish(root: ShardedRoot, files: Map<string, string>): number {
    let created = 0;
    for (const [k, v] of files) {
      if (this.files.has(k)) continue;
      this.files.set(k, v);
      created++;
    }
    this.files.set(shardedRootKey(root.kind), `${JSON.stringify(root)}\n`);
    return created;
  }

  /** The current root. */
  root(kind: 'bundle' | 'skill' = 'bundle'): ShardedRoot {
    return JSON.parse(this.files.get(shardedRootKey(kind))!) as ShardedRoot;
  }

  /** Applies one package change to the current generation and publishes it. */
  async apply(name: string, summary: PackageSummary | null): Promise<ShardedUpdate & { created: number }> {
    const u = await updateShardedIndex(this.root(), name, summary, this.read);
    const created = this.publish(u.root, u.files);
    return { ...u, created };
  }

  /** Applies one package change through the delta (`updateDelta`: compacts when the delta is full) and publishes it. */
  async applyDelta(name: string, summary: PackageSummary | null): Promise<DeltaUpdate & { created: number }> {
    const u = await updateDelta(this.root(), name, summary, this.read);
    const created = this.publish(u.root, u.files);
    return { ...u, created };
  }
}

/** A bucket holding a fresh build of `summaries`. */
export async function bucketWith(summaries: PackageSummary[], options: BuildOptions = {}): Promise<MemoryBucket> {
  const bucket = new MemoryBucket();
  const gen = await buildShardedIndex('bundle', summaries, options);
  bucket.publish(gen.root, gen.files);
  return bucket;
}

/** Every file key a root references (walking every tree), with the bucket's content. */
export function reachable(bucket: MemoryBucket, root: ShardedRoot): Set<string> {
  const seen = new Set<string>();
  const dir = `v1/search/${root.kind}s/`;
  const visitFile = (file: string): void => {
    const key = `${dir}shards/${file}.json`;
    if (seen.has(key)) return;
    seen.add(key);
    const content = bucket.files.get(key);
    expect(content, `missing ${key}`).toBeDefined();
    const json = JSON.parse(content!) as { t: string; e: unknown[]; docs?: unknown[][] };
    if (json.t === 'refs') for (const e of json.e as [string, string][]) visitFile(e[1]);
    if (json.t === 'dict') for (const e of json.e as [string][]) visitFile(e[0]);
    if (json.t === 'terms') {
      for (const e of json.e as unknown[][]) {
        if (e.length !== 3) continue;
        for (const p of Object.values(e[2] as Record<string, { h: [string, number]; t: { height: number; top: unknown[] } }>)) {
          visitFile(p.h[0]);
          visitTree(p.t, 'refs');
        }
      }
    }
    for (const d of json.docs ?? []) seen.add(`${dir}docs/${d[0]}-${d[2]}.json`);
    if (json.t === 'catalog') return;
  };
  const visitTree = (tree: { height: number; top: unknown[] }, level1: 'dict' | 'refs'): void => {
    for (const e of tree.top) {
      if (tree.height === 1 && level1 === 'dict') visitFile((e as [string])[0]);
      else visitFile((e as [string, string])[1]);
    }
  };
  visitTree(root.search.terms, 'dict');
  visitTree(root.search.suffixes, 'refs');
  visitTree(root.search.pairs, 'dict');
  visitTree(root.catalog.by_name, 'refs');
  visitTree(root.catalog.by_recent, 'refs');
  if (root.delta) visitFile(root.delta.file);
  return seen;
}

/** Asserts two generations are the same: equal roots, and equal contents of every file the root reaches. */
export function expectSameGeneration(a: MemoryBucket, b: MemoryBucket): void {
  const ra = a.root();
  const rb = b.root();
  expect(ra).toEqual(rb);
  const keys = reachable(a, ra);
  expect(reachable(b, rb)).toEqual(keys);
  for (const k of keys) if (k.includes('/shards/')) expect(a.files.get(k)).toBe(b.files.get(k));
}

/** Expects `p` to reject with a ShelfError of `code`. */
export async function expectError(p: Promise<unknown>, code: string): Promise<void> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isShelfError(error), String(error)).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}
