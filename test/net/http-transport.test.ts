/**
 * The CLI's node:http transport behind the one JSON fetch, against loopback servers: ETags and
 * 304s (the connection reused after one), redirects followed within the registry's host and
 * refused off it before any connection, the size bound (compressed or not), the connect and idle
 * timeouts, and a refused connection, each with its stable code.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ShelfError } from '../../src/core/errors.ts';
import { fetchJson } from '../../src/core/fetch-json.ts';
import { DEFAULT_READ_BOUNDS, type ReadBounds } from '../../src/core/read-bounds.ts';
import { createHttpTransport, MAX_REDIRECTS } from '../../src/net/http-transport.ts';

interface Loopback {
  url: string;
  host: string;
  /** Requests seen (path and If-None-Match), and connections opened. */
  requests: Array<{ path: string; ifNoneMatch: string | undefined }>;
  connections: number;
  /** Bytes written as bodies. */
  written: number;
  close(): Promise<void>;
}

async function loopback(handle: (req: IncomingMessage, res: ServerResponse, server: Loopback) => void): Promise<Loopback> {
  const state: Loopback = { url: '', host: '', requests: [], connections: 0, written: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    state.requests.push({ path: req.url ?? '', ifNoneMatch: req.headers['if-none-match'] as string | undefined });
    handle(req, res, state);
  });
  server.on('connection', () => state.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  state.host = `127.0.0.1:${port}`;
  state.close = () =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return state;
}

const DOC = { schema_version: 1, hello: 'world' };
const BODY = Buffer.from(JSON.stringify(DOC));

/** The registry: documents with ETags, redirects, compressed, oversized, stalled and silent answers. */
let registry: Loopback;
/** Another host (another port): redirects to it must never reach it. */
let elsewhere: Loopback;

beforeAll(async () => {
  elsewhere = await loopback((_req, res) => res.end(BODY));
  registry = await loopback((req, res) => {
    const path = req.url ?? '';
    if (path === '/doc.json') {
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
      return void res.writeHead(200, { etag: '"v1"', 'content-type': 'application/json' }).end(BODY);
    }
    if (path === '/moved.json') return void res.writeHead(301, { location: '/doc.json' }).end();
    if (path === '/away.json') return void res.writeHead(302, { location: `${elsewhere.url}/doc.json` }).end();
    if (path === '/loop.json') return void res.writeHead(307, { location: '/loop.json' }).end();
    if (path === '/gzip.json') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(BODY));
    if (path === '/br.json') return void res.writeHead(200, { 'content-encoding': 'br' }).end(brotliCompressSync(BODY));
    if (path === '/huge.json') {
      // 32 MiB of JSON-looking text, written as fast as the client reads.
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let left = 32 * 1024 * 1024;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.on('error', () => {});
      const write = (): void => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          registry.written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      return write();
    }
    if (path === '/huge-gzip.json') return void res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(`{"padding":"${' '.repeat(4 * 1024 * 1024)}"}`));
    if (path === '/stall.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return void res.write('{"schema_version":1,');
    }
    if (path === '/silent.json') return; // never answered
    res.writeHead(404).end('not found');
  });
});
afterAll(async () => {
  await registry.close();
  await elsewhere.close();
});

const transport = () => createHttpTransport({ allowedHosts: [registry.host] });
const bounds = (b: Partial<ReadBounds> = {}): ReadBounds => ({ ...DEFAULT_READ_BOUNDS, ...b });
const read = (path: string, options: { etag?: string; bounds?: ReadBounds } = {}) =>
  fetchJson(`${registry.url}${path}`, { fetch: transport(), bounds: options.bounds ?? bounds(), ...(options.etag ? { etag: options.etag } : {}) });
const failure = (p: Promise<unknown>) => p.then(() => null, (e: ShelfError) => ({ code: e.code, message: e.message, details: e.details }));

describe('ETags', () => {
  it('reads a document with its ETag, then revalidates it with a 304 on the same connection', async () => {
    const fetch = transport();
    const before = registry.connections;
    const first = await fetchJson(`${registry.url}/doc.json`, { fetch, bounds: bounds() });
    expect(first).toMatchObject({ notModified: false, value: DOC, etag: '"v1"' });
    const second = await fetchJson(`${registry.url}/doc.json`, { fetch, bounds: bounds(), etag: '"v1"' });
    expect(second).toEqual({ notModified: true, etag: '"v1"' });
    expect(registry.requests.at(-1)).toEqual({ path: '/doc.json', ifNoneMatch: '"v1"' });
    // The 304 was drained: a third read reuses the connection rather than holding it (and the process) open.
    await fetchJson(`${registry.url}/doc.json`, { fetch, bounds: bounds() });
    expect(registry.connections - before).toBeLessThanOrEqual(1);
  });

  it('decodes gzip and brotli answers, as fetch does', async () => {
    expect(await read('/gzip.json')).toMatchObject({ value: DOC });
    expect(await read('/br.json')).toMatchObject({ value: DOC });
  });
});

describe('redirects', () => {
  it('follows a redirect within the registry host, on the same connection', async () => {
    const before = registry.connections;
    expect(await read('/moved.json')).toMatchObject({ notModified: false, value: DOC });
    expect(registry.requests.slice(-2).map((r) => r.path)).toEqual(['/moved.json', '/doc.json']);
    expect(registry.connections - before).toBeLessThanOrEqual(1);
  });

  it('refuses a hop off the allow-list before connecting to it', async () => {
    const before = elsewhere.requests.length;
    const connections = elsewhere.connections;
    expect(await failure(read('/away.json'))).toMatchObject({
      code: 'registry_unreachable',
      message: expect.stringContaining(`redirected to http://${elsewhere.host}, which is not the registry's host`),
      details: { url: `${registry.url}/away.json`, reason: 'untrusted_redirect' },
    });
    expect(elsewhere.requests.length).toBe(before);
    expect(elsewhere.connections).toBe(connections);
  });

  it(`gives up after ${MAX_REDIRECTS} redirects`, async () => {
    const before = registry.requests.length;
    expect(await failure(read('/loop.json'))).toMatchObject({ code: 'registry_unreachable', details: { reason: 'too_many_redirects' } });
    expect(registry.requests.length - before).toBe(MAX_REDIRECTS + 1);
  });

  it('refuses a first URL off the allow-list, and credentials in a URL', async () => {
    const fetch = createHttpTransport({ allowedHosts: [registry.host] });
    await expect(fetch(`${elsewhere.url}/doc.json`)).rejects.toMatchObject({ code: 'registry_unreachable', details: { reason: 'untrusted_redirect' } });
    await expect(fetch(`http://user:secret@${registry.host}/doc.json`)).rejects.toMatchObject({ code: 'registry_unreachable' });
    expect(() => createHttpTransport({ allowedHosts: 'x' as never })).toThrow(/allowedHosts/);
  });
});

describe('bounds', () => {
  it('stops reading past the size bound: document_too_large, the connection cut near the cap', async () => {
    const cap = 1024 * 1024;
    const before = registry.written;
    expect(await failure(read('/huge.json', { bounds: bounds({ maxDocumentBytes: cap }) }))).toMatchObject({
      code: 'document_too_large',
      details: { url: `${registry.url}/huge.json`, limit: cap },
    });
    // The server got to write the cap plus what the socket buffers held when the client hung up, not 32 MiB.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(registry.written - before).toBeLessThan(cap + 8 * 1024 * 1024);
  });

  it('counts decoded bytes: a small compressed answer that inflates past the bound is refused', async () => {
    expect(await failure(read('/huge-gzip.json', { bounds: bounds({ maxDocumentBytes: 1024 * 1024 }) }))).toMatchObject({ code: 'document_too_large' });
  });

  it('gives up on an answer that never starts (connect timeout) and on a body that stalls (idle timeout)', async () => {
    expect(await failure(read('/silent.json', { bounds: bounds({ connectTimeoutMs: 200 }) }))).toMatchObject({
      code: 'registry_unreachable',
      details: { reason: 'connect_timeout' },
    });
    expect(await failure(read('/stall.json', { bounds: bounds({ idleTimeoutMs: 200 }) }))).toMatchObject({
      code: 'registry_unreachable',
      details: { reason: 'idle_timeout' },
    });
  });

  it('reports a refused connection as registry_unreachable, naming the cause', async () => {
    const closed = await loopback((_req, res) => res.end());
    const url = `${closed.url}/doc.json`;
    await closed.close();
    const fetch = createHttpTransport({ allowedHosts: [closed.host] });
    expect(await failure(fetchJson(url, { fetch, bounds: bounds() }))).toMatchObject({ code: 'registry_unreachable', message: expect.stringContaining('ECONNREFUSED') });
  });

  it('answers a 404 as the caller says', async () => {
    expect(await failure(read('/missing.json'))).toMatchObject({ code: 'registry_unreachable', details: { status: 404 } });
  });
});
