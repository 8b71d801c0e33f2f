/**
 * The filesystem object store, the embedded default: a folder on disk is the bucket.
 *
 * Layout under the root:
 * - `<key>`: the object's plain bytes, so the folder can be browsed or served as the bucket.
 * - `.shelf-meta/<key>.json`: the sidecar with Content-Type and Cache-Control.
 * - `.shelf-locks/<sha256(key)>`: per-key lock files that make preconditions hold across processes.
 * - `.<name>.<random>.tmp`: temp files of writes in progress.
 *
 * Keys never have a segment starting with "." (see {@link checkPutOptions}), so none of the
 * bookkeeping paths can collide with a key, and {@link FsStore.list} skips them all by that rule.
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { closeSync, fstatSync, openSync, readFileSync, readSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  checkPutOptions,
  PreconditionFailedError,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
  type StoredObject,
} from './object-store.ts';

const META_DIR = '.shelf-meta';
const LOCK_DIR = '.shelf-locks';
/** Locks are held for a check and two renames (milliseconds), so an old one was left by a crash. */
const STALE_LOCK_MS = 10_000;

interface Meta {
  contentType: string;
  cacheControl: string;
}

/** Served for files dropped into the folder by hand, which have no sidecar. */
const DEFAULT_META: Meta = { contentType: 'application/octet-stream', cacheControl: 'no-cache' };

/** Reads and deletes validate keys by the put rule, so no key can reach outside the root. */
const KEY_ONLY: PutOptions = { contentType: '-', cacheControl: '-' };

/**
 * Objects up to this size are read with synchronous calls: an asynchronous read is four
 * thread-pool round trips (open, stat, read, close), ~0.2 ms on this machine, which is most of
 * what the local server spends serving an index file of a few kilobytes; blocking the event
 * loop for the tens of microseconds a small read takes costs less. Larger objects (bundles)
 * are read asynchronously.
 */
const SYNC_READ_MAX = 256 * 1024;

/** What is known of a file while its identity (inode, mtime, size) is unchanged. */
interface KnownFile {
  ino: number;
  mtimeMs: number;
  size: number;
  etag: string;
  /** Its sidecar, once read or written. */
  meta?: Meta;
}

/** Options of {@link FsStore}. */
export interface FsStoreOptions {
  /**
   * fsync every write before it becomes visible (default true). `false` skips the fsyncs: a crash
   * may then lose or truncate recent writes. For bulk loading and benchmarks only, never for a
   * registry that must survive a power cut.
   */
  durable?: boolean;
}

/** An {@link ObjectStore} backed by a folder on disk. Safe for concurrent use by many processes on one machine. */
export class FsStore implements ObjectStore {
  /** `fs:<absolute root>`. */
  readonly description: string;
  readonly #root: string;
  readonly #durable: boolean;
  /**
   * ETags (and sidecars) by path, valid while the file's identity is unchanged, so big artifacts
   * are hashed once and a file served again costs one open, stat and read.
   */
  readonly #files = new Map<string, KnownFile>();
  /**
   * Tails of per-key queues. Same-key writes in this process take turns, so the losers of a race
   * fail the cheap precondition check instead of each writing and fsyncing a temp file and then
   * polling the lock file. The lock file still guards against other processes.
   */
  readonly #queues = new Map<string, Promise<unknown>>();

  /**
   * @param root The bucket folder; created on the first write.
   * @param options See {@link FsStoreOptions}.
   */
  constructor(root: string, options: FsStoreOptions = {}) {
    if (typeof root !== 'string' || root === '') {
      throw new TypeError('"root" option must be a non-empty string');
    }
    if (options.durable !== undefined && typeof options.durable !== 'boolean') {
      throw new TypeError('"durable" option must be a boolean');
    }
    this.#root = resolve(root);
    this.#durable = options.durable ?? true;
    this.description = `fs:${this.#root}`;
  }

  /** The bucket folder (absolute). Files under it whose names start with `.` are no keys: never listed, never served. */
  get root(): string {
    return this.#root;
  }

  async get(key: string): Promise<StoredObject | null> {
    checkPutOptions(key, KEY_ONLY);
    const path = this.#path(key);
    const small = readSmallSync(path);
    if (small === null) return null;
    if (small) {
      const known = this.#known(path, small.st) ?? this.#remember(path, small.st, md5(small.body));
      const meta = (known.meta ??= this.#readMetaSync(key));
      return { body: small.body, etag: known.etag, ...meta };
    }
    const handle = await openIfPresent(path);
    if (!handle) return null;
    let body: Uint8Array;
    let known: KnownFile;
    try {
      // Stat and read through one handle: a concurrent rename cannot mix two versions.
      const st = await handle.stat();
      if (!st.isFile()) return null;
      body = await readWhole(handle, st.size);
      known = this.#known(path, st) ?? this.#remember(path, st, md5(body));
    } finally {
      await handle.close();
    }
    // The sidecar is read after the bytes (a put renames it first), and kept with the bytes'
    // identity: a later put renames new bytes into place, which changes it.
    const meta = (known.meta ??= await this.#readMeta(key));
    return { body, etag: known.etag, ...meta };
  }

  async head(key: string): Promise<ObjectInfo | null> {
    checkPutOptions(key, KEY_ONLY);
    const info = await this.#info(this.#path(key));
    return info && { key, ...info };
  }

  async put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    checkPutOptions(key, options);
    if (!(body instanceof Uint8Array)) throw new TypeError('"body" must be a Uint8Array');
    return this.#serialized(key, () => this.#put(key, body, options));
  }

  async #put(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult> {
    const path = this.#path(key);
    const metaPath = this.#metaPath(key);
    // Fail fast before writing anything; the check that counts is repeated under the lock.
    await this.#checkPrecondition(key, path, options);

    const etag = md5(body);
    const meta: Meta = { contentType: options.contentType, cacheControl: options.cacheControl };
    const bodyTmp = tempPathFor(path);
    const metaTmp = tempPathFor(metaPath);
    try {
      // Write the bytes outside the lock, so the lock is held only for the check and the renames.
      // Both temp files are written (and fsynced) at once; both settle before anything else
      // happens, so the renames only ever see complete files and the cleanup below never races
      // a write still creating its file. The body's error wins, as when they ran in turn.
      const [bodyWrite, metaWrite] = await Promise.allSettled([
        writeNewFile(bodyTmp, body, this.#durable),
        writeNewFile(metaTmp, JSON.stringify(meta), this.#durable),
      ]);
      if (bodyWrite.status === 'rejected') throw bodyWrite.reason;
      if (metaWrite.status === 'rejected') throw metaWrite.reason;
      const st = bodyWrite.value;
      await this.#withLock(key, async () => {
        await this.#checkPrecondition(key, path, options);
        // Sidecar first: whoever sees the new bytes also sees their metadata.
        await rename(metaTmp, metaPath);
        await rename(bodyTmp, path);
        // rename keeps the inode and mtime, so the temp file's stat identifies the new object.
        this.#remember(path, st, etag, meta);
      });
    } finally {
      // No-ops after the renames; removes the leftovers of a failed write or precondition. A
      // failed cleanup must not replace the write's own error (a 412 must stay a 412): a stray
      // temp file is harmless, listings skip it.
      await Promise.allSettled([rm(bodyTmp, { force: true }), rm(metaTmp, { force: true })]);
    }
    return { etag };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (typeof prefix !== 'string') throw new TypeError('"prefix" must be a string');
    // Start at the deepest folder the prefix names, so listing one package does not walk the bucket.
    const dirSegments = prefix.split('/').slice(0, -1);
    // No key has an empty or dot segment, so such a prefix matches nothing (and cannot escape the root).
    if (dirSegments.some((s) => s === '' || s.startsWith('.'))) return [];
    const keys: string[] = [];
    await this.#walk(join(this.#root, ...dirSegments), dirSegments.join('/'), prefix, keys);
    // Folder order is not key order ('a-b' < 'a/b'), so sort the keys themselves.
    keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const result: ObjectInfo[] = [];
    for (const key of keys) {
      const info = await this.#info(this.#path(key));
      if (info) result.push({ key, ...info }); // else deleted while listing
    }
    return result;
  }

  async delete(key: string): Promise<void> {
    checkPutOptions(key, KEY_ONLY);
    const path = this.#path(key);
    // Under the lock so a delete cannot land between a put's precondition check and its rename.
    await this.#serialized(key, () =>
      this.#withLock(key, async () => {
        await unlinkIfPresent(path);
        await unlinkIfPresent(this.#metaPath(key));
        this.#files.delete(path);
      }),
    );
  }

  #path(key: string): string {
    return join(this.#root, ...key.split('/'));
  }

  #metaPath(key: string): string {
    return `${join(this.#root, META_DIR, ...key.split('/'))}.json`;
  }

  #readMetaSync(key: string): Meta {
    try {
      const meta = JSON.parse(readFileSync(this.#metaPath(key), 'utf8')) as Meta;
      return { contentType: meta.contentType, cacheControl: meta.cacheControl };
    } catch (err) {
      if (isAbsent(err)) return DEFAULT_META;
      throw err;
    }
  }

  async #readMeta(key: string): Promise<Meta> {
    try {
      const meta = JSON.parse(await readFile(this.#metaPath(key), 'utf8')) as Meta;
      return { contentType: meta.contentType, cacheControl: meta.cacheControl };
    } catch (err) {
      if (isAbsent(err)) return DEFAULT_META;
      throw err;
    }
  }

  /** ETag and size of the file at `path`, or null when there is none. */
  async #info(path: string): Promise<{ etag: string; size: number; lastModified: number } | null> {
    const handle = await openIfPresent(path);
    if (!handle) return null;
    try {
      const st = await handle.stat();
      if (!st.isFile()) return null;
      const etag = (this.#known(path, st) ?? this.#remember(path, st, await md5File(handle))).etag;
      return { etag, size: st.size, lastModified: st.mtimeMs };
    } finally {
      await handle.close();
    }
  }

  #known(path: string, st: Stats): KnownFile | undefined {
    const c = this.#files.get(path);
    return c && c.ino === st.ino && c.mtimeMs === st.mtimeMs && c.size === st.size ? c : undefined;
  }

  #remember(path: string, st: Stats, etag: string, meta?: Meta): KnownFile {
    const known: KnownFile = { ino: st.ino, mtimeMs: st.mtimeMs, size: st.size, etag, ...(meta ? { meta } : {}) };
    this.#files.set(path, known);
    return known;
  }

  async #checkPrecondition(key: string, path: string, { ifNoneMatch, ifMatch }: PutOptions): Promise<void> {
    if (ifNoneMatch === undefined && ifMatch === undefined) return;
    const current = await this.#info(path);
    if (ifNoneMatch === '*' && current) throw new PreconditionFailedError(key, 'if-none-match');
    if (ifMatch !== undefined && current?.etag !== ifMatch) throw new PreconditionFailedError(key, 'if-match');
  }

  /** Runs `fn` after every earlier same-key call of this process has settled. */
  async #serialized<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#queues.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#queues.get(key) === tail) this.#queues.delete(key); // keep the map small
    }
  }

  /** Runs `fn` holding the key's lock file, which excludes other callers in this and other processes. */
  async #withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const lock = join(this.#root, LOCK_DIR, createHash('sha256').update(key).digest('hex'));
    await mkdir(dirname(lock), { recursive: true });
    for (;;) {
      try {
        await (await open(lock, 'wx')).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      if (!(await breakIfStale(lock))) await sleep(1 + Math.random() * 9); // jitter avoids lockstep retries
    }
    try {
      return await fn();
    } finally {
      await rm(lock, { force: true });
    }
  }

  /** Appends to `out` every file key under `dir` (whose key is `dirKey`) that starts with `prefix`. */
  async #walk(dir: string, dirKey: string, prefix: string, out: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isAbsent(err)) return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // sidecars, locks, temp files, .git and the like
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix)) await this.#walk(join(dir, entry.name), key, prefix, out);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }
}

/**
 * Removes the lock if its holder looks crashed; true when the caller should retry at once.
 * Two waiters breaking the same stale lock could, in a window of microseconds, remove a lock
 * just re-taken by a third; locks almost never go stale, so that is accepted.
 */
async function breakIfStale(lock: string): Promise<boolean> {
  try {
    const st = await stat(lock);
    if (Date.now() - st.mtimeMs < STALE_LOCK_MS) return false;
    await rm(lock, { force: true });
    return true;
  } catch (err) {
    if (isAbsent(err)) return true; // released meanwhile
    throw err;
  }
}

/** The `size` bytes of an open file, in as few reads as the OS allows (one, for index pieces). */
async function readWhole(handle: FileHandle, size: number): Promise<Uint8Array> {
  const body = new Uint8Array(size);
  let read = 0;
  while (read < size) {
    const { bytesRead } = await handle.read(body, read, size - read, read);
    if (bytesRead === 0) break; // truncated under us: return what is there, as readFile would
    read += bytesRead;
  }
  return read === size ? body : body.subarray(0, read);
}

/**
 * The bytes and identity of the file at `path` when it is at most {@link SYNC_READ_MAX} bytes,
 * read through one descriptor (a concurrent rename cannot mix two versions); null when there is
 * no file; undefined when it is larger (read it asynchronously).
 */
function readSmallSync(path: string): { body: Uint8Array; st: Stats } | null | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if (isAbsent(err)) return null;
    throw err;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    if (st.size > SYNC_READ_MAX) return undefined;
    const body = new Uint8Array(st.size);
    let read = 0;
    while (read < st.size) {
      const n = readSync(fd, body, read, st.size - read, read);
      if (n === 0) break; // truncated under us: return what is there, as readFile would
      read += n;
    }
    return { body: read === st.size ? body : body.subarray(0, read), st };
  } finally {
    closeSync(fd);
  }
}

/** A temp path beside `target`: same folder so rename is atomic; leading dot so list skips it. */
function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Writes and (if `durable`) fsyncs a new file, so a rename after it never exposes a partial or lost write. */
async function writeNewFile(path: string, data: Uint8Array | string, durable: boolean): Promise<Stats> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'wx');
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
    return await handle.stat();
  } finally {
    await handle.close();
  }
}

async function openIfPresent(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (err) {
    if (isAbsent(err)) return null;
    throw err;
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (!isAbsent(err)) throw err;
  }
}

/** ENOTDIR: a parent is a file (`a` exists, `a/b` asked). EISDIR: the key names a folder. */
function isAbsent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function md5(data: Uint8Array): string {
  return `"${createHash('md5').update(data).digest('hex')}"`;
}

/** Hashes in chunks, so a big artifact is never held in memory just to compute its ETag. */
async function md5File(handle: FileHandle): Promise<string> {
  const hash = createHash('md5');
  const buf = Buffer.allocUnsafe(1 << 20);
  for (let pos = 0; ; ) {
    const { bytesRead } = await handle.read(buf, 0, buf.length, pos);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return `"${hash.digest('hex')}"`;
}
