/**
 * The registry's GitHub token stays with GitHub's API: with `SHELF_GITHUB_TOKEN` set, the announce
 * reads the release from the API host with the token, and downloads the asset without it, through
 * GitHub's redirect to its storage host (objects.githubusercontent.com or
 * release-assets.githubusercontent.com in reality; here a second loopback host, `localhost`
 * beside the fake API's `127.0.0.1`). Every hop is still checked against the trusted download hosts.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifactKey } from '../../src/core/paths.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { expectRefused } from '../attack/helpers.ts';

const TOKEN = 'ghs_registryReleasesToken0123456789';

let reg: TestRegistry;
/** GitHub's storage host: serves whatever bytes a test puts at a path, and records each request's headers. */
let storage: { port: number; files: Map<string, Uint8Array>; seen: Array<{ path: string; headers: IncomingHttpHeaders }>; server: Server };
let versions = 0;

beforeAll(async () => {
  const files = new Map<string, Uint8Array>();
  const seen: typeof storage.seen = [];
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    seen.push({ path, headers: req.headers });
    const bytes = files.get(path);
    if (!bytes) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  storage = { port: (server.address() as AddressInfo).port, files, seen, server };
  // Trusted: the API host (where the fake serves `browser_download_url`, as github.com would) and
  // the storage host by the name `localhost` only; `127.0.0.1:{port}` is the same server by a name
  // that is not on the list.
  reg = await startTestRegistry({
    env: (github) => ({ SHELF_GITHUB_TOKEN: TOKEN, SHELF_TRUSTED_DOWNLOAD_HOSTS: `${new URL(github.url).host},localhost:${storage.port}` }),
  });
}, 60_000);
afterAll(async () => {
  storage?.server.closeAllConnections();
  await new Promise<void>((r) => (storage ? storage.server.close(() => r()) : r()));
  await reg?.close();
});

/** A fresh version of @acme/echo whose download redirects from the API host to the storage host named `storageHost`. */
async function redirectedToStorage(storageHost: string): Promise<PreparedArtifact> {
  const v = await prepareBundle(reg, { version: `3.0.${versions++}`, upload: false });
  const path = `/release-assets/${v.tag}/${v.filename}`;
  storage.files.set(path, v.bytes);
  reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, redirectTo: `http://${storageHost}${path}` });
  return v;
}

describe('the releases token', () => {
  it('goes to the API host, never to the storage host the download is redirected to; the asset still arrives', async () => {
    const v = await redirectedToStorage(`localhost:${storage.port}`);
    const from = { requests: reg.github.requests.length, authorizations: reg.github.apiAuthorizations.length, storage: storage.seen.length };

    const res = await announcePrepared(reg, v);
    expect(res.status, JSON.stringify(res.json)).toBe(201);

    // The API host: the release was read, and every API request carried the token.
    const requests = reg.github.requests.slice(from.requests);
    expect(requests).toContain(`GET /repos/${v.repository}/releases/tags/${v.tag}`);
    expect(requests).toContain(`GET /download/${v.repository}/${v.tag}/${v.filename}`);
    const sent = reg.github.apiAuthorizations.slice(from.authorizations);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent)).toEqual(new Set([`Bearer ${TOKEN}`]));
    // The storage host: reached once, by the redirect, without any credential.
    const downloads = storage.seen.slice(from.storage);
    expect(downloads.map((d) => d.path)).toEqual([`/release-assets/${v.tag}/${v.filename}`]);
    expect(downloads[0]!.headers.host).toBe(`localhost:${storage.port}`);
    expect(downloads[0]!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(downloads[0]!.headers)).not.toContain(TOKEN);
    // The bytes the registry stored are the asset's.
    const stored = await reg.store.get(artifactKey('bundle', parsePackageName('@acme/echo'), parseVersion(v.body.version), { os: 'any', arch: 'any' }));
    expect(Buffer.from(stored!.body).equals(Buffer.from(v.bytes))).toBe(true);
  });

  it('does not open the allow-list: the same storage server by a name not on it is refused before it is contacted', async () => {
    const v = await redirectedToStorage(`127.0.0.1:${storage.port}`);
    const from = storage.seen.length;
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_untrusted_host');
    expect(res.json.error.message).toContain(`127.0.0.1:${storage.port}`);
    expect(storage.seen.slice(from)).toEqual([]);
  });
});
