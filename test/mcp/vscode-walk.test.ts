/**
 * The MCP registry read API (v0.1) walked exactly as VS Code's MCP gallery walks it, on the
 * embedded registry with bundles enough for several pages: the probe (`?limit=1`), the list
 * (`?limit=50&version=latest`, following `nextCursor` to the end), each server's
 * `versions/latest` by `encodeURIComponent(name)`, and each mcpb `identifier` downloaded and
 * checked against `fileSha256`. Every answer validates against the spec's schemas, carries
 * `Access-Control-Allow-Origin: *`, and misses answer 404 `{"error": "..."}`. Then a new version
 * and a new package appear in the right places, a cursor handed out before the registry grew
 * still leads through every server, and the files the announces wrote are exactly what
 * `shelf rebuild` derives (`shelf check` is clean). After a yank, the walk finds the version below.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { claimsFor, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { expectValid, getJson, publishBundle, walkList } from './helpers.ts';

let reg: TestRegistry;
/** name -> version -> os -> sha256 */
const published = new Map<string, Map<string, Record<string, string>>>();
const record = (name: string, version: string, sha: Record<string, string>) => {
  const server = `io.github.${name.slice(1)}`;
  if (!published.has(server)) published.set(server, new Map());
  published.get(server)!.set(version, sha);
};
const SCOPES = ['acme', 'globex', 'initech', 'umbrella'];

beforeAll(async () => {
  reg = await startTestRegistry();
  // 52 servers: four pages of the latest listing (16 servers a bucket).
  for (let i = 0; i < 52; i++) {
    const name = `@${SCOPES[i % SCOPES.length]}/tool-${String(i).padStart(2, '0')}`;
    record(name, '1.0.0', (await publishBundle(reg, name, '1.0.0')).sha256);
  }
  // One server with a platform each, and an older version of another.
  record('@acme/native', '2.0.0', (await publishBundle(reg, '@acme/native', '2.0.0', { os: ['win32', 'darwin', 'linux'] })).sha256);
  record('@acme/tool-00', '0.9.0', (await publishBundle(reg, '@acme/tool-00', '0.9.0')).sha256);
}, 120_000);
afterAll(() => reg?.close());

describe('VS Code walks the MCP registry API', () => {
  it('probes with ?limit=1 and gets a valid ServerList', async () => {
    const { status, json } = await getJson(`${reg.url}/v0.1/servers?limit=1`);
    expect(status).toBe(200);
    expectValid('ServerList', json);
  });

  it('lists every server once, across several pages, following nextCursor to the end', async () => {
    const walk = await walkList(reg.url);
    expect(walk.pages).toBeGreaterThanOrEqual(3);
    const names = walk.servers.map((s) => s.server.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names.sort()).toEqual([...published.keys()].sort());
    for (const s of walk.servers) {
      expect(s._meta['io.modelcontextprotocol.registry/official']).toMatchObject({ status: 'active', isLatest: true });
      expect(s.server.description.length).toBeLessThanOrEqual(100);
    }
    expect(walk.servers.find((s) => s.server.name === 'io.github.acme/tool-00').server.version).toBe('1.0.0');
  });

  it('gets each server by encodeURIComponent(name)/versions/latest and installs its mcpb with the sha256 checked', async () => {
    for (const [name, versions] of published) {
      const { status, json } = await getJson(`${reg.url}/v0.1/servers/${encodeURIComponent(name)}/versions/latest`);
      expect(status, name).toBe(200);
      expectValid('ServerResponse', json);
      expect(json.server.name).toBe(name);
      const newest = [...versions.keys()].sort().at(-1)!;
      expect(json.server.version).toBe(newest);
      const packages = json.server.packages;
      expect(packages.length).toBe(Object.keys(versions.get(newest)!).length);
      for (const p of packages) {
        expect(p).toMatchObject({ registryType: 'mcpb', version: newest, transport: { type: 'stdio' } });
        expect(p.identifier.startsWith(`${reg.url}/v1/bundles/`)).toBe(true);
        const bytes = new Uint8Array(await (await fetch(p.identifier)).arrayBuffer());
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.fileSha256);
      }
    }
  });

  it('tells platforms apart: packages in platform order, each named in Shelf’s _meta with its os and arch', async () => {
    const { json } = await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Fnative/versions/2.0.0`);
    const artifacts = json._meta['dev.shelf.registry/package'].artifacts;
    expect(artifacts.map((a: any) => a.os)).toEqual(['darwin', 'linux', 'win32']);
    expect(json.server.packages.map((p: any) => p.identifier)).toEqual(artifacts.map((a: any) => a.identifier));
    for (const a of artifacts) expect(a.sha256).toBe(published.get('io.github.acme/native')!.get('2.0.0')![a.os]);
    expect(artifacts[0].provenance).toMatchObject({ repository: 'acme/native-mcp', verified: true });
    expect(json.server.repository).toMatchObject({ url: 'https://github.com/acme/native-mcp', source: 'github' });
  });

  it('lists a server’s versions newest first, and every version of every server in the unfiltered list', async () => {
    const { json } = await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Ftool-00/versions`);
    expectValid('ServerList', json);
    expect(json.servers.map((s: any) => [s.server.version, s._meta['io.modelcontextprotocol.registry/official'].isLatest])).toEqual([
      ['0.9.0', false],
      ['1.0.0', true],
    ]);
    const all = await walkList(reg.url, 'limit=50');
    const pairs = all.servers.map((s) => `${s.server.name}@${s.server.version}`);
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(pairs.length).toBe([...published.values()].reduce((n, v) => n + v.size, 0));
  });

  it('answers 404 {"error"} for unknown servers and versions, 400 for what it cannot answer', async () => {
    for (const path of ['io.github.acme%2Fnope/versions/latest', 'io.github.acme%2Fnope/versions', 'io.github.acme%2Ftool-01/versions/9.9.9', 'com.example%2Ftool-01/versions/latest']) {
      expect((await getJson(`${reg.url}/v0.1/servers/${path}`)).status, path).toBe(404);
    }
    expect((await getJson(`${reg.url}/v0.1/servers?cursor=nope`)).status).toBe(400);
    expect((await getJson(`${reg.url}/v0.1/servers?updated_since=2026-01-01T00:00:00Z`)).status).toBe(400);
  });

  it('keeps a cursor handed out valid while the registry grows, and shows a new version and a new package in their places', async () => {
    const first = await getJson(`${reg.url}/v0.1/servers?limit=50&version=latest`);
    const seen = first.json.servers.map((s: any) => s.server.name);
    const before = new Set(published.keys());
    // Enough new servers for the geometry to grow (splits), a new version of an old one.
    for (let i = 0; i < 20; i++) {
      const name = `@initech/late-${String(i).padStart(2, '0')}`;
      record(name, '1.0.0', (await publishBundle(reg, name, '1.0.0')).sha256);
    }
    record('@acme/tool-04', '1.1.0', (await publishBundle(reg, '@acme/tool-04', '1.1.0')).sha256);
    const rest = await walkList(reg.url, 'limit=50&version=latest', first.json.metadata.nextCursor);
    const union = new Set([...seen, ...rest.servers.map((s) => s.server.name)]);
    for (const name of before) expect(union.has(name), name).toBe(true);

    const fresh = await walkList(reg.url);
    expect(fresh.servers.map((s) => s.server.name).sort()).toEqual([...published.keys()].sort());
    expect(fresh.servers.find((s) => s.server.name === 'io.github.initech/late-07')?.server.version).toBe('1.0.0');
    expect(fresh.servers.find((s) => s.server.name === 'io.github.acme/tool-04')?.server.version).toBe('1.1.0');
    const old = await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Ftool-04/versions/1.0.0`);
    expect(old.json._meta['io.modelcontextprotocol.registry/official'].isLatest).toBe(false);
  }, 60_000);

  it('after a yank, walks to the version below it, the yanked one deprecated and never latest', async () => {
    const res = await reg.status('bundle', { name: '@acme/tool-04', version: '1.1.0', status: 'yanked', message: 'Broken build.' }, claimsFor('acme/tool-04-mcp'));
    expect(res.status).toBe(200);
    const walk = await walkList(reg.url);
    expect(walk.servers.find((s) => s.server.name === 'io.github.acme/tool-04')?.server.version).toBe('1.0.0');
    const latest = await getJson(`${reg.url}/v0.1/servers/${encodeURIComponent('io.github.acme/tool-04')}/versions/latest`);
    expect(latest.json.server.version).toBe('1.0.0');
    const yanked = await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Ftool-04/versions/1.1.0`);
    expectValid('ServerResponse', yanked.json);
    expect(yanked.json._meta['io.modelcontextprotocol.registry/official']).toMatchObject({ status: 'deprecated', statusMessage: 'yanked: Broken build.', isLatest: false });
  });

  it('is exactly what a rebuild derives from the records: shelf check is clean, a rebuild writes nothing', async () => {
    const report = await check(reg.store);
    expect(report.issues).toEqual([]);
    expect((await rebuild(reg.store)).changed).toEqual([]);
  }, 60_000);
});
