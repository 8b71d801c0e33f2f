/**
 * The operator's takedown, on the filesystem store and on the S3 store: a version (every
 * platform, its README and its document) or a whole package removed; the tombstone kept and
 * shown; the name blocked for announces and status changes (`410`); search, the scope list and
 * the recent list without it; the CDN paths printed and the CloudFront invalidation created on a
 * loopback fake of the API; the undo; and `shelf check` clean after each.
 */
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName } from '../../src/core/names.ts';
import { badgeKey, cdnKey, lifecycleKey, packageKey, readmeKey, recentKey, scopeKey, versionKey, versionsPrefix } from '../../src/core/paths.ts';
import { LifecycleRecordSchema, PackageDocumentSchema, RecentDocumentSchema, ScopeDocumentSchema } from '../../src/core/schemas.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { TAKEDOWN_STEPS, takedown } from '../../src/registry/takedown.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { encodeJson, readJson } from '../../src/store/json-documents.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { expectRefused } from '../attack/helpers.ts';
import { shelf } from '../cli/helpers.ts';
import { startFakeCloudFront, type FakeCloudFront } from '../fakes/fake-cloudfront.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { storeFetch } from '../helpers/store-fetch.ts';
import { announcePrepared, claimsFor, prepareBundle, signerOf, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import type { Signer } from '../../src/signing/signer.ts';
import { maskSignatures } from '../helpers/saved-files.ts';
import { loadOrCreateKeyFile } from '../../src/signing/local-signer.ts';

const TOOL = parsePackageName('@acme/tool');
const OWNER = claimsFor('acme/tool-mcp');
const DISTRIBUTION = 'E2SHELFTEST0001';

let packer: TestRegistry;
let s3: TestS3Server;
let cloudfront: FakeCloudFront;
/** 1.0.0 (any), 1.1.0 (linux-x64, darwin-arm64), packed once from the example with a README. */
let artifacts: PreparedArtifact[];

beforeAll(async () => {
  [packer, s3, cloudfront] = await Promise.all([startTestRegistry(), startS3Server(), startFakeCloudFront([DISTRIBUTION])]);
  const pack = (version: string, os: 'any' | 'linux' | 'darwin', arch: 'any' | 'x64' | 'arm64') =>
    prepareBundle(packer, { example: '@acme/sysinfo', name: '@acme/tool', version, os, arch, upload: false });
  artifacts = await Promise.all([pack('1.0.0', 'any', 'any'), pack('1.1.0', 'linux', 'x64'), pack('1.1.0', 'darwin', 'arm64')]);
}, 120_000);

afterAll(async () => {
  await Promise.all([packer?.close(), s3?.close(), cloudfront?.close()]);
});

const stores: Array<[string, () => S3Store | undefined]> = [
  ['filesystem store', () => undefined],
  ['S3 store', () => s3.makeStore(`takedown-${randomUUID()}/`)],
];

describe.each(stores)('takedown on the %s', (_label, makeStore) => {
  let reg: TestRegistry;
  let env: Record<string, string>;
  const operator = (args: string[], extra: Record<string, string> = {}) => shelf(['takedown', ...args], { env: { ...env, ...extra } });
  const pkgDoc = async () => (await readJson(reg.store, packageKey('bundle', TOOL), PackageDocumentSchema))!.value;
  const keysOf = async (version: string) => (await reg.store.list(versionsPrefix('bundle', TOOL))).map((o) => o.key).filter((k) => k.includes(`/${version}`));

  beforeAll(async () => {
    const store = makeStore();
    reg = await startTestRegistry(store ? { store } : {});
    for (const a of artifacts) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
    for (const a of artifacts) expect((await announcePrepared(reg, a)).status).toBe(201);
    env = {
      // The registry's own key signs what a takedown rewrites (a folder bucket keeps it in its data folder).
      ...(store ? { ...s3.env(store.prefix), SHELF_SIGNING_KEY_FILE: join(reg.dir, 'registry-key.pem') } : { SHELF_DATA_DIR: `${reg.dir}/bucket`, AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret' }),
      AWS_ENDPOINT_URL_CLOUDFRONT: cloudfront.url,
    };
  }, 60_000);

  afterAll(async () => {
    await reg?.close();
  });

  it('of a version deletes its files, keeps a tombstone, moves latest, and invalidates the CDN', async () => {
    expect(await keysOf('1.1.0')).toEqual(expect.arrayContaining([versionKey('bundle', TOOL, '1.1.0' as never), readmeKey('bundle', TOOL, '1.1.0' as never)]));
    const before = cloudfront.invalidations.length;
    const r = await operator(['@acme/tool@1.1.0', '--reason', 'Malware report #12', '--distribution', DISTRIBUTION, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ action: 'takedown', package: '@acme/tool', version: '1.1.0', changed: true, distribution: DISTRIBUTION });
    expect(out.deleted).toHaveLength(4); // two artifacts, the README, the version document
    expect(await keysOf('1.1.0')).toEqual([]);
    expect(out.cdn_paths).toEqual(
      expect.arrayContaining(['/v1/bundles/@acme/tool/versions/1.1.0.json', '/v1/bundles/@acme/tool/versions/1.1.0/*', '/v1/bundles/@acme/tool.json']),
    );
    expect(cloudfront.invalidations.slice(before)).toEqual([expect.objectContaining({ distributionId: DISTRIBUTION, paths: out.cdn_paths, id: out.invalidation.id })]);

    const doc = await pkgDoc();
    expect(doc.latest).toBe('1.0.0');
    expect(doc.versions[0]).toEqual({
      version: '1.1.0',
      prerelease: false,
      published_at: expect.any(String),
      platforms: [],
      path: versionKey('bundle', TOOL, '1.1.0' as never),
      status: 'removed',
      status_message: 'Malware report #12',
      status_changed_at: expect.any(String),
    });
    const record = (await readJson(reg.store, lifecycleKey('bundle', TOOL), LifecycleRecordSchema))!.value;
    expect(record.removed_versions).toEqual([expect.objectContaining({ version: '1.1.0', reason: 'Malware report #12', with_package: false })]);
    expect(record.removed_versions[0]!.artifacts.map((a) => `${a.os}-${a.arch}`).sort()).toEqual(['darwin-arm64', 'linux-x64']);
    expect(record.history.at(-1)).toMatchObject({ action: 'takedown', version: '1.1.0', message: 'Malware report #12' });
    const recent = (await readJson(reg.store, recentKey(), RecentDocumentSchema))!.value.entries.filter((e) => e.name === '@acme/tool');
    expect(recent.map((e) => e.version)).toEqual(['1.0.0']);
    const [hit] = await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'tool');
    expect(hit).toMatchObject({ name: '@acme/tool', latest: '1.0.0' });
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('blocks the version: re-announcing it or changing its status is 410 version_removed, writing nothing', async () => {
    await expectRefused(reg, () => announcePrepared(reg, artifacts[1]!), 410, 'version_removed');
    await expectRefused(reg, () => reg.status('bundle', { name: '@acme/tool', version: '1.1.0', status: 'yanked' }, OWNER), 410, 'version_removed');
  });

  it('again changes nothing and repairs nothing (there is nothing left)', async () => {
    const r = await operator(['@acme/tool@1.1.0', '--reason', 'Malware report #12', '--no-invalidate', '--json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ changed: false, deleted: [], invalidation: null });
  });

  it('--undo lifts the block: the version can be announced again (its bytes are not restored)', async () => {
    const r = await operator(['@acme/tool@1.1.0', '--undo', '--no-invalidate']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Lifted the takedown of @acme\/tool@1\.1\.0/);
    expect((await pkgDoc()).versions.map((v) => v.version)).toEqual(['1.0.0']);
    expect((await announcePrepared(reg, artifacts[1]!)).status).toBe(201);
    expect((await pkgDoc()).latest).toBe('1.1.0');
    expect((await check(reg.store)).clean).toBe(true);
  });

  it('of the whole package blocks its name, takes it out of search and its scope, and says why everywhere', async () => {
    // The distribution comes from the record `npm run deploy` writes.
    await reg.store.put(cdnKey(), encodeJson({ cloudfront_distribution_id: DISTRIBUTION }), { contentType: 'application/json', cacheControl: 'no-store' });
    const before = cloudfront.invalidations.length;
    const r = await operator(['@acme/tool', '--reason', 'Court order 2025-17']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Took down @acme\/tool \(bundle\): removed by the registry operator: Court order 2025-17/);
    expect(r.stdout).toMatch(/Created CloudFront invalidation I\d+ \(InProgress\)/);
    expect(cloudfront.invalidations.slice(before)[0]!.paths).toEqual(expect.arrayContaining(['/v1/bundles/@acme/tool/*', '/v1/bundles/@acme/tool.json']));
    expect(await reg.store.list(versionsPrefix('bundle', TOOL))).toEqual([]);

    const doc = await pkgDoc();
    expect(doc).toMatchObject({ status: 'removed', status_message: 'Court order 2025-17', latest: null, description: '', tools: [] });
    expect(doc.versions.map((v) => [v.version, v.status])).toEqual([
      ['1.1.0', 'removed'],
      ['1.0.0', 'removed'],
    ]);
    expect(await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'tool')).toEqual([]);
    expect((await readJson(reg.store, scopeKey('acme'), ScopeDocumentSchema))!.value.packages).not.toContainEqual({ kind: 'bundle', name: '@acme/tool' });
    expect((await readJson(reg.store, recentKey(), RecentDocumentSchema))!.value.entries.filter((e) => e.name === '@acme/tool')).toEqual([]);
    expect(Buffer.from((await reg.store.get(badgeKey('bundle', TOOL)))!.body).toString()).toContain('removed');
    expect((await check(reg.store)).clean).toBe(true);

    await expectRefused(reg, () => announcePrepared(reg, artifacts[0]!), 410, 'package_removed');
    await expectRefused(reg, () => reg.status('bundle', { name: '@acme/tool', status: 'deprecated', message: 'x' }, OWNER), 410, 'package_removed');
  });

  it('--undo of the package lifts it and the versions removed with it', async () => {
    const r = await operator(['@acme/tool', '--undo', '--json', '--no-invalidate']);
    expect(JSON.parse(r.stdout)).toMatchObject({ action: 'restore', changed: true });
    const doc = await pkgDoc();
    expect(doc.status).toBe('active');
    expect(doc.versions).toEqual([]);
    expect((await announcePrepared(reg, artifacts[0]!)).status).toBe(201);
    expect((await pkgDoc()).latest).toBe('1.0.0');
    expect((await check(reg.store)).clean).toBe(true);
  });

  it("refuses without a reason, an unknown package or version, a range, or without the registry's signing key, writing nothing", async () => {
    const before = await reg.snapshot();
    // The package document it would rewrite must be signed by the registry's current key.
    const keyless = await operator(['@acme/tool@1.0.0', '--reason', 'x', '--no-invalidate'], { SHELF_SIGNING_KEY_FILE: join(reg.dir, 'no-such-key.pem') });
    expect(keyless.stderr).toMatch(/^error\[invalid_config\]/);
    const other = join(reg.dir, `other-key-${randomUUID()}.pem`);
    await loadOrCreateKeyFile(other);
    const wrongKey = await operator(['@acme/tool@1.0.0', '--reason', 'x', '--no-invalidate'], { SHELF_SIGNING_KEY_FILE: other });
    expect(wrongKey.stderr).toMatch(/^error\[invalid_config\].*not the registry's current key/);
    expect((await operator(['@acme/tool@1.0.0'])).code).toBe(2);
    expect((await operator(['@acme/tool@^1', '--reason', 'x'])).code).toBe(2);
    const unknown = await operator(['@acme/nothing', '--reason', 'x']);
    expect(unknown.stderr).toMatch(/^error\[not_found\]/);
    const version = await operator(['@acme/tool@9.9.9', '--reason', 'x', '--no-invalidate']);
    expect(version.stderr).toMatch(/^error\[not_found\]/);
    const bad = await operator(['@acme/tool@1.0.0', '--reason', 'a\u202eb']);
    expect(bad.stderr).toMatch(/^error\[invalid_argument\]/);
    expect(await reg.snapshot()).toEqual(before);
  });
});

describe('a takedown that crashes after each step', () => {
  let base: TestRegistry;
  let clean: FsStore;
  let signer: Signer;
  const now = () => new Date('2025-06-01T00:00:00.000Z');
  const options = { kind: 'bundle' as const, pkg: TOOL, version: '1.1.0' as never, reason: 'Malware', now };
  /** A copy of the announced registry's bucket. */
  const copy = async () => {
    const dir = await mkdtemp(join(base.dir, 'copy-'));
    await cp(join(base.dir, 'bucket'), dir, { recursive: true });
    return new FsStore(dir);
  };
  /** The package's files, and every document the takedown touches. */
  const contents = async (store: ObjectStore) => {
    const out: Record<string, string> = {};
    for (const key of [packageKey('bundle', TOOL), lifecycleKey('bundle', TOOL), recentKey(), badgeKey('bundle', TOOL), scopeKey('acme')]) {
      // Signed by the same key; the signing time and the (randomised) ECDSA bytes differ.
      out[key] = maskSignatures(Buffer.from((await store.get(key))!.body).toString());
    }
    out.files = (await store.list(versionsPrefix('bundle', TOOL))).map((o) => o.key).join('\n');
    out.search = JSON.stringify(await new RegistryClient({ baseUrl: 'http://x.invalid', fetch: storeFetch(store) }).search('bundle', 'tool'));
    return out;
  };

  beforeAll(async () => {
    base = await startTestRegistry();
    for (const a of artifacts) base.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
    for (const a of artifacts) expect((await announcePrepared(base, a)).status).toBe(201);
    clean = await copy();
    signer = await signerOf(clean);
    await takedown(clean, { ...options, signer });
  }, 60_000);

  afterAll(async () => {
    await base?.close();
  });

  it.each(TAKEDOWN_STEPS.map((s) => [s]))('after "%s": running it again, or shelf rebuild, converges to what a clean takedown leaves', async (step) => {
    const crashed = await copy();
    await expect(takedown(crashed, { ...options, signer, afterStep: (s) => void (s === step && thrown(s)) })).rejects.toThrow(`crash after ${step}`);
    if (step !== TAKEDOWN_STEPS.at(-1)) expect((await check(crashed)).clean).toBe(false); // the last step's crash leaves nothing stale
    // Half of the steps repair by running the takedown again, half by a rebuild.
    if (TAKEDOWN_STEPS.indexOf(step) % 2 === 0) await takedown(crashed, { ...options, signer });
    else await rebuild(crashed, { signer });
    expect((await check(crashed)).clean).toBe(true);
    expect(await contents(crashed)).toEqual(await contents(clean));
  });
});

function thrown(step: string): never {
  throw new Error(`crash after ${step}`);
}
