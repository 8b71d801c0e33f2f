/**
 * Builds zip archives byte by byte for tests, including malformed and hostile ones that normal
 * zip writers refuse to produce: duplicate names, lying sizes, symlink entries, shared data.
 */
import { deflateSync } from 'fflate';

export interface RawEntry {
  name: string;
  data?: Uint8Array | string;
  /** 0 stored, 8 deflate (default). */
  method?: 0 | 8;
  /** Overrides the uncompressed size written in the headers. */
  declaredSize?: number;
  /** Full external attributes (e.g. `(0o120777 << 16) >>> 0` for a symlink). Default regular 0644. */
  externalAttributes?: number;
  /** Overrides the CRC-32 written in the headers. */
  crc?: number;
  /** Points this entry's central record at the local header of entry N instead of its own. */
  shareDataWith?: number;
}

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

export function buildZip(entries: RawEntry[], options: { trailer?: Uint8Array } = {}): Uint8Array {
  const enc = new TextEncoder();
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  const offsets: number[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const raw = typeof e.data === 'string' ? enc.encode(e.data) : (e.data ?? new Uint8Array());
    const method = e.method ?? 8;
    const body = method === 8 ? deflateSync(raw) : raw;
    const name = enc.encode(e.name);
    const crc = e.crc ?? crc32(raw);
    const size = e.declaredSize ?? raw.byteLength;
    const local = new Uint8Array(30 + name.byteLength + body.byteLength);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(6, 0x800, true);
    lv.setUint16(8, method, true);
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.byteLength, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.byteLength, true);
    local.set(name, 30);
    local.set(body, 30 + name.byteLength);
    offsets.push(offset);
    const localOffset = e.shareDataWith !== undefined ? offsets[e.shareDataWith]! : offset;
    if (e.shareDataWith === undefined) {
      locals.push(local);
      offset += local.byteLength;
    }
    const central = new Uint8Array(46 + name.byteLength);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, (3 << 8) | 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(8, 0x800, true);
    cv.setUint16(10, method, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.byteLength, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.byteLength, true);
    cv.setUint32(38, e.externalAttributes ?? (0o100644 << 16) >>> 0, true);
    cv.setUint32(42, localOffset, true);
    central.set(name, 46);
    centrals.push(central);
    void i;
  });
  const cdSize = centrals.reduce((n, c) => n + c.byteLength, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const parts = [...locals, ...centrals, eocd, ...(options.trailer ? [options.trailer] : [])];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.byteLength;
  }
  return out;
}
