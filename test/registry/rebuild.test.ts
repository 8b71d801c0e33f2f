/**
 * The rebuild and the checker, on a registry of the `single` search layout (one catalog and one
 * index per kind; rebuild-sharded.test.ts covers the default layout): a rebuild of a consistent registry writes nothing; the checker
 * names every derived file that is missing or stale (with the entries it lacks, has in excess or
 * has out of date), and a rebuild restores exactly the bytes the announces wrote, writing only
 * the files that differ. Also their options, and `shelf rebuild` / `shelf check`.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { isShelfError } from '../../src/core/errors.ts';
import { parsePackageName } from '../../src/core/names.ts';
import { badgeKey, catalogKey, packageKey, recentKey, scopeKey, searchIndexKey } from '../../src/core/paths.ts';
import { CatalogDocumentSchema, PackageDocumentSchema, RecentDocumentSchema } from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { encodeJson, readJson } from '../../src/store/json-documents.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { etagsOf, expectSavedBytes, restoreFiles, saveFiles, type SavedFiles } from '../helpers/saved-files.ts';

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
  catalogKey('bundle'),
  catalogKey('skill'),
  searchIndexKey('bundle'),
  searchIndexKey('skill'),
  recentKey(),
];

let reg: TestRegistry;
/** The bytes the announces wrote, by key. */
let original: SavedFiles = new Map();

beforeAll(async () => {
  reg = await startTestRegistry({ env: { SHELF_SEARCH_LAYOUT: 'single' } });
  const prepared = await Promise.all([
    prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.0.0', os: 'linux', arch: 'x64' }),
    prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.1.0', os: 'linux', arch: 'x64' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.0.0' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.1.0-beta.1', prerelease: true }),
    prepareSkill(reg),
  ]);
  for (const p of prepared) expect((await announcePrepared(reg, p)).status).toBe(201);
  original = await saveFiles(reg.store, DERIVED);
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

/** Puts back what the announces wrote, so each test starts consistent. */
beforeEach(() => restoreFiles(reg.store, original));

const etags = () => etagsOf(reg.store);
const expectOriginal = () => expectSavedBytes(reg.store, original);

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
    for (const key of [catalogKey('bundle'), searchIndexKey('bundle'), recentKey(), scopeKey('acme'), packageKey('bundle', gamma)]) await reg.store.delete(key);

    const report = await check(reg.store);
    expect(report.clean).toBe(false);
    expect(report.issues.map((i) => [i.key, i.problem])).toEqual(
      [catalogKey('bundle'), packageKey('bundle', gamma), recentKey(), searchIndexKey('bundle'), scopeKey('acme')].sort().map((k) => [k, 'missing']),
    );
    expect(report.issues.find((i) => i.key === catalogKey('bundle'))!.missing).toEqual(['@acme/alpha', '@globex/gamma']);

    const progress: number[] = [];
    const result = await rebuild(reg.store, { signer: reg.server.signer, onProgress: (p) => progress.push(p.done) });
    expect([...result.changed].sort()).toEqual([catalogKey('bundle'), packageKey('bundle', gamma), recentKey(), searchIndexKey('bundle'), scopeKey('acme')].sort());
    expect(progress).toEqual(DERIVED.map((_, i) => i + 1));
    await expectOriginal();
    expect(await check(reg.store)).toEqual({ clean: true, checked: DERIVED.length, issues: [] });
    expect((await rebuild(reg.store, { signer: reg.server.signer })).changed).toEqual([]);
  });

  it('repairs stale files, and writes only those', async () => {
    const catalog = (await readJson(reg.store, catalogKey('bundle'), CatalogDocumentSchema))!.value;
    const [first, second] = catalog.packages;
    // The catalog lost gamma, kept a package that does not exist, and has alpha out of date.
    catalog.packages = [{ ...first!, description: 'out of date' }, { ...second!, name: '@acme/ghost' }];
    await reg.store.put(catalogKey('bundle'), encodeJson(catalog), { contentType: 'application/json', cacheControl: 'no-cache' });
    const pkg = (await readJson(reg.store, packageKey('bundle', alpha), PackageDocumentSchema))!.value;
    await reg.store.put(packageKey('bundle', alpha), encodeJson({ ...pkg, versions: pkg.versions.slice(1) }), { contentType: 'application/json', cacheControl: 'no-cache' });
    const recent = (await readJson(reg.store, recentKey(), RecentDocumentSchema))!.value;
    recent.entries.push({ kind: 'bundle', name: '@acme/ghost', version: '9.9.9', published_at: '2000-01-01T00:00:00.000Z' });
    await reg.store.put(recentKey(), encodeJson(recent), { contentType: 'application/json', cacheControl: 'no-cache' });

    const report = await check(reg.store);
    expect(report.issues).toEqual([
      { key: packageKey('bundle', alpha), problem: 'stale', missing: [pkg.versions[0]!.version], extra: [], outdated: [] },
      { key: catalogKey('bundle'), problem: 'stale', missing: ['@globex/gamma'], extra: ['@acme/ghost'], outdated: ['@acme/alpha'] },
      { key: recentKey(), problem: 'stale', missing: [], extra: ['bundle:@acme/ghost@9.9.9'], outdated: [] },
    ]);

    const before = new Map((await reg.store.list('v1/')).map((o) => [o.key, o.etag]));
    const result = await rebuild(reg.store, { signer: reg.server.signer });
    expect([...result.changed].sort()).toEqual([catalogKey('bundle'), packageKey('bundle', alpha), recentKey()].sort());
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
    await reg.store.delete(catalogKey('bundle'));

    const result = await rebuild(reg.store, { signer: reg.server.signer, package: alpha });
    expect(result.packages).toBe(1);
    expect([...result.changed].sort()).toEqual([catalogKey('bundle'), packageKey('bundle', alpha), searchIndexKey('bundle')].sort());
    // The catalog now has alpha only: gamma's entry comes back with gamma's own rebuild.
    const catalog = (await readJson(reg.store, catalogKey('bundle'), CatalogDocumentSchema))!.value;
    expect(catalog.packages.map((p) => p.name)).toEqual(['@acme/alpha']);
    expect((await readJson(reg.store, packageKey('bundle', gamma), PackageDocumentSchema))!.value.latest).toBeNull();

    await rebuild(reg.store, { signer: reg.server.signer, package: gamma, kind: 'bundle' });
    await expectOriginal();
  });

  it('of one kind leaves the other kind alone', async () => {
    await reg.store.delete(catalogKey('bundle'));
    await reg.store.delete(catalogKey('skill'));
    const result = await rebuild(reg.store, { signer: reg.server.signer, kind: 'skill' });
    expect(result.changed).toEqual([catalogKey('skill')]);
    expect(await reg.store.head(catalogKey('bundle'))).toBeNull();
    expect((await check(reg.store, { kind: 'skill' })).clean).toBe(true);
    expect((await check(reg.store, { kind: 'bundle' })).issues.map((i) => i.key)).toEqual([catalogKey('bundle')]);
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
  async function shelf(argv: string[], options: { tty?: boolean; env?: Record<string, string> } = {}) {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, {
      stdout: (s) => (stdout += s),
      stderr: (s) => (stderr += s),
      env: options.env ?? { SHELF_DATA_DIR: join(reg.dir, 'bucket') },
      isTTY: { stdout: false, stderr: options.tty === true },
    });
    return { code, stdout, stderr };
  }

  it('check exits 1 listing what disagrees; rebuild repairs it and prints what it changed; check then exits 0', async () => {
    await reg.store.delete(searchIndexKey('skill'));
    const bad = await shelf(['check']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`1 of ${DERIVED.length} derived files disagree`);
    expect(bad.stdout).toMatch(new RegExp(`missing\\s+${searchIndexKey('skill')}`));
    expect(bad.stdout).toContain('shelf rebuild');

    const json = await shelf(['check', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ clean: false, issues: [{ key: searchIndexKey('skill'), problem: 'missing', missing: ['@acme/release-notes'] }] });

    const fixed = await shelf(['rebuild']);
    expect(fixed.code).toBe(0);
    expect(fixed.stdout).toContain(`Rebuilt 1 of ${DERIVED.length} derived files`);
    expect(fixed.stdout).toContain(`  ${searchIndexKey('skill')}`);

    const good = await shelf(['check']);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain(`All ${DERIVED.length} derived files agree`);
    await expectOriginal();
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
    const r = await shelf(['check'], { env: { SHELF_STORE: 'ftp://bucket' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error[invalid_config]: SHELF_STORE');
    const help = await shelf(['rebuild', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: shelf rebuild');
  });
});
