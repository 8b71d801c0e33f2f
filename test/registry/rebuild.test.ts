/**
 * The rebuild and the checker over every kind of derived file (rebuild-sharded.test.ts covers
 * the search index's own cases): a rebuild of a consistent registry writes nothing; the checker
 * names every derived file that is missing or stale (with the entries it lacks, has in excess or
 * has out of date), and a rebuild restores exactly the bytes the announces wrote, writing only
 * the files that differ. Also their options, and `shelf rebuild` / `shelf check`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shelf as runShelf } from '../cli/helpers.ts';
import { isShelfError } from '../../src/core/errors.ts';
import { parsePackageName } from '../../src/core/names.ts';
import { KINDS } from '../../src/core/names.ts';
import { badgeKey, packageKey, recentKey, scopeKey, shardedRootKey } from '../../src/core/paths.ts';
import { PackageDocumentSchema, RecentDocumentSchema } from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { DEFAULT_POLICY } from '../../src/search/format/policy.ts';
import type { ShardedRoot } from '../../src/search/format/wire.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { readShardedCatalog, readShardedRoot, rebuildToStore, writeShardFiles } from '../../src/search/write/publish.ts';
import { encodeJson, readJson } from '../../src/store/json-documents.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { etagsOf, expectSavedBytes, restoreFiles, saveFiles, type SavedFiles } from '../helpers/saved-files.ts';
import { interopKeysOfRebuildRegistry } from '../helpers/saved-files.ts';

const alpha = parsePackageName('@acme/alpha');
const gamma = parsePackageName('@globex/gamma');
const skill = parsePackageName('@acme/release-notes');
/** Every derived file of the registry below. */
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
  ...interopKeysOfRebuildRegistry(),
];

let reg: TestRegistry;
/** The bytes the announces wrote, by key (the derived files and the search index's files). */
let original: SavedFiles = new Map();

beforeAll(async () => {
  reg = await startTestRegistry();
  // Announces update the base trees here (no delta segment), so a rebuild gives their bytes back.
  for (const kind of KINDS) await rebuildToStore(reg.store, kind, [], { policy: { ...DEFAULT_POLICY, delta_max: 0 } });
  const prepared = await Promise.all([
    prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.0.0', os: 'linux', arch: 'x64' }),
    prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.1.0', os: 'linux', arch: 'x64' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.0.0' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.1.0-beta.1', prerelease: true }),
    prepareSkill(reg),
  ]);
  for (const p of prepared) expect((await announcePrepared(reg, p)).status).toBe(201);
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
/** As {@link expectOriginal}, where lost roots were rebuilt with the default policy (the policy lives in the root). */
async function expectOriginalWithDefaultPolicy(lostRoots: string[]): Promise<void> {
  for (const key of lostRoots) {
    const saved = JSON.parse(new TextDecoder().decode(original.get(key)!)) as ShardedRoot;
    const rebuilt = JSON.parse(new TextDecoder().decode((await reg.store.get(key))!.body)) as ShardedRoot;
    expect(rebuilt).toEqual({ ...saved, policy: { ...saved.policy, delta_max: DEFAULT_POLICY.delta_max } });
  }
  await expectSavedBytes(reg.store, new Map([...original].filter(([key]) => !lostRoots.includes(key))));
}
/** The packages of a kind's index, with their summaries. */
const catalogOf = async (kind: 'bundle' | 'skill') => readShardedCatalog(reg.store, kind, (await readShardedRoot(reg.store, kind))!.root);

describe('rebuild', () => {
  it('of a consistent registry writes nothing and reports every derived file unchanged', async () => {
    const before = await etags();
    const result = await rebuild(reg.store, { signer: reg.server.signer });
    expect(result.changed).toEqual([]);
    expect([...result.unchanged].sort()).toEqual([...DERIVED].sort());
    expect(result.packages).toBe(3);
    expect(await etags()).toEqual(before);
  });

  it('restores deleted derived files, and a lost scope record from the provenance, byte for byte', async () => {
    const lost = [shardedRootKey('bundle'), recentKey(), scopeKey('acme'), packageKey('bundle', gamma)];
    for (const key of lost) await reg.store.delete(key);

    const report = await check(reg.store);
    expect(report.clean).toBe(false);
    expect(report.issues.map((i) => [i.key, i.problem])).toEqual([...lost].sort().map((k) => [k, 'missing']));
    expect(report.issues.find((i) => i.key === shardedRootKey('bundle'))!.missing).toEqual(['@acme/alpha', '@globex/gamma']);

    const progress: number[] = [];
    const result = await rebuild(reg.store, { signer: reg.server.signer, onProgress: (p) => progress.push(p.done) });
    expect([...result.changed].sort()).toEqual([...lost].sort());
    expect(progress).toEqual(DERIVED.map((_, i) => i + 1));
    await expectOriginalWithDefaultPolicy([shardedRootKey('bundle')]);
    expect(await check(reg.store)).toMatchObject({ clean: true, checked: DERIVED.length, issues: [] });
    expect((await rebuild(reg.store, { signer: reg.server.signer })).changed).toEqual([]);
  });

  it('repairs stale files, and writes only those', async () => {
    const root = (await readShardedRoot(reg.store, 'bundle'))!.root;
    const [first, second] = await catalogOf('bundle');
    // The index lost gamma, kept a package that does not exist, and has alpha out of date.
    const stale = await buildShardedIndex('bundle', [{ ...first!, description: 'out of date' }, { ...second!, name: '@acme/ghost' }], { policy: root.policy });
    await writeShardFiles(reg.store, stale.files);
    await reg.store.put(shardedRootKey('bundle'), encodeJson(stale.root), { contentType: 'application/json', cacheControl: 'no-cache' });
    const pkg = (await readJson(reg.store, packageKey('bundle', alpha), PackageDocumentSchema))!.value;
    await reg.store.put(packageKey('bundle', alpha), encodeJson({ ...pkg, versions: pkg.versions.slice(1) }), { contentType: 'application/json', cacheControl: 'no-cache' });
    const recent = (await readJson(reg.store, recentKey(), RecentDocumentSchema))!.value;
    recent.entries.push({ kind: 'bundle', name: '@acme/ghost', version: '9.9.9', published_at: '2000-01-01T00:00:00.000Z' });
    await reg.store.put(recentKey(), encodeJson(recent), { contentType: 'application/json', cacheControl: 'no-cache' });

    const report = await check(reg.store);
    expect(report.issues).toEqual([
      { key: packageKey('bundle', alpha), problem: 'stale', repair: 'rebuild', missing: [pkg.versions[0]!.version], extra: [], outdated: [] },
      { key: recentKey(), problem: 'stale', repair: 'rebuild', missing: [], extra: ['bundle:@acme/ghost@9.9.9'], outdated: [] },
      { key: shardedRootKey('bundle'), problem: 'stale', repair: 'rebuild', missing: ['@globex/gamma'], extra: ['@acme/ghost'], outdated: ['@acme/alpha'] },
    ]);

    const before = new Map((await reg.store.list('v1/')).map((o) => [o.key, o.etag]));
    const result = await rebuild(reg.store, { signer: reg.server.signer });
    expect([...result.changed].sort()).toEqual([packageKey('bundle', alpha), recentKey(), shardedRootKey('bundle')].sort());
    for (const { key, etag } of await reg.store.list('v1/')) {
      if (!result.changed.includes(key)) expect(etag, key).toBe(before.get(key));
    }
    await expectOriginal();
  });

  it('of one package repairs its files and its entries in the shared files, and leaves other packages alone', async () => {
    for (const name of [alpha, gamma]) {
      const doc = (await readJson(reg.store, packageKey('bundle', name), PackageDocumentSchema))!.value;
      await reg.store.put(packageKey('bundle', name), encodeJson({ ...doc, latest: null }), { contentType: 'application/json', cacheControl: 'no-cache' });
    }
    const catalog = await catalogOf('bundle');
    await reg.store.delete(shardedRootKey('bundle'));

    const result = await rebuild(reg.store, { signer: reg.server.signer, package: alpha });
    expect(result.packages).toBe(1);
    expect([...result.changed].sort()).toEqual([packageKey('bundle', alpha), shardedRootKey('bundle')].sort());
    // The index now has alpha only: gamma's entry comes back with gamma's own rebuild.
    expect((await catalogOf('bundle')).map((p) => p.name)).toEqual(['@acme/alpha']);
    expect((await readJson(reg.store, packageKey('bundle', gamma), PackageDocumentSchema))!.value.latest).toBeNull();

    await rebuild(reg.store, { signer: reg.server.signer, package: gamma, kind: 'bundle' });
    // The index was started again by these two packages' rebuilds (with the default policy): the
    // same packages and summaries as the announces', and every other file as they wrote it.
    expect(await catalogOf('bundle')).toEqual(catalog);
    await expectSavedBytes(reg.store, new Map([...original].filter(([key]) => !key.startsWith('v1/search/bundles/'))));
  });

  it('of one kind leaves the other kind alone', async () => {
    await reg.store.delete(shardedRootKey('bundle'));
    await reg.store.delete(shardedRootKey('skill'));
    const result = await rebuild(reg.store, { signer: reg.server.signer, kind: 'skill' });
    expect(result.changed).toEqual([shardedRootKey('skill')]);
    expect(await reg.store.head(shardedRootKey('bundle'))).toBeNull();
    expect((await check(reg.store, { kind: 'skill' })).clean).toBe(true);
    expect((await check(reg.store, { kind: 'bundle' })).issues.map((i) => i.key)).toEqual([shardedRootKey('bundle')]);
  });

  it('of a package without records answers not_found and writes nothing', async () => {
    const before = await etags();
    const err = await rebuild(reg.store, { signer: reg.server.signer, package: parsePackageName('@acme/nothing') }).catch((e: unknown) => e);
    expect(isShelfError(err, 'not_found')).toBe(true);
    const wrongKind = await rebuild(reg.store, { signer: reg.server.signer, package: alpha, kind: 'skill' }).catch((e: unknown) => e);
    expect(isShelfError(wrongKind, 'not_found')).toBe(true);
    expect(await etags()).toEqual(before);
  });

  it('rejects bad options eagerly, naming the option', async () => {
    await expect(rebuild(reg.store, { signer: reg.server.signer, kind: 'plugin' as never })).rejects.toThrow(/"kind"/);
    await expect(rebuild(reg.store, { signer: reg.server.signer, package: { full: '@A/b', scope: 'A', name: 'b' } as never })).rejects.toThrow(/"package"/);
    await expect(rebuild(reg.store, { signer: reg.server.signer, concurrency: 0 })).rejects.toThrow(/"concurrency"/);
    await expect(rebuild(reg.store, { signer: reg.server.signer, onProgress: 'yes' as never })).rejects.toThrow(/"onProgress"/);
  });
});

describe('shelf rebuild / shelf check', () => {
  const shelf = (argv: string[], options: { tty?: boolean; env?: Record<string, string> } = {}) =>
    runShelf(argv, { env: options.env ?? { SHELF_DATA_DIR: join(reg.dir, 'bucket') }, isTTY: { stdout: false, stderr: options.tty === true } });

  it('check exits 1 listing what disagrees; rebuild repairs it and prints what it changed; check then exits 0', async () => {
    await reg.store.delete(shardedRootKey('skill'));
    const bad = await shelf(['check']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`1 of ${DERIVED.length} derived files disagree`);
    expect(bad.stdout).toMatch(new RegExp(`missing\\s+${shardedRootKey('skill')}`));
    expect(bad.stdout).toContain('shelf rebuild');

    const json = await shelf(['check', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ clean: false, issues: [{ key: shardedRootKey('skill'), problem: 'missing', repair: 'rebuild', missing: ['@acme/release-notes'] }] });

    const fixed = await shelf(['rebuild']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`Rebuilt 1 of ${DERIVED.length} derived files`);
    expect(fixed.stdout).toContain(`  ${shardedRootKey('skill')}`);

    const good = await shelf(['check']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`All ${DERIVED.length} derived files agree`);
    await expectOriginalWithDefaultPolicy([shardedRootKey('skill')]);
  });

  it('rebuild of one package prints JSON, and draws progress only on a terminal', async () => {
    const plain = await shelf(['rebuild', '@acme/alpha', '--kind', 'bundle', '--json']);
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout)).toMatchObject({ changed: [], packages: 1 });
    expect(plain.stderr).toBe('');

    const tty = await shelf(['rebuild'], { tty: true });
    expect(tty.code).toBe(0);
    expect(tty.stdout).toContain('already agreed with the records');
    expect(tty.stderr).toContain(`\r[${DERIVED.length}/${DERIVED.length}] `);
    expect(tty.stderr.endsWith('\r\x1b[K')).toBe(true);
  });

  it('refuses bad usage with exit 2, and a bad SHELF_STORE with invalid_config', async () => {
    for (const argv of [['rebuild', '--kind', 'plugin'], ['rebuild', '@acme/alpha@1.0.0'], ['rebuild', 'a', 'b'], ['check', 'extra'], ['check', '--nope']]) {
      const r = await shelf(argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toContain('error[invalid_argument]');
    }
    // Nothing to check is exit 4, not a clean registry (nor a stale one).
    const r = await shelf(['check'], { env: { SHELF_STORE: 'ftp://bucket' } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('error[invalid_config]: SHELF_STORE');
    const help = await shelf(['rebuild', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: shelf rebuild');
  });
});
