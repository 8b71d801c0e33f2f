/**
 * A registry of the retired `single` search layout (one whole catalog and one whole MiniSearch
 * index per kind, named by `v1/config.json`): nothing starts over it or reads it without saying
 * so, `shelf check` lists what a migration changes, and one whole `shelf rebuild` migrates it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCatalog, buildReferenceIndex } from '../../bench/lib/reference.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { ConfigError, loadAnnounceConfig } from '../../src/config.ts';
import { KINDS, KIND_PLURAL, parsePackageName } from '../../src/core/names.ts';
import { configKey, packageKey, recentKey, retiredLayoutKeys, shardedRootKey } from '../../src/core/paths.ts';
import { PackageDocumentSchema } from '../../src/core/schemas.ts';
import { summarize } from '../../src/indexer/documents.ts';
import { check } from '../../src/registry/check.ts';
import { startRegistryServer } from '../../src/server/registry-server.ts';
import { encodeJson, readJson, readStoredJson } from '../../src/store/json-documents.ts';
import { announcePrepared, AUDIENCE, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { etagsOf } from '../helpers/saved-files.ts';
import { shelf as runShelf } from '../cli/helpers.ts';

let reg: TestRegistry;
const alpha = parsePackageName('@acme/alpha');
const skill = parsePackageName('@acme/release-notes');

const shelf = (argv: string[]) => runShelf(argv, { env: { SHELF_DATA_DIR: join(reg.dir, 'bucket') }, isTTY: { stdout: false, stderr: false } });

const put = (key: string, value: unknown) => reg.store.put(key, encodeJson(value), { contentType: 'application/json', cacheControl: 'no-cache' });

beforeAll(async () => {
  reg = await startTestRegistry();
  for (const p of [await prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.0.0' }), await prepareSkill(reg)]) {
    expect((await announcePrepared(reg, p)).status).toBe(201);
  }
  // The bucket as the single layout left it: whole files where the sharded index would be.
  for (const { key } of await reg.store.list('v1/search/')) await reg.store.delete(key);
  for (const kind of KINDS) {
    const pkg = kind === 'bundle' ? alpha : skill;
    const catalog = buildCatalog(kind, [summarize((await readJson(reg.store, packageKey(kind, pkg), PackageDocumentSchema))!.value)!]);
    const [catalogKey, indexKey] = retiredLayoutKeys(kind);
    await put(catalogKey!, catalog);
    await put(indexKey!, buildReferenceIndex(kind, catalog));
  }
  const config = (await readStoredJson(reg.store, configKey()))!.json as Record<string, unknown>;
  await put(configKey(), {
    ...config,
    search: { layout: 'single', bundles: retiredLayoutKeys('bundle')[1], skills: retiredLayoutKeys('skill')[1] },
    catalog: { bundles: retiredLayoutKeys('bundle')[0], skills: retiredLayoutKeys('skill')[0], recent: recentKey() },
  });
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

describe('a registry of the retired single layout', () => {
  it('SHELF_SEARCH_LAYOUT=single refuses to start, saying how to migrate; sharded is still accepted', () => {
    const load = (layout: string) => () => loadAnnounceConfig({ SHELF_AUDIENCE: AUDIENCE, SHELF_SEARCH_LAYOUT: layout });
    expect(load('single')).toThrow(ConfigError);
    expect(load('single')).toThrow(/retired.*shelf rebuild/);
    expect(load('flat')).toThrow(/SHELF_SEARCH_LAYOUT/);
    expect(load('sharded')).not.toThrow();
  });

  it('keeps a server from starting over it (which would hide it), writing nothing', async () => {
    const before = await etagsOf(reg.store);
    const started = startRegistryServer({ store: reg.store, port: 0, env: { SHELF_AUDIENCE: AUDIENCE } });
    await expect(started).rejects.toThrow(ConfigError);
    await expect(started).rejects.toThrow(/retired "single" search layout.*shelf rebuild/);
    expect(await etagsOf(reg.store)).toEqual(before);
  });

  it('is read by no client, which says the operator must migrate it', async () => {
    const err = await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'alpha').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'registry_unreachable', message: expect.stringMatching(/retired "single" search layout.*shelf rebuild/) });
  });

  it('shelf check lists what the migration changes: the roots, the config, and the whole files that go', async () => {
    const report = await check(reg.store);
    const problems = Object.fromEntries(report.issues.map((i) => [i.key, i.problem]));
    expect(problems).toEqual({
      [configKey()]: 'stale',
      [shardedRootKey('bundle')]: 'missing',
      [shardedRootKey('skill')]: 'missing',
      ...Object.fromEntries(KINDS.flatMap(retiredLayoutKeys).map((k) => [k, 'removed'])),
    });
    expect(report.issues.find((i) => i.key === shardedRootKey('bundle'))!.missing).toEqual(['@acme/alpha']);
    expect((await shelf(['check'])).code).toBe(1);
  });

  it('a rebuild of one package or one kind refuses with invalid_argument, writing nothing', async () => {
    const before = await etagsOf(reg.store);
    for (const argv of [['rebuild', '@acme/alpha'], ['rebuild', '--kind', 'bundle']]) {
      const r = await shelf(argv);
      expect(r.code, argv.join(' ')).toBe(2); // invalid_argument, as every refused argument
      expect(r.stderr).toMatch(/^error\[invalid_argument\]: .*retired "single" search layout.*whole `shelf rebuild`/);
    }
    expect(await etagsOf(reg.store)).toEqual(before);
  });

  it('one whole shelf rebuild migrates it: sharded roots, the config naming them, the whole files gone', async () => {
    const r = await shelf(['rebuild']);
    expect(r.code).toBe(0);
    for (const key of [configKey(), shardedRootKey('bundle'), shardedRootKey('skill'), ...KINDS.flatMap(retiredLayoutKeys)]) expect(r.stdout).toContain(`  ${key}`);

    const config = (await readStoredJson(reg.store, configKey()))!.json as Record<string, any>;
    expect(config.search).toEqual({ layout: 'sharded', bundles: shardedRootKey('bundle'), skills: shardedRootKey('skill') });
    expect(config.catalog).toEqual({ recent: recentKey() });
    expect(config.audience).toBe(AUDIENCE); // the rest is kept
    for (const key of KINDS.flatMap(retiredLayoutKeys)) expect(await reg.store.head(key), key).toBeNull();
    for (const kind of KINDS) expect((await reg.store.list(`v1/search/${KIND_PLURAL[kind]}/`)).length).toBeGreaterThan(1);

    const client = new RegistryClient({ baseUrl: reg.url });
    expect((await client.search('bundle', 'alpha'))[0]?.name).toBe('@acme/alpha');
    expect((await client.search('skill', ''))[0]?.name).toBe('@acme/release-notes');
    expect(await check(reg.store)).toMatchObject({ clean: true, issues: [] });
    expect(JSON.parse((await shelf(['rebuild', '--json'])).stdout).changed).toEqual([]);
  });
});
