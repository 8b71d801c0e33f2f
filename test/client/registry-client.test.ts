import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isShelfError, type ErrorCode } from '../../src/core/errors.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { SearchEngine } from '../../src/client/search.ts';
import { buildSearchIndex } from '../../src/indexer/search-index.ts';
import { buildRegistry, writeRaw, type Fixture } from './fixtures.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';

let root: string;
let fixture: Fixture;
let server: StaticServer;
let client: RegistryClient;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shelf-client-'));
  fixture = await buildRegistry(root);
  // Deliberately broken documents, written without validation.
  await writeRaw(root, 'v1/bundles/@acme/broken.json', '{"schema_version": 1, "kind": ');
  await writeRaw(root, 'v1/bundles/@acme/drifted.json', JSON.stringify({ schema_version: 1, kind: 'bundle', name: '@acme/drifted' }));
  await writeRaw(root, 'v1/bundles/@acme/future.json', JSON.stringify({ schema_version: 2, kind: 'bundle' }));
  server = await startStaticServer(root);
  client = new RegistryClient({ baseUrl: `${server.url}/` });
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

async function codeOf(promise: Promise<unknown>): Promise<{ code: ErrorCode | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isShelfError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  return { code: undefined, message: '' };
}

describe('RegistryClient', () => {
  it('validates and normalises baseUrl', () => {
    expect(client.baseUrl).toBe(server.url);
    expect(new RegistryClient({ baseUrl: 'https://cdn.example/shelf//' }).baseUrl).toBe('https://cdn.example/shelf');
    for (const bad of ['ftp://x', 'not a url', 'http://x/?q=1', '']) {
      expect(() => new RegistryClient({ baseUrl: bad })).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });

  it('reads the config once per instance', async () => {
    const fresh = new RegistryClient({ baseUrl: server.url });
    const before = server.requests.filter((r) => r === 'v1/config.json').length;
    const [a, b] = await Promise.all([fresh.config(), fresh.config()]);
    await fresh.config();
    expect(a).toBe(b);
    expect(a.search.bundles).toBe('v1/search/bundles.json');
    expect(server.requests.filter((r) => r === 'v1/config.json').length - before).toBe(1);
  });

  it('gets package and version documents, case-insensitively', async () => {
    const pkg = await client.getPackage('bundle', '@ACME/Echo');
    expect(pkg).toEqual(fixture.packages.get('@acme/echo'));
    const version = await client.getVersion('bundle', '@acme/echo', '1.2.0');
    expect(version.artifacts.map((a) => `${a.os}-${a.arch}`)).toEqual(['any-any', 'linux-any', 'linux-x64']);
    expect(client.artifactUrl(version.artifacts[0]!)).toBe(`${server.url}/${version.artifacts[0]!.path}`);
  });

  it('reports not_found with the kind and name', async () => {
    expect(await codeOf(client.getPackage('bundle', '@acme/nope'))).toEqual({
      code: 'not_found',
      message: 'bundle @acme/nope was not found',
    });
    // A skill name is not a bundle.
    expect((await codeOf(client.getPackage('bundle', '@tools/release-notes'))).code).toBe('not_found');
    expect((await codeOf(client.getVersion('bundle', '@acme/echo', '9.9.9'))).code).toBe('not_found');
  });

  it('rejects bad input before any request', async () => {
    expect((await codeOf(client.getPackage('bundle', 'echo'))).code).toBe('invalid_name');
    expect((await codeOf(client.getVersion('bundle', '@acme/echo', '../x'))).code).toBe('invalid_version');
  });

  it('rejects invalid JSON, schema drift and newer schema versions, naming the URL', async () => {
    for (const name of ['broken', 'drifted', 'future']) {
      const { code, message } = await codeOf(client.getPackage('bundle', `@acme/${name}`));
      expect(code).toBe('registry_unreachable');
      expect(message).toContain(`${server.url}/v1/bundles/@acme/${name}.json`);
    }
    expect((await codeOf(client.getPackage('bundle', '@acme/future'))).message).toContain('schema_version 2');
  });

  it('sends a GET once more when it fails before any response (a reused connection reset), and only once', async () => {
    const attempts = new Map<string, number>();
    const flaky = (failures: number): typeof fetch => async (input, init) => {
      const url = String(input);
      const n = (attempts.get(url) ?? 0) + 1;
      attempts.set(url, n);
      if (n <= failures) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    const once = new RegistryClient({ baseUrl: server.url, fetch: flaky(1) });
    expect((await once.getPackage('bundle', '@acme/echo')).name).toBe('@acme/echo');
    expect(attempts.get(`${server.url}/v1/bundles/@acme/echo.json`)).toBe(2);
    attempts.clear();
    const { code } = await codeOf(new RegistryClient({ baseUrl: server.url, fetch: flaky(2) }).getPackage('bundle', '@acme/echo'));
    expect(code).toBe('registry_unreachable');
    expect(attempts.get(`${server.url}/v1/bundles/@acme/echo.json`)).toBe(2);
    // An HTTP error is an answer: not sent again.
    attempts.clear();
    expect((await codeOf(new RegistryClient({ baseUrl: server.url, fetch: flaky(0) }).getPackage('bundle', '@acme/broken'))).code).toBe('registry_unreachable');
    expect((await codeOf(new RegistryClient({ baseUrl: server.url, fetch: flaky(0) }).getPackage('bundle', '@acme/absent'))).code).toBe('not_found');
    expect(attempts.get(`${server.url}/v1/bundles/@acme/absent.json`)).toBe(1);
  });

  it('reports an unreachable registry with the URL', async () => {
    const dead = await startStaticServer(root);
    const url = dead.url;
    await dead.close();
    const { code, message } = await codeOf(new RegistryClient({ baseUrl: url }).getPackage('bundle', '@acme/echo'));
    expect(code).toBe('registry_unreachable');
    expect(message).toContain(`${url}/v1/bundles/@acme/echo.json`);
  });

  it('uses an injected fetch', async () => {
    const seen: string[] = [];
    const injected = new RegistryClient({
      baseUrl: 'http://registry.invalid',
      fetch: async (input) => {
        seen.push(String(input));
        return new Response('{}', { status: 500 });
      },
    });
    expect(await codeOf(injected.config())).toEqual({
      code: 'registry_unreachable',
      message: 'GET http://registry.invalid/v1/config.json failed with HTTP 500.',
    });
    expect(seen).toEqual(['http://registry.invalid/v1/config.json']);
  });
});

describe('SearchEngine', () => {
  let bundles: SearchEngine;
  const names = (hits: Array<{ name: string }>) => hits.map((h) => h.name);

  beforeAll(async () => {
    bundles = await client.loadSearch('bundle');
  });

  it('is cached per kind', async () => {
    expect(await client.loadSearch('bundle')).toBe(bundles);
    const skills = await client.loadSearch('skill');
    expect(skills).not.toBe(bundles);
    expect(skills.kind).toBe('skill');
    expect(names(skills.search(''))).toEqual(['@tools/release-notes']);
  });

  it('finds by prefix and by typo', () => {
    expect(names(bundles.search('ech'))[0]).toBe('@acme/echo');
    expect(names(bundles.search('wether'))).toEqual(['@acme/weather']);
    expect(names(bundles.search('forecast'))).toEqual(['@acme/weather']);
    expect(names(bundles.search('revers'))).toEqual(['@acme/echo']);
  });

  it('returns summaries with a score', () => {
    const [hit] = bundles.search('echo');
    expect(hit).toMatchObject({ kind: 'bundle', name: '@acme/echo', latest: '1.2.0', newest: '2.0.0-beta.1', server_type: 'node' });
    expect(hit!.score).toBeGreaterThan(0);
  });

  it('falls back to OR when AND finds nothing', () => {
    expect(names(bundles.search('echo forecast')).sort()).toEqual(['@acme/echo', '@acme/weather']);
    expect(bundles.search('zzzzqqq')).toEqual([]);
  });

  it('lists everything for an empty query', () => {
    expect(names(bundles.search('', { sort: 'name' }))).toEqual(['@acme/echo', '@acme/weather']);
    expect(bundles.search('   ').length).toBe(2);
    expect(bundles.size).toBe(2);
  });

  it('filters by type, os and arch (matched on the same platform)', () => {
    expect(names(bundles.search('', { type: 'python' }))).toEqual(['@acme/weather']);
    expect(names(bundles.search('', { type: 'uv' }))).toEqual([]);
    expect(names(bundles.search('', { os: 'linux' }))).toEqual(['@acme/echo']);
    expect(names(bundles.search('', { os: 'darwin' }))).toEqual(['@acme/weather']);
    expect(names(bundles.search('', { arch: 'x64', sort: 'name' }))).toEqual(['@acme/echo', '@acme/weather']);
    expect(names(bundles.search('', { os: 'win32', arch: 'x64' }))).toEqual(['@acme/weather']);
    expect(names(bundles.search('', { os: 'win32', arch: 'arm64' }))).toEqual([]);
    expect(names(bundles.search('acme', { os: 'linux', arch: 'x64' }))).toEqual(['@acme/echo']);
  });

  it('sorts by name and recency, and limits', () => {
    expect(names(bundles.search('acme', { sort: 'name' }))).toEqual(['@acme/echo', '@acme/weather']);
    expect(names(bundles.search('acme', { sort: 'recent' }))).toEqual(['@acme/weather', '@acme/echo']);
    expect(bundles.search('acme', { limit: 1 })).toHaveLength(1);
    expect(names(bundles.search('', { sort: 'recent', limit: 1 }))).toEqual(['@acme/weather']);
  });

  it('validates options eagerly', () => {
    const bad = [
      { sort: 'random' },
      { limit: 0 },
      { limit: 1.5 },
      { os: 'solaris' },
      { arch: 'ia32' },
      { type: '' },
    ] as const;
    for (const opts of bad) {
      expect(() => bundles.search('echo', opts as never)).toThrow(expect.objectContaining({ code: 'invalid_argument' }));
    }
  });
});

describe('SearchEngine and the indexer', () => {
  it('loads an index built by the indexer', () => {
    const doc = buildSearchIndex('bundle', { schema_version: 1, kind: 'bundle', packages: fixture.summaries.bundle });
    const engine = new SearchEngine(doc);
    expect(engine.search('ech').map((h) => h.name)[0]).toBe('@acme/echo');
    expect(engine.search('wether').map((h) => h.name)).toEqual(['@acme/weather']);
    expect(engine.search('', { sort: 'name' })).toEqual(bundlesFromFixture());
  });

  it('rejects an index it cannot load', () => {
    const doc = buildSearchIndex('bundle', null);
    expect(() => new SearchEngine({ ...doc, index: { ...doc.index, serializationVersion: 99 } })).toThrow(
      expect.objectContaining({ code: 'registry_unreachable' }),
    );
  });
});

function bundlesFromFixture() {
  return [...fixture.summaries.bundle]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((s) => ({ ...s, score: expect.any(Number) }));
}
