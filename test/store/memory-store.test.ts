import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { PreconditionFailedError } from '../../src/store/object-store.ts';
import { objectStoreContract } from './contract.ts';

const OPTS = { contentType: 'application/json', cacheControl: 'no-cache' };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = async (p: Promise<{ body: Uint8Array } | null>): Promise<string | null> => {
  const o = await p;
  return o ? new TextDecoder().decode(o.body) : null;
};

objectStoreContract('MemoryStore', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));
objectStoreContract('MemoryStore over another store', async () => ({ store: new MemoryStore({ over: new MemoryStore() }), cleanup: async () => {} }));

describe('MemoryStore over another store (the check overlay)', () => {
  it('reads through to the store, keeps its own writes and deletes, and never writes the store', async () => {
    const base = new MemoryStore();
    await base.put('a.json', enc('"base a"'), OPTS);
    await base.put('b.json', enc('"base b"'), OPTS);
    const view = new MemoryStore({ over: base });
    expect(await text(view.get('a.json'))).toBe('"base a"');
    const a = (await view.head('a.json'))!;
    await view.put('a.json', enc('"view a"'), { ...OPTS, ifMatch: a.etag });
    await view.put('c.json', enc('"view c"'), { ...OPTS, ifNoneMatch: '*' });
    await view.delete('b.json');
    expect(await text(view.get('a.json'))).toBe('"view a"');
    expect(await view.get('b.json')).toBeNull();
    expect((await view.list('')).map((o) => o.key)).toEqual(['a.json', 'c.json']);
    expect(view.written()).toEqual(['a.json', 'c.json']);
    // The store is untouched.
    expect(await text(base.get('a.json'))).toBe('"base a"');
    expect(await text(base.get('b.json'))).toBe('"base b"');
    expect(await base.get('c.json')).toBeNull();
    // Preconditions hold against what the view sees: the base's objects included.
    await expect(view.put('a.json', enc('"x"'), { ...OPTS, ifMatch: a.etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    await base.put('d.json', enc('"base d"'), OPTS);
    await expect(view.put('d.json', enc('"x"'), { ...OPTS, ifNoneMatch: '*' })).rejects.toBeInstanceOf(PreconditionFailedError);
  });

  it('refuses options that are not a store or a clock, naming them', () => {
    expect(() => new MemoryStore({ over: {} as never })).toThrow(/"over" option/);
    expect(() => new MemoryStore({ now: 5 as never })).toThrow(/"now" option/);
  });
});
