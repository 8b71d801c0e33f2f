/**
 * The status endpoint (`POST /v1/{bundles,skills}/status`) over HTTP, on the filesystem store and
 * on the S3 store: each transition (yank, unyank, deprecate a version or the package,
 * undeprecate) and what every derived file then says — version and package documents, the
 * lifecycle record with its history, the badge, the search display data, the recent list, with
 * `shelf check` clean — and every refusal writing nothing. (The operator's takedown, its undo and
 * the re-announce refused after it run on both stores in `test/registry/takedown.test.ts`.)
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName } from '../../src/core/names.ts';
import { badgeKey, lifecycleKey, packageKey, recentKey, scopeKey, usedTokensPrefix, versionKey } from '../../src/core/paths.ts';
import { LifecycleRecordSchema, PackageDocumentSchema, RecentDocumentSchema, ScopeDocumentSchema, VersionDocumentSchema } from '../../src/core/schemas.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { check } from '../../src/registry/check.ts';
import { readJson } from '../../src/store/json-documents.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { expectRefused } from '../attack/helpers.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';

const ECHO = parsePackageName('@acme/echo');
const OWNER = claimsFor('acme/echo-mcp');

let packer: TestRegistry;
let s3: TestS3Server;
/** 1.0.0, 1.1.0, 1.2.0 (linux-x64) announced first; 1.2.0 (darwin-arm64) and the skill. */
let artifacts: PreparedArtifact[];
let v120linux: PreparedArtifact;
let v120darwin: PreparedArtifact;
/** The registry of the store under test. */
let reg: TestRegistry;

const pkgDoc = async () => (await readJson(reg.store, packageKey('bundle', ECHO), PackageDocumentSchema))!.value;
const versionDoc = async (v: string) => (await readJson(reg.store, versionKey('bundle', ECHO, v as never), VersionDocumentSchema))?.value;
const lifecycle = async () => (await readJson(reg.store, lifecycleKey('bundle', ECHO), LifecycleRecordSchema))?.value;
const entry = async (v: string) => (await pkgDoc()).versions.find((e) => e.version === v)!;
/** The bucket without the used-token records (each request brings a token of its own). */
const publicSnapshot = async () => (await reg.snapshot()).filter((line) => !line.startsWith(usedTokensPrefix()));

beforeAll(async () => {
  [packer, s3] = await Promise.all([startTestRegistry(), startS3Server()]);
  artifacts = await Promise.all([
    prepareBundle(packer, { version: '1.0.0', upload: false }),
    prepareBundle(packer, { version: '1.1.0', upload: false }),
    prepareBundle(packer, { version: '1.2.0', os: 'linux', arch: 'x64', upload: false }),
    prepareBundle(packer, { version: '1.2.0', os: 'darwin', arch: 'arm64', upload: false }),
    prepareSkill(packer),
  ]);
  v120linux = artifacts[2]!;
  v120darwin = artifacts[3]!;
}, 120_000);

afterAll(async () => {
  await Promise.all([packer?.close(), s3?.close()]);
});

describe.each([
  ['filesystem store', () => undefined],
  ['S3 store', () => s3.makeStore(`status-${randomUUID()}/`)],
] as Array<[string, () => S3Store | undefined]>)('on the %s', (_label, makeStore) => {
  beforeAll(async () => {
    const store = makeStore();
    reg = await startTestRegistry(store ? { store } : {});
    for (const a of artifacts) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
    for (const p of [artifacts[0]!, artifacts[1]!, artifacts[2]!, artifacts[4]!]) expect((await announcePrepared(reg, p)).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await reg?.close();
  });

  describe('yank', () => {
    it('marks the version in every document, moves latest off it, and records who did it', async () => {
      expect((await pkgDoc()).latest).toBe('1.2.0');
      const res = await reg.status('bundle', { name: '@acme/echo', version: '1.2.0', status: 'yanked', message: 'Corrupts files on Windows; use 1.1.0.' }, OWNER);
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ package: '@acme/echo', version: '1.2.0', status: 'yanked', message: 'Corrupts files on Windows; use 1.1.0.', changed: true });

      const doc = await pkgDoc();
      expect(doc.latest).toBe('1.1.0');
      expect(await entry('1.2.0')).toMatchObject({ status: 'yanked', status_message: 'Corrupts files on Windows; use 1.1.0.', platforms: [{ os: 'linux', arch: 'x64' }] });
      expect((await entry('1.1.0')).status).toBe('active');
      expect(doc.status).toBe('active');
      expect(await versionDoc('1.2.0')).toMatchObject({ status: 'yanked', status_message: 'Corrupts files on Windows; use 1.1.0.' });
      expect((await versionDoc('1.2.0'))!.status_changed_at).toBe((await entry('1.2.0')).status_changed_at);
      expect((await versionDoc('1.1.0'))!.status).toBe('active');

      const record = (await lifecycle())!;
      expect(record.versions).toEqual([expect.objectContaining({ version: '1.2.0', status: 'yanked' })]);
      const event = record.history.at(-1)!;
      expect(event).toMatchObject({ action: 'status', version: '1.2.0', status: 'yanked', message: 'Corrupts files on Windows; use 1.1.0.' });
      expect(event.provenance).toMatchObject({ repository: 'acme/echo-mcp', repository_id: OWNER.repository_id, owner_id: OWNER.repository_owner_id, verified: true });

      const recent = (await readJson(reg.store, recentKey(), RecentDocumentSchema))!.value.entries;
      expect(recent.find((e) => e.name === '@acme/echo' && e.version === '1.2.0')!.status).toBe('yanked');
      expect(recent.find((e) => e.name === '@acme/echo' && e.version === '1.1.0')!.status).toBeUndefined();

      // Search shows the package with a version a range would choose, never the yanked one.
      const client = new RegistryClient({ baseUrl: reg.url });
      const [hit] = await client.search('bundle', 'echo');
      expect(hit).toMatchObject({ name: '@acme/echo', latest: '1.1.0', newest: '1.1.0' });
      expect(hit!.status).toBeUndefined();
      expect(Buffer.from((await reg.store.get(badgeKey('bundle', ECHO)))!.body).toString()).toContain('v1.1.0');
      expect((await check(reg.store)).clean).toBe(true);
    });

    it('again with the same message changes nothing: 200 with changed false, derived files untouched', async () => {
      const before = await publicSnapshot();
      const res = await reg.status('bundle', { name: '@acme/echo', version: '1.2.0', status: 'yanked', message: 'Corrupts files on Windows; use 1.1.0.' }, OWNER);
      expect(res.status).toBe(200);
      expect(res.json.changed).toBe(false);
      expect(await publicSnapshot()).toEqual(before);
    });

    it('keeps the version downloadable, and refuses a new platform for it (409 version_yanked) while the same platform stays idempotent', async () => {
      const artifact = await reg.store.get((await versionDoc('1.2.0'))!.artifacts[0]!.path);
      expect(artifact).not.toBeNull();
      await expectRefused(reg, () => announcePrepared(reg, v120darwin), 409, 'version_yanked');
      const again = await announcePrepared(reg, v120linux);
      expect(again.status).toBe(200);
      expect(again.json.status).toBe('unchanged');
    });

    it('unyank (active) puts it back as latest, clears the message and keeps the history', async () => {
      const res = await reg.status('bundle', { name: '@acme/echo', version: '1.2.0', status: 'active' }, OWNER);
      expect(res.json).toEqual({ package: '@acme/echo', version: '1.2.0', status: 'active', changed: true });
      expect((await pkgDoc()).latest).toBe('1.2.0');
      const e = await entry('1.2.0');
      expect(e.status).toBe('active');
      expect(e.status_message).toBeUndefined();
      expect(e.status_changed_at).toBeDefined();
      expect((await versionDoc('1.2.0'))!.status).toBe('active');
      expect((await lifecycle())!.history.map((h) => h.status)).toEqual(['yanked', 'active']);
      expect((await check(reg.store)).clean).toBe(true);
    });
  });

  describe('deprecate', () => {
    it('a version: resolves as before (still latest), marked with its message everywhere', async () => {
      const res = await reg.status('bundle', { name: '@acme/echo', version: '1.2.0', status: 'deprecated', message: 'Use 2.x.' }, OWNER);
      expect(res.json.changed).toBe(true);
      expect((await pkgDoc()).latest).toBe('1.2.0');
      expect(await entry('1.2.0')).toMatchObject({ status: 'deprecated', status_message: 'Use 2.x.' });
      expect(await versionDoc('1.2.0')).toMatchObject({ status: 'deprecated', status_message: 'Use 2.x.' });
      const [hit] = await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'echo');
      expect(hit).toMatchObject({ latest: '1.2.0', status: 'deprecated', status_message: 'Use 2.x.' });
      expect((await check(reg.store)).clean).toBe(true);
      // Back to active for the package-level scenario.
      expect((await reg.status('bundle', { name: '@acme/echo', version: '1.2.0', status: 'active' }, OWNER)).json.changed).toBe(true);
    });

    it('the package as a whole: the package document, search, the recent list and the badge say so', async () => {
      const res = await reg.status('bundle', { name: '@acme/echo', status: 'deprecated', message: 'Moved to @acme/echo-v2.' }, OWNER);
      expect(res.json).toEqual({ package: '@acme/echo', status: 'deprecated', message: 'Moved to @acme/echo-v2.', changed: true });
      const doc = await pkgDoc();
      expect(doc).toMatchObject({ status: 'deprecated', status_message: 'Moved to @acme/echo-v2.', latest: '1.2.0' });
      // The versions keep their own status; readers combine the two (core/lifecycle.ts).
      expect((await entry('1.2.0')).status).toBe('active');
      const [hit] = await new RegistryClient({ baseUrl: reg.url }).search('bundle', 'echo');
      expect(hit).toMatchObject({ status: 'deprecated', status_message: 'Moved to @acme/echo-v2.' });
      const recent = (await readJson(reg.store, recentKey(), RecentDocumentSchema))!.value.entries.filter((e) => e.name === '@acme/echo');
      expect(recent.map((e) => e.status)).toEqual(['deprecated', 'deprecated', 'deprecated']);
      const badge = Buffer.from((await reg.store.get(badgeKey('bundle', ECHO)))!.body).toString();
      expect(badge).toContain('v1.2.0 deprecated');
      expect((await readJson(reg.store, scopeKey('acme'), ScopeDocumentSchema))!.value.packages).toContainEqual({ kind: 'bundle', name: '@acme/echo' });
      expect((await check(reg.store)).clean).toBe(true);
    });

    it('undeprecate (active) clears it', async () => {
      const res = await reg.status('bundle', { name: '@acme/echo', status: 'active' }, OWNER);
      expect(res.json.changed).toBe(true);
      const doc = await pkgDoc();
      expect(doc.status).toBe('active');
      expect(doc.status_message).toBeUndefined();
      const badge = Buffer.from((await reg.store.get(badgeKey('bundle', ECHO)))!.body).toString();
      expect(badge).not.toContain('deprecated');
      expect((await check(reg.store)).clean).toBe(true);
    });

    it('works for skills at /v1/skills/status', async () => {
      const res = await reg.status('skill', { name: '@acme/release-notes', version: '1.0.0', status: 'deprecated', message: 'Old.' }, claimsFor('acme/skills'));
      expect(res.status).toBe(200);
      const doc = (await readJson(reg.store, packageKey('skill', parsePackageName('@acme/release-notes')), PackageDocumentSchema))!.value;
      expect(doc.versions[0]).toMatchObject({ version: '1.0.0', status: 'deprecated', status_message: 'Old.' });
      expect((await check(reg.store)).clean).toBe(true);
    });
  });

  describe('refused, writing nothing', () => {
    const body = { name: '@acme/echo', version: '1.1.0', status: 'yanked' };

    it('a token of another owner (403 scope_mismatch)', async () => {
      await expectRefused(reg, () => reg.status('bundle', body, claimsFor('mallory/echo-mcp')), 403, 'scope_mismatch');
    });

    it('a token of another repository of the same owner (403 package_repository_mismatch)', async () => {
      await expectRefused(reg, () => reg.status('bundle', body, claimsFor('acme/other-repo')), 403, 'package_repository_mismatch');
    });

    it('a token of a re-registered owner with another id (403 scope_owner_mismatch)', async () => {
      await expectRefused(reg, () => reg.status('bundle', body, claimsFor('acme/echo-mcp', { owner_id: '999' })), 403, 'scope_owner_mismatch');
    });

    it('an expired token (401 token_expired), and none at all (401 missing_token)', async () => {
      await expectRefused(reg, () => reg.status('bundle', body, OWNER, { expiresIn: -120 }), 401, 'token_expired');
      await expectRefused(reg, () => reg.post('/v1/bundles/status', JSON.stringify(body), { 'content-type': 'application/json' }), 401, 'missing_token');
    });

    it('an unknown package or version (404 not_found)', async () => {
      await expectRefused(reg, () => reg.status('bundle', { ...body, name: '@acme/nothing' }, claimsFor('acme/nothing')), 404, 'not_found');
      await expectRefused(reg, () => reg.status('bundle', { ...body, version: '9.9.9' }, OWNER), 404, 'not_found');
      // The skill of the same name is another package.
      await expectRefused(reg, () => reg.status('skill', body, OWNER), 404, 'not_found');
    });

    it.each([
      ['a yank without a version', { name: '@acme/echo', status: 'yanked' }],
      ['an unknown status', { ...body, status: 'removed' }],
      ['a message over 500 characters', { ...body, message: 'x'.repeat(501) }],
      ['an empty message', { ...body, message: '' }],
      ['a message with a control character', { ...body, message: 'a\u0000b' }],
      ['a message with a bidirectional override', { ...body, message: 'evil \u202e txt' }],
      ['a message that is not a string', { ...body, message: 42 }],
      ['no status', { name: '@acme/echo', version: '1.1.0' }],
    ])('%s (400 invalid_body)', async (_label, bad) => {
      await expectRefused(reg, () => reg.status('bundle', bad, OWNER), 400, 'invalid_body');
    });

    it('a bad name or version (400 invalid_name, invalid_version)', async () => {
      await expectRefused(reg, () => reg.status('bundle', { ...body, name: 'acme/echo' }, OWNER), 400, 'invalid_name');
      await expectRefused(reg, () => reg.status('bundle', { ...body, version: 'v1.1.0' }, OWNER), 400, 'invalid_version');
    });

    it('a token already used for an announce, or for another status change (401 token_replayed); its identical retry is idempotent', async () => {
      const mint = () => reg.github.mint(OWNER);
      const post = (path: string, b: unknown, token: string) =>
        reg.post(path, JSON.stringify(b), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      const announceToken = await mint();
      expect((await post('/v1/bundles/announce', v120linux.body, announceToken)).status).toBe(200);
      await expectRefused(reg, () => post('/v1/bundles/status', body, announceToken), 401, 'token_replayed');

      const statusToken = await mint();
      const first = await post('/v1/bundles/status', { ...body, status: 'deprecated' }, statusToken);
      expect(first.json.changed).toBe(true);
      const retry = await post('/v1/bundles/status', { ...body, status: 'deprecated' }, statusToken);
      expect(retry.status).toBe(200);
      expect(retry.json.changed).toBe(false);
      await expectRefused(reg, () => post('/v1/bundles/status', { ...body, status: 'active' }, statusToken), 401, 'token_replayed');
      await expectRefused(reg, () => post('/v1/bundles/status', { ...body, status: 'deprecated', message: 'other' }, statusToken), 401, 'token_replayed');
      await expectRefused(reg, () => post('/v1/bundles/announce', v120linux.body, statusToken), 401, 'token_replayed');
      expect((await reg.status('bundle', { ...body, status: 'active' }, OWNER)).json.changed).toBe(true);
    });
  });
});
