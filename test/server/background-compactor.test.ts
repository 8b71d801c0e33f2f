/**
 * The embedded registry compacts the search delta shortly after announces (`shelf serve`,
 * `npm start`), as the AWS stack's scheduled compactor does; a refused announce starts no run, and
 * `compaction: false` leaves the delta to the announces' hard cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/search/format/policy.ts';
import { readShardedCatalog, readShardedRoot, rebuildToStore } from '../../src/search/write/publish.ts';
import { BackgroundCompactor } from '../../src/server/background-compactor.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { LogLine } from '../../src/core/log.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

describe('the embedded registry compacts after announces', () => {
  let reg: TestRegistry;
  const lines: LogLine[] = [];
  beforeAll(async () => {
    reg = await startTestRegistry({ compaction: { delayMs: 0 }, log: (l) => void lines.push(l) });
    // delta_max 2: the second package announced makes the delta due.
    await rebuildToStore(reg.store, 'bundle', [], { policy: { ...DEFAULT_POLICY, delta_max: 2 } });
  }, 60_000);
  afterAll(async () => {
    await reg?.close();
  });

  it('leaves a delta below delta_max, compacts it once an announce fills it, and logs the run', async () => {
    expect((await announcePrepared(reg, await prepareBundle(reg, { name: '@acme/one', version: '1.0.0' }))).status).toBe(201);
    await reg.server.compactor!.idle();
    expect((await readShardedRoot(reg.store, 'bundle'))!.root.delta!.count).toBe(1);
    const runs = reg.server.compactor!.runs;
    expect(runs).toBeGreaterThanOrEqual(1);

    expect((await announcePrepared(reg, await prepareBundle(reg, { name: '@acme/two', version: '1.0.0' }))).status).toBe(201);
    await reg.server.compactor!.idle();
    const { root } = (await readShardedRoot(reg.store, 'bundle'))!;
    expect(root.delta).toBeUndefined();
    expect((await readShardedCatalog(reg.store, 'bundle', root)).map((s) => s.name)).toEqual(['@acme/one', '@acme/two']);
    expect(reg.server.compactor!.runs).toBeGreaterThan(runs);
    expect(lines.filter((l) => l.event === 'compact')).toEqual([expect.objectContaining({ kinds: [expect.objectContaining({ kind: 'bundle', compacted: true, packages: 2 })] })]);
  });

  it('a refused announce starts no run', async () => {
    const runs = reg.server.compactor!.runs;
    const prepared = await prepareBundle(reg, { name: '@acme/three', version: '1.0.0' });
    const refused = await reg.post('/v1/bundles/announce', JSON.stringify(prepared.body), { authorization: 'Bearer not-a-token', 'content-type': 'application/json' });
    expect(refused.status).toBe(401);
    await reg.server.compactor!.idle();
    expect(reg.server.compactor!.runs).toBe(runs);
  });
});

describe('without compaction', () => {
  it('the delta stays as the announces leave it', async () => {
    const reg = await startTestRegistry({ compaction: false });
    try {
      await rebuildToStore(reg.store, 'bundle', [], { policy: { ...DEFAULT_POLICY, delta_max: 1 } });
      expect((await announcePrepared(reg, await prepareBundle(reg, { name: '@acme/solo', version: '1.0.0' }))).status).toBe(201);
      expect(reg.server.compactor).toBeUndefined();
      expect((await readShardedRoot(reg.store, 'bundle'))!.root.delta!.count).toBe(1);
    } finally {
      await reg.close();
    }
  });
});

describe('BackgroundCompactor', () => {
  it('runs once for a burst of nudges, again for a nudge during a run, none after close; refuses a bad delay', async () => {
    const store = new MemoryStore();
    let reads = 0;
    const counting = { ...store, description: 'counting', get: (k: string) => (reads++, store.get(k)), head: store.head.bind(store), put: store.put.bind(store), list: store.list.bind(store), delete: store.delete.bind(store) };
    const compactor = new BackgroundCompactor(counting, { delayMs: 5 });
    for (let i = 0; i < 5; i++) compactor.nudge();
    await compactor.idle();
    expect(compactor.runs).toBe(1);
    // One run reads the root of each kind (neither exists): two reads.
    expect(reads).toBe(2);
    compactor.nudge();
    await new Promise((resolve) => setTimeout(resolve, 20));
    compactor.nudge(); // may land during or after the second run: either way a run follows it
    await compactor.idle();
    expect(compactor.runs).toBeGreaterThanOrEqual(3);
    await compactor.close();
    const after = compactor.runs;
    compactor.nudge();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(compactor.runs).toBe(after);
    expect(() => new BackgroundCompactor(store, { delayMs: -1 })).toThrow(/"delayMs" option/);
  });
});
