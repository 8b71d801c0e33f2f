import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBundleRecords } from '../../src/cli/bundle-records.ts';
import { fileMatches } from '../../src/cli/artifact-cache.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from './helpers.ts';

let reg: TestRegistry;
let cacheDir: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  cacheDir = await mkdtemp(join(tmpdir(), 'shelf-outdated-'));
  expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.2.0' }))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await reg?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

const env = () => ({ SHELF_CACHE_DIR: cacheDir, SHELF_REGISTRY: reg.url });
const publish = async (version: string) => expect((await announcePrepared(reg, await prepareBundle(reg, { version }))).status).toBe(201);

describe('shelf bundle outdated / update', () => {
  it('says so when nothing is cached', async () => {
    const r = await shelf(['bundle', 'outdated'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^No bundles from http:\/\/127\.0\.0\.1:\d+ in the cache/);
    expect(JSON.parse((await shelf(['bundle', 'outdated', '--json'], { env: env() })).stdout).bundles).toEqual([]);
  });

  it('pull --cache keeps a verified copy and records the range it was asked with', async () => {
    const r = await shelf(['bundle', 'pull', '@acme/echo@^1', '--cache', '--os', 'linux', '--arch', 'x64', '--json'], { env: env() });
    expect(r.stderr).toBe('');
    const pulled = JSON.parse(r.stdout);
    expect(pulled).toMatchObject({ name: '@acme/echo', version: '1.2.0', cached: true });
    expect(pulled.file.startsWith(cacheDir)).toBe(true);
    expect(await fileMatches(pulled.file, pulled.size, pulled.sha256)).toBe(true);
    const [record] = await listBundleRecords(cacheDir, reg.url);
    expect(record).toMatchObject({ name: '@acme/echo', range: '^1', version: '1.2.0', want: { os: 'linux', arch: 'x64' } });
    const upToDate = await shelf(['bundle', 'outdated'], { env: env() });
    expect(upToDate.stdout).toMatch(/All 1 cached bundle is up to date/);

    // Offline, a plain pull copies the verified cached copy; without one it says so.
    const out = await mkdtemp(join(tmpdir(), 'shelf-offline-pull-'));
    try {
      const offline = await shelf(['bundle', 'pull', '@acme/echo@^1', '--os', 'linux', '--arch', 'x64', '--offline', '-o', out, '--json'], { env: env() });
      expect(offline.stderr).toBe('');
      const copied = JSON.parse(offline.stdout);
      expect(copied.file.startsWith(out)).toBe(true);
      expect(await fileMatches(copied.file, pulled.size, pulled.sha256)).toBe(true);
      await rm(pulled.file);
      const gone = await shelf(['bundle', 'pull', '@acme/echo@^1', '--os', 'linux', '--arch', 'x64', '--offline', '-o', join(out, 'again.mcpb')], { env: env() });
      expect(gone.stderr).toMatch(/^error\[not_cached\]/);
      expect(await readdir(out)).toEqual([copied.file.slice(out.length + 1)]);
      // Back online, pull --cache restores it.
      expect((await shelf(['bundle', 'pull', '@acme/echo@^1', '--cache', '--os', 'linux', '--arch', 'x64'], { env: env() })).code).toBe(0);
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('lists WANTED within the range and LATEST beyond it; update moves to WANTED', async () => {
    await publish('1.3.0');
    await publish('2.0.0');
    const json = JSON.parse((await shelf(['bundle', 'outdated', '--json'], { env: env() })).stdout);
    expect(json).toEqual({
      registry: reg.url,
      bundles: [{ name: '@acme/echo', os: 'linux', arch: 'x64', range: '^1', current: '1.2.0', wanted: '1.3.0', latest: '2.0.0', outdated: true, status: 'active' }],
    });
    const text = await shelf(['bundle', 'outdated'], { env: env() });
    expect(text.stdout).toMatch(/^NAME\s+PLATFORM\s+RANGE\s+CURRENT\s+WANTED\s+LATEST\s+STATUS\n@acme\/echo\s+linux-x64\s+\^1\s+1\.2\.0\s+1\.3\.0\s+2\.0\.0/);

    const update = JSON.parse((await shelf(['bundle', 'update', '--json'], { env: env() })).stdout);
    expect(update.updated).toMatchObject([{ name: '@acme/echo', from: '1.2.0', to: '1.3.0', range: '^1' }]);
    expect(await fileMatches(update.updated[0].file, (await listBundleRecords(cacheDir, reg.url))[0]!.size, (await listBundleRecords(cacheDir, reg.url))[0]!.sha256)).toBe(true);
    const after = JSON.parse((await shelf(['bundle', 'outdated', '--json'], { env: env() })).stdout).bundles[0];
    expect(after).toMatchObject({ current: '1.3.0', wanted: '1.3.0', latest: '2.0.0', outdated: true });
    // Nothing more within ^1.
    const again = JSON.parse((await shelf(['bundle', 'update', '--json'], { env: env() })).stdout);
    expect(again).toMatchObject({ updated: [], current: [{ name: '@acme/echo', version: '1.3.0' }] });
  });

  it('update @scope/name@range changes the range and goes beyond it', async () => {
    const r = await shelf(['bundle', 'update', '@acme/echo@^2'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Updated\s+@acme\/echo\s+linux-x64\s+1\.3\.0 → 2\.0\.0/);
    expect((await listBundleRecords(cacheDir, reg.url))[0]).toMatchObject({ range: '^2', version: '2.0.0' });
    expect((await shelf(['bundle', 'outdated'], { env: env() })).stdout).toMatch(/up to date/);
  });

  it('update of a bundle that is not cached, or offline, is refused', async () => {
    const r = await shelf(['bundle', 'update', '@acme/other'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[not_cached\]/);
    expect((await shelf(['bundle', 'update', '--offline'], { env: env() })).code).toBe(2);
  });

  it('only compares bundles cached from the registry asked about', async () => {
    const other = await shelf(['bundle', 'outdated', '--json', '--registry', 'http://127.0.0.1:1'], { env: env() });
    expect(JSON.parse(other.stdout).bundles).toEqual([]);
  });
});
