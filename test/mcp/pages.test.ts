/**
 * The listings' pages: linear hashing's promises (a bucket is a pure function of the name and the
 * bucket count; growing by one bucket moves servers only out of the split bucket, only into the
 * new last one), and the pages announces write at once, while the geometry grows under them,
 * equal what a rebuild derives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketCount, bucketOf, buildPage, SERVERS_PER_BUCKET, splitBucket } from '../../src/mcp/pages.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { publishBundle, walkList } from './helpers.ts';

const names = Array.from({ length: 2000 }, (_, i) => `io.github.s${i % 37}/n-${i}`);

describe('linear hashing', () => {
  it('puts every server in a bucket below the count, about SERVERS_PER_BUCKET each', () => {
    const buckets = bucketCount(names.length);
    expect(buckets).toBe(Math.ceil(names.length / SERVERS_PER_BUCKET));
    const sizes = new Array(buckets).fill(0);
    for (const name of names) sizes[bucketOf(name, buckets)]++;
    expect(Math.min(...sizes)).toBeGreaterThan(0);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(3 * SERVERS_PER_BUCKET);
  });

  it('growing by one bucket moves servers only out of the split bucket and only into the new last one', () => {
    for (let buckets = 1; buckets < 80; buckets++) {
      for (const name of names.slice(0, 600)) {
        const before = bucketOf(name, buckets);
        const after = bucketOf(name, buckets + 1);
        if (before !== after) {
          expect(before).toBe(splitBucket(buckets));
          expect(after).toBe(buckets);
        }
      }
    }
  });

  it('names the next page while there is one', () => {
    expect(buildPage([], 0, 3).metadata).toEqual({ count: 0, nextCursor: '1' });
    expect(buildPage([], 2, 3).metadata).toEqual({ count: 0 });
  });
});

describe('announces at once, while the listings grow', () => {
  let reg: TestRegistry;
  const published: string[] = [];
  beforeAll(async () => {
    reg = await startTestRegistry();
    // 40 new servers, announced 8 at a time (more contend for the search root past its retries):
    // the geometry grows from 1 to 3 buckets under them.
    const all = Array.from({ length: 40 }, (_, i) => `@scope${i % 5}/parallel-${i}`);
    for (let i = 0; i < all.length; i += 8) await Promise.all(all.slice(i, i + 8).map((name) => publishBundle(reg, name, '1.0.0')));
    published.push(...all.map((n) => `io.github.${n.slice(1)}`));
  }, 120_000);
  afterAll(() => reg?.close());

  it('lists every server exactly once, and the pages are what a rebuild derives', async () => {
    const walk = await walkList(reg.url);
    expect(walk.pages).toBe(bucketCount(40));
    expect(walk.servers.map((s) => s.server.name).sort()).toEqual([...published].sort());
    expect((await check(reg.store)).issues).toEqual([]);
    expect((await rebuild(reg.store)).changed).toEqual([]);
  }, 60_000);
});
