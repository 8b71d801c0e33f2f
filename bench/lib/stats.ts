/**
 * Small statistics and timing helpers shared by the measurements.
 *
 * @module
 */
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Milliseconds since an arbitrary origin, sub-millisecond resolution. */
export const now = (): number => performance.now();

/**
 * CPU time (user + system) this process has used, ms. On a machine shared with other work,
 * wall time includes waiting for a core; CPU time is the work itself, and varies far less.
 */
export function cpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The value at quantile `q` (0..1) of `values`, nearest-rank; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

/**
 * Peak resident memory of this process, bytes. On Linux it is `VmHWM` of `/proc/self/status`:
 * `getrusage`'s `maxRSS` (Node's `resourceUsage().maxRSS`) is folded in from the parent across
 * fork + exec, so a child started by a big process would report the parent's peak as its own.
 * Elsewhere, `maxRSS`.
 */
export function peakRss(): number {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** p50, p95, max and count of a list of durations (ms), rounded for reports. */
export interface Percentiles {
  n: number;
  p50: number;
  p95: number;
  max: number;
  mean: number;
}

/** Summarises durations in milliseconds. */
export function percentiles(values: readonly number[]): Percentiles {
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN;
  return { n: values.length, p50: round(quantile(values, 0.5)), p95: round(quantile(values, 0.95)), max: round(Math.max(...values)), mean: round(mean) };
}

/** Rounds to 3 significant decimals for small numbers, integers for large ones. */
export function round(x: number): number {
  if (!Number.isFinite(x)) return x;
  if (Math.abs(x) >= 100) return Math.round(x);
  if (Math.abs(x) >= 1) return Math.round(x * 100) / 100;
  return Math.round(x * 1000) / 1000;
}

/** Sizes of one payload as stored and as a CDN would send it compressed. */
export interface CompressedSizes {
  raw: number;
  gzip: number;
  brotli?: number;
}

/**
 * Brotli quality used. 9 rather than 11: the index is rewritten by every announce, so it would be
 * compressed once per announce (or by the CDN on the fly, at lower qualities still); 11 is about
 * 17% smaller on these indexes but ten times slower (over 30 s for the 10,000-package index here).
 */
export const BROTLI_QUALITY = 9;

const sizeCache = new Map<string, CompressedSizes>();

/**
 * Raw, gzip (level 6, the usual server default) and, unless `brotli` is false, brotli
 * (quality {@link BROTLI_QUALITY}) sizes of `data`. Memoised by content hash, because the same
 * index is measured as stored and again as downloaded.
 */
export function compressedSizes(data: Uint8Array | string, options: { brotli?: boolean } = {}): CompressedSizes {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const withBrotli = options.brotli !== false;
  const id = `${createHash('sha1').update(bytes).digest('hex')}:${withBrotli}`;
  const cached = sizeCache.get(id);
  if (cached) return cached;
  const sizes: CompressedSizes = { raw: bytes.byteLength, gzip: gzipSync(bytes, { level: 6 }).byteLength };
  if (withBrotli) {
    sizes.brotli = brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength, [constants.BROTLI_PARAM_LGWIN]: 24 },
    }).byteLength;
  }
  sizeCache.set(id, sizes);
  return sizes;
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) throw new TypeError(`"limit" must be a positive integer, got ${String(limit)}`);
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Bytes as MiB with two decimals, for reports. */
export const mib = (bytes: number): number => Math.round((bytes / 1048576) * 100) / 100;
