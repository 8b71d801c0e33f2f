/**
 * Bounded, non-blocking inflation of the entries of an untrusted zip archive, after
 * `zip-entries.ts` has validated its central directory.
 *
 * - **Bounded**: the bytes actually produced are counted as they come, against the entry's
 *   declared size and the archive's total bound; inflation stops at once (the stream is
 *   destroyed) when either is passed, so an entry that lies about its size costs at most one
 *   output chunk ({@link OUTPUT_CHUNK}) beyond its claim, never its real size.
 * - **Non-blocking**: deflate runs in `node:zlib`'s thread pool, one output chunk at a time, so
 *   the event loop keeps serving other requests while an archive is inspected or unpacked.
 * - **Checked**: every entry must inflate to exactly its declared size and match its CRC-32.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { ShelfError } from '../core/errors.ts';
import { archiveLimits, invalid, printable, readZipEntries, unsafe, type ArchiveLimits, type ZipEntry } from './zip-entries.ts';

/** Bytes of output per thread-pool round trip (and the most an entry can overshoot its claim). */
export const OUTPUT_CHUNK = 64 * 1024;

/** Receives an entry's bytes as they are inflated (may be async: the next chunk waits for it). */
export type ChunkSink = (chunk: Uint8Array) => void | Promise<void>;

/**
 * Inflates one entry, handing its bytes to `sink` as they come.
 *
 * @param zip - The archive (as given to `readZipEntries`).
 * @param totalBefore - Bytes the archive's earlier entries inflated to.
 * @param maxTotalBytes - The bound on the archive's total.
 * @returns The new running total.
 * @throws ShelfError `unsafe_archive` (`size_mismatch`: inflates past its declared size;
 *   `too_large`: past the total), `invalid_archive` (corrupt data, short, CRC mismatch); whatever
 *   `sink` throws.
 */
export async function inflateEntry(zip: Uint8Array, entry: ZipEntry, totalBefore: number, maxTotalBytes: number, sink: ChunkSink): Promise<number> {
  const data = zip.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  let produced = 0;
  let crc = 0;
  const accept = async (chunk: Uint8Array): Promise<void> => {
    produced += chunk.byteLength;
    if (produced > entry.size) unsafe('size_mismatch', entry.rawName, `inflates past its declared ${entry.size} bytes`);
    if (totalBefore + produced > maxTotalBytes) unsafe('too_large', entry.rawName, `takes the archive past ${maxTotalBytes} uncompressed bytes`);
    crc = crc32(chunk, crc);
    await sink(chunk);
  };
  if (entry.method === 0) {
    for (let o = 0; o < data.byteLength; o += OUTPUT_CHUNK) await accept(data.subarray(o, o + OUTPUT_CHUNK));
  } else if (data.byteLength > 0 || entry.size > 0) {
    // The refusal that stopped the stream, rather than the abort its teardown reports.
    let refusal: unknown;
    try {
      await pipeline(Readable.from([data]), zlib.createInflateRaw({ chunkSize: OUTPUT_CHUNK }), async (inflated: AsyncIterable<Buffer>) => {
        for await (const chunk of inflated) {
          try {
            await accept(chunk);
          } catch (error) {
            refusal = error;
            throw error;
          }
        }
      });
    } catch (error) {
      if (refusal !== undefined) throw refusal;
      if (error instanceof ShelfError) throw error;
      invalid(`The entry "${printable(entry.rawName)}" is corrupt (${error instanceof Error ? error.message : String(error)}).`);
    }
  }
  if (produced !== entry.size) invalid(`The entry "${printable(entry.rawName)}" inflates to ${produced} bytes, not the declared ${entry.size}.`);
  if (crc !== entry.crc32) invalid(`The entry "${printable(entry.rawName)}" fails its CRC-32 check.`);
  return totalBefore + produced;
}

/** What {@link inspectArchive} found. */
export interface InspectedArchive {
  /** Every entry, validated. */
  entries: ZipEntry[];
  /** The bytes of the files `keep` selected, by path. */
  kept: Map<string, Uint8Array>;
}

/**
 * Validates a whole archive without writing anything: its central directory by the rules of
 * `zip-entries.ts`, then every entry inflated (bounded, in the thread pool) to check its size
 * and CRC-32, exactly as the CLI does when it unpacks it. Keeps the files `keep` selects.
 *
 * @param keep - Selects the entries (by normalised path) whose bytes are returned.
 * @param maxKeptBytes - Most bytes a kept file may declare; a larger one is `unsafe_archive`
 *   (`too_large`) before it is inflated.
 * @throws ShelfError `invalid_archive`, `unsafe_archive`, `invalid_argument`
 */
export async function inspectArchive(
  zip: Uint8Array,
  limits: ArchiveLimits,
  keep: (path: string) => boolean = () => false,
  maxKeptBytes = Number.MAX_SAFE_INTEGER,
): Promise<InspectedArchive> {
  const { maxTotalBytes } = archiveLimits(limits);
  const entries = readZipEntries(zip, limits);
  const kept = new Map<string, Uint8Array>();
  let total = 0;
  for (const entry of entries) {
    if (entry.directory) continue;
    if (!keep(entry.path)) {
      total = await inflateEntry(zip, entry, total, maxTotalBytes, () => {});
      continue;
    }
    if (entry.size > maxKeptBytes) unsafe('too_large', entry.rawName, `is larger than the ${maxKeptBytes} bytes read of such a file`);
    const chunks: Uint8Array[] = [];
    total = await inflateEntry(zip, entry, total, maxTotalBytes, (chunk) => void chunks.push(chunk));
    kept.set(entry.path, Buffer.concat(chunks));
  }
  return { entries, kept };
}

/**
 * Reads one file of an archive into memory, with the same validation and bounds as unpacking
 * (the whole central directory is validated, the entry's real size and CRC are checked).
 *
 * @param name - The entry's path, e.g. `manifest.json`.
 * @returns The bytes, or null when the archive has no such file.
 * @throws ShelfError `invalid_archive`, `unsafe_archive`
 */
export async function readArchiveFile(zip: Uint8Array, name: string, limits: ArchiveLimits = {}): Promise<Uint8Array | null> {
  const { maxTotalBytes } = archiveLimits(limits);
  const entry = readZipEntries(zip, limits).find((e) => !e.directory && e.path === name);
  if (!entry) return null;
  const chunks: Uint8Array[] = [];
  await inflateEntry(zip, entry, 0, maxTotalBytes, (chunk) => void chunks.push(chunk));
  return Buffer.concat(chunks);
}

// ---- CRC-32 ---------------------------------------------------------------------------------

let CRC_TABLE: Uint32Array | undefined;

/** zlib's native CRC-32 (Node ≥ 20.15), else a table-driven one. */
function crc32(bytes: Uint8Array, value: number): number {
  const native = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
  if (native) return native(bytes, value);
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = (value ^ 0xffffffff) >>> 0;
  for (let i = 0; i < bytes.byteLength; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
