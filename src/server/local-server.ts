/**
 * The embedded registry's one HTTP server: a CDN over the bucket (GET/HEAD of any key, with the
 * object's Content-Type, Cache-Control and ETag, `If-None-Match` answered with 304, text-like
 * bodies compressed as `Accept-Encoding` allows) and the function URL (POST requests are adapted
 * to the Lambda handler's event format, so the local server runs exactly the code Lambda runs).
 *
 * A request, in order:
 * 1. **path**: a path that cannot name a key is refused (`400 invalid_path`).
 * 2. **extra routes**: development services, when installed (they are needed while starting).
 * 3. **readiness**: `GET /healthz` answers whether the server takes requests; until the announce
 *    handler is installed every other request is `503 not_ready` with `Retry-After`, so a reader
 *    never sees a registry that cannot yet take announces.
 * 4. **reads**: the object, an artifact only within a bounded number of concurrent downloads;
 *    each complete artifact download is reported (`onDownload`, the embedded download counter).
 * 5. **writes**: everything else goes to the handler, which logs its own line.
 *
 * Reads are logged to the access log, when it is on: one JSON line each (`type: "access"`).
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ShelfError } from '../core/errors.ts';
import { loggable, silentLog, type LogSink } from '../core/log.ts';
import type { FunctionUrlEvent, FunctionUrlResult } from '../announce/handler.ts';
import { MAX_BODY_BYTES } from '../announce/handler.ts';
import { isPrivateKey, keyProblem, MAX_KEY_BYTES, MAX_KEY_SEGMENT_BYTES, MCP_ROOT, parseDownloadKey } from '../core/paths.ts';
import { mapViewerRequest } from '../edge/viewer-request.ts';
import { NOT_FOUND_DOCUMENT } from '../registry/config-document.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { CompressionCache, ifNoneMatchHits, isCompressible, MIN_COMPRESSED_BYTES, negotiateEncoding, weakEtag } from './compression.ts';
import { DownloadSlots } from './download-slots.ts';

/** Options of {@link startLocalServer}. */
export interface LocalServerOptions {
  store: ObjectStore;
  /** Host to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8787. */
  port?: number;
  /** Where the access log's lines go (reads only; the handler logs announces). Default: nowhere. */
  accessLog?: LogSink;
  /** Artifacts read and sent at once; more wait, then get `503 server_busy`. Default {@link DEFAULT_MAX_DOWNLOADS}. */
  maxConcurrentDownloads?: number;
  /**
   * Called once per artifact (or skill archive for the skills CLI) sent whole (a `GET` answered
   * 200, to its last byte): the download counter.
   */
  onDownload?: (key: string) => void;
  /**
   * A server of reads only (a static copy of a bucket, a bench): ready at once, with no announce
   * handler to wait for; anything but a read answers `404 route_not_found`. Default false.
   */
  readsOnly?: boolean;
}

/** Default of {@link LocalServerOptions.maxConcurrentDownloads}. */
export const DEFAULT_MAX_DOWNLOADS = 8;
/** Seconds a request to a server that is still starting is told to wait. */
export const NOT_READY_RETRY_AFTER_SECONDS = 1;
/** The readiness path, for process managers and load balancers. */
export const HEALTH_PATH = '/healthz';

/** A running server. `setHandler` and `setExtraRoutes` are called once the URL is known. */
export interface LocalServer {
  url: string;
  server: Server;
  /** Installs the announce handler; from then on the server is ready and answers reads. */
  setHandler(handler: (event: FunctionUrlEvent) => Promise<FunctionUrlResult>): void;
  /** Installs routes answered before the bucket (development services). Return true when handled. */
  setExtraRoutes(routes: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>): void;
  close(): Promise<void>;
}

/**
 * Starts the server and resolves once it listens.
 *
 * @throws ShelfError `address_in_use` when the port is taken
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const { store } = options;
  const accessLog = options.accessLog ?? silentLog;
  const slots = new DownloadSlots(options.maxConcurrentDownloads ?? DEFAULT_MAX_DOWNLOADS);
  const compression = new CompressionCache();
  let handler: ((event: FunctionUrlEvent) => Promise<FunctionUrlResult>) | undefined;
  let extraRoutes: ((req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>) | undefined;
  let state: 'starting' | 'ready' | 'stopping' = options.readsOnly ? 'ready' : 'starting';

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    const started = performance.now();
    res.setHeader('x-request-id', requestId);
    const isRead = req.method === 'GET' || req.method === 'HEAD';
    if (isRead) {
      res.once('close', () =>
        accessLog({
          type: 'access',
          time: new Date().toISOString(),
          request_id: requestId,
          method: req.method ?? '',
          path: loggable(new URL(req.url ?? '/', 'http://localhost').pathname) ?? '',
          status: res.statusCode,
          bytes: Number(res.getHeader('content-length') ?? 0),
          ...(res.getHeader('content-encoding') ? { encoding: String(res.getHeader('content-encoding')) } : {}),
          duration_ms: Math.round(performance.now() - started),
          ...(res.writableFinished ? {} : { aborted: true }),
        }),
      );
    }
    void (async () => {
      try {
        // 1. path
        const body = await readBody(req);
        checkRequestPath(req.url ?? '/');
        // 2. extra routes
        if (extraRoutes && (await extraRoutes(req, res, body))) return;
        // 3. readiness
        const path = new URL(req.url ?? '/', 'http://localhost').pathname;
        if (isRead && path === HEALTH_PATH) return health(res, state);
        if (state !== 'ready' || (!handler && !options.readsOnly)) {
          throw new ShelfError('not_ready', state === 'stopping' ? 'The registry is stopping.' : undefined, { retry_after_seconds: NOT_READY_RETRY_AFTER_SECONDS });
        }
        // 4. reads
        if (isRead) return await serveMapped({ store, slots, compression, onDownload: options.onDownload }, req, res);
        // 5. writes
        if (!handler) throw new ShelfError('route_not_found', 'This server answers reads only.');
        const result = await handler(toEvent(req, body, requestId));
        res.writeHead(result.statusCode, result.headers).end(result.body);
      } catch (err) {
        const e = err instanceof ShelfError ? err : new ShelfError('internal_error');
        if (!(err instanceof ShelfError)) console.error(err);
        if (!res.headersSent) {
          const retryAfter = (e.details as { retry_after_seconds?: number } | undefined)?.retry_after_seconds;
          res.writeHead(e.status, {
            'content-type': 'application/json; charset=utf-8',
            ...(retryAfter !== undefined ? { 'retry-after': String(retryAfter) } : {}),
          });
        }
        res.end(JSON.stringify(e.toBody()));
      }
    })();
  });
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8787;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new ShelfError('address_in_use', `Port ${port} on ${host} is already in use (another shelf serve?); choose another with --port or PORT.`, { host, port }));
      } else reject(err);
    });
    server.listen(port, host, () => resolve());
  });
  const { address, port: bound } = server.address() as AddressInfo;
  const shown = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${shown}:${bound}`,
    server,
    setHandler: (h) => {
      handler = h;
      state = 'ready';
    },
    setExtraRoutes: (r) => void (extraRoutes = r),
    close: () =>
      new Promise<void>((resolve) => {
        state = 'stopping';
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `GET /healthz`: 200 `{"status":"ready"}` once the server takes every request, else 503 with `Retry-After`. */
function health(res: ServerResponse, state: 'starting' | 'ready' | 'stopping'): void {
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };
  if (state !== 'ready') headers['retry-after'] = String(NOT_READY_RETRY_AFTER_SECONDS);
  res.writeHead(state === 'ready' ? 200 : 503, headers).end(JSON.stringify({ status: state }));
}

/**
 * Refuses, before any route sees it, a request path that cannot name anything: not decodable,
 * with a control character (a NUL byte), or too long for a key. Such paths are the client's
 * mistake (400 `invalid_path`), never a crash in a store or file system.
 *
 * @throws ShelfError `invalid_path`
 */
function checkRequestPath(url: string): void {
  let decoded: string;
  try {
    decoded = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  } catch {
    throw new ShelfError('invalid_path', 'The request path is not valid percent-encoded UTF-8.');
  }
  if (/[\u0000-\u001f\u007f]/.test(decoded)) throw new ShelfError('invalid_path', 'The request path has a control character.');
  const tooLong = new TextEncoder().encode(decoded).byteLength > MAX_KEY_BYTES || decoded.split('/').some((s) => new TextEncoder().encode(s).byteLength > MAX_KEY_SEGMENT_BYTES);
  if (tooLong) throw new ShelfError('invalid_path', `The request path is longer than ${MAX_KEY_BYTES} bytes, or has a segment longer than ${MAX_KEY_SEGMENT_BYTES}.`);
}

/** What serving an object needs. */
interface ReadContext {
  store: ObjectStore;
  slots: DownloadSlots;
  compression: CompressionCache;
  onDownload: ((key: string) => void) | undefined;
}

/**
 * Maps the request as the CDN's viewer-request function does (`edge/viewer-request.ts`: the MCP
 * registry API's query parameters and encoded names, agent-skills discovery paths, the private
 * area), then serves the object it names. The MCP API's misses answer `{"error": "..."}`, as the
 * CDN's 404 page does.
 */
async function serveMapped(ctx: ReadContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) if (!(name in query)) query[name] = value;
  const mapped = mapViewerRequest(url.pathname, query);
  if ('statusCode' in mapped) {
    // Outside the MCP API (the private area), errors keep Shelf's own shape with its stable code.
    if (!url.pathname.startsWith(`/${MCP_ROOT}/`)) throw new ShelfError('not_found', 'Not found.');
    res.writeHead(mapped.statusCode, { 'content-type': 'application/json; charset=utf-8', 'access-control-allow-origin': '*' }).end(mapped.body);
    return;
  }
  const key = decodeURIComponent(mapped.uri).replace(/^\/+/, '');
  if (key.startsWith(`${MCP_ROOT}/`) && !(await ctx.store.head(key))) {
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'access-control-allow-origin': '*' }).end(JSON.stringify(NOT_FOUND_DOCUMENT));
    return;
  }
  await serveObject(ctx, key, req, res);
}

/** Serves one bucket object, like a CDN in front of it would. */
async function serveObject(ctx: ReadContext, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let key = path;
  if (key === '' || key.endsWith('/')) key += 'index.html';
  // Keys never contain "." or ".." segments or hidden files, and the private area is never served:
  // refuse them before touching the store.
  if (keyProblem(key) !== null || isPrivateKey(key)) throw new ShelfError('not_found', `No object at /${key}.`);
  // An artifact (or a skill's archive for the skills CLI) is held in memory whole while it is
  // sent: only so many at once. Each one sent whole is a download.
  const artifact = parseDownloadKey(key) !== null;
  const release = artifact ? await ctx.slots.acquire() : null;
  if (release) res.once('close', release);
  const obj = await ctx.store.get(key);
  if (!obj) throw new ShelfError('not_found', `No object at /${key}.`);
  const compressible = isCompressible(obj.contentType);
  const encoding = compressible && obj.body.byteLength >= MIN_COMPRESSED_BYTES ? negotiateEncoding(req.headers['accept-encoding']) : null;
  const headers: Record<string, string> = {
    'content-type': obj.contentType,
    'cache-control': obj.cacheControl,
    etag: encoding ? weakEtag(obj.etag) : obj.etag,
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'etag',
  };
  if (compressible) headers.vary = 'Accept-Encoding';
  if (ifNoneMatchHits(req.headers['if-none-match'], obj.etag)) {
    res.writeHead(304, headers).end();
    return;
  }
  if (req.method === 'HEAD') {
    // A HEAD says what a GET would send, without compressing anything.
    res.writeHead(200, { ...headers, ...(encoding ? { 'content-encoding': encoding } : { 'content-length': String(obj.body.byteLength) }) }).end();
    return;
  }
  const body = encoding ? await ctx.compression.compress(obj.etag, encoding, obj.body) : obj.body;
  if (encoding) headers['content-encoding'] = encoding;
  if (artifact && ctx.onDownload) res.once('finish', () => ctx.onDownload!(key));
  res.writeHead(200, { ...headers, 'content-length': String(body.byteLength) });
  res.end(body);
}

/** Reads at most MAX_BODY_BYTES + 1 bytes: enough for the handler to tell that a body is too large. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    if (size > MAX_BODY_BYTES) continue; // drain without keeping
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks);
}

/** Adapts an HTTP request to a function URL event (payload 2.0). */
function toEvent(req: IncomingMessage, body: Buffer, requestId: string): FunctionUrlEvent {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  return {
    version: '2.0',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    body: body.toString('base64'),
    isBase64Encoded: true,
    requestContext: { http: { method: req.method ?? 'GET', path: url.pathname, sourceIp: req.socket.remoteAddress ?? '' }, requestId },
  };
}
