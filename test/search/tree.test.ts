import { describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import { chunkAll, checkPolicy, type ChunkCodec, type ChunkPolicy } from '../../src/search/format/chunker.ts';
import { type ShardingPolicy } from '../../src/search/format/policy.ts';
import { suffixTreeSpec } from '../../src/search/format/term-tree.ts';
import { buildTree, TreeNavigator, updateTree, type FileSink, type Tree } from '../../src/search/format/tree.ts';
import { prng, SMALL_POLICY } from './corpus.ts';

/** Plain strings, each costing its length plus a comma. */
const strings: ChunkCodec<string> = {
  salt: 'test',
  key: (e) => e,
  weight: (e) => e.length + 3,
  accumulator: () => {
    let size = 10;
    return {
      get size() {
        return size;
      },
      sizeWith: (e: string) => size + e.length + 3,
      add: (e: string) => {
        size += e.length + 3;
      },
    };
  },
};
const policy: ChunkPolicy = { min: 200, target: 500, max: 900 };

function words(n: number, seed: number): string[] {
  const r = prng(seed);
  const set = new Set<string>();
  while (set.size < n) set.add(Math.floor(r() * 36 ** 6).toString(36).padStart(6, '0') + 'x'.repeat(Math.floor(r() * 12)));
  return [...set].sort();
}

const sizeOf = (chunk: string[]): number => chunk.reduce((n, e) => n + e.length + 3, 10);

describe('content-defined chunking', () => {
  it('keeps every chunk within max, and every chunk but the last above min', () => {
    const chunks = chunkAll(strings, policy, words(3_000, 1));
    expect(chunks.length).toBeGreaterThan(20);
    chunks.forEach((c, i) => {
      expect(sizeOf(c)).toBeLessThanOrEqual(policy.max);
      if (i < chunks.length - 1) expect(sizeOf(c)).toBeGreaterThanOrEqual(policy.min);
    });
    expect(chunks.flat()).toEqual(words(3_000, 1));
  });

  it('an entry larger than max gets a chunk of its own', () => {
    const big = 'm'.repeat(2_000);
    const chunks = chunkAll(strings, policy, [...words(200, 2).filter((w) => w < 'm'), big, ...words(200, 2).filter((w) => w > 'm')]);
    expect(chunks.filter((c) => c.includes(big))).toEqual([[big]]);
  });

  it('inserting one entry changes only the chunks around it', () => {
    const all = words(3_000, 3);
    const before = chunkAll(strings, policy, all).map((c) => c.join());
    const inserted = [...all, all[1_500]!.slice(0, 6) + 'zzz'].sort();
    const after = chunkAll(strings, policy, inserted).map((c) => c.join());
    const changed = after.filter((c) => !before.includes(c));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('cuts the first chunk with bounds of its own, and an insert at the front changes only the chunks around it', () => {
    const first: ChunkPolicy = { min: 60, target: 150, max: 300 };
    const all = words(3_000, 7);
    const chunks = chunkAll(strings, policy, all, first);
    expect(sizeOf(chunks[0]!)).toBeLessThanOrEqual(first.max);
    expect(sizeOf(chunks[0]!)).toBeGreaterThanOrEqual(first.min);
    chunks.slice(1, -1).forEach((c) => expect(sizeOf(c)).toBeGreaterThanOrEqual(policy.min));
    expect(chunks.slice(1).some((c) => sizeOf(c) > first.max)).toBe(true);
    expect(chunks.flat()).toEqual(all);
    const before = chunks.map((c) => c.join());
    const after = chunkAll(strings, policy, ['0', ...all], first).map((c) => c.join());
    const changed = after.filter((c) => !before.includes(c));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('refuses a policy that is not min < target < max, naming it', () => {
    for (const bad of [{ min: 5, target: 5, max: 9 }, { min: 1, target: 2, max: 0 }, { min: 1.5, target: 2, max: 3 }]) {
      let error: unknown;
      try {
        checkPolicy('policy.terms', bad);
      } catch (e) {
        error = e;
      }
      expect(isShelfError(error, 'invalid_argument')).toBe(true);
      expect((error as Error).message).toContain('policy.terms');
    }
  });
});

describe('trees of immutable files', () => {
  const tiny: ShardingPolicy = { ...SMALL_POLICY, dict: { min: 150, target: 400, max: 800 }, refs: { min: 120, target: 300, max: 600 }, root_max: 400 };
  const spec = suffixTreeSpec(tiny);
  const read = (files: FileSink) => async (file: string) => JSON.parse(files.get(file)!) as unknown;

  async function collect(tree: Tree, files: FileSink): Promise<string[]> {
    const out: string[] = [];
    for await (const e of new TreeNavigator(spec, tree, read(files)).range('')) out.push(e as string);
    return out;
  }

  it('any sequence of inserts and deletes gives the tree a build of the final set gives, through level changes', async () => {
    const all = words(1_500, 4);
    const files: FileSink = new Map();
    let tree = buildTree(spec, [], files);
    const r = prng(5);
    const present = new Set<string>();
    let maxHeight = 1;
    // Grow in random batches, then shrink, so the tree gains and loses levels.
    for (const phase of ['grow', 'shrink'] as const) {
      for (let step = 0; step < 12; step++) {
        const batch = all.filter(() => r() < 0.12).filter((w) => (phase === 'grow' ? !present.has(w) : present.has(w)));
        tree = await updateTree(spec, tree, batch.map((w) => ({ key: w, entry: phase === 'grow' ? w : null })), read(files), files);
        for (const w of batch) phase === 'grow' ? present.add(w) : present.delete(w);
        maxHeight = Math.max(maxHeight, tree.height);
        const scratch = buildTree(spec, [...present].sort(), new Map());
        expect(tree).toEqual(scratch);
        expect(await collect(tree, files)).toEqual([...present].sort());
      }
    }
    expect(maxHeight).toBeGreaterThanOrEqual(3);
    expect(tree.height).toBeLessThan(maxHeight);
  });

  it('a level whose first file has bounds of its own: updates at the front and further on equal a build', async () => {
    const leaf = { ...spec.level(0), firstPolicy: { min: 60, target: 150, max: 300 } };
    const headed = { ...spec, level: (l: number) => (l === 0 ? leaf : spec.level(l)) };
    const all = words(1_200, 8);
    const files: FileSink = new Map();
    let tree = buildTree(headed, [], files);
    const r = prng(9);
    const present = new Set<string>();
    for (const phase of ['grow', 'shrink'] as const) {
      for (let step = 0; step < 10; step++) {
        // Every batch touches the front of the level too (its smallest keys).
        const sorted = phase === 'grow' ? all.filter((w) => !present.has(w)) : [...present].sort();
        const batch = [...new Set([...sorted.slice(0, 2), ...sorted.filter(() => r() < 0.1)])];
        tree = await updateTree(headed, tree, batch.map((w) => ({ key: w, entry: phase === 'grow' ? w : null })), read(files), files);
        for (const w of batch) phase === 'grow' ? present.add(w) : present.delete(w);
        expect(tree).toEqual(buildTree(headed, [...present].sort(), new Map()));
      }
    }
    const built = buildTree(headed, all, new Map());
    expect(built).not.toEqual(buildTree(spec, all, new Map()));
  });

  it('finds entries by key, and an update writes only the files whose content changes', async () => {
    const all = words(1_000, 6);
    const files: FileSink = new Map();
    const tree = buildTree(spec, all, files);
    const nav = new TreeNavigator(spec, tree, read(files));
    expect(await nav.get(all[500]!)).toBe(all[500]);
    expect(await nav.get(`${all[500]!}-absent`)).toBeNull();
    const written: FileSink = new Map();
    const next = await updateTree(spec, tree, [{ key: `${all[500]!}-new`, entry: `${all[500]!}-new` }], read(new Map([...files, ...written])), written);
    expect(written.size).toBeGreaterThanOrEqual(next.height);
    expect(written.size).toBeLessThanOrEqual(3 * next.height + 2);
    for (const name of written.keys()) expect(files.has(name)).toBe(false);
  });
});
