/**
 * Writes zip archives byte by byte, so tests can build the hostile ones real zip tools refuse to
 * make: `../` names, absolute paths, symlinks, lying sizes, duplicate and overlapping entries.
 */
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { deflateSync } from 'fflate';

/** One entry as it will be written. Everything a hostile archive may lie about can be set. */
export interface RawEntry {
  name: string;
  /** The uncompressed bytes (default empty). */
  data?: Uint8Array | string;
  /** 0 stored, 8 deflate (default 8). */
  method?: 0 | 8;
  /** Unix mode in the external attributes, e.g. `0o120777` for a symlink (default `0o100644`). */
  unixMode?: number;
  /** Size written in the headers instead of the real one. */
  declaredSize?: number;
  /** Write no data of its own: point the central record at the local header of entry `i`. */
  sharesDataOf?: number;
  /** Raw deflate bytes to store as they are (method 8) instead of compressing `data`; `data` then only gives the CRC. */
  compressed?: Uint8Array;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as zip uses it. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of bytes) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Builds the archive: local headers and data, central directory, end record. */
export function rawZip(entries: RawEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  const offsets: number[] = [];
  const written: Array<{ method: number; crc: number; compressed: number; size: number }> = [];
  let offset = 0;
  entries.forEach((entry, i) => {
    const name = enc.encode(entry.name);
    let localOffset = offset;
    if (entry.sharesDataOf !== undefined) {
      // The same compressed bytes again, described by a second central record.
      localOffset = offsets[entry.sharesDataOf]!;
      offsets[i] = localOffset;
      written[i] = written[entry.sharesDataOf]!;
      central.push(header(0x02014b50, written[i]!, name, true, entry.unixMode ?? 0o100644, localOffset));
      return;
    }
    const data = typeof entry.data === 'string' ? enc.encode(entry.data) : (entry.data ?? new Uint8Array(0));
    const method = entry.method ?? 8;
    const body = entry.compressed ?? (method === 8 ? deflateSync(data) : data);
    const size = entry.declaredSize ?? data.byteLength;
    const crc = crc32(data);
    const fields = { method, crc, compressed: body.byteLength, size };
    written[i] = fields;
    const local = header(0x04034b50, fields, name, false);
    locals.push(local, body);
    offset += local.byteLength + body.byteLength;
    offsets[i] = localOffset;
    central.push(header(0x02014b50, fields, name, true, entry.unixMode ?? 0o100644, localOffset));
  });
  const cdSize = central.reduce((n, c) => n + c.byteLength, 0);
  const end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true);
  end.setUint16(8, entries.length, true);
  end.setUint16(10, entries.length, true);
  end.setUint32(12, cdSize, true);
  end.setUint32(16, offset, true);
  return concat([...locals, ...central, new Uint8Array(end.buffer)]);
}

function header(
  signature: number,
  f: { method: number; crc: number; compressed: number; size: number },
  name: Uint8Array,
  isCentral: boolean,
  unixMode = 0,
  localOffset = 0,
): Uint8Array {
  const fixed = isCentral ? 46 : 30;
  const view = new DataView(new ArrayBuffer(fixed + name.byteLength));
  view.setUint32(0, signature, true);
  let p = 4;
  if (isCentral) {
    view.setUint16(p, (3 << 8) | 20, true); // made by: Unix, so the mode in the attributes counts
    p += 2;
  }
  view.setUint16(p, 20, true); // version needed
  view.setUint16(p + 2, 0x800, true); // flags: UTF-8 names
  view.setUint16(p + 4, f.method, true);
  view.setUint32(p + 6, 0, true); // time, date
  view.setUint32(p + 10, f.crc, true);
  view.setUint32(p + 14, f.compressed, true);
  view.setUint32(p + 18, f.size, true);
  view.setUint16(p + 22, name.byteLength, true);
  view.setUint16(p + 24, 0, true); // extra length
  if (isCentral) {
    // comment length, disk, internal attributes: 0
    view.setUint32(38, (unixMode << 16) >>> 0, true);
    view.setUint32(42, localOffset, true);
  }
  const out = new Uint8Array(view.buffer);
  out.set(name, fixed);
  return out;
}

/**
 * A raw deflate stream of `mebibytes` MiB of zeros, built without ever holding them: the
 * compressed form of one MiB ends in a sync flush (byte-aligned, not final), so copies of it
 * follow one another, and an empty final block closes the stream. About 1 KiB per MiB.
 */
export function deflatedZeros(mebibytes: number): Uint8Array {
  const mib = deflateRawSync(new Uint8Array(1024 * 1024), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
  const out = new Uint8Array(mib.byteLength * mebibytes + 2);
  for (let i = 0; i < mebibytes; i++) out.set(mib, i * mib.byteLength);
  out.set([0x03, 0x00], mib.byteLength * mebibytes); // final fixed-Huffman block holding only its end code
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}
