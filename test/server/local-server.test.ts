/**
 * The embedded server as an operator runs it: compressed reads that honour Accept-Encoding, a
 * readiness answer and no reads before it can take announces, a port in use said as such, no
 * 0.0.0.0 advertised, a bounded number of artifacts in memory at once, and one structured log
 * line per announce (the Lambda's line) and per read, never with the token.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { isShelfError } from '../../src/core/errors.ts';
import type { LogLine } from '../../src/core/log.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { artifactKey, configKey } from '../../src/core/paths.ts';
import { startLocalServer } from '../../src/server/local-server.ts';
import { startRegistryServer } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

let reg: TestRegistry;
const lines: LogLine[] = [];
let dir: string;
let scriptKey: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-local-server-'));
  reg = await startTestRegistry({ log: (l) => lines.push(l), accessLog: (l) => lines.push(l) });
  scriptKey = (await reg.store.list('assets/')).find((o) => o.key.endsWith('.js'))!.key;
});
afterAll(async () => {
  await reg?.close();
  await rm(dir, { recursive: true, force: true });
});

/** GET through node:http semantics without fetch's automatic decompression. */
async function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Uint8Array }> {
  const { request } = await import('node:http');
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
        resolve({ status: res.statusCode ?? 0, headers: h, body: new Uint8Array(Buffer.concat(chunks)) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('compression', () => {
  it('sends the page script with brotli when accepted, with Vary and a weak ETag, decoding to the stored bytes', async () => {
    const stored = (await reg.store.get(scriptKey))!;
    const res = await rawGet(`${reg.url}/${scriptKey}`, { 'accept-encoding': 'gzip, deflate, br' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBe('br');
    expect(res.headers.get('vary')).toBe('Accept-Encoding');
    expect(res.headers.get('etag')).toBe(`W/${stored.etag}`);
    expect(Number(res.headers.get('content-length'))).toBe(res.body.byteLength);
    expect(res.body.byteLength).toBeLessThan(stored.body.byteLength / 3);
    expect(Buffer.from(brotliDecompressSync(res.body)).equals(Buffer.from(stored.body))).toBe(true);
    // Revalidating with the weak ETag it was given is a 304.
    const again = await rawGet(`${reg.url}/${scriptKey}`, { 'accept-encoding': 'br', 'if-none-match': res.headers.get('etag')! });
    expect(again.status).toBe(304);
  });

  it('chooses gzip when brotli is refused or absent, and the bytes as they are without Accept-Encoding', async () => {
    const stored = (await reg.store.get(scriptKey))!;
    const gz = await rawGet(`${reg.url}/${scriptKey}`, { 'accept-encoding': 'br;q=0, gzip' });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(Buffer.from(gunzipSync(gz.body)).equals(Buffer.from(stored.body))).toBe(true);
    const plain = await rawGet(`${reg.url}/${scriptKey}`);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toBe('Accept-Encoding');
    expect(plain.headers.get('etag')).toBe(stored.etag);
    expect(plain.body.byteLength).toBe(stored.body.byteLength);
    const identity = await rawGet(`${reg.url}/${scriptKey}`, { 'accept-encoding': 'identity' });
    expect(identity.headers.get('content-encoding')).toBeNull();
  });

  it('never compresses artifacts, and leaves small documents as they are', async () => {
    const p = await prepareBundle(reg, { name: '@zip/plain', version: '1.0.0' });
    expect((await announcePrepared(reg, p)).status).toBe(201);
    const key = artifactKey('bundle', parsePackageName('@zip/plain'), parseVersion('1.0.0'), { os: 'any', arch: 'any' });
    const res = await rawGet(`${reg.url}/${key}`, { 'accept-encoding': 'br, gzip' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-encoding')).toBeNull();
    expect(res.headers.get('vary')).toBeNull();
    expect(Buffer.from(res.body).equals(Buffer.from(p.bytes))).toBe(true);
    await reg.store.put('v1/tiny.json', new TextEncoder().encode('{"small":true}'), { contentType: 'application/json; charset=utf-8', cacheControl: 'no-cache' });
    const tiny = await rawGet(`${reg.url}/v1/tiny.json`, { 'accept-encoding': 'br' });
    expect(tiny.headers.get('content-encoding')).toBeNull();
    expect(tiny.headers.get('vary')).toBe('Accept-Encoding');
    expect(new TextDecoder().decode(tiny.body)).toBe('{"small":true}');
  });
});

describe('logs', () => {
  it('writes one request line per announce with what was asked, by whom, and what came of it, never the token', async () => {
    const p = await prepareBundle(reg, { name: '@logs/echo', version: '1.0.0', os: 'linux', arch: 'x64' });
    const token = await reg.github.mint(claimsFor(p.repository));
    const before = lines.length;
    const ok = await reg.post('/v1/bundles/announce', JSON.stringify(p.body), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    expect(ok.status).toBe(201);
    const refused = await reg.post('/v1/bundles/announce', JSON.stringify(p.body), { authorization: 'Bearer not.a.token', 'content-type': 'application/json' });
    expect(refused.status).toBe(401);
    const requests = lines.slice(before).filter((l) => l.type === 'request');
    expect(requests).toHaveLength(2);
    expect(requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/bundles/announce',
      status: 201,
      outcome: 'accepted',
      result: 'created',
      kind: 'bundle',
      package: '@logs/echo',
      version: '1.0.0',
      platform: 'linux-x64',
      repository: p.repository,
      run_id: '42',
      bytes_fetched: p.size,
    });
    expect(requests[0]!.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof requests[0]!.duration_ms).toBe('number');
    expect(requests[1]).toMatchObject({ status: 401, outcome: 'refused', code: 'invalid_token', package: '@logs/echo' });
    expect(requests[1]!.repository).toBeUndefined(); // an unverified token names nobody
    expect(JSON.stringify(lines)).not.toContain(token);
    expect(JSON.stringify(lines)).not.toContain('not.a.token');
  });

  it('writes one access line per read, with status, bytes and encoding', async () => {
    const before = lines.length;
    const res = await fetch(`${reg.url}/${configKey()}`, { headers: { 'accept-encoding': 'gzip' } });
    await res.arrayBuffer();
    await fetch(`${reg.url}/v1/bundles/@nobody/nothing.json`).then((r) => r.arrayBuffer());
    await new Promise((r) => setTimeout(r, 20)); // the line is written when the response closes
    const access = lines.slice(before).filter((l) => l.type === 'access');
    expect(access.map((l) => [l.method, l.path, l.status])).toEqual([
      ['GET', `/${configKey()}`, 200],
      ['GET', '/v1/bundles/@nobody/nothing.json', 404],
    ]);
    expect(access[0]!.bytes).toBeGreaterThan(0);
  });
});

describe('readiness', () => {
  it('a server of reads only is ready at once and refuses writes with route_not_found', async () => {
    const store = new MemoryStore();
    await store.put(configKey(), new TextEncoder().encode('{}'), { contentType: 'application/json', cacheControl: 'no-cache' });
    const local = await startLocalServer({ store, port: 0, readsOnly: true });
    try {
      expect((await fetch(`${local.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${local.url}/${configKey()}`)).status).toBe(200);
      const post = await fetch(`${local.url}/v1/bundles/announce`, { method: 'POST', body: '{}' });
      expect(post.status).toBe(404);
      expect(((await post.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    } finally {
      await local.close();
    }
  });

  it('answers 503 with Retry-After, and /healthz "starting", until the handler is installed', async () => {
    const store = new MemoryStore();
    await store.put(configKey(), new TextEncoder().encode('{}'), { contentType: 'application/json', cacheControl: 'no-cache' });
    const local = await startLocalServer({ store, port: 0 });
    try {
      const health = await fetch(`${local.url}/healthz`);
      expect(health.status).toBe(503);
      expect(health.headers.get('retry-after')).toBe('1');
      expect(await health.json()).toEqual({ status: 'starting' });
      const early = await fetch(`${local.url}/${configKey()}`);
      expect(early.status).toBe(503);
      expect(early.headers.get('retry-after')).toBe('1');
      expect((await early.json()).error.code).toBe('not_ready');
      local.setHandler(async () => ({ statusCode: 204, headers: {}, body: '' }));
      const ready = await fetch(`${local.url}/healthz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toEqual({ status: 'ready' });
      expect((await fetch(`${local.url}/${configKey()}`)).status).toBe(200);
    } finally {
      await local.close();
    }
  });

  it('a started registry is ready: /healthz 200 at once', async () => {
    expect((await fetch(`${reg.url}/healthz`)).status).toBe(200);
  });
});

describe('start-up refusals', () => {
  it('says "port in use" as such (address_in_use), naming the port', async () => {
    const port = Number(new URL(reg.url).port);
    const err = await startLocalServer({ store: new MemoryStore(), port }).catch((e: unknown) => e);
    expect(isShelfError(err, 'address_in_use')).toBe(true);
    expect((err as Error).message).toContain(`Port ${port}`);
  });

  it('refuses to advertise 0.0.0.0: a server on every interface needs SHELF_PUBLIC_URL', async () => {
    const store = new FsStore(join(dir, 'any'));
    const err = await startRegistryServer({ store, host: '0.0.0.0', port: 0, env: { SHELF_AUDIENCE: 'https://shelf.test' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('SHELF_PUBLIC_URL');
    expect(await store.list('')).toEqual([]);
    const server = await startRegistryServer({ store, host: '0.0.0.0', port: 0, env: { SHELF_AUDIENCE: 'https://shelf.test', SHELF_PUBLIC_URL: 'http://registry.example.test:8787' } });
    try {
      const config = JSON.parse(new TextDecoder().decode((await store.get(configKey()))!.body));
      expect(config.public_url).toBe('http://registry.example.test:8787');
      expect(JSON.stringify(config)).not.toContain('0.0.0.0');
    } finally {
      await server.close();
    }
  });
});

describe('concurrent downloads', () => {
  it('holds at most N artifacts at once, queues a few more, and answers the rest 503 server_busy with Retry-After', async () => {
    // A store whose artifact reads wait for the test's signal, counting how many are in flight.
    const base = new MemoryStore();
    let inFlight = 0;
    let most = 0;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const slow: ObjectStore = {
      description: 'slow',
      get: async (key) => {
        inFlight++;
        most = Math.max(most, inFlight);
        if (key.endsWith('.mcpb')) await gate;
        inFlight--;
        return base.get(key);
      },
      head: (key) => base.head(key),
      put: (key, body, options) => base.put(key, body, options),
      list: (prefix) => base.list(prefix),
      delete: (key) => base.delete(key),
    };
    const key = artifactKey('bundle', parsePackageName('@slow/big'), parseVersion('1.0.0'), { os: 'any', arch: 'any' });
    await base.put(key, new Uint8Array(4096), { contentType: 'application/zip', cacheControl: 'public, max-age=31536000, immutable' });
    const counted: string[] = [];
    const local = await startLocalServer({ store: slow, port: 0, maxConcurrentDownloads: 1, onDownload: (k) => counted.push(k) });
    local.setHandler(async () => ({ statusCode: 204, headers: {}, body: '' }));
    try {
      // 1 sending + 4 queued (the queue is four times the slots); the sixth is refused at once.
      const pending = Array.from({ length: 5 }, () => fetch(`${local.url}/${key}`));
      await new Promise((r) => setTimeout(r, 100));
      const refused = await fetch(`${local.url}/${key}`);
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('2');
      expect((await refused.json()).error.code).toBe('server_busy');
      open();
      const done = await Promise.all(pending.map(async (p) => (await p).arrayBuffer().then((b) => b.byteLength)));
      expect(done).toEqual([4096, 4096, 4096, 4096, 4096]);
      expect(most).toBe(1);
      await new Promise((r) => setTimeout(r, 20));
      expect(counted).toEqual([key, key, key, key, key]); // each whole download counted once; the refused one not
    } finally {
      await local.close();
    }
  });
});
