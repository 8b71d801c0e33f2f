/**
 * `shelf rebuild` and `shelf check` on a sharded index with a delta segment: a delta is a normal
 * state (check is clean, rebuild writes nothing), lost base pieces are restored, a lost delta is
 * repaired by a clean generation. Announces go through the real handler.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { shardedRootKey, shardKey } from '../../src/core/paths.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { compactDelta } from '../../src/search/write/delta.ts';
import { compactStore } from '../../src/search/write/compact.ts';
import { DEFAULT_POLICY } from '../../src/search/format/policy.ts';
import { readShardedCatalog, readShardedRoot, rebuildToStore } from '../../src/search/write/publish.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { etagsOf, restoreFiles, saveFiles, type SavedFiles } from '../helpers/saved-files.ts';

let reg: TestRegistry;
let original: SavedFiles = new Map();
const read = async (key: string) => {
  const obj = await reg.store.get(key);
  return obj ? (JSON.parse(new TextDecoder().decode(obj.body)) as unknown) : null;
};

beforeAll(async () => {
  // The compactor runs when the test says: after the first two announces, so the third stays in the delta.
  reg = await startTestRegistry({ compaction: false });
  await rebuildToStore(reg.store, 'bundle', [], { policy: { ...DEFAULT_POLICY, delta_max: 1 } });
  const prepared = await Promise.all([
    prepareBundle(reg, { example: '@acme/echo', name: '@acme/alpha', version: '1.0.0', os: 'linux', arch: 'x64' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.0.0' }),
    prepareBundle(reg, { example: '@globex/weather', name: '@globex/gamma', version: '2.1.0' }),
  ]);
  for (const [i, p] of prepared.entries()) {
    expect((await announcePrepared(reg, p)).status).toBe(201);
    if (i === 1) expect(await compactStore(reg.store, 'bundle')).toMatchObject({ compacted: true, packages: 2 });
  }
  const keys = (await reg.store.list('v1/')).map((o) => o.key);
  original = await saveFiles(reg.store, keys.filter((key) => key.startsWith('v1/search/') || key === shardedRootKey('bundle')));
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

beforeEach(() => restoreFiles(reg.store, original));

describe('rebuild and check with a delta', () => {
  it('the last announce went to the delta, over a base that holds the others', async () => {
    const { root } = (await readShardedRoot(reg.store, 'bundle'))!;
    expect(root.delta).toMatchObject({ count: 1, base: { document_count: 2, catalog_count: 2 } });
    expect(root.catalog.count).toBe(2);
    expect((await readShardedCatalog(reg.store, 'bundle', root)).map((s) => [s.name, s.latest])).toEqual([
      ['@acme/alpha', '1.0.0'],
      ['@globex/gamma', '2.1.0'],
    ]);
    const hits = await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'gamma');
    expect(hits[0]).toMatchObject({ name: '@globex/gamma', latest: '2.1.0' });
  });

  it('of a registry with a delta writes nothing, and the checker finds it clean', async () => {
    const before = await etagsOf(reg.store);
    const result = await rebuild(reg.store, { signer: reg.server.signer, kind: 'bundle' });
    expect(result.changed).toEqual([]);
    expect(await etagsOf(reg.store)).toEqual(before);
    expect((await check(reg.store, { kind: 'bundle' })).clean).toBe(true);
  });

  it('restores a lost file of the base generation, which the checker lists by key, and keeps the delta', async () => {
    const { root } = (await readShardedRoot(reg.store, 'bundle'))!;
    const built = await buildShardedIndex('bundle', await readShardedCatalog(reg.store, 'bundle', root), { policy: root.policy });
    const compacted = await compactDelta(root, read);
    const lost = [...built.files.keys()].find((k) => k.startsWith('v1/search/bundles/shards/') && !compacted.files.has(k))!;
    await reg.store.delete(lost);
    const report = await check(reg.store, { kind: 'bundle' });
    expect(report.clean).toBe(false);
    expect(report.issues[0]!.missing).toContain(`file ${lost}`);
    expect((await rebuild(reg.store, { signer: reg.server.signer, kind: 'bundle' })).changed).toEqual([shardedRootKey('bundle')]);
    expect(await reg.store.get(lost)).not.toBeNull();
    expect((await readShardedRoot(reg.store, 'bundle'))!.root.delta).toEqual(root.delta);
    expect((await check(reg.store, { kind: 'bundle' })).clean).toBe(true);
  });

  it('a lost delta file: the checker reports the root, the rebuild writes a generation without a delta', async () => {
    const { root } = (await readShardedRoot(reg.store, 'bundle'))!;
    await reg.store.delete(shardKey('bundle', root.delta!.file));
    const report = await check(reg.store, { kind: 'bundle' });
    expect(report.clean).toBe(false);
    expect(report.issues.map((i) => i.key)).toEqual([shardedRootKey('bundle')]);
    expect((await rebuild(reg.store, { signer: reg.server.signer, kind: 'bundle' })).changed).toEqual([shardedRootKey('bundle')]);
    const fixed = (await readShardedRoot(reg.store, 'bundle'))!.root;
    expect(fixed.delta).toBeUndefined();
    expect(fixed.catalog.count).toBe(2);
    expect((await check(reg.store, { kind: 'bundle' })).clean).toBe(true);
    const hits = await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'gamma');
    expect(hits[0]).toMatchObject({ name: '@globex/gamma', latest: '2.1.0' });
  });
});
