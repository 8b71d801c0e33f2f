/**
 * An {@link ObjectStore} wrapper that records what passes through it, for the announce worker:
 *
 * - the keys read that existed (by `get`, `head`, or listed by `list`): the announces' working
 *   set, which the S3 measurement uploads (see `bench/announce.ts`);
 * - the keys read that did not exist (`get`/`head` answering null), to check on S3 that the
 *   uploaded working set missed nothing the filesystem run found (the private area's used-token
 *   records are left out: each run's tokens are its own, so their keys never match);
 * - every successful write, with its size and precondition, so the report can say how big the
 *   files an announce writes and rewrites are.
 *
 * Recording is a `Set.add` or an array push per call: nothing next to a store round trip.
 *
 * @module
 */
import { isPrivateKey } from '../../src/core/paths.ts';
import type { ObjectInfo, ObjectStore, PutOptions, PutResult, StoredObject } from '../../src/store/object-store.ts';

/** One successful write. `create`: create-only (`If-None-Match: *`); `swap`: `If-Match`; `overwrite`: unconditional. */
export interface RecordedWrite {
  key: string;
  bytes: number;
  mode: 'create' | 'swap' | 'overwrite';
}

/** Records reads and writes of an inner store. */
export class RecordingStore implements ObjectStore {
  readonly description: string;
  /** Keys read (or listed) that existed, over the store's life. */
  readonly reads = new Set<string>();
  /** Keys read that did not exist, over the store's life. */
  readonly misses = new Set<string>();
  /** Successful writes since the last {@link RecordingStore.takeWrites}. */
  #writes: RecordedWrite[] = [];
  readonly #inner: ObjectStore;

  constructor(inner: ObjectStore) {
    this.#inner = inner;
    this.description = inner.description;
  }

  async get(key: string): Promise<StoredObject | null> {
    const obj = await this.#inner.get(key);
    if (!isPrivateKey(key)) (obj ? this.reads : this.misses).add(key);
    return obj;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const info = await this.#inner.head(key);
    (info ? this.reads : this.misses).add(key);
    return info;
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    const result = await this.#inner.put(key, body, options);
    this.#writes.push({ key, bytes: body.byteLength, mode: options.ifNoneMatch ? 'create' : options.ifMatch ? 'swap' : 'overwrite' });
    return result;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const listed = await this.#inner.list(prefix);
    for (const o of listed) this.reads.add(o.key);
    return listed;
  }

  delete(key: string): Promise<void> {
    return this.#inner.delete(key);
  }

  /** The writes recorded since the last call, and forgets them. */
  takeWrites(): RecordedWrite[] {
    const writes = this.#writes;
    this.#writes = [];
    return writes;
  }
}
