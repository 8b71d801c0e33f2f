/**
 * JSON documents on an {@link ObjectStore}: typed reads, create-only writes, and the one
 * compare-and-swap loop (read with ETag → compute → write `If-Match`; a lost race backs off with
 * jitter and tries again, a bounded number of times). @module
 */
import type { z } from 'zod';
import { ShelfError } from '../core/errors.ts';
import { contentTypeFor, MUTABLE_CACHE } from '../core/paths.ts';
import { PreconditionFailedError, purge, type ObjectStore } from './object-store.ts';

/** A document and the ETag it was read with. */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/** Serialises a document the one way every writer does, so equal content means equal bytes. */
export function encodeJson(value: unknown): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(value)}\n`);
}

/** Reads a stored JSON document without validating it; absent → null. @throws ShelfError `internal_error` when the bytes are not JSON. */
export async function readStoredJson(store: ObjectStore, key: string): Promise<{ json: unknown; etag: string } | null> {
  const obj = await store.get(key);
  if (!obj) return null;
  try {
    return { json: JSON.parse(new TextDecoder().decode(obj.body)) as unknown, etag: obj.etag };
  } catch {
    throw new ShelfError('internal_error', `The stored document ${key} is not valid JSON.`);
  }
}

/** Reads and validates a JSON document; absent → null. One that does not parse is an `internal_error`: records are never silently replaced. */
export async function readJson<T>(store: ObjectStore, key: string, schema: z.ZodType<T>): Promise<Versioned<T> | null> {
  const stored = await readStoredJson(store, key);
  if (!stored) return null;
  const result = schema.safeParse(stored.json);
  if (!result.success) throw new ShelfError('internal_error', `The stored document ${key} does not match its schema.`);
  return { value: result.data, etag: stored.etag };
}

/** Writes a document only if the key is absent. Returns false when it already existed. */
export async function createJson(store: ObjectStore, key: string, value: unknown): Promise<boolean> {
  try {
    await store.put(key, encodeJson(value), { contentType: contentTypeFor(key), cacheControl: MUTABLE_CACHE, ifNoneMatch: '*' });
    return true;
  } catch (err) {
    if (err instanceof PreconditionFailedError) return false;
    throw err;
  }
}

/** Retry policy of {@link updateJson}. */
export interface RetryPolicy {
  /** Attempts before giving up with `write_contention`. Default 12. */
  maxAttempts: number;
  /** First backoff ceiling, ms; doubles per attempt ("full jitter"). Default 5. */
  baseDelayMs: number;
  /** Largest backoff ceiling, ms. Default 500. */
  maxDelayMs: number;
}

/** Default retry policy: enough for dozens of concurrent announces on one catalog. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 12, baseDelayMs: 5, maxDelayMs: 500 };

/** Result of {@link updateJson}. */
export interface UpdateResult<T> {
  value: T;
  /** False when the computed document equalled the stored one, so nothing was written. */
  changed: boolean;
}

/** Options of {@link updateJson}. */
export interface UpdateOptions {
  /** Retry policy. Default {@link DEFAULT_RETRY}. */
  retry?: RetryPolicy;
  /** Strict (records): a stored document that does not parse is an error, never replaced; derived ones (default) are recomputed over it. */
  strict?: boolean;
}

/**
 * Compare-and-swap update of one document: `compute` gets the current value (null if absent) and
 * returns the new one; it runs again on every retry, so it has no side effects. A result equal to
 * the stored bytes writes nothing. @throws ShelfError `write_contention` when every attempt lost.
 */
export async function updateJson<T>(
  store: ObjectStore,
  key: string,
  schema: z.ZodType<T>,
  compute: (current: T | null) => T | Promise<T>,
  options: UpdateOptions = {},
): Promise<UpdateResult<T>> {
  let value!: T;
  const { changed } = await updateObject(
    store,
    key,
    async (current) => {
      let currentValue: T | null = null;
      if (current) {
        const parsed = schema.safeParse(safeJson(current));
        // A corrupt derived document is replaced (compute sees null); its ETag still guards the write.
        if (parsed.success) currentValue = parsed.data;
        else if (options.strict) throw new ShelfError('internal_error', `The stored record ${key} does not match its schema.`);
      }
      // Parsing what we write validates it and puts keys in schema order, so equal content is equal bytes.
      value = schema.parse(await compute(currentValue));
      return encodeJson(value);
    },
    options.retry,
  );
  return { value, changed };
}

/**
 * {@link updateJson} for an object of any type (a document, a badge, a README): `compute` gets the
 * stored bytes (null when absent) and returns the bytes it should hold, or null when it should not
 * exist (it is then deleted, unconditionally: a concurrent writer's file converges on the next
 * refresh or rebuild). Equal bytes write nothing, so the ETag stays put.
 *
 * @returns Whether anything was written or deleted.
 * @throws ShelfError `write_contention` when every attempt lost the race.
 */
export async function updateObject(
  store: ObjectStore,
  key: string,
  compute: (current: Uint8Array | null) => Uint8Array | null | Promise<Uint8Array | null>,
  retry?: RetryPolicy,
): Promise<{ changed: boolean }> {
  return retryOnConflict(key, async () => {
    // Read the ETag before anything compute reads, so a later writer's change cannot be lost.
    const current = await store.get(key);
    const body = await compute(current?.body ?? null);
    if (body === null) {
      if (current) await store.delete(key);
      return { changed: current !== null };
    }
    if (current && Buffer.from(current.body).equals(Buffer.from(body))) return { changed: false };
    await store.put(key, body, {
      contentType: contentTypeFor(key),
      cacheControl: MUTABLE_CACHE,
      ...(current ? { ifMatch: current.etag } : { ifNoneMatch: '*' as const }),
    });
    return { changed: true };
  }, retry);
}

/** Thrown inside a compute of {@link updateDerived} to leave the document as it is. */
class NothingToWrite extends Error {}

/** Options of {@link updateDerived}. */
export interface DerivedOptions extends UpdateOptions {
  /**
   * What `compute` returning null means: `leave` the document as it is, an absent one absent
   * (default); or `delete` it: the document must not exist.
   */
  whenNull?: 'leave' | 'delete';
}

/**
 * {@link updateJson} whose `compute` may return null: leave the document as it is, or with
 * `whenNull: 'delete'` {@link purge} it, then run `compute` once more on the records as they are
 * after the delete, so a concurrent writer's document is written back. True when written or deleted.
 */
export async function updateDerived<T>(
  store: ObjectStore,
  key: string,
  schema: z.ZodType<T>,
  compute: (current: T | null) => T | null | Promise<T | null>,
  options: DerivedOptions = {},
): Promise<boolean> {
  let remove = false;
  try {
    const { changed } = await updateJson(
      store,
      key,
      schema,
      async (current) => {
        const next = await compute(current);
        remove = next === null && current !== null && options.whenNull === 'delete';
        if (next === null) throw new NothingToWrite();
        return next;
      },
      options,
    );
    return changed;
  } catch (err) {
    if (!(err instanceof NothingToWrite)) throw err;
  }
  if (!remove) return false;
  await purge(store, key);
  await updateDerived(store, key, schema, compute, options);
  return true;
}

/**
 * The compare-and-swap loop every writer of a shared object runs: `attempt` reads with the ETag,
 * computes and writes on that condition; a lost race ({@link PreconditionFailedError}) runs it
 * again after a backoff with full jitter, a bounded number of times.
 *
 * @param key - The object, for the error's message; `advice` ends it.
 * @throws ShelfError `write_contention` when every attempt lost the race.
 */
export async function retryOnConflict<T>(key: string, attempt: (n: number) => Promise<T>, retry: RetryPolicy = DEFAULT_RETRY, advice = 'retry the announce'): Promise<T> {
  for (let n = 0; n < retry.maxAttempts; n++) {
    try {
      return await attempt(n + 1);
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      await sleep(Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** n));
    }
  }
  throw new ShelfError('write_contention', `Gave up updating ${key} after ${retry.maxAttempts} attempts; ${advice}.`);
}

/** The JSON of stored bytes, or undefined when they are not JSON. */
export function safeJson(body: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(body));
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
