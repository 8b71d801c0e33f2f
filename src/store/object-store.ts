/**
 * The object-store interface: the only operations the registry needs from a bucket, implemented by
 * the filesystem, S3 and in-memory stores (`test/store/contract.ts` is the suite each must pass).
 * Conditional writes follow S3's: `ifNoneMatch: '*'` creates only if the key is absent; `ifMatch`
 * replaces only if the current ETag is that one (a missing key fails); a failed precondition throws
 * {@link PreconditionFailedError} and writes nothing.
 *
 * @module
 */

import { keyProblem } from '../core/paths.ts';

/** An object read from the store. */
export interface StoredObject {
  /** The object's bytes. */
  body: Uint8Array;
  /** Opaque strong validator, quoted like S3's (`"abc..."`). Changes whenever the bytes do. */
  etag: string;
  /** Content-Type given when the object was written. */
  contentType: string;
  /** Cache-Control given when the object was written. */
  cacheControl: string;
}

/** Metadata of an object, without its bytes. */
export interface ObjectInfo {
  key: string;
  etag: string;
  size: number;
  /** When the object was last written, in epoch milliseconds (garbage collection reads its age). */
  lastModified: number;
}

/** Options of {@link ObjectStore.put}. */
export interface PutOptions {
  /** Content-Type served with the object. Required. */
  contentType: string;
  /** Cache-Control served with the object. Required. */
  cacheControl: string;
  /** Write only if the key does not exist. Mutually exclusive with `ifMatch`. */
  ifNoneMatch?: '*';
  /** Write only if the current ETag equals this one. Mutually exclusive with `ifNoneMatch`. */
  ifMatch?: string;
}

/** Result of a successful put. */
export interface PutResult {
  etag: string;
}

/** The bucket. Keys are `/`-separated paths without a leading `/`. */
export interface ObjectStore {
  /** A short description for logs (`fs:/path`, `s3://bucket/prefix`). */
  readonly description: string;
  /** The object, or null when the key does not exist. */
  get(key: string): Promise<StoredObject | null>;
  /** Metadata only, or null when the key does not exist. */
  head(key: string): Promise<ObjectInfo | null>;
  /** Writes an object, honouring the precondition if one is given. */
  put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult>;
  /** Every key under a prefix, in lexicographic order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Removes an object (absent keys are not an error). Used by tests and operators, not announces. */
  delete(key: string): Promise<void>;
  /** Removes an object and every earlier version a versioned bucket keeps (a takedown's bytes gone, not hidden); optional where `delete` is enough. */
  purge?(key: string): Promise<void>;
}

/** Deletes an object and, on a store that keeps them (a versioned bucket), its earlier versions. */
export async function purge(store: ObjectStore, key: string): Promise<void> {
  await (store.purge ? store.purge(key) : store.delete(key));
}

/** Thrown by {@link ObjectStore.put} when `ifNoneMatch` or `ifMatch` does not hold. */
export class PreconditionFailedError extends Error {
  readonly code = 'precondition_failed';
  constructor(
    readonly key: string,
    readonly condition: 'if-none-match' | 'if-match',
  ) {
    super(`Precondition ${condition} failed for ${key}`);
    this.name = 'PreconditionFailedError';
  }
}

/** Validates put options eagerly, naming the option at fault. */
export function checkPutOptions(key: string, options: PutOptions): void {
  const problem = keyProblem(key);
  if (problem !== null) throw new TypeError(`"key" ${problem} (keys are relative paths of non-empty segments not starting with "."): ${JSON.stringify(String(key).slice(0, 200))}`);
  if (typeof options.contentType !== 'string' || options.contentType === '') {
    throw new TypeError('"contentType" option must be a non-empty string');
  }
  if (typeof options.cacheControl !== 'string' || options.cacheControl === '') {
    throw new TypeError('"cacheControl" option must be a non-empty string');
  }
  if (options.ifNoneMatch !== undefined && options.ifNoneMatch !== '*') {
    throw new TypeError('"ifNoneMatch" option must be "*" when given');
  }
  if (options.ifNoneMatch !== undefined && options.ifMatch !== undefined) {
    throw new TypeError('"ifNoneMatch" and "ifMatch" options are mutually exclusive');
  }
  if (options.ifMatch !== undefined && (typeof options.ifMatch !== 'string' || options.ifMatch === '')) {
    throw new TypeError('"ifMatch" option must be a non-empty ETag string when given');
  }
}
