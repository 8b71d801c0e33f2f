/**
 * Verified, atomic artifact download for the CLI (Node only).
 *
 * The bytes are streamed into a hidden temporary file next to the destination while their size
 * and SHA-256 are checked; only a file that matches both is fsynced and renamed into place. On
 * any failure the temporary file is deleted, so nothing partial is ever left behind and an
 * existing file at the destination is untouched.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import { globalFetch, type BodyChunk, type BodyReader, type FetchLike, type HttpAnswer } from '../core/http-answer.ts';
import { DEFAULT_READ_BOUNDS, fetchWithTimeouts, type ReadBounds } from '../core/read-bounds.ts';

/** Options of {@link downloadVerified}. */
export interface DownloadOptions {
  /** The artifact's URL. */
  url: string;
  /** Absolute path of the file to write. Its directory must exist. */
  dest: string;
  /** Expected size in bytes, from the version document. */
  size: number;
  /** Expected SHA-256, 64 lower-case hex characters, from the version document. */
  sha256: string;
  /** The GET to send; defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** Called as bytes arrive (e.g. to draw a progress bar), with the bytes so far and the expected size. */
  onProgress?: (received: number, total: number) => void;
  /** Connect and idle timeouts (the size is the recorded one). Default {@link DEFAULT_READ_BOUNDS}. */
  bounds?: ReadBounds;
}

/** What was written. */
export interface DownloadResult {
  /** Absolute path of the written file. */
  file: string;
  /** Bytes written (equal to the expected size). */
  size: number;
  /** SHA-256 of the written bytes (equal to the expected digest). */
  sha256: string;
}

/**
 * Downloads `url` to `dest`, verifying size and SHA-256 while streaming, and renames it into
 * place only when both match. The download is aborted as soon as more bytes than expected
 * arrive.
 *
 * @throws ShelfError `invalid_argument` (bad options, missing destination directory),
 *   `not_found` (HTTP 404), `registry_unreachable` (network failure, other HTTP errors),
 *   `integrity_mismatch` (wrong size or digest); file-system errors as Node raises them.
 *   Nothing is left at `dest` or beside it.
 */
export async function downloadVerified(options: DownloadOptions): Promise<DownloadResult> {
  const { url, dest, size, sha256 } = options;
  if (typeof url !== 'string' || url === '') throw new ShelfError('invalid_argument', 'The "url" option must be a URL.');
  if (typeof dest !== 'string' || !isAbsolute(dest)) {
    throw new ShelfError('invalid_argument', 'The "dest" option must be an absolute path.');
  }
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new ShelfError('invalid_argument', 'The "size" option must be a positive integer.');
  }
  if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
    throw new ShelfError('invalid_argument', 'The "sha256" option must be 64 lower-case hex characters.');
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') {
    throw new ShelfError('invalid_argument', 'The "onProgress" option must be a function.');
  }
  const fetchImpl = options.fetch ?? globalFetch;

  const dir = dirname(dest);
  // Checked before downloading anything, so a typo in -o fails fast.
  const dirStat = await stat(dir).catch(() => null);
  if (!dirStat?.isDirectory()) throw new ShelfError('invalid_argument', `The directory ${dir} does not exist.`);

  // Same directory as the destination, so the final rename is atomic (never across filesystems).
  const temp = join(dir, `.${basename(dest)}.${randomBytes(6).toString('hex')}.partial`);
  let handle: FileHandle | undefined;
  let reader: BodyReader | undefined;
  let renamed = false;
  try {
    let response: HttpAnswer;
    try {
      response = await fetchWithTimeouts(fetchImpl, url, {}, options.bounds ?? DEFAULT_READ_BOUNDS);
    } catch (error) {
      if (error instanceof ShelfError) throw error;
      throw new ShelfError('registry_unreachable', `Could not download ${url}: ${describe(error)}.`, { url });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      if (response.status === 404 || response.status === 410) {
        throw new ShelfError('not_found', `The artifact ${url} was not found (HTTP ${response.status}).`, { url });
      }
      throw new ShelfError('registry_unreachable', `GET ${url} failed with HTTP ${response.status}.`, { url });
    }
    // With a Content-Encoding the header counts compressed bytes, so only an identity length can be trusted.
    const declared = response.headers.get('content-length');
    const encoding = response.headers.get('content-encoding');
    if (declared !== null && (encoding === null || encoding === 'identity') && Number(declared) !== size) {
      await response.body?.cancel().catch(() => {});
      throw new ShelfError(
        'integrity_mismatch',
        `${url} is ${declared} bytes but the registry recorded ${size}; not downloading it.`,
        { url, expected: size, actual: Number(declared) },
      );
    }

    handle = await open(temp, 'wx', 0o644);
    const hash = createHash('sha256');
    let received = 0;
    reader = response.body?.getReader();
    while (reader) {
      let chunk: BodyChunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        if (error instanceof ShelfError) throw error; // stalled past the idle timeout
        throw new ShelfError('registry_unreachable', `The download of ${url} was interrupted: ${describe(error)}.`, { url });
      }
      if (chunk.done || chunk.value === undefined) break;
      received += chunk.value.byteLength;
      if (received > size) {
        throw new ShelfError('integrity_mismatch', `${url} sent more than the ${size} bytes the registry recorded.`, {
          url,
          expected: size,
        });
      }
      hash.update(chunk.value);
      await writeAll(handle, chunk.value);
      options.onProgress?.(received, size);
    }
    reader = undefined;
    if (received !== size) {
      throw new ShelfError('integrity_mismatch', `${url} sent ${received} bytes but the registry recorded ${size}.`, {
        url,
        expected: size,
        actual: received,
      });
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      throw new ShelfError('integrity_mismatch', `The sha256 of ${url} is ${actual} but the registry recorded ${sha256}.`, {
        url,
        expected: sha256,
        actual,
      });
    }
    // Flushed before the rename, so a crash can never leave a renamed but incomplete file.
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, dest);
    renamed = true;
    await syncDirectory(dir);
    return { file: dest, size, sha256: actual };
  } catch (error) {
    // Cancelling closes the connection: an oversized or broken download stops here.
    await reader?.cancel().catch(() => {});
    // File-system errors (EACCES, ENOSPC...) pass through: their message names the path.
    throw error;
  } finally {
    if (handle) await handle.close().catch(() => {});
    if (!renamed) await rm(temp, { force: true }).catch(() => {});
  }
}

async function writeAll(handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.byteLength) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Makes the rename durable. Best effort: some platforms (Windows) cannot open directories. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // The file itself is complete; only the directory entry's durability is at stake.
  } finally {
    await handle?.close().catch(() => {});
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
}
