import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isShelfError } from '../../src/core/errors.ts';
import { updateDerived, updateJson, readJson } from '../../src/store/json-documents.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { PreconditionFailedError, type ObjectStore } from '../../src/store/object-store.ts';

const Counter = z.object({ n: z.number(), ids: z.array(z.number()) });
let dir: string;
let store: FsStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-json-'));
  store = new FsStore(dir);
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('updateJson', () => {
  it('creates an absent document create-only, then updates it by compare-and-swap', async () => {
    await updateJson(store, 'c.json', Counter, (c) => ({ n: (c?.n ?? 0) + 1, ids: [] }));
    await updateJson(store, 'c.json', Counter, (c) => ({ n: (c?.n ?? 0) + 1, ids: [] }));
    expect((await readJson(store, 'c.json', Counter))?.value.n).toBe(2);
  });

  it('writes nothing when the computed document equals the stored one', async () => {
    await updateJson(store, 'c.json', Counter, () => ({ n: 1, ids: [] }));
    const etag = (await store.head('c.json'))!.etag;
    const result = await updateJson(store, 'c.json', Counter, () => ({ ids: [], n: 1 }));
    expect(result.changed).toBe(false);
    expect((await store.head('c.json'))!.etag).toBe(etag);
  });

  it('loses no update under 30 concurrent writers', async () => {
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => updateJson(store, 'c.json', Counter, (c) => ({ n: (c?.n ?? 0) + 1, ids: [...(c?.ids ?? []), i] }))),
    );
    const { value } = (await readJson(store, 'c.json', Counter))!;
    expect(value.n).toBe(30);
    expect([...value.ids].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
  });

  it('gives up with write_contention after a bounded number of lost races', async () => {
    let attempts = 0;
    const alwaysLoses: ObjectStore = {
      ...store,
      description: 'always loses',
      get: (k) => store.get(k),
      head: (k) => store.head(k),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
      put: async (key) => {
        attempts++;
        throw new PreconditionFailedError(key, 'if-none-match');
      },
    };
    const err = await updateJson(alwaysLoses, 'c.json', Counter, () => ({ n: 1, ids: [] }), {
      retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 2 },
    }).catch((e) => e);
    expect(isShelfError(err, 'write_contention')).toBe(true);
    expect(err.status).toBe(503);
    expect(attempts).toBe(4);
  });

  it('refuses to replace a corrupt record in strict mode', async () => {
    await store.put('r.json', new TextEncoder().encode('{"n":"x"}'), { contentType: 'application/json', cacheControl: 'no-cache' });
    const err = await updateJson(store, 'r.json', Counter, () => ({ n: 1, ids: [] }), { strict: true }).catch((e) => e);
    expect(isShelfError(err, 'internal_error')).toBe(true);
    expect(new TextDecoder().decode((await store.get('r.json'))!.body)).toBe('{"n":"x"}');
  });
});

describe('updateDerived', () => {
  const doc = { n: 1, ids: [] };

  it('leaves a document as it is when compute has nothing to say (by default)', async () => {
    expect(await updateDerived(store, 'd.json', Counter, () => null)).toBe(false);
    expect(await store.head('d.json')).toBeNull();
    await updateDerived(store, 'd.json', Counter, () => doc);
    expect(await updateDerived(store, 'd.json', Counter, () => null)).toBe(false);
    expect((await readJson(store, 'd.json', Counter))?.value).toEqual(doc);
  });

  it('with whenNull "delete", purges the document, and writes it back when the records say so again meanwhile', async () => {
    const purged: string[] = [];
    // A store that keeps earlier versions: the delete must be a purge.
    const versioned: ObjectStore = {
      description: 'versioned',
      get: (k) => store.get(k),
      head: (k) => store.head(k),
      put: (k, b, o) => store.put(k, b, o),
      list: (p) => store.list(p),
      delete: (k) => store.delete(k),
      purge: async (k) => (purged.push(k), store.delete(k)),
    };
    await updateDerived(versioned, 'd.json', Counter, () => doc);
    expect(await updateDerived(versioned, 'd.json', Counter, () => null, { whenNull: 'delete' })).toBe(true);
    expect(await store.head('d.json')).toBeNull();
    expect(purged).toEqual(['d.json']);
    // Absent and still nothing to say: nothing done.
    expect(await updateDerived(versioned, 'd.json', Counter, () => null, { whenNull: 'delete' })).toBe(false);
    // A concurrent writer stored records between the decision and the delete: the second look writes them back.
    await updateDerived(versioned, 'd.json', Counter, () => doc);
    let calls = 0;
    expect(await updateDerived(versioned, 'd.json', Counter, () => (calls++ === 0 ? null : { n: 2, ids: [] }), { whenNull: 'delete' })).toBe(true);
    expect((await readJson(store, 'd.json', Counter))?.value).toEqual({ n: 2, ids: [] });
  });
});
