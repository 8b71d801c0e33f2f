/**
 * The rebuild and the checker on the sharded search index: the sharded root is the
 * derived file compared; a rebuild of a consistent registry writes nothing (announces' per-package
 * updates give exactly the generation a rebuild builds from scratch); a lost root, a lost
 * immutable file or a stale generation is reported with the packages (or files) concerned and
 * repaired byte for byte; `shelf rebuild` regenerates it and `shelf check` verifies it.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { shelf as runShelf } from '../cli/helpers.ts';
import { KINDS, parsePackageName } from '../../src/core/names.ts';
import { badgeKey, packageKey, recentKey, scopeKey, shardedRootKey } from '../../src/core/paths.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { DEFAULT_POLICY } from '../../src/search/format/policy.ts';
import type { ShardedRoot } from '../../src/search/format/wire.ts';
import { readShardedCatalog, readShardedRoot, rebuildToStore } from '../../src/search/write/publish.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { etagsOf, expectSavedBytes, restoreFiles, saveFiles, type SavedFiles } from '../helpers/saved-files.ts';
import { interopKeysOfRebuildRegistry } from '../helpers/saved-files.ts';

const alpha = parsePackageName('@acme/alpha');
const gamma = parsePackageName('@globex/gamma');
const skill = parsePackageName('@acme/release-notes');
/** Every derived file of the registry below: the search index is one root per kind. */
const DERIVED = [
  packageKey('bundle', alpha),
  packageKey('bundle', gamma),
  packageKey('skill', skill),
  badgeKey('bundle', alpha),
  badgeKey('bundle', gamma),
  badgeKey('skill', skill),
  scopeKey('acme'),
  scopeKey('globex'),
  shardedRootKey('bundle'),
  shardedRootKey('skill'),
  recentKey(),
  ...interopKeysOfRebuildRegistry({ alpha: ['1.0.0'], gamma: ['2.0.0', '2.1.0'] }),
];

let reg: TestRegistry;
/** Every file the announces wrote, by key (derived files and the sharded index's files). */
let original: SavedFiles = new Map();
/** The bundle root before gamma's second version: a stale generation. */
let staleRoot: Uint8Array;

beforeAll(async () => {
  reg = await startTestRegistry();
  // Announces update the base trees here (no delta segment): rebuild-delta.test.ts covers the delta.
  for (const kind of KINDS) await rebuildToStore(reg.store, kind, [], { policy: { ...DEFAULT_POLICY, delta_max: 0 } });
  const prepared = await Promise.all([
    prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.0.0', os: 'linux', arch: 'x64' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.0.0' }),
    prepareSkill(reg),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.1.0' }),
  ]);
  for (const p of prepared.slice(0, 3)) expect((await announcePrepared(reg, p)).status).toBe(201);
  staleRoot = (await reg.store.get(shardedRootKey('bundle')))!.body;
  expect((await announcePrepared(reg, prepared[3]!)).status).toBe(201);
  const keys = (await reg.store.list('v1/')).map((o) => o.key);
  original = await saveFiles(reg.store, keys.filter((key) => DERIVED.includes(key) || key.startsWith('v1/search/')));
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

/** Puts back what the announces wrote, so each test starts consistent. */
beforeEach(() => restoreFiles(reg.store, original));

const etags = () => etagsOf(reg.store);
const expectOriginal = () => expectSavedBytes(reg.store, original);
/**
 * After a root is lost, the rebuild has only the default policy to go by (the policy lives in the
 * root): the same generation, its root naming the default `delta_max`; every other file as saved.
 */
async function expectOriginalRebuiltWithDefaultPolicy(lostRoot: string): Promise<void> {
  const saved = JSON.parse(new TextDecoder().decode(original.get(lostRoot)!)) as ShardedRoot;
  const rebuilt = JSON.parse(new TextDecoder().decode((await reg.store.get(lostRoot))!.body)) as ShardedRoot;
  expect(rebuilt).toEqual({ ...saved, policy: { ...saved.policy, delta_max: DEFAULT_POLICY.delta_max } });
  await expectSavedBytes(reg.store, new Map([...original].filter(([key]) => key !== lostRoot)));
}

describe('rebuild and check of the sharded index', () => {
  it('the announces wrote the sharded index and no whole catalog or index', async () => {
    const keys = (await reg.store.list('v1/')).map((o) => o.key);
    expect(keys.filter((k) => k.startsWith('v1/catalog/'))).toEqual([recentKey()]);
    expect(keys).not.toContain('v1/search/bundles.json');
    const root = (await readShardedRoot(reg.store, 'bundle'))!.root;
    const catalog = await readShardedCatalog(reg.store, 'bundle', root);
    expect(catalog.map((s) => [s.name, s.latest])).toEqual([
      ['@acme/alpha', '1.0.0'],
      ['@globex/gamma', '2.1.0'],
    ]);
  });

  it('of a consistent registry writes nothing: the announces built what a rebuild builds', async () => {
    const before = await etags();
    const result = await rebuild(reg.store, { signer: reg.server.signer });
    expect(result.changed).toEqual([]);
    expect([...result.unchanged].sort()).toEqual([...DERIVED].sort());
    expect(await etags()).toEqual(before);
    expect(await check(reg.store)).toMatchObject({ clean: true, checked: DERIVED.length, issues: [] });
  });

  it('restores a deleted root (with the default policy), and the checker names the packages it lacked', async () => {
    await reg.store.delete(shardedRootKey('bundle'));
    const report = await check(reg.store);
    expect(report.issues).toEqual([{ key: shardedRootKey('bundle'), problem: 'missing', repair: 'rebuild', missing: ['@acme/alpha', '@globex/gamma'], extra: [], outdated: [] }]);
    // A client of a registry without a root finds nothing rather than failing.
    expect(await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'alpha')).toEqual([]);

    const result = await rebuild(reg.store, { signer: reg.server.signer });
    expect(result.changed).toEqual([shardedRootKey('bundle')]);
    await expectOriginalRebuiltWithDefaultPolicy(shardedRootKey('bundle'));
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('restores a lost immutable file of the current generation, which the checker lists by key', async () => {
    // A file the current generation references (the bucket also keeps older generations' files).
    const root = (await readShardedRoot(reg.store, 'bundle'))!.root;
    const generation = await buildShardedIndex('bundle', await readShardedCatalog(reg.store, 'bundle', root), { policy: root.policy });
    expect(JSON.stringify(generation.root)).toBe(JSON.stringify(root));
    const lost = [...generation.files.keys()].find((k) => k.startsWith('v1/search/bundles/shards/'))!;
    await reg.store.delete(lost);
    const report = await check(reg.store);
    expect(report.clean).toBe(false);
    expect(report.issues).toHaveLength(1);
    expect(report.issues[0]!.key).toBe(shardedRootKey('bundle'));
    expect(report.issues[0]!.missing).toContain(`file ${lost}`);

    expect((await rebuild(reg.store, { signer: reg.server.signer })).changed).toEqual([shardedRootKey('bundle')]);
    await expectOriginal();
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('repairs a stale generation: the checker names the outdated package, the rebuild writes only the root and new files', async () => {
    await reg.store.put(shardedRootKey('bundle'), staleRoot, { contentType: 'application/json', cacheControl: 'no-cache' });
    const client = new RegistryClient({ baseUrl: reg.url });
    expect((await client.search('bundle', 'gamma'))[0]).toMatchObject({ name: '@globex/gamma', latest: '2.0.0' });

    const report = await check(reg.store);
    expect(report.issues).toEqual([{ key: shardedRootKey('bundle'), problem: 'stale', repair: 'rebuild', missing: [], extra: [], outdated: ['@globex/gamma'] }]);
    const before = new Map((await reg.store.list('v1/')).map((o) => [o.key, o.etag]));
    const result = await rebuild(reg.store, { signer: reg.server.signer });
    expect(result.changed).toEqual([shardedRootKey('bundle')]);
    for (const { key, etag } of await reg.store.list('v1/')) {
      if (key !== shardedRootKey('bundle') && before.has(key)) expect(etag, key).toBe(before.get(key));
    }
    await expectOriginal();
    const fresh = new RegistryClient({ baseUrl: reg.url });
    expect((await fresh.search('bundle', 'gamma'))[0]).toMatchObject({ name: '@globex/gamma', latest: '2.1.0' });
  });

  it('of one package applies its summary to the index and leaves other packages alone', async () => {
    await reg.store.put(shardedRootKey('bundle'), staleRoot, { contentType: 'application/json', cacheControl: 'no-cache' });
    expect((await rebuild(reg.store, { signer: reg.server.signer, package: alpha })).changed).toEqual([]);
    const result = await rebuild(reg.store, { signer: reg.server.signer, package: gamma });
    expect(result.changed).toEqual([shardedRootKey('bundle')]);
    await expectOriginal();
  });

  it('shelf check exits 1 naming the root; shelf rebuild repairs it; shelf check then exits 0', async () => {
    const run = (argv: string[]) => runShelf(argv, { env: { SHELF_DATA_DIR: join(reg.dir, 'bucket') }, isTTY: { stdout: false, stderr: false } });
    await reg.store.delete(shardedRootKey('skill'));
    const bad = await run(['check']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(new RegExp(`missing\\s+${shardedRootKey('skill')}`));
    const fixed = await run(['rebuild']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`  ${shardedRootKey('skill')}`);
    expect((await run(['check'])).code).toBe(0);
    await expectOriginalRebuiltWithDefaultPolicy(shardedRootKey('skill'));
  });
});
