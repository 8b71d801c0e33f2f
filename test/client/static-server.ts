/**
 * A tiny static HTTP server over a folder, standing in for the registry's CDN in client tests.
 * Serves files with a Content-Type by extension, 404 otherwise, and can serve tampered bytes
 * for one path.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve, sep } from 'node:path';

/**
 * How to tamper with a file:
 * - `flip`: same length, first byte inverted (hash mismatch);
 * - `extend`: the real bytes then 64 KiB more, chunked with no Content-Length (size overflow);
 * - `truncate`: the last byte missing (short download, honest Content-Length);
 * - `cut`: the full Content-Length announced, half the bytes sent, then the connection dropped.
 */
export type TamperMode = 'flip' | 'extend' | 'truncate' | 'cut';

/** A running server. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  /** Paths requested so far (URL paths, without the leading slash). */
  requests: string[];
  /** Serves `path` (relative, no leading slash) tampered from now on; `undefined` stops. */
  tamper(path: string, mode: TamperMode | undefined): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.mcpb': 'application/zip',
  '.skill': 'application/zip',
  '.html': 'text/html; charset=utf-8',
};

/** Starts a server for `root` on 127.0.0.1 and a free port. */
export async function startStaticServer(
  root: string,
  options: { tamper?: { path: string; mode: TamperMode } } = {},
): Promise<StaticServer> {
  const base = resolve(root);
  const tampered = new Map<string, TamperMode>();
  if (options.tamper) tampered.set(options.tamper.path, options.tamper.mode);
  const requests: string[] = [];

  const server = createServer((req, res) => {
    // A client that aborts a download makes writes fail; that is expected here.
    res.on('error', () => {});
    void (async () => {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
      requests.push(path);
      const file = resolve(base, path);
      if (req.method !== 'GET' || !file.startsWith(base + sep)) {
        res.writeHead(404).end();
        return;
      }
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      const ext = /\.[a-z]+$/.exec(path)?.[0] ?? '';
      const type = TYPES[ext] ?? 'application/octet-stream';
      const mode = tampered.get(path);
      if (mode === 'extend') {
        res.writeHead(200, { 'content-type': type });
        res.write(body);
        for (let i = 0; i < 16 && !res.destroyed; i++) res.write(randomBytes(4096));
        res.end();
        return;
      }
      if (mode === 'cut') {
        res.writeHead(200, { 'content-type': type, 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1), () => res.destroy());
        return;
      }
      if (mode === 'flip') {
        body = Buffer.from(body);
        body[0] = body[0]! ^ 0xff;
      } else if (mode === 'truncate') {
        body = body.subarray(0, body.length - 1);
      }
      res.writeHead(200, { 'content-type': type, 'content-length': body.length }).end(body);
    })();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    tamper(path, mode) {
      if (mode === undefined) tampered.delete(path);
      else tampered.set(path, mode);
    },
    close() {
      server.closeAllConnections();
      return new Promise((ok, fail) => server.close((error) => (error ? fail(error) : ok())));
    },
  };
}
