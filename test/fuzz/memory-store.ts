/**
 * An in-memory {@link ObjectStore} for the fuzz test: the same conditional-write semantics as the
 * real stores (checked by `checkPutOptions`, preconditions evaluated atomically because nothing
 * awaits between the check and the write), without the file system's cost per request.
 */
import { createHash } from 'node:crypto';
import {
  checkPutOptions,
  PreconditionFailedError,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type StoredObject,
} from '../../src/store/object-store.ts';

/** A bucket in a Map. ETags are content hashes, so they change whenever the bytes do. */
export class MemoryStore implements ObjectStore {
  readonly description = 'memory';
  readonly #objects = new Map<string, StoredObject>();

  async get(key: string): Promise<StoredObject | null> {
    const obj = this.#objects.get(key);
    return obj ? { ...obj, body: new Uint8Array(obj.body) } : null;
  }

  async head(key: string): Promise<ObjectInfo | null> {
    const obj = this.#objects.get(key);
    return obj ? { key, etag: obj.etag, size: obj.body.byteLength } : null;
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    checkPutOptions(key, options);
    const current = this.#objects.get(key);
    if (options.ifNoneMatch === '*' && current) throw new PreconditionFailedError(key, 'if-none-match');
    if (options.ifMatch !== undefined && current?.etag !== options.ifMatch) throw new PreconditionFailedError(key, 'if-match');
    const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
    this.#objects.set(key, { body: new Uint8Array(body), etag, contentType: options.contentType, cacheControl: options.cacheControl });
    return { etag };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.#objects.entries()]
      .filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, obj]) => ({ key, etag: obj.etag, size: obj.body.byteLength }));
  }

  async delete(key: string): Promise<void> {
    this.#objects.delete(key);
  }
}
