import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isShelfError, type ErrorCode } from '../../src/core/errors.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
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
    expect(a.search.bundles).toBe('v1/search/bundles/root.json');
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

describe('RegistryClient.search over the sharded index', () => {
  const names = (hits: Array<{ name: string }>) => hits.map((h) => h.name);
  const search = (query: string, options?: Parameters<RegistryClient['search']>[2]) => client.search('bundle', query, options);

  it('reads each kind\'s index once per instance', async () => {
    const fresh = new RegistryClient({ baseUrl: server.url });
    const roots = () => server.requests.filter((r) => r === shardedRootKey('bundle')).length;
    const before = roots();
    await fresh.search('bundle', 'echo');
    await fresh.search('bundle', 'weather');
    expect(roots() - before).toBe(1);
    expect(names(await fresh.search('skill', ''))).toEqual(['@tools/release-notes']);
  });

  it('finds by prefix and by typo', async () => {
    expect(names(await search('ech'))[0]).toBe('@acme/echo');
    expect(names(await search('wether'))).toEqual(['@acme/weather']);
    expect(names(await search('forecast'))).toEqual(['@acme/weather']);
    expect(names(await search('revers'))).toEqual(['@acme/echo']);
  });

  it('returns summaries with a score', async () => {
    const [hit] = await search('echo');
    expect(hit).toMatchObject({ kind: 'bundle', name: '@acme/echo', latest: '1.2.0', newest: '2.0.0-beta.1', server_type: 'node' });
    expect(hit!.score).toBeGreaterThan(0);
  });

  it('falls back to OR when AND finds nothing', async () => {
    expect(names(await search('echo forecast')).sort()).toEqual(['@acme/echo', '@acme/weather']);
    expect(await search('zzzzqqq')).toEqual([]);
  });

  it('lists everything for an empty query, as the builder indexed it', async () => {
    expect(names(await search('', { sort: 'name' }))).toEqual(['@acme/echo', '@acme/weather']);
    expect((await search('   ')).length).toBe(2);
    expect(await search('', { sort: 'name' })).toEqual(bundlesFromFixture());
  });

  it('filters by type, os and arch (matched on the same platform)', async () => {
    expect(names(await search('', { type: 'python' }))).toEqual(['@acme/weather']);
    expect(names(await search('', { type: 'uv' }))).toEqual([]);
    expect(names(await search('', { os: 'linux' }))).toEqual(['@acme/echo']);
    expect(names(await search('', { os: 'darwin' }))).toEqual(['@acme/weather']);
    expect(names(await search('', { arch: 'x64', sort: 'name' }))).toEqual(['@acme/echo', '@acme/weather']);
    expect(names(await search('', { os: 'win32', arch: 'x64' }))).toEqual(['@acme/weather']);
    expect(names(await search('', { os: 'win32', arch: 'arm64' }))).toEqual([]);
    expect(names(await search('acme', { os: 'linux', arch: 'x64' }))).toEqual(['@acme/echo']);
  });

  it('sorts by name and recency, and limits', async () => {
    expect(names(await search('acme', { sort: 'name' }))).toEqual(['@acme/echo', '@acme/weather']);
    expect(names(await search('acme', { sort: 'recent' }))).toEqual(['@acme/weather', '@acme/echo']);
    expect(await search('acme', { limit: 1 })).toHaveLength(1);
    expect(names(await search('', { sort: 'recent', limit: 1 }))).toEqual(['@acme/weather']);
  });

  it('validates options eagerly', async () => {
    const bad = [{ sort: 'random' }, { limit: 0 }, { limit: 1.5 }, { os: 'solaris' }, { arch: 'ia32' }, { type: '' }] as const;
    for (const opts of bad) expect((await codeOf(search('echo', opts as never))).code).toBe('invalid_argument');
  });

  it('rejects an index root it cannot read, naming it', async () => {
    const broken = new RegistryClient({
      baseUrl: server.url,
      fetch: async (input, init) => (String(input).endsWith(shardedRootKey('bundle')) ? new Response('{"schema_version": 1, "kind": "bundle"}', { status: 200 }) : fetch(input, init)),
    });
    const { code, message } = await codeOf(broken.search('bundle', 'echo'));
    expect(code).toBe('registry_unreachable');
    expect(message).toContain(shardedRootKey('bundle'));
  });

  it('asks for the config and the index root together, not one after the other', async () => {
    let configAnswered = false;
    let rootAskedEarly: boolean | undefined;
    let rootAsked: () => void = () => {};
    const rootRequested = new Promise<void>((resolve) => (rootAsked = resolve));
    const together = new RegistryClient({
      baseUrl: server.url,
      fetch: async (input, init) => {
        if (String(input).endsWith(shardedRootKey('bundle'))) {
          rootAskedEarly ??= !configAnswered;
          rootAsked();
        }
        if (!String(input).endsWith('v1/config.json')) return fetch(input, init);
        // The config answers once the root was asked for, or after 1 s (when the client waits for it).
        await Promise.race([rootRequested, new Promise((r) => setTimeout(r, 1_000))]);
        const response = await fetch(input, init);
        configAnswered = true;
        return response;
      },
    });
    expect(names(await together.search('bundle', 'echo'))[0]).toBe('@acme/echo');
    expect(rootAskedEarly).toBe(true);
  });

  it('says a registry of the retired single layout must be migrated, and reads nothing else', async () => {
    const seen: string[] = [];
    const retired = new RegistryClient({
      baseUrl: server.url,
      fetch: async (input, init) => {
        seen.push(String(input));
        if (!String(input).endsWith('v1/config.json')) return fetch(input, init);
        const config = await (await fetch(input, init)).json();
        return Response.json({ ...config, search: { layout: 'single', bundles: 'v1/search/bundles.json', skills: 'v1/search/skills.json' } });
      },
    });
    const { code, message } = await codeOf(retired.search('bundle', 'echo'));
    expect(code).toBe('registry_unreachable');
    expect(message).toMatch(/retired "single" search layout.*shelf rebuild/);
    // The root is asked for alongside the config (there is none in that layout); nothing after.
    expect(seen.filter((u) => !u.endsWith(shardedRootKey('bundle')))).toEqual([`${server.url}/v1/config.json`]);
    expect(seen.length).toBeLessThanOrEqual(2);
  });
});

function bundlesFromFixture() {
  return [...fixture.summaries.bundle]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((s) => ({ ...s, score: expect.any(Number) }));
}
