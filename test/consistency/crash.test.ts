/**
 * A crash between two writes loses nothing: the announce pipeline is made to die after each of
 * its named steps in turn (the test-only `afterStep` hook), and then either the publisher's retry
 * of the same announce, or a rebuild, brings every file back to exactly the bytes a clean run of
 * the same announces produced. A fixed clock per announce makes the two runs byte-comparable.
 * One exception: where the clean run left packages in the search index's delta segment, a
 * rebuild writes the equivalent generation without a delta, so after a rebuild the sharded
 * index is compared by what it holds (its catalog, delta applied) rather than by its bytes.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShelfError } from '../../src/core/errors.ts';
import { ANNOUNCE_STEPS, type AnnounceStep } from '../../src/announce/announce.ts';
import { KINDS } from '../../src/core/names.ts';
import { configKey, keysKey } from '../../src/core/paths.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { readShardedCatalog, readShardedRoot } from '../../src/search/write/publish.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { announcePrepared, prepareBundle, signerOf, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';

/** The announces, in order, each with its own fixed time. */
interface Step {
  artifact: PreparedArtifact;
  at: string;
}

let packer: TestRegistry;
let base: Step[];
/** A new version of a package that exists: its pins are already written. */
let newVersion: Step;
/** The first package of a new scope: the announce writes both pins. */
let newScope: Step;
/** Bucket contents of a registry that received the announces without crashing. */
const clean: Record<'base' | 'withNewVersion' | 'withBoth', Map<string, string>> = {
  base: new Map(),
  withNewVersion: new Map(),
  withBoth: new Map(),
};
/** The same, with the sharded index as its catalogs (what a rebuild is compared with). */
const cleanHeld: typeof clean = { base: new Map(), withNewVersion: new Map(), withBoth: new Map() };

/** Copies of the clean registry's bucket folder, taken before the announce under test. */
let snapshots: string;

/**
 * A registry whose clock is set per announce, and whose pipeline dies after `crashAfter`; on a
 * copy of a snapshot of the clean run's bucket when `from` is given (the earlier announces then
 * need not be repeated), else on an empty bucket.
 */
async function startRegistry(
  from?: 'base' | 'withNewVersion',
): Promise<{ reg: TestRegistry; bucket: string; announce(step: Step, crashAfter?: AnnounceStep): Promise<{ status: number; json: any }> }> {
  let clock = '';
  let crashAfter: AnnounceStep | undefined;
  let bucket: string | undefined;
  if (from) {
    bucket = await mkdtemp(join(snapshots, `${from}-`));
    await cp(join(snapshots, from), bucket, { recursive: true });
  }
  const reg = await startTestRegistry({
    ...(bucket ? { store: new FsStore(bucket) } : {}),
    // One public URL for every registry of this file: the MCP API's files name it.
    env: { SHELF_PUBLIC_URL: 'https://registry.test' },
    wrapDeps: (deps) => ({
      ...deps,
      now: () => new Date(clock),
      afterStep: async (step) => {
        if (step === crashAfter) {
          crashAfter = undefined;
          throw new ShelfError('internal_error', `simulated crash after ${step}`);
        }
      },
    }),
  });
  for (const { artifact: a } of [...base, newVersion, newScope]) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
  return {
    reg,
    bucket: bucket ?? join(reg.dir, 'bucket'),
    announce(step, crash) {
      clock = step.at;
      crashAfter = crash;
      return announcePrepared(reg, step.artifact);
    },
  };
}

/**
 * Every object under v1/ and v0.1/, key → content. Two registries differ in what the test harness cannot
 * fix, so that is masked: the loopback port of each one's fake GitHub (in provenance issuer and
 * source URL), and the wall-clock `iat` of the tokens minted for the announces. config.json,
 * which names the server's URL, is left out. Everything else must be byte-identical.
 */
async function contents(store: ObjectStore, options: { artifacts?: boolean; search?: 'bytes' | 'held' } = {}): Promise<Map<string, string>> {
  const map = new Map<string, string>();
  if (options.search === 'held') {
    for (const kind of KINDS) {
      const current = await readShardedRoot(store, kind);
      map.set(`(${kind}s held by the sharded index)`, current ? JSON.stringify(await readShardedCatalog(store, kind, current.root)) : 'none');
    }
  }
  for (const { key } of [...(await store.list('v1/')), ...(await store.list('v0.1/'))]) {
    if (key === configKey() || key === keysKey()) continue;
    if (options.search === 'held' && key.startsWith('v1/search/')) continue;
    const artifact = /\.(mcpb|skill|zip)$/.test(key);
    if (options.artifacts === false && artifact) continue;
    const body = Buffer.from((await store.get(key))!.body);
    map.set(
      key,
      artifact
        ? body.toString('base64')
        : body
            .toString('utf8')
            .replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://fake-github')
            .replace(/"issued_at":"[^"]*"/g, '"issued_at":"(token iat)"')
            // Each registry signs with its own key, and ECDSA signatures are randomised.
            .replace(/"signature":\{"keyid":"[0-9a-f]*"(,"signed_at":"[^"]*")?,"sig":"[^"]*"\}/g, '"signature":"(signed)"'),
    );
  }
  return map;
}

function withoutArtifacts(map: Map<string, string>): Map<string, string> {
  return new Map([...map].filter(([key]) => !/\.(mcpb|skill)$/.test(key)));
}

/** Rebuilds a copy of a bucket folder (so the original can still be retried). */
async function rebuildCopy(bucket: string): Promise<{ store: FsStore; changed: string[] }> {
  const copy = await mkdtemp(join(snapshots, 'rebuilt-'));
  await cp(bucket, copy, { recursive: true });
  const store = new FsStore(copy);
  const { changed } = await rebuild(store, { signer: await signerOf(store) });
  return { store, changed };
}

beforeAll(async () => {
  packer = await startTestRegistry();
  const pack = (opts: Parameters<typeof prepareBundle>[1]) => prepareBundle(packer, opts);
  const [a, b, c, d] = await Promise.all([
    pack({ example: '@acme/echo', name: '@acme/alpha', version: '1.0.0', os: 'linux', arch: 'x64' }),
    pack({ example: '@globex/weather', name: '@globex/gamma', version: '2.0.0' }),
    pack({ example: '@acme/echo', name: '@acme/alpha', version: '1.1.0', os: 'linux', arch: 'x64' }),
    pack({ example: '@acme/sysinfo', name: '@initech/omega', version: '0.1.0', os: 'darwin', arch: 'arm64' }),
  ]);
  base = [
    { artifact: a!, at: '2025-03-01T10:00:00.000Z' },
    { artifact: b!, at: '2025-03-02T10:00:00.000Z' },
  ];
  newVersion = { artifact: c!, at: '2025-03-03T10:00:00.000Z' };
  newScope = { artifact: d!, at: '2025-03-04T10:00:00.000Z' };

  snapshots = await mkdtemp(join(tmpdir(), 'shelf-crash-'));
  const { reg, bucket, announce } = await startRegistry();
  try {
    for (const step of base) expect((await announce(step)).status).toBe(201);
    for (const [k, v] of await contents(reg.store)) clean.base.set(k, v);
    for (const [k, v] of await contents(reg.store, { search: 'held' })) cleanHeld.base.set(k, v);
    await cp(bucket, join(snapshots, 'base'), { recursive: true });
    expect((await announce(newVersion)).status).toBe(201);
    for (const [k, v] of await contents(reg.store)) clean.withNewVersion.set(k, v);
    for (const [k, v] of await contents(reg.store, { search: 'held' })) cleanHeld.withNewVersion.set(k, v);
    await cp(bucket, join(snapshots, 'withNewVersion'), { recursive: true });
    expect((await announce(newScope)).status).toBe(201);
    for (const [k, v] of await contents(reg.store)) clean.withBoth.set(k, v);
    for (const [k, v] of await contents(reg.store, { search: 'held' })) cleanHeld.withBoth.set(k, v);
    // The clean run left its announces in the search index's delta segment (the default policy).
    expect((await readShardedRoot(reg.store, 'bundle'))!.root.delta?.count).toBe(3);
    expect(await check(reg.store)).toMatchObject({ clean: true });
  } finally {
    await reg.close();
  }
}, 60_000);

afterAll(async () => {
  await packer?.close();
  if (snapshots) await rm(snapshots, { recursive: true, force: true });
});

describe.each(ANNOUNCE_STEPS.map((s) => [s]))('a crash after the "%s" step', (step) => {
  const recorded = ANNOUNCE_STEPS.indexOf(step) >= ANNOUNCE_STEPS.indexOf('version');

  it('of a new version is repaired by a rebuild, and by the retried announce', async () => {
    const { reg, bucket, announce } = await startRegistry('base');
    try {
      const crashed = await announce(newVersion, step);
      expect(crashed.status).toBe(500);

      // Rebuild alone: once the version record is written, the result is the clean run's; before
      // it, the clean run without this announce (an artifact stored before the crash stays,
      // unreferenced, and the announce's retry will find it).
      const rebuilt = await rebuildCopy(bucket);
      if (recorded) expect(await contents(rebuilt.store, { search: 'held' })).toEqual(cleanHeld.withNewVersion);
      else expect(await contents(rebuilt.store, { artifacts: false, search: 'held' })).toEqual(withoutArtifacts(cleanHeld.base));
      expect(await check(rebuilt.store)).toMatchObject({ clean: true });
      expect((await rebuild(rebuilt.store, { signer: await signerOf(rebuilt.store) })).changed).toEqual([]);

      // The retry of the same announce.
      const retried = await announce(newVersion);
      expect(retried.status).toBe(recorded ? 200 : 201);
      expect(await contents(reg.store)).toEqual(clean.withNewVersion);
    } finally {
      await reg.close();
    }
  });

  it('of the first package of a new scope is repaired by the retried announce (and, once recorded, by a rebuild)', async () => {
    const { reg, bucket, announce } = await startRegistry('withNewVersion');
    try {
      const crashed = await announce(newScope, step);
      expect(crashed.status).toBe(500);
      if (step !== 'token' && step !== 'pins' && step !== 'artifact') {
        // Stale until repaired, and the checker sees it (a crash after the last step leaves nothing stale).
        expect((await check(reg.store)).clean).toBe(step === ANNOUNCE_STEPS.at(-1));
      }
      if (recorded) {
        const rebuilt = await rebuildCopy(bucket);
        expect(await contents(rebuilt.store, { search: 'held' })).toEqual(cleanHeld.withBoth);
      }
      const retried = await announce(newScope);
      expect(retried.status).toBe(recorded ? 200 : 201);
      expect(await contents(reg.store)).toEqual(clean.withBoth);
    } finally {
      await reg.close();
    }
  });
});
