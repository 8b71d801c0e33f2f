/**
 * Status changes under crashes and concurrency. The status pipeline is made to die after each of
 * its write steps in turn; the publisher's retry of the same request (same token), or a rebuild,
 * then leaves every file as a clean run does. Status changes racing announces of the same
 * package, on the filesystem store and on the S3 store, lose neither: every announced platform
 * and every status is there, and `shelf check` finds nothing stale.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_STEPS } from '../../src/announce/status.ts';
import { ShelfError } from '../../src/core/errors.ts';
import { parsePackageName } from '../../src/core/names.ts';
import { badgeKey, lifecycleKey, packageKey, recentKey, scopeKey, versionKey } from '../../src/core/paths.ts';
import { PackageDocumentSchema } from '../../src/core/schemas.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { readJson } from '../../src/store/json-documents.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { storeFetch } from '../helpers/store-fetch.ts';
import { maskSignatures } from '../helpers/saved-files.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';

const ECHO = parsePackageName('@acme/echo');
const OWNER = claimsFor('acme/echo-mcp');
const AT = '2025-06-01T00:00:00.000Z';
const YANK = { name: '@acme/echo', version: '1.1.0', status: 'yanked', message: 'Broken on Windows.' };

let packer: TestRegistry;
/** 1.0.0 and 1.1.0 (any); then 1.2.0 and a linux-x64 build of 1.1.0 for the races. */
let artifacts: PreparedArtifact[];

beforeAll(async () => {
  packer = await startTestRegistry();
  const pack = (version: string, os: 'any' | 'linux' = 'any', arch: 'any' | 'x64' = 'any') => prepareBundle(packer, { version, os, arch, upload: false });
  artifacts = await Promise.all([pack('1.0.0'), pack('1.1.0'), pack('1.2.0'), pack('1.1.0', 'linux', 'x64'), pack('1.3.0')]);
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
  const record = JSON.parse(Buffer.from((await store.get(lifecycleKey('bundle', ECHO)))!.body).toString());
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
      // Stale derived files from the lifecycle record on (the token's use alone changes no reader's
      // file; after the last step nothing is left to do).
      if (step !== 'token' && step !== STATUS_STEPS.at(-1)) expect((await check(reg.store)).clean).toBe(false);
      if (STATUS_STEPS.indexOf(step) % 2 === 0) {
        const retry = await send();
        expect(retry.status).toBe(200);
        // The token's use was recorded at the first step: the retry finds the change made or makes it.
        expect(retry.json).toMatchObject({ package: '@acme/echo', version: '1.1.0', status: 'yanked' });
      } else {
        // The lifecycle record was written (odd steps are "lifecycle" and later): a rebuild derives the rest.
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
  beforeAll(async () => {
    s3 ??= await startS3Server();
    const store = makeStore();
    reg = await startTestRegistry(store ? { store } : {});
    for (const a of artifacts) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
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
    // The new platform of 1.1.0 raced its yank: announced before it (201), or refused after it (409).
    expect([201, 409]).toContain(newPlatform.status);
    if (newPlatform.status === 409) expect(newPlatform.json.error.code).toBe('version_yanked');

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
});

let s3: TestS3Server | undefined;
afterAll(async () => {
  await s3?.close();
});
