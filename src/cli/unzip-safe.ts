/**
 * Safe extraction of untrusted zip archives (`.mcpb` bundles, `.skill` archives) for the CLI
 * (Node only).
 *
 * The whole archive is checked before anything is written: every entry name must be a plain
 * relative path (no `..`, no absolute or drive-letter path, no backslash, no control character),
 * every entry a regular file or directory (never a symlink or device), no two entries may land on
 * the same path (compared case-insensitively, as macOS and Windows would), entries may not share
 * bytes (overlapping-entry zip bombs), and the declared sizes must fit the bounds. Then each entry
 * is inflated in small chunks while the bytes actually produced are counted: an entry that
 * inflates past its declared size (a lying zip bomb) or the total bound is refused at once, and
 * every entry's CRC-32 is checked.
 *
 * Files are written into a temporary directory beside the destination, which is renamed into
 * place only when everything succeeded; on any failure the temporary directory is removed, so
 * nothing partial is ever left.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, rmdir, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Inflate } from 'fflate';
import { ShelfError } from '../core/errors.ts';

/** Bounds of {@link extractZipSafely}. */
export interface ExtractLimits {
  /** Most bytes all entries may inflate to, together. Default {@link DEFAULT_MAX_TOTAL_BYTES}. */
  maxTotalBytes?: number;
  /** Most entries (files and directories) the archive may hold. Default {@link DEFAULT_MAX_ENTRIES}. */
  maxEntries?: number;
}

/** What {@link extractZipSafely} wrote. */
export interface ExtractResult {
  /** The extracted files, relative to the destination, `/`-separated, sorted. */
  files: string[];
}

/** Default bound on the uncompressed size of an archive: 512 MiB. */
export const DEFAULT_MAX_TOTAL_BYTES = 512 * 1024 * 1024;
/** Default bound on the number of entries: 50,000 (bundles may carry a node_modules tree). */
export const DEFAULT_MAX_ENTRIES = 50_000;

/** One entry of the central directory, validated. */
export interface ZipEntry {
  /** The normalised relative path (`/`-separated, no `.` segments, no trailing `/`). */
  path: string;
  /** The name as stored in the archive. */
  rawName: string;
  /** True for a directory entry. */
  directory: boolean;
  /** 0 (stored) or 8 (deflate). */
  method: number;
  /** CRC-32 of the uncompressed bytes. */
  crc32: number;
  compressedSize: number;
  /** Declared uncompressed size; checked against the bytes actually inflated. */
  size: number;
  /** Offset of the entry's local header in the archive. */
  localOffset: number;
  /** Offset of the compressed data in the archive. */
  dataOffset: number;
  /** Unix permission bits when the archive records them (0 otherwise). */
  mode: number;
}

/**
 * Extracts `zip` into `destDir` safely and atomically.
 *
 * `destDir` must not exist, or be an empty directory; its parent is created if needed. The
 * entries are extracted into a temporary sibling directory that is renamed to `destDir` only on
 * success. Files get mode 0644, or 0755 when the archive marks them executable (never set-uid).
 *
 * @example
 * ```ts
 * const { files } = await extractZipSafely(await readFile('echo.mcpb'), '/tmp/echo', { maxTotalBytes: 50e6 });
 * ```
 * @param zip - The archive's bytes.
 * @param destDir - The directory to create (relative paths resolve against the working directory).
 * @param limits - Bounds on the total uncompressed size and the number of entries.
 * @returns The extracted files, relative to `destDir`.
 * @throws ShelfError `invalid_argument` (bad options), `invalid_archive` (not a zip, truncated,
 *   encrypted, ZIP64, unsupported compression, CRC mismatch), `unsafe_archive` (traversal,
 *   absolute path, link or device entry, duplicate path, overlapping entries, too many entries,
 *   too large, an entry inflating past its declared size; `details.reason` says which),
 *   `destination_exists` (`destDir` is a non-empty directory or a file). File-system errors
 *   pass through. In every case nothing is left behind.
 */
export async function extractZipSafely(zip: Uint8Array, destDir: string, limits: ExtractLimits = {}): Promise<ExtractResult> {
  if (!(zip instanceof Uint8Array)) throw new ShelfError('invalid_argument', 'The "zip" argument must be a Uint8Array.');
  if (typeof destDir !== 'string' || destDir === '') {
    throw new ShelfError('invalid_argument', 'The "destDir" argument must be a non-empty path.');
  }
  const maxTotalBytes = positiveInteger(limits.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES, 'maxTotalBytes');
  const maxEntries = positiveInteger(limits.maxEntries, DEFAULT_MAX_ENTRIES, 'maxEntries');

  // Everything is validated before the first byte is written.
  const entries = readZipEntries(zip, { maxTotalBytes, maxEntries });
  const dest = resolve(destDir);
  await assertAvailable(dest);

  const parent = dirname(dest);
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(dest)}.${randomBytes(6).toString('hex')}.partial`);
  await mkdir(temp, { mode: 0o755 });
  let done = false;
  try {
    const files: string[] = [];
    let total = 0;
    for (const entry of entries) {
      const target = resolve(temp, ...entry.path.split('/'));
      // Defence in depth: validated names cannot escape, and this proves it.
      if (!target.startsWith(temp + sep)) unsafe('traversal', entry.rawName, 'escapes the destination');
      if (entry.directory) {
        await mkdir(target, { recursive: true, mode: 0o755 });
        continue;
      }
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      total = await writeEntry(zip, entry, target, total, maxTotalBytes);
      files.push(entry.path);
    }
    await placeDirectory(temp, dest);
    done = true;
    return { files: files.sort() };
  } finally {
    if (!done) await rm(temp, { recursive: true, force: true }).catch(() => {});
  }
}

/**
 * Reads and validates the central directory of a zip archive without extracting anything. Used
 * by {@link extractZipSafely}; also handy to look inside an archive (see {@link readZipFile}).
 *
 * @throws ShelfError `invalid_archive`, `unsafe_archive` as {@link extractZipSafely} does.
 */
export function readZipEntries(zip: Uint8Array, limits: ExtractLimits = {}): ZipEntry[] {
  const maxTotalBytes = positiveInteger(limits.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES, 'maxTotalBytes');
  const maxEntries = positiveInteger(limits.maxEntries, DEFAULT_MAX_ENTRIES, 'maxEntries');
  zip = withoutSignature(zip);
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const eocd = findEndOfCentralDirectory(zip, view);
  const count = view.getUint16(eocd + 10, true);
  const cdSize = view.getUint32(eocd + 12, true);
  const cdOffset = view.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    invalid('ZIP64 archives are not supported.');
  }
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) {
    invalid('Multi-disk archives are not supported.');
  }
  if (count > maxEntries) {
    unsafe('too_many_entries', undefined, `has ${count} entries; at most ${maxEntries} are allowed`);
  }
  if (cdOffset + cdSize > eocd) invalid('The central directory lies outside the archive.');

  const entries: ZipEntry[] = [];
  const seen = new Map<string, { path: string; directory: boolean }>();
  let declaredTotal = 0;
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > eocd || view.getUint32(p, true) !== 0x02014b50) invalid('The central directory is truncated or corrupt.');
    const flags = view.getUint16(p + 8, true);
    const method = view.getUint16(p + 10, true);
    const crc32 = view.getUint32(p + 16, true);
    const compressedSize = view.getUint32(p + 20, true);
    const size = view.getUint32(p + 24, true);
    const nameLength = view.getUint16(p + 28, true);
    const extraLength = view.getUint16(p + 30, true);
    const commentLength = view.getUint16(p + 32, true);
    const externalAttributes = view.getUint32(p + 38, true);
    const localOffset = view.getUint32(p + 42, true);
    const next = p + 46 + nameLength + extraLength + commentLength;
    if (next > eocd) invalid('The central directory is truncated or corrupt.');
    const nameBytes = zip.subarray(p + 46, p + 46 + nameLength);
    // Bit 11: UTF-8 names; otherwise code page 437, of which ASCII is the safe common part.
    const rawName = flags & 0x800 ? new TextDecoder('utf-8', { fatal: false }).decode(nameBytes) : latin1(nameBytes);
    p = next;

    if (flags & 0x1) invalid(`The entry "${printable(rawName)}" is encrypted.`);
    if (compressedSize === 0xffffffff || size === 0xffffffff) invalid('ZIP64 archives are not supported.');

    const unixMode = externalAttributes >>> 16;
    const type = unixMode & 0o170000;
    if (type === 0o120000) unsafe('symlink', rawName, 'is a symbolic link');
    if (type !== 0 && type !== 0o100000 && type !== 0o040000) unsafe('special_file', rawName, 'is not a regular file or directory');
    const directory = rawName.endsWith('/') || type === 0o040000 || (externalAttributes & 0x10) !== 0;

    const path = normalizeEntryName(rawName);
    if (directory && size !== 0) unsafe('special_file', rawName, 'is a directory with content');
    if (!directory && method !== 0 && method !== 8) {
      invalid(`The entry "${printable(rawName)}" uses compression method ${method}; only stored and deflate are supported.`);
    }
    if (!directory && method === 0 && compressedSize !== size) invalid(`The stored entry "${printable(rawName)}" has inconsistent sizes.`);
    checkCollisions(seen, path, directory, rawName);

    declaredTotal += size;
    if (declaredTotal > maxTotalBytes) {
      unsafe('too_large', rawName, `takes the archive past ${maxTotalBytes} uncompressed bytes`);
    }

    // The data offset comes from the local header, whose name and extra lengths may differ.
    if (localOffset + 30 > cdOffset || view.getUint32(localOffset, true) !== 0x04034b50) {
      invalid(`The local header of "${printable(rawName)}" is missing or corrupt.`);
    }
    const dataOffset = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (dataOffset + compressedSize > cdOffset) invalid(`The data of "${printable(rawName)}" lies outside the archive.`);
    entries.push({
      path,
      rawName,
      directory,
      method,
      crc32,
      compressedSize,
      size,
      localOffset,
      dataOffset,
      mode: unixMode & 0o777,
    });
  }

  // Entries that share compressed bytes are the overlapping-file zip bomb: refuse them.
  const byOffset = [...entries].sort((a, b) => a.localOffset - b.localOffset);
  for (let i = 1; i < byOffset.length; i++) {
    const previous = byOffset[i - 1]!;
    if (previous.dataOffset + previous.compressedSize > byOffset[i]!.localOffset) {
      unsafe('overlapping_entries', byOffset[i]!.rawName, `overlaps the data of "${printable(previous.rawName)}"`);
    }
  }
  return entries;
}

/**
 * Reads one file of an archive into memory, with the same validation and bounds as
 * {@link extractZipSafely} (the whole archive is validated, the entry's real size is counted).
 *
 * @param name - The entry's path, e.g. `manifest.json`.
 * @returns The bytes, or null when the archive has no such file.
 * @throws ShelfError `invalid_archive`, `unsafe_archive`
 */
export function readZipFile(zip: Uint8Array, name: string, limits: ExtractLimits = {}): Uint8Array | null {
  const maxTotalBytes = positiveInteger(limits.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES, 'maxTotalBytes');
  const entry = readZipEntries(zip, limits).find((e) => !e.directory && e.path === name);
  if (!entry) return null;
  const chunks: Uint8Array[] = [];
  inflateEntry(zip, entry, 0, maxTotalBytes, (chunk) => chunks.push(chunk));
  return concat(chunks);
}

// ---- Names ---------------------------------------------------------------------------------

/** Turns an entry name into a safe relative path, or refuses it. */
function normalizeEntryName(rawName: string): string {
  if (rawName === '') unsafe('traversal', rawName, 'has an empty name');
  if (/[\u0000-\u001f\u007f]/.test(rawName)) unsafe('traversal', rawName, 'has a control character in its name');
  if (rawName.includes('\\')) unsafe('absolute_path', rawName, 'contains a backslash (a Windows path separator)');
  if (rawName.startsWith('/')) unsafe('absolute_path', rawName, 'is an absolute path');
  if (/^[a-zA-Z]:/.test(rawName)) unsafe('absolute_path', rawName, 'starts with a drive letter');
  const segments = rawName.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) unsafe('traversal', rawName, 'has a ".." segment');
  if (segments.length === 0) unsafe('traversal', rawName, 'names no file');
  return segments.join('/');
}

/** Two entries on one path (as a case-insensitive file system sees it), or a file used as a folder. */
function checkCollisions(
  seen: Map<string, { path: string; directory: boolean }>,
  path: string,
  directory: boolean,
  rawName: string,
): void {
  const key = path.normalize('NFC').toLowerCase();
  const previous = seen.get(key);
  if (previous) {
    // A directory entry repeated (or implied twice) is harmless; anything else is a clash.
    if (previous.directory && directory) return;
    unsafe('duplicate', rawName, `collides with "${printable(previous.path)}"`);
  }
  seen.set(key, { path, directory });
  const parts = key.split('/');
  for (let i = 1; i < parts.length; i++) {
    const ancestor = parts.slice(0, i).join('/');
    const existing = seen.get(ancestor);
    if (existing && !existing.directory) unsafe('duplicate', rawName, `lies inside the file "${printable(existing.path)}"`);
    if (!existing) seen.set(ancestor, { path: ancestor, directory: true });
  }
}

// ---- Inflating ------------------------------------------------------------------------------

/** Small input chunks bound what one push can inflate to (deflate's ratio is at most ~1032:1). */
const INPUT_CHUNK = 16 * 1024;

/**
 * Inflates an entry, handing the bytes to `sink` as they come, counting them against the
 * entry's declared size and the running total, and checking its CRC-32.
 *
 * @returns The new running total.
 */
function inflateEntry(zip: Uint8Array, entry: ZipEntry, totalBefore: number, maxTotalBytes: number, sink: (chunk: Uint8Array) => void): number {
  const data = zip.subarray(entry.dataOffset, entry.dataOffset + entry.compressedSize);
  let produced = 0;
  let crc = 0xffffffff;
  const accept = (chunk: Uint8Array): void => {
    produced += chunk.byteLength;
    if (produced > entry.size) unsafe('size_mismatch', entry.rawName, `inflates past its declared ${entry.size} bytes`);
    if (totalBefore + produced > maxTotalBytes) unsafe('too_large', entry.rawName, `takes the archive past ${maxTotalBytes} uncompressed bytes`);
    crc = crc32Update(crc, chunk);
    sink(chunk);
  };
  if (entry.method === 0) {
    for (let o = 0; o < data.byteLength; o += INPUT_CHUNK) accept(data.subarray(o, o + INPUT_CHUNK));
  } else if (data.byteLength > 0 || entry.size > 0) {
    const inflater = new Inflate((chunk) => accept(chunk));
    try {
      for (let o = 0; o < data.byteLength; o += INPUT_CHUNK) {
        inflater.push(data.subarray(o, o + INPUT_CHUNK), o + INPUT_CHUNK >= data.byteLength);
      }
    } catch (error) {
      if (error instanceof ShelfError) throw error;
      invalid(`The entry "${printable(entry.rawName)}" is corrupt (${error instanceof Error ? error.message : String(error)}).`);
    }
  }
  if (produced !== entry.size) invalid(`The entry "${printable(entry.rawName)}" inflates to ${produced} bytes, not the declared ${entry.size}.`);
  if ((crc ^ 0xffffffff) >>> 0 !== entry.crc32) invalid(`The entry "${printable(entry.rawName)}" fails its CRC-32 check.`);
  return totalBefore + produced;
}

async function writeEntry(zip: Uint8Array, entry: ZipEntry, target: string, total: number, maxTotalBytes: number): Promise<number> {
  // Inflation is synchronous; chunks are buffered per entry, bounded by its declared (checked) size.
  const chunks: Uint8Array[] = [];
  const newTotal = inflateEntry(zip, entry, total, maxTotalBytes, (chunk) => chunks.push(chunk));
  const mode = entry.mode & 0o111 ? 0o755 : 0o644;
  // 'wx': never follows or overwrites anything (a fresh temporary directory holds no links).
  const handle: FileHandle = await open(target, 'wx', mode);
  try {
    for (const chunk of chunks) {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    }
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
  return newTotal;
}

// ---- Placing the result -------------------------------------------------------------------

async function assertAvailable(dest: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new ShelfError('destination_exists', `${dest} exists and is not a directory.`, { path: dest });
    throw error;
  }
  if (names.length > 0) throw new ShelfError('destination_exists', `${dest} already exists and is not empty.`, { path: dest });
}

async function placeDirectory(temp: string, dest: string): Promise<void> {
  // An empty directory may be replaced; rename cannot do that on every platform.
  await rmdir(dest).catch(() => {});
  try {
    await rename(temp, dest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EPERM') {
      // Someone else filled the destination meanwhile (e.g. a concurrent extraction).
      throw new ShelfError('destination_exists', `${dest} already exists and is not empty.`, { path: dest });
    }
    throw error;
  }
}

// ---- Zip structure ------------------------------------------------------------------------

function findEndOfCentralDirectory(zip: Uint8Array, view: DataView): number {
  // The record is 22 bytes plus a comment of at most 65535 bytes, at the very end.
  const stop = Math.max(0, zip.byteLength - 22 - 0xffff);
  for (let p = zip.byteLength - 22; p >= stop; p--) {
    if (view.getUint32(p, true) === 0x06054b50 && p + 22 + view.getUint16(p + 20, true) === zip.byteLength) return p;
  }
  return invalid('The file is not a zip archive (no end of central directory record).');
}

const SIGNATURE_HEADER = new TextEncoder().encode('MCPB_SIG_V1');
const SIGNATURE_FOOTER = new TextEncoder().encode('MCPB_SIG_END');

/**
 * A signed bundle (`mcpb sign`) is the zip followed by `MCPB_SIG_V1`, a PKCS#7 block and
 * `MCPB_SIG_END`. The zip's offsets are unchanged, so reading the prefix is enough (the signature
 * itself is not verified here: the registry's sha256 is what the CLI trusts).
 */
function withoutSignature(zip: Uint8Array): Uint8Array {
  if (!endsWith(zip, SIGNATURE_FOOTER)) return zip;
  for (let i = zip.byteLength - SIGNATURE_FOOTER.byteLength - SIGNATURE_HEADER.byteLength; i >= 0; i--) {
    if (SIGNATURE_HEADER.every((b, j) => zip[i + j] === b)) return zip.subarray(0, i);
  }
  return zip;
}

function endsWith(bytes: Uint8Array, suffix: Uint8Array): boolean {
  if (bytes.byteLength < suffix.byteLength) return false;
  const start = bytes.byteLength - suffix.byteLength;
  return suffix.every((b, j) => bytes[start + j] === b);
}

let CRC_TABLE: Uint32Array | undefined;

function crc32Update(crc: number, bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = crc;
  for (let i = 0; i < bytes.byteLength; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

// ---- Helpers ------------------------------------------------------------------------------

function positiveInteger(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ShelfError('invalid_argument', `The "${option}" limit must be a positive integer; got ${String(value)}.`);
  }
  return value;
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/** Names are attacker-controlled: shown with control characters escaped and bounded in length. */
function printable(name: string): string {
  const escaped = name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > 200 ? `${escaped.slice(0, 199)}…` : escaped;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

function invalid(message: string): never {
  throw new ShelfError('invalid_archive', message);
}

function unsafe(reason: string, rawName: string | undefined, what: string): never {
  const subject = rawName === undefined ? 'The archive' : `The entry "${printable(rawName)}"`;
  throw new ShelfError('unsafe_archive', `${subject} ${what}; refusing to extract.`, {
    reason,
    ...(rawName === undefined ? {} : { entry: printable(rawName) }),
  });
}
