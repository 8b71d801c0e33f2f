/**
 * Response compression for the embedded server, as a CDN in front of the bucket would do it:
 * brotli or gzip for text-like types (JSON, HTML, JavaScript, CSS, SVG, Markdown), chosen from the
 * request's `Accept-Encoding` (q-values honoured, brotli preferred), `Vary: Accept-Encoding` on
 * every answer whose encoding could have differed, and a weak ETag on a compressed answer (its
 * bytes are not the object's; CloudFront does the same). Artifacts (zip archives) are sent as
 * they are.
 *
 * Compressed bodies are cached by ETag and encoding, within a byte budget, so the page script is
 * compressed once per build and documents once per change.
 *
 * @module
 */
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

/** An encoding the server can produce. */
export type Encoding = 'br' | 'gzip';

/** Bodies smaller than this are sent as they are (compression would save too little). */
export const MIN_COMPRESSED_BYTES = 1024;

const COMPRESSIBLE = /^(application\/json|application\/javascript|text\/|image\/svg\+xml)/i;

/** True when answers of this Content-Type are compressed (and so vary by `Accept-Encoding`). */
export function isCompressible(contentType: string): boolean {
  return COMPRESSIBLE.test(contentType);
}

/**
 * The encoding to answer with for an `Accept-Encoding` header, or null for the bytes as they are:
 * brotli when its q-value is at least gzip's, else gzip, when acceptable (q > 0; `*` counts for an
 * encoding not named).
 */
export function negotiateEncoding(acceptEncoding: string | string[] | undefined): Encoding | null {
  const header = Array.isArray(acceptEncoding) ? acceptEncoding.join(',') : (acceptEncoding ?? '');
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    if (!name) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(name.trim(), Number.isFinite(value) ? value : 0);
  }
  const of = (encoding: string): number => q.get(encoding) ?? q.get('*') ?? 0;
  const br = of('br');
  const gz = of('gzip');
  if (br > 0 && br >= gz) return 'br';
  if (gz > 0) return 'gzip';
  return null;
}

/** The weak form of an ETag (`"x"` → `W/"x"`). */
export const weakEtag = (etag: string): string => (etag.startsWith('W/') ? etag : `W/${etag}`);

/** True when an `If-None-Match` header matches `etag` by weak comparison (RFC 9110), or is `*`. */
export function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const opaque = (t: string) => t.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || opaque(t) === opaque(etag));
}

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/** Compresses bodies, keeping the results by ETag and encoding within a byte budget (least recently used first out). */
export class CompressionCache {
  readonly #maxBytes: number;
  #bytes = 0;
  readonly #entries = new Map<string, Uint8Array>();

  /** @param maxBytes - Most compressed bytes kept. Default 32 MiB. */
  constructor(maxBytes = 32 * 1024 * 1024) {
    if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new TypeError('"maxBytes" must be a non-negative integer');
    this.#maxBytes = maxBytes;
  }

  /** The body compressed with `encoding` (in the thread pool: the event loop keeps serving). */
  async compress(etag: string, encoding: Encoding, body: Uint8Array): Promise<Uint8Array> {
    const key = `${encoding} ${etag}`;
    const hit = this.#entries.get(key);
    if (hit) {
      this.#entries.delete(key);
      this.#entries.set(key, hit);
      return hit;
    }
    const out =
      encoding === 'br'
        ? await brotli(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength } })
        : await gzipAsync(body, { level: 9 });
    const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    if (bytes.byteLength <= this.#maxBytes) {
      this.#entries.set(key, bytes);
      this.#bytes += bytes.byteLength;
      for (const [k, v] of this.#entries) {
        if (this.#bytes <= this.#maxBytes) break;
        this.#entries.delete(k);
        this.#bytes -= v.byteLength;
      }
    }
    return bytes;
  }
}
