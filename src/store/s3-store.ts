/**
 * The S3 object store: the same {@link ObjectStore} on AWS S3, R2, MinIO or any S3-compatible
 * server with conditional writes (`If-None-Match: *`, `If-Match`; a 412, a 409 for a concurrent
 * conditional write, or a 404 on `If-Match` is a {@link PreconditionFailedError}: nothing written).
 * A server that silently ignored those headers would lose updates unnoticed, so
 * {@link S3Store.probe} checks both before use and refuses (`store_unsupported`) naming the one ignored.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { ShelfError } from '../core/errors.ts';
import {
  checkPutOptions,
  PreconditionFailedError,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type StoredObject,
} from './object-store.ts';

/** Options of {@link S3Store}. */
export interface S3StoreOptions {
  /** The bucket name. Required. */
  bucket: string;
  /** Key prefix inside the bucket (`registry/` or `registry`); default none. */
  prefix?: string;
  /**
   * Configuration of the `S3Client` the store creates (endpoint, region, credentials,
   * `forcePathStyle`...). Left out, the SDK's standard configuration applies (`AWS_REGION`,
   * `AWS_ENDPOINT_URL_S3`, credentials from the environment, files or the instance role).
   */
  clientConfig?: S3ClientConfig;
  /** An existing client instead of `clientConfig`. */
  client?: S3Client;
  /** Keys per ListObjectsV2 page, 1–1000. Default 1000 (S3's maximum); tests use small pages. */
  pageSize?: number;
}

/** Reads and deletes validate keys by the put rule, like the filesystem store. */
const KEY_ONLY: PutOptions = { contentType: '-', cacheControl: '-' };

/** Where the probe writes: a dot segment, which no registry key can have, so it never collides or lists. */
const PROBE_FOLDER = '.shelf-probe';

/** S3 bucket names: 3–63 lower-case letters, digits, dots and hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** An {@link ObjectStore} on an S3 bucket (optionally under a key prefix). */
export class S3Store implements ObjectStore {
  /** `s3://bucket/prefix`. */
  readonly description: string;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix, empty or ending in `/`. */
  readonly prefix: string;
  readonly #client: S3Client;
  readonly #pageSize: number;

  constructor(options: S3StoreOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('S3Store options must be an object');
    const { bucket, prefix = '', clientConfig, client, pageSize = 1000 } = options;
    if (typeof bucket !== 'string' || !BUCKET_NAME.test(bucket)) {
      throw new TypeError(`"bucket" option must be an S3 bucket name (3-63 of a-z, 0-9, ".", "-"), got ${JSON.stringify(bucket)}`);
    }
    if (typeof prefix !== 'string' || prefix.startsWith('/') || prefix.split('/').slice(0, -1).some((s) => s === '' || s.startsWith('.'))) {
      throw new TypeError(`"prefix" option must be a relative key prefix of non-empty segments not starting with ".", got ${JSON.stringify(prefix)}`);
    }
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
      throw new TypeError(`"pageSize" option must be an integer from 1 to 1000, got ${JSON.stringify(pageSize)}`);
    }
    if (client !== undefined && clientConfig !== undefined) {
      throw new TypeError('"client" and "clientConfig" options are mutually exclusive');
    }
    if (client !== undefined && !(client instanceof S3Client)) throw new TypeError('"client" option must be an S3Client');
    this.bucket = bucket;
    this.prefix = prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.description = `s3://${bucket}/${this.prefix}`;
    // The store never changes the client's middleware, so resolving it once per command type is
    // safe, and saves most of the SDK's per-request CPU.
    this.#client = client ?? new S3Client({ cacheMiddleware: true, ...clientConfig });
    this.#pageSize = pageSize;
  }

  async get(key: string): Promise<StoredObject | null> {
    checkPutOptions(key, KEY_ONLY);
    try {
      const res = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      const body = res.Body ? await res.Body.transformToByteArray() : new Uint8Array(0);
      return {
        body,
        etag: res.ETag ?? '',
        contentType: res.ContentType ?? 'application/octet-stream',
        cacheControl: res.CacheControl ?? 'no-cache',
      };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkPutOptions(key, KEY_ONLY);
    try {
      const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { key, etag: res.ETag ?? '', size: res.ContentLength ?? 0, lastModified: res.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    checkPutOptions(key, options);
    if (!(body instanceof Uint8Array)) throw new TypeError('"body" must be a Uint8Array');
    return this.#put(this.prefix + key, key, body, options);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string');
    const result: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, MaxKeys: this.#pageSize, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(this.prefix.length) ?? '';
        // Skips the probe's keys, folder markers and anything else no registry key can be.
        if (key === '' || key.split('/').some((s) => s === '' || s.startsWith('.'))) continue;
        result.push({ key, etag: o.ETag ?? '', size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    // S3 lists in UTF-8 byte order; sorting here makes the order the interface promises explicit.
    return result.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    checkPutOptions(key, KEY_ONLY);
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
  }

  /**
   * Deletes the object and every stored version of it (and delete marker): on a versioned bucket,
   * as the AWS stack's is, a plain delete only hides the bytes. A server that cannot list versions
   * (`NotImplemented`, `MethodNotAllowed`) keeps none, so the plain delete is all. Needs
   * `s3:ListBucketVersions` and `s3:DeleteObjectVersion` on a versioned bucket.
   */
  async purge(key: string): Promise<void> {
    checkPutOptions(key, KEY_ONLY);
    const fullKey = this.prefix + key;
    await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.#client.send(
          new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: fullKey, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionMarker ? { VersionIdMarker: versionMarker } : {}) }),
        );
      } catch (err) {
        const name = (err as { name?: string })?.name;
        if (name === 'NotImplemented' || name === 'MethodNotAllowed' || status(err) === 501 || status(err) === 405) return;
        throw err;
      }
      const ids = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])].filter((v) => v.Key === fullKey && v.VersionId).map((v) => v.VersionId!);
      for (const id of ids) await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey, VersionId: id }));
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
  }

  /**
   * Checks, on a key of its own under `<prefix>.shelf-probe/`, that the server honours both
   * conditional writes: a second create-only write must fail, a write with a wrong `If-Match`
   * must fail, and one with the current ETag must succeed. Removes the key afterwards.
   *
   * @throws ShelfError `store_unsupported` naming the header the server ignored;
   *   `store_unavailable` when the bucket cannot be written at all (unreachable, no such bucket,
   *   no permission).
   */
  async probe(): Promise<void> {
    const fullKey = `${this.prefix}${PROBE_FOLDER}/${randomUUID()}`;
    const opts = { contentType: 'text/plain; charset=utf-8', cacheControl: 'no-store' };
    const body = (s: string) => new TextEncoder().encode(`shelf conditional-write probe: ${s}\n`);
    const refuse = (header: string, what: string) =>
      new ShelfError(
        'store_unsupported',
        `${this.description} does not honour ${header}: ${what}. Shelf needs conditional writes (If-None-Match: * and If-Match: <etag>) ` +
          'to never lose an update; use AWS S3, Cloudflare R2, MinIO or another server that implements them.',
        { missing: header },
      );
    /** Runs one write of the probe; a server error becomes the store error that explains it. */
    const attempt = async <T>(header: string, write: () => Promise<T>): Promise<T> => {
      try {
        return await write();
      } catch (err) {
        if (err instanceof ShelfError) throw err;
        // Some S3-compatible servers reject conditional headers outright.
        if (status(err) === 501) throw refuse(header, 'the server answered 501 Not Implemented');
        throw new ShelfError('store_unavailable', `Could not write to ${this.description}: ${describe(err)}`);
      }
    };
    await attempt('If-None-Match', async () => {
      if (!(await this.#succeeds(fullKey, body('created'), { ...opts, ifNoneMatch: '*' }))) {
        throw refuse('If-None-Match', 'a create-only write of a fresh random key was refused');
      }
    });
    try {
      const first = await attempt('If-Match', () => this.#etagOf(fullKey));
      if (await attempt('If-None-Match', () => this.#succeeds(fullKey, body('overwritten'), { ...opts, ifNoneMatch: '*' }))) {
        throw refuse('If-None-Match', 'a create-only write (If-None-Match: *) replaced an existing object');
      }
      if (await attempt('If-Match', () => this.#succeeds(fullKey, body('stale'), { ...opts, ifMatch: '"00000000000000000000000000000000"' }))) {
        throw refuse('If-Match', 'a compare-and-swap write (If-Match) with a wrong ETag replaced the object');
      }
      if (!(await attempt('If-Match', () => this.#succeeds(fullKey, body('swapped'), { ...opts, ifMatch: first })))) {
        throw refuse('If-Match', 'a compare-and-swap write (If-Match) with the current ETag was refused');
      }
    } finally {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey })).catch(() => undefined);
    }
  }

  /** The current ETag of a full key (the probe's), as a compare-and-swap would read it. */
  async #etagOf(fullKey: string): Promise<string> {
    const res = await this.#client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    return res.ETag ?? '';
  }

  /** True when the write happened, false when its precondition failed. */
  async #succeeds(fullKey: string, body: Uint8Array, options: PutOptions): Promise<boolean> {
    try {
      await this.#put(fullKey, fullKey, body, options);
      return true;
    } catch (err) {
      if (err instanceof PreconditionFailedError) return false;
      throw err;
    }
  }

  async #put(fullKey: string, key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    const condition = options.ifNoneMatch !== undefined ? 'if-none-match' : options.ifMatch !== undefined ? 'if-match' : null;
    try {
      const res = await this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: fullKey,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType,
          CacheControl: options.cacheControl,
          ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
          ...(options.ifMatch !== undefined ? { IfMatch: options.ifMatch } : {}),
        }),
      );
      if (!res.ETag) throw new Error(`${this.description}: PutObject of ${fullKey} answered without an ETag`);
      return { etag: res.ETag };
    } catch (err) {
      if (condition && isPreconditionFailure(err, condition)) throw new PreconditionFailedError(key, condition);
      throw err;
    }
  }
}

/** Parses `s3://bucket/prefix` into bucket and prefix. @throws TypeError naming the expected form */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!m || !BUCKET_NAME.test(m[1]!)) throw new TypeError(`expected s3://bucket[/prefix], got ${JSON.stringify(url)}`);
  return { bucket: m[1]!, prefix: m[2] ?? '' };
}

function status(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'NoSuchKey' || name === 'NotFound' || status(err) === 404;
}

/** 412, 409 ConditionalRequestConflict (a racing conditional write), or 404 on If-Match (no key): nothing was written. */
function isPreconditionFailure(err: unknown, condition: 'if-none-match' | 'if-match'): boolean {
  const code = status(err);
  return code === 412 || code === 409 || (condition === 'if-match' && isNotFound(err));
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const code = status(err);
  return `${e?.name ?? 'Error'}${code ? ` (HTTP ${code})` : ''}: ${e?.message ?? String(err)}`;
}
