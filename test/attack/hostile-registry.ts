/**
 * A loopback proxy in front of a real test registry that serves chosen paths as a hostile or
 * broken CDN would: an endless document, a body that stalls after its headers, a connection
 * that never answers, a poisoned `Cache-Control: immutable`, other bytes. Test-only.
 */
import { createHash } from 'node:crypto';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How one path is served. */
export type Hostility =
  /** A JSON-looking body of this many bytes, chunked, without Content-Length, written as fast as the client reads. */
  | { kind: 'huge'; bytes: number }
  /** Status and headers, a few bytes, then nothing until the client hangs up. */
  | { kind: 'stall' }
  /** The connection is accepted, no answer ever comes. */
  | { kind: 'silent' }
  /** The real answer, with `Cache-Control: public, max-age=31536000, immutable`. */
  | { kind: 'immutable' }
  /** These bytes instead of the real ones (with the real status and headers, an ETag of their own). */
  | { kind: 'replace'; body: string | Uint8Array };

export interface HostileRegistry {
  url: string;
  /** Requests seen: path and the `If-None-Match` sent. */
  requests: Array<{ path: string; ifNoneMatch: string | undefined }>;
  /** Serves paths matching `test` this way from now on; `undefined` restores the real answer. */
  serve(test: RegExp, how: Hostility | undefined): void;
  /** Bytes written for hostile answers so far. */
  hostileBytes(): number;
  close(): Promise<void>;
}

export async function startHostileRegistry(target: string): Promise<HostileRegistry> {
  const upstream = new URL(target);
  const rules: Array<{ test: RegExp; how: Hostility }> = [];
  const requests: HostileRegistry['requests'] = [];
  let written = 0;

  const forward = (path: string, method: string, headers: Record<string, unknown>, answer: (status: number, headers: Record<string, unknown>, body: Buffer) => void, fail: () => void) => {
    const req = request({ host: upstream.hostname, port: upstream.port, method, path, headers: { ...headers, host: upstream.host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => answer(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
    });
    req.on('error', fail);
    req.end();
  };

  const hostile = (res: ServerResponse, how: Hostility) => {
    if (how.kind === 'silent') return; // never answered; closed with the server
    res.writeHead(200, { 'content-type': 'application/json', etag: '"hostile"' });
    if (how.kind === 'stall') {
      res.write('{"schema_version":1,');
      written += 20;
      return;
    }
    if (how.kind === 'huge') {
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      res.write('{"padding":"');
      let left = how.bytes;
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          const n = Math.min(left, chunk.byteLength);
          left -= n;
          written += n;
          if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end('"}');
      };
      pump();
    }
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push({ path, ifNoneMatch: req.headers['if-none-match'] as string | undefined });
    const how = rules.find((r) => r.test.test(path))?.how;
    if (how && (how.kind === 'huge' || how.kind === 'stall' || how.kind === 'silent')) return hostile(res, how);
    // A replaced answer is never "not modified": the client's copy is of the real one.
    if (how?.kind === 'replace') delete req.headers['if-none-match'];
    forward(
      req.url ?? '/',
      req.method ?? 'GET',
      req.headers,
      (status, headers, body) => {
        if (how?.kind === 'immutable' && status === 200) headers['cache-control'] = 'public, max-age=31536000, immutable';
        if (how?.kind === 'replace' && status === 200) {
          body = Buffer.from(how.body);
          headers.etag = `"replaced-${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
          delete headers['content-length'];
          // The replacement is sent as it is, not in the encoding the server compressed its answer with.
          delete headers['content-encoding'];
        }
        res.writeHead(status, headers as Record<string, string>);
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => res.writeHead(502).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    serve(test, how) {
      const at = rules.findIndex((r) => r.test.source === test.source);
      if (at >= 0) rules.splice(at, 1);
      if (how) rules.unshift({ test, how });
    },
    hostileBytes: () => written,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
