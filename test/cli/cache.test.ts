import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCachingFetch, newCacheStats, resolveCacheDir } from '../../src/cli/cache.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf, startCountingProxy, type CountingProxy } from './helpers.ts';

let reg: TestRegistry;
let proxy: CountingProxy;
let cacheDir: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  proxy = await startCountingProxy(reg.url);
  expect((await announcePrepared(reg, await prepareBundle(reg, {}))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await reg?.close();
});

beforeEach(async (ctx) => {
  cacheDir = await mkdtemp(join(tmpdir(), 'shelf-cache-'));
  ctx.onTestFinished(() => rm(cacheDir, { recursive: true, force: true }));
});

const env = () => ({ SHELF_CACHE_DIR: cacheDir, SHELF_REGISTRY: proxy.url });
// `show` also asks for the package's download counts, an extra that a registry without counts
// answers 404 (not cached); the document cache is what these tests are about (counts: test/downloads).
const since = (n: number) => proxy.requests.slice(n).filter((r) => !r.path.startsWith('/v1/downloads/')).map((r) => `${r.status} ${r.path}`);

describe('the document cache', () => {
  it('a repeated command costs only 304s, counted on the server side', async () => {
    let mark = proxy.requests.length;
    const first = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    expect(first.code).toBe(0);
    // The package, the registry's config and key list (its signature is verified before anything is trusted), the version.
    expect(since(mark)).toEqual(['200 /v1/bundles/@acme/echo.json', '200 /v1/config.json', '200 /v1/keys.json', '200 /v1/bundles/@acme/echo/versions/1.2.0.json']);

    mark = proxy.requests.length;
    const second = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    expect(second.stdout).toBe(first.stdout);
    expect(since(mark)).toEqual(['304 /v1/bundles/@acme/echo.json', '304 /v1/config.json', '304 /v1/keys.json', '304 /v1/bundles/@acme/echo/versions/1.2.0.json']);
    expect(proxy.requests.slice(mark).filter((r) => !r.path.startsWith('/v1/downloads/')).every((r) => r.ifNoneMatch && r.ifNoneMatch.length > 2)).toBe(true);

    // A search reads the config and the sharded index's root (together, in either order), then
    // immutable pieces: a repeated search revalidates the config and the root only, and answers
    // the pieces from the cache.
    await rm(join(cacheDir, 'documents'), { recursive: true });
    mark = proxy.requests.length;
    await shelf(['search', 'echo'], { env: env() });
    const firstSearch = since(mark);
    expect(firstSearch.slice(0, 2).sort()).toEqual(['200 /v1/config.json', '200 /v1/search/bundles/root.json']);
    expect(firstSearch.length).toBeGreaterThan(2);
    expect(firstSearch.slice(2).every((r) => /^200 \/v1\/search\/bundles\/(shards|docs)\/[^/]+\.json$/.test(r))).toBe(true);
    mark = proxy.requests.length;
    await shelf(['search', 'echo'], { env: env() });
    expect(since(mark).sort()).toEqual(['304 /v1/config.json', '304 /v1/search/bundles/root.json']);
  });

  it('a document that changed upstream is fetched in full again', async () => {
    await shelf(['bundle', 'show', '@acme/echo'], { env: env() });
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.3.0' }))).status).toBe(201);
    const mark = proxy.requests.length;
    const r = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    expect(JSON.parse(r.stdout).package.latest).toBe('1.3.0');
    expect(since(mark)[0]).toBe('200 /v1/bundles/@acme/echo.json');
  });

  it('--offline answers from the cache without any request, and refuses what is not cached', async () => {
    const online = await shelf(['bundle', 'show', '@acme/echo'], { env: env() });
    const mark = proxy.requests.length;
    const offline = await shelf(['bundle', 'show', '@acme/echo', '--offline'], { env: env() });
    expect(offline).toEqual(online);
    const global = await shelf(['--offline', 'bundle', 'show', '@acme/echo'], { env: env() });
    expect(global.stdout).toBe(online.stdout);
    const fromEnv = await shelf(['bundle', 'show', '@acme/echo'], { env: { ...env(), SHELF_OFFLINE: '1' } });
    expect(fromEnv.stdout).toBe(online.stdout);
    const missing = await shelf(['search', 'echo', '--offline'], { env: env() });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error\[not_cached\].*search\/bundles\/root\.json/);
    expect(proxy.requests.length).toBe(mark);
  });

  it('corrupt entries (bad JSON, body not matching its sha256) are refetched, never trusted', async () => {
    const good = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    const files = (await readdir(join(cacheDir, 'documents'))).map((f) => join(cacheDir, 'documents', f));
    expect(files).toHaveLength(4); // package, config, key list, version
    // One entry is garbage; in the other the body is altered but still valid JSON.
    await writeFile(files[0]!, '{"url": "trunc');
    const entry = JSON.parse(await readFile(files[1]!, 'utf8'));
    entry.body = entry.body.replace('"1.2.0"', '"6.6.6"');
    await writeFile(files[1]!, JSON.stringify(entry));

    const offline = await shelf(['bundle', 'show', '@acme/echo', '--offline'], { env: env() });
    expect(offline.code).toBe(1);
    expect(offline.stderr).toMatch(/^error\[not_cached\]/);

    await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() }); // the first corrupt entry went above
    const mark = proxy.requests.length;
    const again = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    expect(again.stdout).toBe(good.stdout);
    expect(since(mark).every((s) => s.startsWith('304'))).toBe(true);
  });

  it('counts what it did, and refetches a tampered entry in full', async () => {
    const stats = newCacheStats();
    const client = () => new RegistryClient({ baseUrl: proxy.url, fetch: createCachingFetch({ dir: cacheDir, stats }) });
    await client().getPackage('bundle', '@acme/echo');
    await client().getPackage('bundle', '@acme/echo');
    // The package document, and the config and key list its signature is verified with.
    expect(stats).toEqual({ revalidated: 3, stored: 3, offline: 0, corrupt: 0, immutable: 0 });
    const file = `${createHash('sha256').update(`${proxy.url}/v1/bundles/@acme/echo.json`).digest('hex')}.json`;
    const entry = JSON.parse(await readFile(join(cacheDir, 'documents', file), 'utf8'));
    await writeFile(join(cacheDir, 'documents', file), JSON.stringify({ ...entry, sha256: '0'.repeat(64) }));
    const mark = proxy.requests.length;
    expect((await client().getPackage('bundle', '@acme/echo')).name).toBe('@acme/echo');
    expect(stats.corrupt).toBe(1);
    expect(proxy.requests[mark]).toMatchObject({ path: '/v1/bundles/@acme/echo.json', status: 200, ifNoneMatch: undefined });
  });

  it('without a cache directory the CLI still works, and --offline says why it cannot', async () => {
    const r = await shelf(['bundle', 'show', '@acme/echo'], { env: { SHELF_REGISTRY: proxy.url } });
    expect(r.code).toBe(0);
    const offline = await shelf(['bundle', 'show', '@acme/echo', '--offline'], { env: { SHELF_REGISTRY: proxy.url } });
    expect(offline.stderr).toMatch(/^error\[cache_unavailable\]/);
  });
});

describe('resolveCacheDir', () => {
  it('prefers SHELF_CACHE_DIR, then XDG_CACHE_HOME, then LOCALAPPDATA on Windows, then HOME', () => {
    expect(resolveCacheDir({ SHELF_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' }, 'linux')).toBe('/c');
    expect(resolveCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }, 'linux')).toBe(join('/x', 'shelf'));
    expect(resolveCacheDir({ XDG_CACHE_HOME: 'relative', HOME: '/h' }, 'linux')).toBe(join('/h', '.cache', 'shelf'));
    expect(resolveCacheDir({ LOCALAPPDATA: 'C:\\L', USERPROFILE: 'C:\\U' }, 'win32')).toBe(join('C:\\L', 'shelf', 'cache'));
    expect(resolveCacheDir({ HOME: '/h' }, 'darwin')).toBe(join('/h', '.cache', 'shelf'));
    expect(resolveCacheDir({}, 'linux')).toBeNull();
  });
});
