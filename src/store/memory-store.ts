/**
 * An {@link ObjectStore} in memory with the real stores' conditional writes (checked and applied
 * with nothing awaited in between): alone, a bucket in a Map for tests, fuzzing and benchmarks; or
 * over another store (`{ over }`), a copy-on-write view whose writes and deletes never reach it,
 * which `shelf check` runs the rebuild on to see exactly what a rebuild would write.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { checkPutOptions, PreconditionFailedError, type ObjectInfo, type ObjectStore, type PutOptions, type PutResult, type StoredObject } from './object-store.ts';

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /** The store to overlay: reads fall through to it, writes stay in memory. Default: none. */
  over?: ObjectStore;
  /** The clock objects are stamped with (`lastModified`), in epoch milliseconds. Default `Date.now`. */
  now?: () => number;
}

interface Entry {
  object: StoredObject;
  lastModified: number;
}

/** A bucket in a Map, alone or over another store. ETags are content hashes. */
export class MemoryStore implements ObjectStore {
  readonly description: string;
  readonly #base: ObjectStore | undefined;
  readonly #now: () => number;
  /** This store's own objects; `null` marks a key deleted over the base. */
  readonly #own = new Map<string, Entry | null>();

  constructor(options: MemoryStoreOptions = {}) {
    if (options.over !== undefined && typeof options.over?.get !== 'function') throw new TypeError('"over" option must be an ObjectStore');
    if (options.now !== undefined && typeof options.now !== 'function') throw new TypeError('"now" option must be a function');
    this.#base = options.over;
    this.#now = options.now ?? Date.now;
    this.description = options.over ? `memory overlay of ${options.over.description}` : 'memory';
  }

  async get(key: string): Promise<StoredObject | null> {
    const own = this.#own.get(key);
    if (own !== undefined) return own && { ...own.object, body: new Uint8Array(own.object.body) };
    return this.#base ? this.#base.get(key) : null;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const own = this.#own.get(key);
    if (own !== undefined) return own && infoOf(key, own);
    return this.#base ? this.#base.head(key) : null;
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    checkPutOptions(key, options);
    // Over a base, its state is read first; from the look at this store's own objects on, the
    // check and the write below run with nothing awaited, so they are atomic.
    const base = this.#base && !this.#own.has(key) ? ((await this.#base.head(key))?.etag ?? null) : null;
    const own = this.#own.get(key);
    const etagNow = own !== undefined ? (own?.object.etag ?? null) : base;
    if (options.ifNoneMatch === '*' && etagNow !== null) throw new PreconditionFailedError(key, 'if-none-match');
    if (options.ifMatch !== undefined && etagNow !== options.ifMatch) throw new PreconditionFailedError(key, 'if-match');
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    this.#own.set(key, { object: { body: new Uint8Array(body), etag, contentType: options.contentType, cacheControl: options.cacheControl }, lastModified: this.#now() });
    return { etag };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const merged = new Map(this.#base ? (await this.#base.list(prefix)).map((o) => [o.key, o] as const) : []);
    for (const [key, own] of this.#own) {
      if (!key.startsWith(prefix)) continue;
      if (own) merged.set(key, infoOf(key, own));
      else merged.delete(key);
    }
    return [...merged.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    if (this.#base) this.#own.set(key, null);
    else this.#own.delete(key);
  }

  /** Keys this store wrote (over a base: the writes that did not reach it), sorted. */
  written(): string[] {
    return [...this.#own].flatMap(([key, own]) => (own ? [key] : [])).sort();
  }
}

function infoOf(key: string, entry: Entry): ObjectInfo {
  return { key, etag: entry.object.etag, size: entry.object.body.byteLength, lastModified: entry.lastModified };
}
