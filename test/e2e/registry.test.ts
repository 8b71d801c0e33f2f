/**
 * The spine end to end over real HTTP: real bundles packed with the official packer are
 * announced to a running registry (trusting a loopback JWKS and a fake GitHub releases API),
 * then found, shown and pulled through the `shelf` command line; every static file is checked
 * against its schema and served with the right headers.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as z from 'zod';
import { notFoundKey } from '../../src/core/paths.ts';
import { ServerListDocumentSchema, ServerResponseDocumentSchema } from '../../src/mcp/schemas.ts';
import { DiscoveryIndexDocumentSchema } from '../../src/skills/discovery.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVersionKey } from '../../src/core/paths.ts';
import {
  ConfigDocumentSchema,
  KeysDocumentSchema,
  PackageDocumentSchema,
  RecentDocumentSchema,
  ScopeDocumentSchema,
  VersionDocumentSchema,
} from '../../src/core/schemas.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf as runShelf, type ShelfResult } from '../cli/helpers.ts';
import { DisplayFileSchema, ShardedRootSchema, ShardFileSchema } from '../../src/search/format/wire.ts';

let reg: TestRegistry;
let out: string;
const published: Record<string, PreparedArtifact> = {};

const shelf = (...argv: string[]): Promise<ShelfResult> => runShelf([...argv, '--registry', reg.url], { cwd: out });

beforeAll(async () => {
  reg = await startTestRegistry();
  out = await mkdtemp(join(tmpdir(), 'shelf-pull-'));
  const jobs: Array<[string, Promise<PreparedArtifact>]> = [
    ['echo', prepareBundle(reg, { example: '@acme/echo' })],
    ['sysinfo-linux', prepareBundle(reg, { example: '@acme/sysinfo', os: 'linux', arch: 'x64' })],
    ['sysinfo-darwin', prepareBundle(reg, { example: '@acme/sysinfo', os: 'darwin', arch: 'arm64' })],
    ['sysinfo-win32', prepareBundle(reg, { example: '@acme/sysinfo', os: 'win32', arch: 'x64' })],
    ['weather', prepareBundle(reg, { example: '@globex/weather' })],
    ['weather-beta', prepareBundle(reg, { example: '@globex/weather', version: '2.1.0-beta.1', prerelease: true })],
    ['weather-old', prepareBundle(reg, { example: '@globex/weather', version: '1.9.0' })],
    ['skill', prepareSkill(reg)],
  ];
  for (const [key, job] of jobs) published[key] = await job;
  // Announce in an order where the most recent announce is neither the highest nor a stable version.
  for (const key of ['echo', 'sysinfo-linux', 'sysinfo-darwin', 'sysinfo-win32', 'weather', 'weather-old', 'weather-beta', 'skill']) {
    const res = await announcePrepared(reg, published[key]!);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.status).toBe('created');
  }
});
afterAll(async () => {
  await reg.close();
  await rm(out, { recursive: true, force: true });
});

describe('announce', () => {
  it('collects one artifact per platform into one version', async () => {
    const res = await fetch(`${reg.url}/v1/bundles/@acme/sysinfo/versions/0.3.0.json`);
    const doc = VersionDocumentSchema.parse(await res.json());
    expect(doc.artifacts.map((a) => `${a.os}-${a.arch}`)).toEqual(['darwin-arm64', 'linux-x64', 'win32-x64']);
    expect(doc.artifacts[0]!.provenance).toMatchObject({
      provider: 'github-actions',
      verified: true,
      repository: 'acme/sysinfo-mcp',
      owner: 'acme',
      workflow_ref: expect.stringContaining('.github/workflows/release.yml'),
      sha: 'a'.repeat(40),
      run_id: '42',
    });
    expect(doc.manifest).toMatchObject({ name: '@acme/sysinfo', version: '0.3.0' });
  });

  it('sets latest to the highest non-prerelease version', async () => {
    const doc = PackageDocumentSchema.parse(await (await fetch(`${reg.url}/v1/bundles/@globex/weather.json`)).json());
    expect(doc.latest).toBe('2.0.0');
    expect(doc.versions.map((v) => [v.version, v.prerelease])).toEqual([
      ['2.1.0-beta.1', true],
      ['2.0.0', false],
      ['1.9.0', false],
    ]);
  });

  it('stores the registry\'s own copy of each artifact, byte for byte', async () => {
    const p = published['sysinfo-darwin']!;
    const res = await fetch(`${reg.url}/v1/bundles/@acme/sysinfo/versions/0.3.0/darwin-arm64.mcpb`);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('content-type')).toBe('application/zip');
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(p.sha256);
  });

  it('writes only files that match their schema', async () => {
    const keys = [...(await reg.store.list('v1/')), ...(await reg.store.list('v0.1/'))].map((o) => o.key).filter((k) => k.endsWith('.json'));
    const schemaFor = (key: string) => {
      if (key === 'v1/config.json') return ConfigDocumentSchema;
      if (key === 'v1/keys.json') return KeysDocumentSchema;
      if (key === notFoundKey()) return z.strictObject({ error: z.string() });
      if (key.startsWith('v1/agent-skills/')) return DiscoveryIndexDocumentSchema;
      if (key.startsWith('v0.1/pages/') || key.endsWith('/versions.json')) return ServerListDocumentSchema;
      if (key.startsWith('v0.1/servers/')) return ServerResponseDocumentSchema;
      if (key.startsWith('v1/scopes/')) return ScopeDocumentSchema;
      if (/^v1\/search\/(bundles|skills)\/root\.json$/.test(key)) return ShardedRootSchema;
      if (/^v1\/search\/(bundles|skills)\/shards\//.test(key)) return ShardFileSchema;
      if (/^v1\/search\/(bundles|skills)\/docs\//.test(key)) return DisplayFileSchema;
      if (key === 'v1/catalog/recent.json') return RecentDocumentSchema;
      if (parseVersionKey(key)) return VersionDocumentSchema;
      return PackageDocumentSchema;
    };
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) {
      const body = JSON.parse(new TextDecoder().decode((await reg.store.get(key))!.body));
      expect(schemaFor(key).safeParse(body).success, key).toBe(true);
    }
    const scope = ScopeDocumentSchema.parse(JSON.parse(new TextDecoder().decode((await reg.store.get('v1/scopes/@acme.json'))!.body)));
    expect(scope.packages).toEqual([
      { kind: 'bundle', name: '@acme/echo' },
      { kind: 'bundle', name: '@acme/sysinfo' },
      { kind: 'skill', name: '@acme/release-notes' },
    ]);
  });
});

describe('the CDN', () => {
  it('serves documents with a short max-age and an ETag, and answers If-None-Match with 304', async () => {
    const first = await fetch(`${reg.url}/v1/bundles/@acme/echo.json`);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toMatch(/max-age=60/);
    expect(first.headers.get('content-type')).toMatch(/^application\/json/);
    const etag = first.headers.get('etag')!;
    // Weak when compressed: a signed package document is above the server's compression threshold.
    expect(etag).toMatch(/^(W\/)?".+"$/);
    const again = await fetch(`${reg.url}/v1/bundles/@acme/echo.json`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('answers 404 for a missing file and refuses paths that leave the bucket', async () => {
    expect((await fetch(`${reg.url}/v1/bundles/@acme/nothing.json`)).status).toBe(404);
    expect((await fetch(`${reg.url}/v1/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404);
    expect((await fetch(`${reg.url}/.shelf-meta/v1/config.json.json`)).status).toBe(404);
  });

  it('publishes v1/config.json with the announce URLs, audience and index locations', async () => {
    const config = ConfigDocumentSchema.parse(await (await fetch(`${reg.url}/v1/config.json`)).json());
    expect(config.announce.bundles).toBe(`${reg.url}/v1/bundles/announce`);
    expect(config.audience).toBe('https://shelf.test');
    expect(config.search).toEqual({ layout: 'sharded', bundles: 'v1/search/bundles/root.json', skills: 'v1/search/skills/root.json' });
    expect(config.catalog).toEqual({ recent: 'v1/catalog/recent.json' });
  });
});

describe('shelf search', () => {
  it('finds a bundle by prefix', async () => {
    const r = await shelf('search', 'ech', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].name).toBe('@acme/echo');
  });

  it('finds a bundle despite a typo, and by tool name', async () => {
    expect(JSON.parse((await shelf('search', 'wether', '--json')).stdout).results[0].name).toBe('@globex/weather');
    expect(JSON.parse((await shelf('search', 'uptime', '--json')).stdout).results[0].name).toBe('@acme/sysinfo');
  });

  it('filters by platform and sorts by name', async () => {
    const darwin = JSON.parse((await shelf('search', '--os', 'darwin', '--sort', 'name', '--json')).stdout).results.map((r: { name: string }) => r.name);
    expect(darwin).toEqual(['@acme/echo', '@acme/sysinfo', '@globex/weather']);
    const arm = JSON.parse((await shelf('search', '--os', 'win32', '--arch', 'arm64', '--json')).stdout).results.map((r: { name: string }) => r.name);
    expect(arm).not.toContain('@acme/sysinfo');
  });

  it('prints a readable list on a terminal-less stdout', async () => {
    const r = await shelf('search', 'echo');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('@acme/echo');
  });

  it('searches skills separately', async () => {
    const r = await shelf('skill', 'search', 'release', '--json');
    expect(JSON.parse(r.stdout).results.map((x: { name: string }) => x.name)).toEqual(['@acme/release-notes']);
  });
});

describe('shelf bundle show', () => {
  it('shows description, latest, platforms, tools and provenance', async () => {
    const r = await shelf('bundle', 'show', '@acme/sysinfo');
    expect(r.code, r.stderr).toBe(0);
    for (const text of ['Reports the host name', '0.3.0', 'linux-x64', 'darwin-arm64', 'win32-x64', 'hostname', 'uptime', 'acme/sysinfo-mcp', 'aaaaaaa']) {
      expect(r.stdout).toContain(text);
    }
  });

  it('prints the package and version documents with --json', async () => {
    const r = await shelf('bundle', 'show', '@globex/weather', '--json');
    const json = JSON.parse(r.stdout);
    expect(json.package.latest).toBe('2.0.0');
    expect(json.version.version).toBe('2.0.0');
  });

  it('fails with not_found for an unknown package', async () => {
    const r = await shelf('bundle', 'show', '@acme/nothing');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('not_found');
  });
});

describe('shelf bundle pull', () => {
  const sha = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

  it('downloads the exact platform and verifies it', async () => {
    const r = await shelf('bundle', 'pull', '@acme/sysinfo', '--os', 'win32', '--arch', 'x64', '-o', 'win.mcpb', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(await sha(join(out, 'win.mcpb'))).toBe(published['sysinfo-win32']!.sha256);
  });

  it('falls back to the any/any artifact', async () => {
    const r = await shelf('bundle', 'pull', '@acme/echo@1.2.0', '--os', 'linux', '--arch', 'arm64', '--json');
    expect(r.code, r.stderr).toBe(0);
    const { file } = JSON.parse(r.stdout);
    expect(await sha(file)).toBe(published.echo!.sha256);
  });

  it('pulls latest, not the prerelease, by default', async () => {
    const r = await shelf('bundle', 'pull', '@globex/weather', '-o', 'weather.mcpb', '--json');
    expect(JSON.parse(r.stdout).version).toBe('2.0.0');
    expect(await sha(join(out, 'weather.mcpb'))).toBe(published.weather!.sha256);
  });

  it('refuses a platform with no artifact and leaves no file', async () => {
    const before = await readdir(out);
    const r = await shelf('bundle', 'pull', '@acme/sysinfo', '--os', 'linux', '--arch', 'arm64', '-o', 'none.mcpb');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no_matching_artifact');
    expect(await readdir(out)).toEqual(before);
  });

  it('pulls a skill', async () => {
    const r = await shelf('skill', 'pull', '@acme/release-notes', '-o', 'notes.skill', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(await sha(join(out, 'notes.skill'))).toBe(published.skill!.sha256);
  });
});
