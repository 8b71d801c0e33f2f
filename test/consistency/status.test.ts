/**
 * Status changes under crashes and concurrency. The status pipeline is made to die after each of
 * its write steps in turn; the publisher's retry of the same request (same token), or a rebuild,
 * then leaves every file as a clean run does. Status changes racing announces of the same
 * package, on the filesystem store and on the S3 store, lose neither: every announced platform
 * and every status is there, and `shelf check` finds nothing stale. A yank racing an announce of
 * a new platform of its version is forced through each interleaving (the writers held at a step
 * or at a write): the announce lands only if it was recorded before the yank closed the version.
 * A yank's gate without its record (a crash, a yank too slow to record) holds for its lease, then
 * opens on the next write; a rebuild opens it at once.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announce, type AnnounceDeps } from '../../src/announce/announce.ts';
import { changeStatus, STATUS_STEPS } from '../../src/announce/status.ts';
import { ShelfError } from '../../src/core/errors.ts';
import { parsePackageName } from '../../src/core/names.ts';
import { badgeKey, lifecycleKey, packageKey, recentKey, scopeKey, shardedRootKey, versionKey } from '../../src/core/paths.ts';
import { LifecycleRecordSchema, PackageDocumentSchema, VersionDocumentSchema } from '../../src/core/schemas.ts';
import { YANK_GATE_LEASE_MS, YANK_RECORD_DEADLINE_MS } from '../../src/indexer/lifecycle.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import type { StepHook } from '../../src/registry/refresh.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { readJson } from '../../src/store/json-documents.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { expectRefused } from '../attack/helpers.ts';
import { Pause, pausingStore } from '../helpers/pause.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { storeFetch } from '../helpers/store-fetch.ts';
import { maskSignatures } from '../helpers/saved-files.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';

const ECHO = parsePackageName('@acme/echo');
const OWNER = claimsFor('acme/echo-mcp');
const AT = '2025-06-01T00:00:00.000Z';
const YANK = { name: '@acme/echo', version: '1.1.0', status: 'yanked', message: 'Broken on Windows.' };

const GATE = parsePackageName('@acme/gate');
const GATE_OWNER = claimsFor('acme/gate-mcp');

let packer: TestRegistry;
/** 1.0.0 and 1.1.0 (any); then 1.2.0 and a linux-x64 build of 1.1.0 for the races. */
let artifacts: PreparedArtifact[];
/** @acme/gate: per version of the forced interleavings, its first (any) and its new (linux-x64) platform. */
let gate: Record<'1.0.0' | '2.0.0' | '3.0.0', [PreparedArtifact, PreparedArtifact]>;
/** @acme/gate 3.1.0 (any): another version, whose announce refreshes the package's derived files. */
let gateOther: PreparedArtifact;

beforeAll(async () => {
  packer = await startTestRegistry();
  const pack = (version: string, os: 'any' | 'linux' = 'any', arch: 'any' | 'x64' = 'any', name = '@acme/echo') => prepareBundle(packer, { name, version, os, arch, upload: false });
  const both = async (version: string) => [await pack(version, 'any', 'any', GATE.full), await pack(version, 'linux', 'x64', GATE.full)] as [PreparedArtifact, PreparedArtifact];
  let g1: [PreparedArtifact, PreparedArtifact], g2: typeof g1, g3: typeof g1;
  [artifacts, g1, g2, g3, gateOther] = await Promise.all([
    Promise.all([pack('1.0.0'), pack('1.1.0'), pack('1.2.0'), pack('1.1.0', 'linux', 'x64'), pack('1.3.0')]),
    both('1.0.0'),
    both('2.0.0'),
    both('3.0.0'),
    pack('3.1.0', 'any', 'any', GATE.full),
  ]);
  gate = { '1.0.0': g1, '2.0.0': g2, '3.0.0': g3 };
}, 120_000);

afterAll(async () => {
  await packer?.close();
});

/** What a status change writes, as readers see it (the token's issuer and issue time, and signatures' times and bytes, aside). */
async function contents(store: ObjectStore): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of [packageKey('bundle', ECHO), versionKey('bundle', ECHO, '1.1.0' as never), versionKey('bundle', ECHO, '1.0.0' as never), recentKey(), badgeKey('bundle', ECHO), scopeKey('acme')]) {
    // Signed by the same key; the signing time and the (randomised) ECDSA bytes differ.
    out[key] = maskSignatures(Buffer.from((await store.get(key))!.body).toString());
  }
  const stored = await store.get(lifecycleKey('bundle', ECHO));
  const record = stored ? JSON.parse(Buffer.from(stored.body).toString()) : { history: [] };
  // Each run's token is its own (issue time) from its own fake issuer.
  for (const event of record.history) {
    delete event.provenance?.issued_at;
    delete event.provenance?.issuer;
  }
  out.lifecycle = record;
  out.search = JSON.stringify(await new RegistryClient({ baseUrl: 'http://x.invalid', fetch: storeFetch(store) }).search('bundle', 'echo'));
  return out;
}

describe('a status change that crashes after each step', () => {
  let base: TestRegistry;
  /** What the bucket holds before the yank, and after a clean one. */
  let before: Record<string, unknown>;
  let clean: Record<string, unknown>;
  let crashAfter: string | undefined;
  let bucket: string;

  /** A registry over a copy of the announced bucket, whose pipeline dies after `crashAfter`. */
  const registryOnCopy = async () => {
    const dir = await mkdtemp(join(base.dir, 'copy-'));
    await cp(bucket, dir, { recursive: true });
    return startTestRegistry({
      store: new FsStore(dir),
      wrapDeps: (deps) => ({
        ...deps,
        now: () => new Date(AT),
        afterStep: async (step) => {
          if (step === crashAfter) {
            crashAfter = undefined;
            throw new ShelfError('internal_error', `simulated crash after ${step}`);
          }
        },
      }),
    });
  };

  beforeAll(async () => {
    base = await startTestRegistry();
    for (const a of artifacts.slice(0, 2)) {
      base.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
      expect((await announcePrepared(base, a)).status).toBe(201);
    }
    bucket = join(base.dir, 'bucket');
    const reg = await registryOnCopy();
    try {
      before = await contents(reg.store);
      expect((await reg.status('bundle', YANK, OWNER)).json).toMatchObject({ changed: true });
      clean = await contents(reg.store);
    } finally {
      await reg.close();
    }
  }, 60_000);

  afterAll(async () => {
    await base?.close();
  });

  it.each(STATUS_STEPS.map((s) => [s]))('after "%s": the retry with the same token, or shelf rebuild, converges to a clean run', async (step) => {
    const reg = await registryOnCopy();
    try {
      const token = await reg.github.mint(OWNER);
      const send = () => reg.post('/v1/bundles/status', JSON.stringify(YANK), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      crashAfter = step;
      expect((await send()).status).toBe(500);
      // Stale derived files from the gate on (the token's use alone changes no reader's file; after
      // the last step nothing is left to do).
      if (step !== 'token' && step !== STATUS_STEPS.at(-1)) expect((await check(reg.store)).clean).toBe(false);
      if (step === 'gate') {
        // Nothing is recorded: the version document alone says yanked (its gate); what derives from the record does not.
        const stale = (await check(reg.store)).issues.map((i) => i.key);
        expect(stale).toContain(versionKey('bundle', ECHO, '1.1.0' as never));
        for (const key of [packageKey('bundle', ECHO), badgeKey('bundle', ECHO), recentKey(), scopeKey('acme'), shardedRootKey('bundle')]) expect(stale).not.toContain(key);
        // A rebuild mirrors the record back, as if the yank had not been asked for (the token's use aside)...
        await rebuild(reg.store, { signer: reg.server.signer });
        expect(await contents(reg.store)).toEqual(before);
        // ...and the retry makes it.
        expect((await send()).json).toMatchObject({ version: '1.1.0', status: 'yanked', changed: true });
      } else if (STATUS_STEPS.indexOf(step) % 2 === 0) {
        const retry = await send();
        expect(retry.status).toBe(200);
        // The token's use was recorded at the first step: the retry finds the change made or makes it.
        expect(retry.json).toMatchObject({ package: '@acme/echo', version: '1.1.0', status: 'yanked' });
      } else {
        // The lifecycle record was written (odd steps after the gate follow it): a rebuild derives the rest.
        await rebuild(reg.store, { signer: reg.server.signer });
      }
      expect((await check(reg.store)).clean).toBe(true);
      expect(await contents(reg.store)).toEqual(clean);
    } finally {
      await reg.close();
    }
  });
});

describe.each([
  ['filesystem store', () => undefined],
  ['S3 store', () => s3!.makeStore(`status-${randomUUID()}/`)],
] as Array<[string, () => S3Store | undefined]>)('status changes racing announces on the %s', (_label, makeStore) => {
  let reg: TestRegistry;
  /** The registry's own pipeline dependencies, for runs of the pipelines held at a step or a write. */
  let deps: AnnounceDeps;
  beforeAll(async () => {
    s3 ??= await startS3Server();
    const store = makeStore();
    reg = await startTestRegistry({ ...(store ? { store } : {}), wrapDeps: (d) => (deps = d) });
    for (const a of [...artifacts, ...Object.values(gate).flat(), gateOther]) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
    for (const a of artifacts.slice(0, 2)) expect((await announcePrepared(reg, a)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await reg?.close();
  });

  it('a yank, a deprecation of the package, and announces of a new version and a new platform: nothing is lost', async () => {
    const [yank, deprecate, newVersion, newPlatform] = await Promise.all([
      reg.status('bundle', YANK, OWNER),
      reg.status('bundle', { name: '@acme/echo', status: 'deprecated', message: 'Moved.' }, OWNER),
      announcePrepared(reg, artifacts[2]!),
      announcePrepared(reg, artifacts[3]!),
    ]);
    expect(yank.status).toBe(200);
    expect(deprecate.status).toBe(200);
    expect(newVersion.status).toBe(201);
    // The new platform of 1.1.0 raced its yank: recorded before the yank closed the version (201,
    // and the yanked version has both platforms), or refused (409), never added to it after. Each
    // interleaving is forced below; here whichever the scheduler gives must leave the files whole.
    expect([201, 409]).toContain(newPlatform.status);
    if (newPlatform.status === 409) expect(newPlatform.json.error.code).toBe('version_yanked');
    const record = (await readJson(reg.store, versionKey('bundle', ECHO, '1.1.0' as never), VersionDocumentSchema))!.value;
    expect(record.status).toBe('yanked');
    expect(record.artifacts.length).toBe(newPlatform.status === 201 ? 2 : 1);

    const doc = (await readJson(reg.store, packageKey('bundle', ECHO), PackageDocumentSchema))!.value;
    expect(doc.versions.map((v) => v.version)).toEqual(['1.2.0', '1.1.0', '1.0.0']);
    expect(doc.latest).toBe('1.2.0');
    expect(doc).toMatchObject({ status: 'deprecated', status_message: 'Moved.' });
    const v110 = doc.versions.find((v) => v.version === '1.1.0')!;
    expect(v110.status).toBe('yanked');
    expect(v110.platforms.length).toBe(newPlatform.status === 201 ? 2 : 1);
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('an unyank racing the next version: both land, and latest is the highest selectable', async () => {
    const [unyank, next] = await Promise.all([reg.status('bundle', { name: '@acme/echo', version: '1.1.0', status: 'active' }, OWNER), announcePrepared(reg, artifacts[4]!)]);
    expect(unyank.json).toMatchObject({ changed: true });
    expect(next.status).toBe(201);
    const doc = (await readJson(reg.store, packageKey('bundle', ECHO), PackageDocumentSchema))!.value;
    expect(doc.latest).toBe('1.3.0');
    expect(doc.versions.find((v) => v.version === '1.1.0')!.status).toBe('active');
    expect((await check(reg.store)).clean).toBe(true);
  });

  describe('a yank and an announce of a new platform of its version, each interleaving forced', () => {
    /** A yank of an @acme/gate version, run with its own hook. */
    const yankGate = async (version: string, afterStep?: StepHook) =>
      changeStatus('bundle', `Bearer ${await reg.github.mint(GATE_OWNER)}`, { name: GATE.full, version, status: 'yanked', message: 'Broken.' }, { ...deps, ...(afterStep ? { afterStep } : {}) });
    /** An announce, optionally through a store that holds one of its writes. */
    const announceGate = async (a: PreparedArtifact, store = deps.store) => announce('bundle', `Bearer ${await reg.github.mint(GATE_OWNER)}`, a.body, { ...deps, store });
    /** The store, holding the swap of the version document that adds `a`'s platform (after it read the document and the record). */
    const holdingSwapOf = (a: PreparedArtifact, pause: Pause) =>
      pausingStore(deps.store, (key, body) => key === versionKey('bundle', GATE, a.body.version) && Buffer.from(body).toString().includes(a.sha256), pause);
    /** The version document and the package document's entry of a version, and a clean check. */
    const expectYanked = async (version: string, platforms: string[]) => {
      const record = (await readJson(reg.store, versionKey('bundle', GATE, version as never), VersionDocumentSchema))!.value;
      expect(record.status).toBe('yanked');
      expect(record.artifacts.map((a) => `${a.os}-${a.arch}`).sort()).toEqual(platforms);
      const entry = (await readJson(reg.store, packageKey('bundle', GATE), PackageDocumentSchema))!.value.versions.find((v) => v.version === version)!;
      expect(entry).toMatchObject({ status: 'yanked', platforms: platforms.map((p) => ({ os: p.split('-')[0], arch: p.split('-')[1] })) });
      expect((await check(reg.store)).clean).toBe(true);
    };

    it('the announce read the version before the gate and swaps after the record: its swap fails, and its retry sees the gate (409 version_yanked)', async () => {
      const [first, added] = gate['1.0.0'];
      expect((await announceGate(first)).statusCode).toBe(201);
      const swap = new Pause();
      const recorded = new Pause();
      const announcing = announceGate(added, holdingSwapOf(added, swap));
      await swap.reached; // it read the version document and the lifecycle record: neither says yanked
      const yanking = yankGate('1.0.0', (step) => (step === 'lifecycle' ? recorded.wait() : undefined));
      await recorded.reached; // the gate and the record are written, no derived file yet
      swap.release();
      await expect(announcing).rejects.toMatchObject({ code: 'version_yanked' });
      recorded.release();
      expect((await yanking).body).toMatchObject({ version: '1.0.0', status: 'yanked', changed: true });
      await expectYanked('1.0.0', ['any-any']);
    });

    it('the announce is recorded before the gate: 201, and the yank then lands on the version with both platforms', async () => {
      const [first, added] = gate['2.0.0'];
      expect((await announceGate(first)).statusCode).toBe(201);
      const beforeGate = new Pause();
      const yanking = yankGate('2.0.0', (step) => (step === 'token' ? beforeGate.wait() : undefined));
      await beforeGate.reached;
      expect((await announceGate(added)).statusCode).toBe(201);
      beforeGate.release();
      expect((await yanking).body).toMatchObject({ version: '2.0.0', status: 'yanked', changed: true });
      await expectYanked('2.0.0', ['any-any', 'linux-x64']);
    });

    it("a third writer's refresh between the gate and the record leaves the gate closed: the announce is refused (409 version_yanked)", async () => {
      const [first, added] = gate['3.0.0'];
      expect((await announceGate(first)).statusCode).toBe(201);
      const gated = new Pause();
      const recorded = new Pause();
      const yanking = yankGate('3.0.0', (step) => (step === 'gate' ? gated.wait() : step === 'lifecycle' ? recorded.wait() : undefined));
      await gated.reached;
      // Another version's announce: its refresh reads the record before the yank's, which says 3.0.0 is active.
      expect((await announceGate(gateOther)).statusCode).toBe(201);
      expect((await readJson(reg.store, versionKey('bundle', GATE, '3.0.0' as never), VersionDocumentSchema))!.value.status).toBe('yanked');
      // The new platform's announce, held at its swap if it gets there, which goes ahead after the record.
      const swap = new Pause();
      const announcing = announceGate(added, holdingSwapOf(added, swap));
      await Promise.race([swap.reached, announcing.catch(() => undefined)]);
      gated.release();
      await recorded.reached;
      swap.release();
      await expect(announcing).rejects.toMatchObject({ code: 'version_yanked' });
      recorded.release();
      expect((await yanking).body).toMatchObject({ version: '3.0.0', status: 'yanked', changed: true });
      await expectYanked('3.0.0', ['any-any']);
    });
  });
});

describe("a yank's gate without its record", () => {
  let reg: TestRegistry;
  let deps: AnnounceDeps;
  const yank = async (options: { token?: string; now?: () => Date; afterStep?: StepHook } = {}) =>
    changeStatus('bundle', `Bearer ${options.token ?? (await reg.github.mint(OWNER))}`, YANK, { ...deps, ...options });
  const crashAfterGate: StepHook = (step) => {
    if (step === 'gate') throw new ShelfError('internal_error', 'simulated crash after gate');
  };
  const v110 = async () => (await readJson(reg.store, versionKey('bundle', ECHO, '1.1.0' as never), VersionDocumentSchema))!.value;
  /** The next write to the package: the retry of an announce (`unchanged`), which refreshes its derived files. */
  const nextWrite = async () => expect((await announcePrepared(reg, artifacts[0]!)).json.status).toBe('unchanged');

  beforeAll(async () => {
    reg = await startTestRegistry({ wrapDeps: (d) => (deps = d) });
    for (const a of artifacts) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
    for (const a of artifacts.slice(0, 2)) expect((await announcePrepared(reg, a)).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await reg?.close();
  });

  it('(a crash) holds for its lease: the next write leaves the version closed, shelf check reports it, a rebuild opens it', async () => {
    await expect(yank({ afterStep: crashAfterGate })).rejects.toThrow('simulated crash after gate');
    await nextWrite();
    expect((await v110()).status).toBe('yanked');
    await expectRefused(reg, () => announcePrepared(reg, artifacts[3]!), 409, 'version_yanked');
    expect((await check(reg.store)).issues.map((i) => i.key)).toContain(versionKey('bundle', ECHO, '1.1.0' as never));
    await rebuild(reg.store, { signer: reg.server.signer });
    expect((await v110()).status).toBe('active');
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('(a crash) older than its lease opens on the next write', async () => {
    await expect(yank({ now: () => new Date(Date.now() - YANK_GATE_LEASE_MS - 1000), afterStep: crashAfterGate })).rejects.toThrow('simulated crash');
    expect((await v110()).status).toBe('yanked');
    await nextWrite();
    expect((await v110()).status).toBe('active');
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('(a yank too slow to record it) is refused with 503 write_contention, and its retry records it', async () => {
    const start = Date.now();
    let calls = 0;
    const token = await reg.github.mint(OWNER);
    // The request's time, then (recording the yank) past the deadline.
    const slow = () => new Date(calls++ === 0 ? start : start + YANK_RECORD_DEADLINE_MS + 1000);
    await expect(yank({ token, now: slow })).rejects.toMatchObject({ code: 'write_contention' });
    const record = (await readJson(reg.store, lifecycleKey('bundle', ECHO), LifecycleRecordSchema))?.value;
    expect(record?.versions.find((v) => v.version === '1.1.0')).toBeUndefined();
    expect((await v110()).status).toBe('yanked');
    expect((await yank({ token })).body).toMatchObject({ version: '1.1.0', status: 'yanked', changed: true });
    expect((await check(reg.store)).clean).toBe(true);
  });
});

let s3: TestS3Server | undefined;
afterAll(async () => {
  await s3?.close();
});
