/**
 * Reads the central directory of an untrusted zip archive (`.mcpb` bundles, `.skill` archives)
 * and applies the rules every archive must pass, before a byte of it is inflated: every entry
 * name a plain relative path (no `..`, no absolute or drive-letter path, no backslash, no control
 * character), every entry a regular file or directory (never a symlink or device), no two entries
 * on the same path (compared case-insensitively and after Unicode normalisation, as macOS and
 * Windows would), no entries sharing bytes (overlapping-entry zip bombs), and the declared sizes
 * within the bounds: total, entry count, and ratio to the archive's own size.
 *
 * One module for both ends: the registry applies these rules to every artifact it accepts
 * (`announce/inspect-artifact.ts`) and the CLI to every archive it unpacks (`cli/unzip-safe.ts`),
 * so the registry never publishes an archive its own client refuses. The bytes themselves are
 * inflated, bounded, by `inflate.ts`.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';

/** Bounds on an archive. Every field is optional; the defaults are the same at both ends. */
export interface ArchiveLimits {
  /** Most bytes all entries may inflate to, together. Default {@link DEFAULT_MAX_TOTAL_BYTES}. */
  maxTotalBytes?: number;
  /** Most entries (files and directories) the archive may hold. Default {@link DEFAULT_MAX_ENTRIES}. */
  maxEntries?: number;
  /**
   * Most times the archive's own size its entries may inflate to, together (checked once they
   * pass {@link RATIO_FLOOR_BYTES}). Default {@link DEFAULT_MAX_RATIO}.
   */
  maxRatio?: number;
}

/** Default bound on the uncompressed size of an archive: 512 MiB. */
export const DEFAULT_MAX_TOTAL_BYTES = 512 * 1024 * 1024;
/** Bound on the uncompressed size of a skill archive (`shelf skill install`'s): 100 MiB. */
export const MAX_SKILL_UNPACKED_BYTES = 100 * 1024 * 1024;
/** Default bound on the number of entries: 50,000 (bundles may carry a node_modules tree). */
export const DEFAULT_MAX_ENTRIES = 50_000;
/**
 * Default bound on the ratio of uncompressed to compressed size: 100. Source code and
 * node_modules trees compress 3–10 times; a zip bomb, hundreds to thousands of times.
 */
export const DEFAULT_MAX_RATIO = 100;
/** Below this many uncompressed bytes the ratio is not checked (tiny, very compressible files are fine). */
export const RATIO_FLOOR_BYTES = 1024 * 1024;

/** The limits with their defaults applied, validated. @throws ShelfError `invalid_argument` naming the limit */
export function archiveLimits(limits: ArchiveLimits = {}): Required<ArchiveLimits> {
  return {
    maxTotalBytes: positiveInteger(limits.maxTotalBytes, DEFAULT_MAX_TOTAL_BYTES, 'maxTotalBytes'),
    maxEntries: positiveInteger(limits.maxEntries, DEFAULT_MAX_ENTRIES, 'maxEntries'),
    maxRatio: positiveInteger(limits.maxRatio, DEFAULT_MAX_RATIO, 'maxRatio'),
  };
}

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
 * Reads and validates the central directory of a zip archive without inflating anything.
 *
 * @throws ShelfError `invalid_archive` (not a zip, truncated, encrypted, ZIP64, multi-disk,
 *   unsupported compression), `unsafe_archive` (traversal, absolute path, link or device entry,
 *   duplicate path, overlapping entries, too many entries, too large, too compressed;
 *   `details.reason` says which), `invalid_argument` (bad limits).
 */
export function readZipEntries(zip: Uint8Array, limits: ArchiveLimits = {}): ZipEntry[] {
  const { maxTotalBytes, maxEntries, maxRatio } = archiveLimits(limits);
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

  // A small archive that claims to inflate to a great deal is a bomb, whether or not it lies.
  if (declaredTotal > RATIO_FLOOR_BYTES && declaredTotal > maxRatio * zip.byteLength) {
    unsafe('ratio', undefined, `inflates to ${declaredTotal} bytes, more than ${maxRatio} times its own ${zip.byteLength}`);
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
export function printable(name: string): string {
  const escaped = name.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return escaped.length > 200 ? `${escaped.slice(0, 199)}…` : escaped;
}

/** @throws ShelfError `invalid_archive` */
export function invalid(message: string): never {
  throw new ShelfError('invalid_archive', message);
}

/** @throws ShelfError `unsafe_archive` with `details.reason` */
export function unsafe(reason: string, rawName: string | undefined, what: string): never {
  const subject = rawName === undefined ? 'The archive' : `The entry "${printable(rawName)}"`;
  throw new ShelfError('unsafe_archive', `${subject} ${what}; refusing to extract.`, {
    reason,
    ...(rawName === undefined ? {} : { entry: printable(rawName) }),
  });
}
