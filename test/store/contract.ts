/**
 * The suite every {@link ObjectStore} implementation must pass. Call it from the
 * implementation's test file with a factory that makes a fresh, empty store per test.
 *
 * @module
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PreconditionFailedError, type ObjectStore, type PutOptions } from '../../src/store/object-store.ts';

const JSON_OPTS: PutOptions = { contentType: 'application/json', cacheControl: 'no-cache' };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Reads a JSON array, appends `id` and writes it back with compare-and-swap, retrying on conflicts. */
async function appendWithCas(store: ObjectStore, key: string, id: string): Promise<void> {
  for (;;) {
    const current = await store.get(key);
    if (!current) throw new Error(`${key} vanished`);
    const ids = JSON.parse(dec(current.body)) as string[];
    try {
      await store.put(key, enc(JSON.stringify([...ids, id])), { ...JSON_OPTS, ifMatch: current.etag });
      return;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
  }
}

/** Registers the contract suite for one implementation. */
export function objectStoreContract(
  name: string,
  makeStore: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>,
): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;

    beforeEach(async () => {
      ({ store, cleanup } = await makeStore());
    });
    afterEach(async () => {
      await cleanup();
    });

    /** Asserts that `promise` rejects with a PreconditionFailedError for `condition`. */
    async function expectPreconditionFailed(promise: Promise<unknown>, condition: string): Promise<void> {
      const err = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(PreconditionFailedError);
      expect((err as PreconditionFailedError).condition).toBe(condition);
    }

    it('get of an absent key returns null', async () => {
      expect(await store.get('nope/missing.json')).toBeNull();
    });

    it('put then get returns the same bytes, content type, cache control and an etag', async () => {
      const { etag } = await store.put('a/b.json', enc('{"x":1}'), { contentType: 'application/json', cacheControl: 'max-age=60' });
      const got = await store.get('a/b.json');
      expect(got).not.toBeNull();
      expect(dec(got!.body)).toBe('{"x":1}');
      expect(got!.contentType).toBe('application/json');
      expect(got!.cacheControl).toBe('max-age=60');
      expect(got!.etag).toBe(etag);
      expect(etag).toMatch(/^"[^"]+"$/);
    });

    it('overwriting replaces content type and cache control too', async () => {
      await store.put('k', enc('1'), { contentType: 'text/plain', cacheControl: 'no-cache' });
      await store.put('k', enc('2'), { contentType: 'application/json', cacheControl: 'max-age=5' });
      const got = await store.get('k');
      expect(got).toMatchObject({ contentType: 'application/json', cacheControl: 'max-age=5' });
    });

    it('etag changes when the bytes change and is stable for the same bytes', async () => {
      const first = await store.put('k', enc('one'), JSON_OPTS);
      const same = await store.put('k', enc('one'), JSON_OPTS);
      const other = await store.put('k', enc('two'), JSON_OPTS);
      expect(same.etag).toBe(first.etag);
      expect(other.etag).not.toBe(first.etag);
      expect((await store.get('k'))!.etag).toBe(other.etag);
    });

    it('head returns key, etag, size and age without the bytes, or null when absent', async () => {
      const { etag } = await store.put('dir/file.bin', enc('12345'), JSON_OPTS);
      expect(await store.head('dir/file.bin')).toEqual({ key: 'dir/file.bin', etag, size: 5, lastModified: expect.any(Number) });
      expect(await store.head('dir/other.bin')).toBeNull();
    });

    it('create-only put succeeds on an absent key', async () => {
      const { etag } = await store.put('c', enc('first'), { ...JSON_OPTS, ifNoneMatch: '*' });
      expect((await store.get('c'))!.etag).toBe(etag);
    });

    it('create-only put on an existing key fails and leaves the original bytes', async () => {
      await store.put('c', enc('first'), JSON_OPTS);
      await expectPreconditionFailed(store.put('c', enc('second'), { ...JSON_OPTS, ifNoneMatch: '*' }), 'if-none-match');
      expect(dec((await store.get('c'))!.body)).toBe('first');
    });

    it('ifMatch with the current etag replaces the object', async () => {
      const { etag } = await store.put('m', enc('v1'), JSON_OPTS);
      const next = await store.put('m', enc('v2'), { ...JSON_OPTS, ifMatch: etag });
      const got = await store.get('m');
      expect(dec(got!.body)).toBe('v2');
      expect(got!.etag).toBe(next.etag);
    });

    it('ifMatch with a stale etag fails and leaves the bytes', async () => {
      const stale = await store.put('m', enc('v1'), JSON_OPTS);
      await store.put('m', enc('v2'), JSON_OPTS);
      await expectPreconditionFailed(store.put('m', enc('v3'), { ...JSON_OPTS, ifMatch: stale.etag }), 'if-match');
      expect(dec((await store.get('m'))!.body)).toBe('v2');
    });

    it('ifMatch on an absent key fails and creates nothing', async () => {
      await expectPreconditionFailed(store.put('m', enc('v1'), { ...JSON_OPTS, ifMatch: '"0123456789abcdef0123456789abcdef"' }), 'if-match');
      expect(await store.get('m')).toBeNull();
    });

    it('list by prefix is sorted, covers nested keys and excludes other prefixes', async () => {
      for (const key of ['b/1', 'a/2/x', 'a/10', 'ab/1', 'a/1', 'a-b/1']) await store.put(key, enc(key), JSON_OPTS);
      const keys = async (prefix: string): Promise<string[]> => (await store.list(prefix)).map((o) => o.key);
      expect(await keys('a/')).toEqual(['a/1', 'a/10', 'a/2/x']);
      expect(await keys('a')).toEqual(['a-b/1', 'a/1', 'a/10', 'a/2/x', 'ab/1']);
      expect(await keys('a/1')).toEqual(['a/1', 'a/10']);
      expect(await keys('')).toEqual(['a-b/1', 'a/1', 'a/10', 'a/2/x', 'ab/1', 'b/1']);
    });

    it('list returns etag and size matching head', async () => {
      await store.put('p/one', enc('1'), JSON_OPTS);
      await store.put('p/three', enc('333'), JSON_OPTS);
      const listed = await store.list('p/');
      expect(listed).toEqual([await store.head('p/one'), await store.head('p/three')]);
      expect(listed.map((o) => o.size)).toEqual([1, 3]);
    });

    it('head and list say when the object was last written, and a rewrite of the same bytes moves it on', async () => {
      const before = Date.now();
      await store.put('t/when.json', enc('{}'), JSON_OPTS);
      const first = (await store.head('t/when.json'))!.lastModified;
      // Servers keep whole seconds (S3); the file system keeps milliseconds.
      expect(first).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 1000);
      expect(first).toBeLessThanOrEqual(Date.now() + 1000);
      expect((await store.list('t/'))[0]!.lastModified).toBe(first);
      await new Promise((r) => setTimeout(r, 5));
      await store.put('t/when.json', enc('{}'), JSON_OPTS);
      expect((await store.head('t/when.json'))!.lastModified).toBeGreaterThanOrEqual(first);
    });

    it('list with no matches returns an empty array', async () => {
      expect(await store.list('nothing/')).toEqual([]);
      await store.put('x/1', enc('1'), JSON_OPTS);
      expect(await store.list('y/')).toEqual([]);
      expect(await store.list('x/1/')).toEqual([]);
    });

    it('delete removes the object and ignores absent keys', async () => {
      await store.put('d/1', enc('1'), JSON_OPTS);
      await store.delete('d/1');
      expect(await store.get('d/1')).toBeNull();
      expect(await store.head('d/1')).toBeNull();
      expect(await store.list('d/')).toEqual([]);
      await store.delete('d/1');
      await store.delete('never/was');
    });

    it('a deleted key can be created again with create-only put', async () => {
      await store.put('d/1', enc('old'), JSON_OPTS);
      await store.delete('d/1');
      await store.put('d/1', enc('new'), { ...JSON_OPTS, ifNoneMatch: '*' });
      expect(dec((await store.get('d/1'))!.body)).toBe('new');
    });

    it('put rejects bad keys and options with a TypeError', async () => {
      const body = enc('x');
      for (const key of ['../x', '.hidden/x', 'a/.hidden', '/abs', 'a//b', 'a/', '', 'a\u0000b', 'a\nb', `a/${'s'.repeat(256)}`, `${'k/'.repeat(512)}x`]) {
        await expect(async () => store.put(key, body, JSON_OPTS), key).rejects.toThrow(TypeError);
      }
      const bad = [
        { cacheControl: 'no-cache' },
        { contentType: '', cacheControl: 'no-cache' },
        { contentType: 'text/plain' },
        { ...JSON_OPTS, ifNoneMatch: 'x' },
        { ...JSON_OPTS, ifNoneMatch: '*', ifMatch: '"a"' },
        { ...JSON_OPTS, ifMatch: '' },
      ];
      for (const options of bad) {
        await expect(async () => store.put('ok', body, options as PutOptions), JSON.stringify(options)).rejects.toThrow(TypeError);
      }
      expect(await store.get('ok')).toBeNull();
    });

    it('binary bytes round-trip unchanged', async () => {
      const bytes = new Uint8Array(512).map((_, i) => (i * 7) % 256);
      await store.put('bin/all-bytes', bytes, { contentType: 'application/octet-stream', cacheControl: 'no-cache' });
      expect(Array.from((await store.get('bin/all-bytes'))!.body)).toEqual(Array.from(bytes));
      expect((await store.head('bin/all-bytes'))!.size).toBe(512);
    });

    it('empty bodies are stored', async () => {
      await store.put('empty', new Uint8Array(0), JSON_OPTS);
      expect((await store.get('empty'))!.body.byteLength).toBe(0);
    });

    it('many concurrent compare-and-swap writers on one key lose no update', async () => {
      await store.put('counter.json', enc('[]'), JSON_OPTS);
      const ids = Array.from({ length: 40 }, (_, i) => `w${i}`);
      await Promise.all(ids.map((id) => appendWithCas(store, 'counter.json', id)));
      const final = JSON.parse(dec((await store.get('counter.json'))!.body)) as string[];
      expect([...final].sort()).toEqual([...ids].sort());
    });

    it('of concurrent create-only puts exactly one wins and its bytes are stored', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.put('once', enc(`writer ${i}`), { ...JSON_OPTS, ifNoneMatch: '*' })),
      );
      const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, etag: r.value.etag }] : []));
      expect(winners).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') {
          expect(r.reason).toBeInstanceOf(PreconditionFailedError);
          expect((r.reason as PreconditionFailedError).condition).toBe('if-none-match');
        }
      }
      const got = await store.get('once');
      expect(dec(got!.body)).toBe(`writer ${winners[0]!.i}`);
      expect(got!.etag).toBe(winners[0]!.etag);
    });
  });
}
