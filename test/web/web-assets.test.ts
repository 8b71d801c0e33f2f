/**
 * The web pages as bucket objects (built with esbuild in memory, or read from a prebuilt folder),
 * served by the registry server, and the pure helpers behind the pages: URL state, links, safe
 * URLs, GitHub links, the pull command.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REGISTRY } from '../../src/cli/common.ts';
import { ShelfError } from '../../src/core/errors.ts';
import { IMMUTABLE_CACHE, MUTABLE_CACHE } from '../../src/core/paths.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { PREBUILT_MANIFEST, buildWebAssets, publishWebAssets, writePrebuiltAssets } from '../../src/registry/web-assets.ts';
import { startRegistryServer, type RegistryServer } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import {
  CLI_DEFAULT_REGISTRY,
  externalUrl,
  formatBytes,
  githubCommitUrl,
  githubRepoUrl,
  githubRunUrl,
  githubWorkflowUrl,
  isSafeUrl,
  parseWorkflowRef,
  pullCommand,
} from '../../src/web/format.ts';
import { LISTING_PAGE, MORE_RESULTS, RESULTS_PAGE, extendShown, pageSizes } from '../../src/web/home.ts';
import { DEFAULT_HOME_STATE, historyAction, homeStateToSearch, parseHomeState, type HomeState } from '../../src/web/home-state.ts';
import { packageHref, parsePackageParams, parseScopeParams, scopeHref } from '../../src/web/links.ts';
import { contentSecurityPolicy } from '../../src/web/pages.ts';
import { pageCode } from '../../bench/lib/page-code.ts';
import { registryBaseUrl } from '../../src/web/registry.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-web-assets-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const snapshot = async (store: FsStore) => (await store.list('')).map((o) => `${o.key} ${o.etag}`);
const codeOf = async (promise: Promise<unknown>) => ((await promise.then(() => null, (e: unknown) => e)) as ShelfError | null)?.code;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

describe('publishWebAssets', () => {
  it('puts three pages, a script per page, their chunks and a style sheet into the bucket, content-hashed, with their types and caching', async () => {
    const store = new FsStore(join(dir, 'publish'));
    const keys = await publishWebAssets(store);
    expect(keys.slice(0, 3)).toEqual(['index.html', 'package.html', 'scope.html']);
    const scripts = keys.filter((k) => /^assets\/(home|package|scope)\./.test(k));
    const chunks = keys.filter((k) => k.startsWith('assets/chunk.'));
    const style = keys.find((k) => k.endsWith('.css'))!;
    expect(scripts.map((k) => k.split('.')[0])).toEqual(['assets/home', 'assets/package', 'assets/scope']);
    for (const key of [...scripts, ...chunks]) {
      expect(key).toMatch(/^assets\/(home|package|scope|chunk)\.[0-9a-f]{16}\.js$/);
      // Named by content: the bytes (which carry the names of the chunks they import) hash to the name.
      const js = (await store.get(key))!;
      expect(key).toContain(createHash('sha256').update(js.body).digest('hex').slice(0, 16));
      expect(js.contentType).toBe('text/javascript; charset=utf-8');
      expect(js.cacheControl).toBe(IMMUTABLE_CACHE);
      for (const [, imported] of text(js.body).matchAll(/"\.\/(chunk\.[0-9a-f]{16}\.js)"/g)) expect(keys).toContain(`assets/${imported}`);
    }
    expect(chunks.length).toBeGreaterThan(0);
    expect(style).toMatch(/^assets\/style\.[0-9a-f]{16}\.css$/);
    expect(keys).toHaveLength(3 + scripts.length + chunks.length + 1);
    expect((await store.get(style))!.contentType).toBe('text/css; charset=utf-8');
    for (const [page, script] of [['index.html', scripts[0]], ['package.html', scripts[1]], ['scope.html', scripts[2]]] as const) {
      const html = (await store.get(page))!;
      expect(html.contentType).toBe('text/html; charset=utf-8');
      expect(html.cacheControl).toBe(MUTABLE_CACHE);
      const source = text(html.body);
      expect(source).toContain(`<link rel="stylesheet" href="${style}">`);
      // One script, no inline script anywhere: the CSP allows only the page's own files.
      expect(source.match(/<script[^>]*>/g)).toEqual([`<script type="module" src="${script}">`]);
      expect(source).toContain(`content="${contentSecurityPolicy().replaceAll("'", '&#39;')}"`);
      for (const [, preloaded] of source.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)) expect(chunks).toContain(preloaded);
    }
    // The home page's search loads its script and the chunks it imports (preloaded, so they load
    // beside it), without zod or semver: the documents' schemas are the other pages' (preloaded there).
    const code = async (page: string) => pageCode(text((await store.get(page))!.body), async (key) => (await store.get(key))!.body);
    const homeScript = text((await store.get(scripts[0]!))!.body);
    const homeImports = [...homeScript.matchAll(/\bfrom ?"\.\/(chunk\.[0-9a-f]{16}\.js)"/g)].map((m) => `assets/${m[1]}`);
    expect(await code('index.html')).toMatchObject({ scripts: [scripts[0], ...homeImports.sort()], has_zod: false, has_semver: false });
    // Its build leaves the documents' schemas out (it reads none), so it shares no chunk with them: one file.
    expect(homeImports).toEqual([]);
    // The search's first reads, fetched beside the script.
    const home = text((await store.get('index.html'))!.body);
    expect(home).toContain('<link rel="preload" as="fetch" crossorigin href="v1/config.json">');
    expect(home).toContain('<link rel="preload" as="fetch" crossorigin href="v1/search/bundles/root.json">');
    expect(await code('package.html')).toMatchObject({ has_zod: true, has_semver: true });
    expect((await code('package.html')).scripts.length).toBeGreaterThan(1);
    expect(contentSecurityPolicy()).not.toContain('unsafe');
    expect(text((await store.get('index.html'))!.body)).toContain('data-page="home"');
  });

  it('is idempotent: publishing the same build again changes no ETag', async () => {
    const store = new FsStore(join(dir, 'idempotent'));
    await publishWebAssets(store);
    const before = await snapshot(store);
    await publishWebAssets(store);
    expect(await snapshot(store)).toEqual(before);
  });

  it('points the pages at another registry with registryUrl: pages change, assets do not, and the value is escaped', async () => {
    const store = new FsStore(join(dir, 'registry-url'));
    const keys = await publishWebAssets(store);
    const before = Object.fromEntries((await store.list('')).map((o) => [o.key, o.etag]));
    await publishWebAssets(store, { registryUrl: 'https://cdn.example.com/shelf/"><script>alert(1)</script>' });
    const after = Object.fromEntries((await store.list('')).map((o) => [o.key, o.etag]));
    for (const key of keys) {
      if (key.startsWith('assets/')) expect(after[key]).toBe(before[key]);
      else expect(after[key]).not.toBe(before[key]);
    }
    const html = text((await store.get('index.html'))!.body);
    expect(html).toContain('<meta name="shelf-registry" content="https://cdn.example.com/shelf/&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;">');
    expect(html).toContain("connect-src &#39;self&#39; https://cdn.example.com;");
    expect(html).toContain('<link rel="preload" as="fetch" crossorigin href="https://cdn.example.com/shelf/&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;/v1/config.json">');
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('refuses a registryUrl that is not an http(s) URL, naming the option and writing nothing', async () => {
    const store = new FsStore(join(dir, 'bad-url'));
    for (const registryUrl of ['javascript:alert(1)', 'not a url', 'https://cdn.example.com/?x=1']) {
      const error = await publishWebAssets(store, { registryUrl }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ShelfError);
      expect((error as ShelfError).code).toBe('invalid_argument');
      expect((error as ShelfError).message).toContain('"registryUrl"');
    }
    expect(await codeOf(publishWebAssets(store, { prebuiltDir: '' }))).toBe('invalid_argument');
    expect(await store.list('')).toEqual([]);
  });

  it('publishes from a prebuilt folder (npm run build:web) the same keys and bytes as an in-memory build', async () => {
    const prebuilt = join(dir, 'www');
    const written = await writePrebuiltAssets(prebuilt);
    expect(written).toContain(PREBUILT_MANIFEST);
    const fromBuild = await buildWebAssets();
    const store = new FsStore(join(dir, 'from-prebuilt'));
    const keys = await publishWebAssets(store, { prebuiltDir: prebuilt });
    expect(keys).toEqual(fromBuild.map((a) => a.key));
    for (const asset of fromBuild) expect(Buffer.from((await store.get(asset.key))!.body).equals(Buffer.from(asset.body))).toBe(true);
  });

  it('refuses a prebuilt folder that is missing or whose file does not match its hash, writing nothing', async () => {
    const store = new FsStore(join(dir, 'bad-prebuilt'));
    expect(await codeOf(publishWebAssets(store, { prebuiltDir: join(dir, 'nowhere') }))).toBe('web_assets_unavailable');
    const prebuilt = join(dir, 'tampered');
    await writePrebuiltAssets(prebuilt);
    const manifest = JSON.parse(await readFile(join(prebuilt, PREBUILT_MANIFEST), 'utf8'));
    for (const key of [manifest.scripts.home, manifest.chunks[0]]) {
      const original = await readFile(join(prebuilt, key));
      await writeFile(join(prebuilt, key), 'window.__tampered = 1;');
      const error = await publishWebAssets(store, { prebuiltDir: prebuilt }).catch((e: unknown) => e);
      expect((error as ShelfError).code).toBe('web_assets_unavailable');
      expect((error as ShelfError).message).toContain('content hash');
      await writeFile(join(prebuilt, key), original);
    }
    await writeFile(join(prebuilt, PREBUILT_MANIFEST), JSON.stringify({ ...manifest, preload: { ...manifest.preload, package: ['assets/chunk.0000000000000000.js'] } }));
    expect(await codeOf(publishWebAssets(store, { prebuiltDir: prebuilt }))).toBe('web_assets_unavailable');
    expect(await store.list('')).toEqual([]);
  });
});

describe('the registry server serves the pages', () => {
  let server: RegistryServer;
  beforeAll(async () => {
    server = await startRegistryServer({ store: new FsStore(join(dir, 'served')), port: 0, env: { SHELF_AUDIENCE: 'https://shelf.test' } });
  });
  afterAll(() => server.close());

  it('serves the home page at / and the script as an immutable asset', async () => {
    const home = await fetch(`${server.url}/`);
    expect(home.status).toBe(200);
    expect(home.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(home.headers.get('cache-control')).toBe(MUTABLE_CACHE);
    const html = await home.text();
    const script = /<script type="module" src="([^"]+)">/.exec(html)![1]!;
    const js = await fetch(`${server.url}/${script}`);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toBe(IMMUTABLE_CACHE);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const page = await fetch(`${server.url}/package.html?bundle=@acme/echo`);
    expect(await page.text()).toContain('data-page="package"');
  });
});

describe('home page state in the URL', () => {
  const state = (s: Partial<HomeState>): HomeState => ({ ...DEFAULT_HOME_STATE, ...s });

  it('writes only what differs from the defaults, in a fixed order, and reads it back', () => {
    expect(homeStateToSearch(DEFAULT_HOME_STATE)).toBe('');
    const s = state({ q: 'weather api', kind: 'bundle', type: 'node', os: 'linux', arch: 'arm64', sort: 'name' });
    expect(homeStateToSearch(s)).toBe('?q=weather+api&type=node&os=linux&arch=arm64&sort=name');
    expect(parseHomeState(homeStateToSearch(s))).toEqual(s);
    expect(parseHomeState('?kind=skill&q=notes')).toEqual(state({ kind: 'skill', q: 'notes' }));
  });

  it('drops unknown values, a server type for skills, and "any" platforms from a hand-written URL', () => {
    expect(parseHomeState('?kind=nope&type=rust&os=beos&arch=any&sort=stars')).toEqual(DEFAULT_HOME_STATE);
    expect(parseHomeState('?kind=skill&type=node')).toEqual(state({ kind: 'skill' }));
    expect(parseHomeState(`?q=${'x'.repeat(500)}`).q).toHaveLength(200);
  });

  it('replaces the history entry while one query is refined, and pushes a new query or filter', () => {
    expect(historyAction(state({ q: 'wea' }), state({ q: 'weather' }), 'typing')).toBe('replace');
    expect(historyAction(state({ q: 'weather' }), state({ q: 'wea' }), 'typing')).toBe('replace');
    expect(historyAction(state({ q: 'echo' }), state({ q: 'weather' }), 'typing')).toBe('push');
    expect(historyAction(state({ q: '' }), state({ q: 'e' }), 'typing')).toBe('push');
    expect(historyAction(state({ q: 'echo' }), state({ q: '' }), 'typing')).toBe('push');
    expect(historyAction(state({ q: 'wea' }), state({ q: 'weather', os: 'linux' }), 'typing')).toBe('push');
    expect(historyAction(state({ q: 'echo' }), state({ q: 'echo', sort: 'name' }), 'control')).toBe('push');
    expect(historyAction(state({ q: 'echo' }), state({ q: 'echo' }), 'control')).toBe('none');
  });
});

describe('home page results per page', () => {
  it('shows a query 5 results and 10 more per "Show more"; a listing without a query 30, and 30 more', () => {
    expect(pageSizes({ q: 'weather' })).toEqual({ first: RESULTS_PAGE, more: MORE_RESULTS });
    expect([RESULTS_PAGE, MORE_RESULTS]).toEqual([5, 10]);
    expect(pageSizes({ q: '  ' })).toEqual({ first: LISTING_PAGE, more: LISTING_PAGE });
  });

  it('"Show more" keeps the results on screen first, in their order, then adds the new ones', () => {
    const n = (...names: string[]) => names.map((name) => ({ name }));
    // The larger page ranked b above a and found d: a and b stay where the reader saw them.
    expect(extendShown(n('a', 'b'), n('b', 'a', 'd', 'c')).map((h) => h.name)).toEqual(['a', 'b', 'd', 'c']);
    // One that dropped out of the larger page stays too.
    expect(extendShown(n('a', 'x'), n('a', 'c', 'd')).map((h) => h.name)).toEqual(['a', 'x', 'c', 'd']);
  });
});

describe('page links', () => {
  it('builds and parses package and scope addresses, refusing invalid names with their codes', () => {
    expect(packageHref('bundle', '@ACME/Echo')).toBe('package.html?bundle=@acme/echo');
    expect(packageHref('skill', '@acme/notes', '1.0.0-beta.1')).toBe('package.html?skill=@acme/notes&version=1.0.0-beta.1');
    expect(scopeHref('@Acme')).toBe('scope.html?scope=acme');
    expect(parsePackageParams('?bundle=@acme/echo&version=1.2.0')).toEqual({ kind: 'bundle', name: { full: '@acme/echo', scope: 'acme', name: 'echo' }, version: '1.2.0' });
    expect(parsePackageParams('?skill=@acme/notes&version=latest')).toEqual({ kind: 'skill', name: { full: '@acme/notes', scope: 'acme', name: 'notes' } });
    expect(parseScopeParams('?scope=@acme')).toBe('acme');
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as ShelfError).code;
      }
      return null;
    };
    expect(code(() => parsePackageParams(''))).toBe('invalid_argument');
    expect(code(() => parsePackageParams('?bundle=@a/b&skill=@a/c'))).toBe('invalid_argument');
    expect(code(() => parsePackageParams('?bundle=<script>'))).toBe('invalid_name');
    expect(code(() => parsePackageParams('?bundle=@a/b&version=v1'))).toBe('invalid_version');
    expect(code(() => packageHref('bundle', '@a/b?x=1'))).toBe('invalid_name');
    expect(code(() => parseScopeParams('?scope='))).toBe('invalid_argument');
    expect(code(() => parseScopeParams('?scope=../x'))).toBe('invalid_name');
  });

  it('reads the registry from the page folder, or from the configured meta value', () => {
    expect(registryBaseUrl(null, 'http://127.0.0.1:8787/package.html?bundle=@a/b')).toBe('http://127.0.0.1:8787');
    expect(registryBaseUrl(null, 'https://cdn.example.com/shelf/?q=x#y')).toBe('https://cdn.example.com/shelf');
    expect(registryBaseUrl(' https://r.example.com/ ', 'http://127.0.0.1/')).toBe('https://r.example.com');
  });
});

describe('formatting', () => {
  it('allows only http(s) and relative URLs in links', () => {
    for (const bad of ['javascript:alert(1)', 'JAVASCRIPT:alert(1)', 'java\tscript:alert(1)', ' javascript:x', 'data:text/html,x', 'vbscript:x', 'mailto:a@b']) {
      expect(isSafeUrl(bad), bad).toBe(false);
    }
    for (const good of ['https://example.com', 'http://127.0.0.1:8787/x', 'package.html?bundle=@a/b', './', '#x']) expect(isSafeUrl(good), good).toBe(true);
    expect(externalUrl('javascript:alert(1)')).toBeNull();
    expect(externalUrl('package.html')).toBeNull();
    expect(externalUrl(42)).toBeNull();
    expect(externalUrl(' https://globex.example ')).toBe('https://globex.example');
  });

  it('links GitHub only from well-formed repository names, commits, runs and workflow paths', () => {
    const sha = 'ab'.repeat(20);
    expect(githubRepoUrl('acme/echo-mcp')).toBe('https://github.com/acme/echo-mcp');
    expect(githubRepoUrl('acme/../../evil')).toBeNull();
    expect(githubRepoUrl('acme/..')).toBeNull();
    expect(githubRepoUrl('javascript:alert(1)//x')).toBeNull();
    expect(githubCommitUrl('acme/echo-mcp', sha)).toBe(`https://github.com/acme/echo-mcp/commit/${sha}`);
    expect(githubCommitUrl('acme/echo-mcp', 'main')).toBeNull();
    expect(githubRunUrl('acme/echo-mcp', '42', '2')).toBe('https://github.com/acme/echo-mcp/actions/runs/42/attempts/2');
    expect(githubRunUrl('acme/echo-mcp', '42/../../x')).toBeNull();
    const wf = parseWorkflowRef('acme/echo-mcp/.github/workflows/release.yml@refs/tags/v1');
    expect(wf).toEqual({ repository: 'acme/echo-mcp', path: '.github/workflows/release.yml', ref: 'refs/tags/v1' });
    expect(githubWorkflowUrl(wf!, sha)).toBe(`https://github.com/acme/echo-mcp/blob/${sha}/.github/workflows/release.yml`);
    expect(parseWorkflowRef('acme/echo-mcp/.github/workflows/../../x@main')).toBeNull();
    expect(parseWorkflowRef('not a ref')).toBeNull();
  });

  it('writes the pull command the CLI understands, naming the registry only when it is not the default', () => {
    expect(CLI_DEFAULT_REGISTRY).toBe(DEFAULT_REGISTRY);
    expect(pullCommand('bundle', '@acme/echo', { registry: `${DEFAULT_REGISTRY}/` })).toBe('npx shelf-cli bundle pull @acme/echo');
    expect(pullCommand('skill', '@acme/notes', { version: '2.0.0-rc.1', registry: 'https://r.example.com' })).toBe(
      'npx shelf-cli skill pull @acme/notes@2.0.0-rc.1 --registry https://r.example.com',
    );
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(2560)).toBe('2.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
  });
});

describe("the scope page's read: RegistryClient.getScope", () => {
  const respond = (status: number, body: unknown): typeof fetch => async () => new Response(JSON.stringify(body), { status });
  const scopeDoc = { schema_version: 1, scope: 'acme', owner: 'acme', owner_id: '1', pinned_at: '2025-01-01T00:00:00Z', packages: [{ kind: 'bundle', name: '@acme/echo' }] };
  const getScope = (scope: string, fetchImpl: typeof fetch) => new RegistryClient({ baseUrl: 'http://registry.test', fetch: fetchImpl }).getScope(scope);

  it('reads a scope record, and maps a missing, broken or mismatched one to stable codes', async () => {
    expect((await getScope('acme', respond(200, scopeDoc))).packages).toEqual(scopeDoc.packages);
    expect((await getScope('@ACME', respond(200, scopeDoc))).scope).toBe('acme');
    expect(await codeOf(getScope('acme', respond(404, {})))).toBe('not_found');
    expect(await codeOf(getScope('acme', respond(500, {})))).toBe('registry_unreachable');
    expect(await codeOf(getScope('acme', respond(200, { nope: true })))).toBe('registry_unreachable');
    expect(await codeOf(getScope('other', respond(200, scopeDoc)))).toBe('registry_unreachable');
    expect(await codeOf(getScope('acme', async () => Promise.reject(new TypeError('fetch failed'))))).toBe('registry_unreachable');
    expect(await codeOf(getScope('no scope!', respond(200, scopeDoc)))).toBe('invalid_name');
  });
});
