/**
 * The bench's CDN for the browser comparison: one loopback HTTP/1.1 server per site, serving a
 * site's files brotli-compressed (quality {@link BROTLI_QUALITY}, as the rest of the bench counts
 * bytes) with their Content-Type and Cache-Control, and logging every request: when it arrived,
 * when its response was sent, and the bytes sent. Compressed bodies are kept once made, as a CDN
 * edge keeps them, so a warm-up pass leaves the timed queries paying for transfer, not for
 * compression. With `delayMs`, every response waits that long before it is sent: a modelled
 * network on which each request costs a round trip.
 *
 * @module
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, constants } from 'node:zlib';
import { BROTLI_QUALITY } from '../lib/stats.ts';

/** One file as a site serves it. */
export interface SiteFile {
  body: Uint8Array;
  contentType: string;
  cacheControl: string;
}

/** Where a site's files come from: a path (without the leading `/`, query string removed) to a file, or null. */
export type SiteSource = (path: string) => Promise<SiteFile | null>;

/** One request as the server saw it. */
export interface LoggedRequest {
  path: string;
  status: number;
  /** When the request arrived and when its response was written, ms (`performance.now()` of the bench). */
  arrived: number;
  sent: number;
  /** Bytes of the body as sent (brotli), and uncompressed. */
  bytes: number;
  raw: number;
  contentType: string;
}

/** A running site. */
export interface BenchCdn {
  url: string;
  /** Delay before every response, ms (0: loopback as it is). */
  delayMs: number;
  /** Returns the requests logged since the last call, and starts a new log. */
  take(): LoggedRequest[];
  close(): Promise<void>;
}

/** Starts a site over `source` on a free loopback port. */
export async function startBenchCdn(source: SiteSource): Promise<BenchCdn> {
  const compressed = new Map<string, { file: SiteFile; br: Buffer }>();
  let log: LoggedRequest[] = [];
  const cdn: BenchCdn = { url: '', delayMs: 0, take: () => log.splice(0), close: async () => {} };
  const server: Server = createServer((req, res) => {
    const arrived = performance.now();
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname).replace(/^\/+/, '') || 'index.html';
      let entry = compressed.get(path);
      if (!entry) {
        const file = await source(path.endsWith('/') ? `${path}index.html` : path);
        if (file) {
          const br = brotliCompressSync(file.body, { params: { [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [constants.BROTLI_PARAM_SIZE_HINT]: file.body.byteLength } });
          entry = { file, br };
          compressed.set(path, entry);
        }
      }
      if (cdn.delayMs > 0) await new Promise((r) => setTimeout(r, cdn.delayMs));
      const status = entry ? 200 : 404;
      const body = entry ? entry.br : Buffer.from('not found');
      res.writeHead(status, {
        'content-type': entry?.file.contentType ?? 'text/plain',
        'cache-control': entry?.file.cacheControl ?? 'no-store',
        ...(entry ? { 'content-encoding': 'br' } : {}),
        'content-length': String(body.byteLength),
        'access-control-allow-origin': '*',
      });
      res.end(body, () => {
        log.push({ path, status, arrived, sent: performance.now(), bytes: body.byteLength, raw: entry?.file.body.byteLength ?? 0, contentType: entry?.file.contentType ?? '' });
      });
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  cdn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdn.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return cdn;
}

/**
 * The dependency depth of a page's requests: a request's round is one more than the deepest
 * round among the responses sent before it arrived (the first request, the page itself, is
 * round 1). On a modelled network, requests a page issues together arrive within a few
 * milliseconds of each other and before any of their responses is sent, so the depth counts
 * sequential rounds; on loopback, responses come back so fast that independent requests can
 * land behind unrelated ones, so the depth is read from the modelled-network run.
 */
export function sequentialRounds(requests: readonly Pick<LoggedRequest, 'arrived' | 'sent'>[]): number {
  const sorted = [...requests].sort((a, b) => a.arrived - b.arrived);
  const rounds: number[] = [];
  let deepest = 0;
  for (let i = 0; i < sorted.length; i++) {
    let round = 1;
    for (let j = 0; j < i; j++) if (sorted[j]!.sent <= sorted[i]!.arrived) round = Math.max(round, rounds[j]! + 1);
    rounds.push(round);
    deepest = Math.max(deepest, round);
  }
  return deepest;
}
