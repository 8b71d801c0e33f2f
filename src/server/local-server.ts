/**
 * The embedded registry's one HTTP server: a CDN over the bucket (GET/HEAD of any key, with the
 * object's Content-Type, Cache-Control and ETag, `If-None-Match` answered with 304) and the
 * function URL (POST requests are adapted to the Lambda handler's event format, so the local
 * server runs exactly the code Lambda runs).
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ShelfError } from '../core/errors.ts';
import type { FunctionUrlEvent, FunctionUrlResult } from '../announce/handler.ts';
import { MAX_BODY_BYTES } from '../announce/handler.ts';
import { isPrivateKey, keyProblem, MAX_KEY_BYTES, MAX_KEY_SEGMENT_BYTES, MCP_ROOT } from '../core/paths.ts';
import { mapViewerRequest } from '../edge/viewer-request.ts';
import { NOT_FOUND_DOCUMENT } from '../registry/config-document.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Options of {@link startLocalServer}. */
export interface LocalServerOptions {
  store: ObjectStore;
  /** Host to bind. Default `127.0.0.1`. */
  host?: string;
  /** Port to bind; 0 picks a free one. Default 8787. */
  port?: number;
}

/** A running server. `setHandler` and `setExtraRoutes` are called once the URL is known. */
export interface LocalServer {
  url: string;
  server: Server;
  /** Installs the announce handler (POST requests answer 503 until then). */
  setHandler(handler: (event: FunctionUrlEvent) => Promise<FunctionUrlResult>): void;
  /** Installs routes answered before the bucket (development services). Return true when handled. */
  setExtraRoutes(routes: (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>): void;
  close(): Promise<void>;
}

/** Starts the server and resolves once it listens. */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const { store } = options;
  let handler: ((event: FunctionUrlEvent) => Promise<FunctionUrlResult>) | undefined;
  let extraRoutes: ((req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<boolean>) | undefined;

  const server = createServer((req, res) => {
    void (async () => {
      try {
        const body = await readBody(req);
        checkRequestPath(req.url ?? '/');
        if (extraRoutes && (await extraRoutes(req, res, body))) return;
        if (req.method === 'GET' || req.method === 'HEAD') return await serveMapped(store, req, res);
        if (!handler) throw new ShelfError('upstream_unavailable', 'The announce function is not ready yet.');
        const result = await handler(toEvent(req, body));
        res.writeHead(result.statusCode, result.headers).end(result.body);
      } catch (err) {
        const e = err instanceof ShelfError ? err : new ShelfError('internal_error');
        if (!(err instanceof ShelfError)) console.error(err);
        if (!res.headersSent) res.writeHead(e.status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(e.toBody()));
      }
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8787, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${port}`,
    server,
    setHandler: (h) => void (handler = h),
    setExtraRoutes: (r) => void (extraRoutes = r),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
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

/**
 * Maps the request as the CDN's viewer-request function does (`edge/viewer-request.ts`: the MCP
 * registry API's query parameters and encoded names, agent-skills discovery paths, the private
 * area), then serves the object it names. The MCP API's misses answer `{"error": "..."}`, as the
 * CDN's 404 page does.
 */
async function serveMapped(store: ObjectStore, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
  if (key.startsWith(`${MCP_ROOT}/`) && !(await store.head(key))) {
    res.writeHead(404, { 'content-type': 'application/json; charset=utf-8', 'access-control-allow-origin': '*' }).end(JSON.stringify(NOT_FOUND_DOCUMENT));
    return;
  }
  await serveObject(store, key, req, res);
}

/** Serves one bucket object, like a CDN in front of it would. */
async function serveObject(store: ObjectStore, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let key = path;
  if (key === '' || key.endsWith('/')) key += 'index.html';
  // Keys never contain "." or ".." segments or hidden files, and the private area is never served:
  // refuse them before touching the store.
  if (keyProblem(key) !== null || isPrivateKey(key)) throw new ShelfError('not_found', `No object at /${key}.`);
  const obj = await store.get(key);
  if (!obj) throw new ShelfError('not_found', `No object at /${key}.`);
  const headers = {
    'content-type': obj.contentType,
    'cache-control': obj.cacheControl,
    etag: obj.etag,
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'etag',
  };
  const inm = req.headers['if-none-match'];
  if (inm && inm.split(',').some((t) => t.trim() === obj.etag || t.trim() === '*')) {
    res.writeHead(304, headers).end();
    return;
  }
  res.writeHead(200, { ...headers, 'content-length': String(obj.body.byteLength) });
  res.end(req.method === 'HEAD' ? undefined : obj.body);
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
function toEvent(req: IncomingMessage, body: Buffer): FunctionUrlEvent {
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
    requestContext: { http: { method: req.method ?? 'GET', path: url.pathname, sourceIp: req.socket.remoteAddress ?? '' } },
  };
}
