/**
 * A loopback fake of the npm registry holding one package version: its packument and tarball, as
 * `npm install <name>@<version>` fetches them (`npm_config_registry` points npm at it). Anything
 * else is 404, as the registry answers for a package never published. Test-only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeNpmRegistry {
  /** The value for `npm_config_registry` (ends with `/`). */
  url: string;
  /** Paths requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Starts the fake on 127.0.0.1.
 *
 * @param pkg - The package it publishes; `null` publishes nothing (every package is 404).
 */
export async function startFakeNpmRegistry(pkg: { name: string; version: string; tarball: string } | null): Promise<FakeNpmRegistry> {
  const bytes = pkg ? readFileSync(pkg.tarball) : null;
  const requests: string[] = [];
  let url = '';
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(path);
    const file = pkg ? `/${pkg.name}/-/${pkg.name.split('/').pop()}-${pkg.version}.tgz` : null;
    if (pkg && bytes && path === `/${pkg.name}`) {
      const packument = {
        name: pkg.name,
        'dist-tags': { latest: pkg.version },
        versions: {
          [pkg.version]: {
            name: pkg.name,
            version: pkg.version,
            bin: { shelf: 'bin/shelf.js' },
            dist: {
              tarball: `${url}${file!.slice(1)}`,
              shasum: createHash('sha1').update(bytes).digest('hex'),
              integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
            },
          },
        },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(packument));
    }
    if (bytes && path === file) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength });
      return res.end(bytes);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'Not found' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
