/**
 * Announce rejections over real HTTP: each scenario asserts the status, the stable error code,
 * and that the bucket is byte-for-byte unchanged afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  announcePrepared,
  claimsFor,
  prepareBundle,
  prepareSkill,
  startTestRegistry,
  type PreparedArtifact,
  type TestRegistry,
} from '../helpers/test-registry.ts';

let reg: TestRegistry;
let echo: PreparedArtifact;

beforeAll(async () => {
  reg = await startTestRegistry();
  // One accepted publish first, so the pins of @acme and @acme/echo exist.
  echo = await prepareBundle(reg, {});
  const first = await announcePrepared(reg, echo);
  expect(first.status).toBe(201);
});
afterAll(() => reg.close());

/** Runs a request and asserts it is refused with status/code and writes nothing. */
async function expectRefused(run: () => Promise<{ status: number; json: any }>, status: number, code: string) {
  const before = await reg.snapshot();
  const res = await run();
  expect(res.json?.error?.code, JSON.stringify(res.json)).toBe(code);
  expect(res.status).toBe(status);
  expect(typeof res.json.error.message).toBe('string');
  expect(await reg.snapshot()).toEqual(before);
  return res;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

describe('tokens', () => {
  it('refuses an announce without a token', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.post('/v1/bundles/announce', JSON.stringify(v2.body), { 'content-type': 'application/json' }), 401, 'missing_token');
  });

  it('refuses a garbled token', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.post('/v1/bundles/announce', JSON.stringify(v2.body), bearer('not.a.jwt')), 401, 'invalid_token');
  });

  it('refuses an expired token', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => announcePrepared(reg, v2, {}, { expiresIn: -600 }), 401, 'token_expired');
  });

  it('refuses a token from another issuer', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => announcePrepared(reg, v2, {}, { issuer: 'https://token.actions.githubusercontent.com' }), 401, 'invalid_token');
  });

  it('refuses a token minted for another audience', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => announcePrepared(reg, v2, {}, { audience: 'https://mpak.dev' }), 401, 'invalid_token');
  });

  it('refuses a token signed by a key that is not in the JWKS', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => announcePrepared(reg, v2, {}, { foreignKey: true }), 401, 'invalid_token');
  });

  it('refuses a token without repository_owner_id', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => announcePrepared(reg, v2, {}, { omit: ['repository_owner_id'] }), 401, 'token_claims_missing');
  });

  it('answers 503 and writes nothing when the JWKS endpoint is down', async () => {
    // Its own registry: jose waits 30 s before refetching a JWKS, which would slow the other tests.
    const own = await startTestRegistry();
    try {
      own.github.jwksMode = 'down';
      const v = await prepareBundle(own, {});
      const before = await own.snapshot();
      const res = await announcePrepared(own, v);
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe('upstream_unavailable');
      expect(await own.snapshot()).toEqual(before);
    } finally {
      await own.close();
    }
  });
});

describe('scope and pins', () => {
  it('refuses a scope that is not the token owner', async () => {
    const other = await prepareBundle(reg, { name: '@globex/echo', version: '1.0.0', repository: 'acme/echo-mcp' });
    await expectRefused(() => reg.announce('bundle', other.body, claimsFor('acme/echo-mcp')), 403, 'scope_mismatch');
  });

  it('accepts an owner that differs from the scope only by case', async () => {
    const v = await prepareBundle(reg, { version: '1.3.0' });
    const res = await reg.announce('bundle', v.body, { ...claimsFor('acme/echo-mcp'), repository_owner: 'ACME' });
    expect(res.status).toBe(201);
  });

  it('refuses a pinned scope announced from another owner id (a re-registered account)', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => announcePrepared(reg, v2, { owner_id: '999999' }), 403, 'scope_owner_mismatch');
  });

  it('refuses a pinned package announced from another repository of the same owner', async () => {
    const v2 = await prepareBundle(reg, { version: '1.2.1', repository: 'acme/fork-of-echo' });
    await expectRefused(() => announcePrepared(reg, v2), 403, 'package_repository_mismatch');
  });
});

describe('body, name, version and manifest', () => {
  it('refuses a body that is not JSON', async () => {
    const token = await reg.github.mint(claimsFor('acme/echo-mcp'));
    await expectRefused(() => reg.post('/v1/bundles/announce', '{"name":', bearer(token)), 400, 'invalid_json');
  });

  it('refuses a body without Content-Type: application/json', async () => {
    const token = await reg.github.mint(claimsFor('acme/echo-mcp'));
    await expectRefused(
      () => reg.post('/v1/bundles/announce', JSON.stringify(echo.body), { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }),
      400,
      'unsupported_media_type',
    );
  });

  it('refuses a body over the size limit', async () => {
    const token = await reg.github.mint(claimsFor('acme/echo-mcp'));
    const huge = JSON.stringify({ ...echo.body, padding: 'x'.repeat(1100 * 1024) });
    await expectRefused(() => reg.post('/v1/bundles/announce', huge, bearer(token)), 413, 'body_too_large');
  });

  it('refuses a body missing the artifact', async () => {
    const { artifact: _, ...rest } = echo.body;
    await expectRefused(() => reg.announce('bundle', rest, claimsFor('acme/echo-mcp')), 400, 'invalid_body');
  });

  it('refuses a non-semver version', async () => {
    const v = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.announce('bundle', { ...v.body, version: '1.2' }, claimsFor(v.repository)), 400, 'invalid_version');
  });

  it('refuses a version with a leading v', async () => {
    const v = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.announce('bundle', { ...v.body, version: 'v1.2.1' }, claimsFor(v.repository)), 400, 'invalid_version');
  });

  it('refuses an invalid package name', async () => {
    const v = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.announce('bundle', { ...v.body, name: '@acme/../echo' }, claimsFor(v.repository)), 400, 'invalid_name');
  });

  it('refuses a name that does not match the manifest', async () => {
    const v = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.announce('bundle', { ...v.body, name: '@acme/other' }, claimsFor(v.repository)), 400, 'manifest_mismatch');
  });

  it('refuses a version that does not match the manifest', async () => {
    const v = await prepareBundle(reg, { version: '1.2.1' });
    await expectRefused(() => reg.announce('bundle', { ...v.body, version: '1.2.2' }, claimsFor(v.repository)), 400, 'manifest_mismatch');
  });

  it('refuses a manifest that fails the official mcpb schema', async () => {
    const v = await prepareBundle(reg, { version: '1.2.1' });
    const manifest = { ...v.body.manifest, server: { type: 'cobol' } };
    await expectRefused(() => reg.announce('bundle', { ...v.body, manifest }, claimsFor(v.repository)), 400, 'invalid_manifest');
  });

  it('refuses skill front matter whose name is not the package name', async () => {
    const s = await prepareSkill(reg, { version: '0.9.0' });
    const skill = { ...s.body.skill, name: 'other-skill' };
    await expectRefused(() => reg.announce('skill', { ...s.body, skill }, claimsFor(s.repository)), 400, 'manifest_mismatch');
  });

  it('refuses prototype-pollution keys', async () => {
    const token = await reg.github.mint(claimsFor('acme/echo-mcp'));
    const body = JSON.stringify(echo.body).replace('"manifest":{', '"manifest":{"__proto__":{"polluted":true},');
    await expectRefused(() => reg.post('/v1/bundles/announce', body, bearer(token)), 400, 'invalid_body');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('answers 404 for an unknown route', async () => {
    await expectRefused(() => reg.post('/v1/nothing/announce', '{}', { 'content-type': 'application/json' }), 404, 'route_not_found');
  });
});

describe('release assets', () => {
  it('says "not found in release" when the asset is not in the release yet', async () => {
    const v = await prepareBundle(reg, { version: '1.4.0', upload: false });
    const res = await expectRefused(() => announcePrepared(reg, v), 422, 'asset_not_found');
    expect(res.json.error.message).toContain('not found in release');
  });

  it('says "not found in release" when the release does not exist', async () => {
    const v = await prepareBundle(reg, { version: '1.4.1', upload: false });
    const res = await expectRefused(() => announcePrepared(reg, v), 422, 'asset_not_found');
    expect(res.json.error.message).toContain('not found in release');
  });

  it('refuses an asset whose sha256 differs from the announce', async () => {
    const v = await prepareBundle(reg, { version: '1.4.2' });
    const body = { ...v.body, artifact: { ...v.body.artifact, sha256: 'f'.repeat(64) } };
    await expectRefused(() => reg.announce('bundle', body, claimsFor(v.repository)), 422, 'asset_digest_mismatch');
  });

  it('refuses an asset whose size differs from the announce', async () => {
    const v = await prepareBundle(reg, { version: '1.4.3' });
    const body = { ...v.body, artifact: { ...v.body.artifact, size: v.size + 1 } };
    await expectRefused(() => reg.announce('bundle', body, claimsFor(v.repository)), 422, 'asset_size_mismatch');
  });

  it('refuses an artifact whose own manifest names another version than the announce', async () => {
    // The repository released a 1.4.5 bundle; announcing those bytes as 1.4.6 must fail.
    const real = await prepareBundle(reg, { version: '1.4.5' });
    const tag = 'v1.4.6';
    reg.github.addAsset(real.repository, tag, real.filename, { bytes: real.bytes });
    const body = { ...real.body, version: '1.4.6', release_tag: tag, manifest: { ...real.body.manifest, version: '1.4.6' } };
    const res = await expectRefused(() => reg.announce('bundle', body, claimsFor(real.repository)), 422, 'asset_metadata_mismatch');
    expect(res.json.error.message).toContain('1.4.5');
  });

  it('refuses an asset that redirects to an untrusted host', async () => {
    const v = await prepareBundle(reg, { version: '1.4.4', upload: false });
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, redirectTo: 'http://127.0.0.2:9/evil.mcpb' });
    await expectRefused(() => announcePrepared(reg, v), 422, 'asset_untrusted_host');
  });
});

describe('immutability and idempotency', () => {
  it('answers 200 unchanged when the same artifact is announced again, recording only the new token', async () => {
    const before = await reg.snapshot();
    const res = await announcePrepared(reg, echo);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ package: '@acme/echo', version: '1.2.0', status: 'unchanged', total_artifacts: 1 });
    const after = await reg.snapshot();
    // The registry's files are untouched; the token is bound to this announce in the private area.
    expect(after.filter((k) => !k.startsWith('private/'))).toEqual(before.filter((k) => !k.startsWith('private/')));
    expect(after.filter((k) => !before.includes(k))).toEqual([expect.stringMatching(/^private\/used-tokens\//)]);
  });

  it('refuses the same version and platform with different bytes (409)', async () => {
    // Same name and version, repacked: different bytes (the packer stamps the time), uploaded under another file name.
    const again = await prepareBundle(reg, { version: '1.2.0', upload: false });
    const filename = 'echo-1.2.0-rebuilt.mcpb';
    reg.github.addAsset(again.repository, again.tag, filename, { bytes: new Uint8Array([...again.bytes, 0]) });
    const body = { ...again.body, artifact: { ...again.body.artifact, filename, size: again.size + 1, sha256: 'e'.repeat(64) } };
    await expectRefused(() => reg.announce('bundle', body, claimsFor(again.repository)), 409, 'artifact_exists');
  });
});
