/**
 * The CLI's on-disk document cache (Node only), plugged into the fetch-only client through its
 * injectable `fetch`.
 *
 * Every JSON document the client fetches is stored with its ETag and the SHA-256 of its body.
 * The next request for it sends `If-None-Match`; a `304 Not Modified` is answered from the
 * cache, so a repeated command costs one small 304 per document. Only a content-addressed
 * document (the sharded index's pieces, whose name carries the hash of their bytes) is kept
 * without revalidation, and only once its bytes were checked against that hash; a
 * `Cache-Control: immutable` header alone decides nothing, so one bad response (or a CDN
 * misconfiguration) can never freeze `latest` in the cache. Every read is bounded in size and
 * time (`core/read-bounds.ts`). Offline, documents are answered from the cache alone. An entry that does not parse, or whose body no longer matches
 * its recorded SHA-256, is deleted and fetched again: a corrupt cache is never trusted.
 *
 * Layout under the cache directory:
 * ```
 * documents/<sha256 of the URL>.json   {"url", "etag", "sha256", "stored_at", "body"}
 * ```
 * (Artifacts and unpacked bundles live beside it, see `artifact-cache.ts`; installed bundles'
 * records, see `bundle-records.ts`.)
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import { globalFetch, memoryAnswer, type FetchLike, type HttpAnswer } from '../core/http-answer.ts';
import { contentAddressOf, DEFAULT_READ_BOUNDS, fetchWithTimeouts, readBounds, readDocumentBody, verifyContentAddress, type ReadBounds } from '../core/read-bounds.ts';

/**
 * Where the cache lives: `$SHELF_CACHE_DIR`, else `$XDG_CACHE_HOME/shelf`, else
 * `%LOCALAPPDATA%\shelf\cache` on Windows, else `$HOME/.cache/shelf`. Null when none of these
 * is set (then documents are not cached, and commands that need the cache fail with
 * `cache_unavailable`).
 *
 * @param env - The environment to read.
 * @param platform - `process.platform`.
 */
export function resolveCacheDir(env: Record<string, string | undefined>, platform: string = process.platform): string | null {
  const explicit = env.SHELF_CACHE_DIR;
  if (explicit) return explicit;
  // The XDG spec says relative values are invalid and must be ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'shelf');
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'shelf', 'cache');
  const home = env.HOME || (platform === 'win32' ? env.USERPROFILE : undefined);
  return home ? join(home, '.cache', 'shelf') : null;
}

/** Counters of what the document cache did, for `--verbose`-style reporting and tests. */
export interface CacheStats {
  /** Requests sent with `If-None-Match` and answered 304 (served from the cache). */
  revalidated: number;
  /** Documents fetched in full (first time, or changed) and stored. */
  stored: number;
  /** Documents answered from the cache without any request (`--offline`). */
  offline: number;
  /** Entries found corrupt (unparseable, or body not matching its SHA-256) and discarded. */
  corrupt: number;
  /** Immutable documents answered from the cache without any request. */
  immutable: number;
}

/** Options of {@link createCachingFetch}. */
export interface CachingFetchOptions {
  /** The cache directory (see {@link resolveCacheDir}). */
  dir: string;
  /** Answer from the cache alone; a document not in it fails with `not_cached`. */
  offline?: boolean;
  /** The network GET (the CLI's transport, `net/http-transport.ts`); defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Counters updated as requests are answered. */
  stats?: CacheStats;
  /** Size and time bounds of every network read. Default {@link DEFAULT_READ_BOUNDS}. */
  bounds?: Partial<ReadBounds>;
}

/** A fresh, zeroed {@link CacheStats}. */
export function newCacheStats(): CacheStats {
  return { revalidated: 0, stored: 0, offline: 0, corrupt: 0, immutable: 0 };
}

interface Entry {
  url: string;
  etag: string;
  sha256: string;
  stored_at: string;
  body: string;
  /**
   * A content-addressed document whose bytes matched its name when stored: answered without
   * revalidation. Honoured only when the URL is content-addressed and the recorded SHA-256
   * still starts with the name's hash (entries written by older versions are revalidated).
   */
  immutable?: boolean;
}

/**
 * A GET that caches JSON documents on disk with their ETags and revalidates them. Only `.json`
 * URLs are cached; anything else goes straight to the network. Errors writing the cache are
 * ignored (the cache is an optimisation, never a reason to fail).
 *
 * @example
 * ```ts
 * const client = new RegistryClient({ baseUrl, fetch: createCachingFetch({ dir: resolveCacheDir(process.env)! }) });
 * ```
 * @throws ShelfError `invalid_argument` (bad options). The returned GET throws `not_cached`
 *   offline when a document is not in the cache (or is corrupt).
 */
export function createCachingFetch(options: CachingFetchOptions): FetchLike {
  const { dir, offline = false, stats } = options;
  if (typeof dir !== 'string' || dir === '') throw new ShelfError('invalid_argument', 'The "dir" option must be a directory path.');
  if (options.fetch !== undefined && typeof options.fetch !== 'function') {
    throw new ShelfError('invalid_argument', 'The "fetch" option must be a function.');
  }
  const network = options.fetch ?? globalFetch;
  const bounds = readBounds(options.bounds);
  const documents = join(dir, 'documents');

  return async (url, init = {}): Promise<HttpAnswer> => {
    if (!new URL(url).pathname.endsWith('.json')) return network(url, init);

    const file = join(documents, `${sha256(url)}.json`);
    const entry = await readEntry(file, url, stats);
    if (offline) {
      if (!entry) {
        throw new ShelfError('not_cached', `${url} is not in the cache (${dir}); run the command once without --offline.`, { url });
      }
      if (stats) stats.offline++;
      return cachedAnswer(entry, 'offline');
    }
    if (entry?.immutable && isStillContentAddressed(entry)) {
      if (stats) stats.immutable++;
      return cachedAnswer(entry, 'immutable');
    }
    const headers = lowerCased(init.headers);
    if (entry) headers['if-none-match'] = entry.etag;
    const response = await fetchWithTimeouts(network, url, { headers, ...(init.signal ? { signal: init.signal } : {}) }, bounds);
    if (response.status === 304 && entry) {
      await response.body?.cancel().catch(() => {});
      if (stats) stats.revalidated++;
      return cachedAnswer(entry, 'revalidated');
    }
    if (response.status === 404 || response.status === 410) {
      // Deleted upstream: offline mode must not keep answering with it.
      await rm(file, { force: true }).catch(() => {});
      return response;
    }
    const etag = response.headers.get('etag');
    if (response.status !== 200 || !etag) return response;
    const bytes = await readDocumentBody(response, url, bounds);
    // Cache-Control does not decide: only a name that carries the hash of the bytes does.
    const contentAddressed = contentAddressOf(url) !== null;
    if (contentAddressed && !(await verifyContentAddress(url, bytes))) {
      throw new ShelfError('integrity_mismatch', `${url} is not the content its name carries the hash of; it is not used or cached.`, { url, expected: contentAddressOf(url)! });
    }
    const immutable = contentAddressed;
    const body = new TextDecoder().decode(bytes);
    const stored = await writeEntry(documents, file, { url, etag, sha256: sha256(body), stored_at: new Date().toISOString(), body, ...(immutable ? { immutable } : {}) });
    if (stored && stats) stats.stored++;
    return memoryAnswer(200, { 'content-type': response.headers.get('content-type') ?? 'application/json', etag, 'x-shelf-cache': 'stored' }, bytes);
  };
}

/** Reads an entry; anything that does not check out is deleted and treated as absent. */
async function readEntry(file: string, url: string, stats: CacheStats | undefined): Promise<Entry | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return null;
  }
  try {
    const entry = JSON.parse(text) as Partial<Entry> | null;
    if (
      entry &&
      entry.url === url &&
      typeof entry.etag === 'string' &&
      entry.etag !== '' &&
      typeof entry.body === 'string' &&
      typeof entry.sha256 === 'string' &&
      sha256(entry.body) === entry.sha256
    ) {
      return entry as Entry;
    }
  } catch {
    // Falls through: unparseable is corrupt.
  }
  if (stats) stats.corrupt++;
  await rm(file, { force: true }).catch(() => {});
  return null;
}

/** Writes atomically (temp file + rename) so a reader never sees half an entry. */
async function writeEntry(dir: string, file: string, entry: Entry): Promise<boolean> {
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(temp, JSON.stringify(entry), { mode: 0o644 });
    await rename(temp, file);
    return true;
  } catch {
    await rm(temp, { force: true }).catch(() => {});
    return false;
  }
}

/** Request headers by lower-case name. */
function lowerCased(headers: Record<string, string> | undefined): Record<string, string> {
  const record: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) record[name.toLowerCase()] = value;
  return record;
}

/** The entry's URL is content-addressed and its recorded SHA-256 is the one the name carries. */
function isStillContentAddressed(entry: Entry): boolean {
  const address = contentAddressOf(entry.url);
  return address !== null && entry.sha256.startsWith(address);
}

function cachedAnswer(entry: Entry, how: 'offline' | 'revalidated' | 'immutable'): HttpAnswer {
  return memoryAnswer(200, { 'content-type': 'application/json', etag: entry.etag, 'x-shelf-cache': how }, new TextEncoder().encode(entry.body));
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
