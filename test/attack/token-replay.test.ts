/**
 * Token replay: one token, one announce. A GitHub Actions token names a repository, not an
 * artifact, and stays valid for minutes; the registry binds it to the first announce it is used
 * for (kind, package, version, platform, sha256) with a create-only record in its private area.
 * An identical retry stays idempotent; any other use is `401 token_replayed` and writes nothing.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepUsedTokens, USED_TOKEN_GRACE_SECONDS } from '../../src/announce/token-use.ts';
import { MAX_TOKEN_LIFETIME_SECONDS } from '../../src/announce/verify-token.ts';
import { usedTokenKey, usedTokensPrefix } from '../../src/core/paths.ts';
import { claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { bearer, expectRefused } from './helpers.ts';

let reg: TestRegistry;
let versions = 0;

beforeAll(async () => {
  reg = await startTestRegistry();
});
afterAll(() => reg.close());

/** A fresh version of @acme/echo in its release, for a platform. */
const fresh = (os: 'any' | 'linux' | 'darwin' = 'any', version = `4.0.${versions++}`): Promise<PreparedArtifact> =>
  prepareBundle(reg, { version, os, arch: os === 'any' ? 'any' : 'x64' });
const post = (p: PreparedArtifact, token: string, kind: 'bundle' | 'skill' = 'bundle') => reg.post(`/v1/${kind}s/announce`, JSON.stringify(p.body), bearer(token));
const mint = (p: PreparedArtifact) => reg.github.mint(claimsFor(p.repository));
const usedTokens = async () => (await reg.store.list(usedTokensPrefix())).map((o) => o.key);

describe('one token, one announce', () => {
  it('answers an identical retry with the same token idempotently (a CI retry)', async () => {
    const v = await fresh();
    const token = await mint(v);
    expect((await post(v, token)).status).toBe(201);
    const again = await post(v, token);
    expect(again.status, JSON.stringify(again.json)).toBe(200);
    expect(again.json.status).toBe('unchanged');
  });

  it('refuses a token reused for another version of the same package', async () => {
    const first = await fresh();
    const token = await mint(first);
    expect((await post(first, token)).status).toBe(201);
    const second = await fresh();
    const res = await expectRefused(reg, () => post(second, token), 401, 'token_replayed');
    expect(res.json.error.details.used_for).toMatchObject({ package: '@acme/echo', version: first.body.version });
  });

  it('refuses a token reused for another platform of the same version', async () => {
    const version = `4.0.${versions++}`;
    const linux = await fresh('linux', version);
    const darwin = await fresh('darwin', version);
    const token = await mint(linux);
    expect((await post(linux, token)).status).toBe(201);
    await expectRefused(reg, () => post(darwin, token), 401, 'token_replayed');
    // The platform is published with a token of its own.
    expect((await post(darwin, await mint(darwin))).status).toBe(201);
  });

  it('refuses a token reused for another package of the same repository', async () => {
    const first = await fresh();
    const token = await mint(first);
    expect((await post(first, token)).status).toBe(201);
    const sibling = await prepareBundle(reg, { name: '@acme/echo-two', version: '1.0.0', repository: first.repository });
    await expectRefused(reg, () => post(sibling, token), 401, 'token_replayed');
  });

  it('refuses a token reused after an unchanged retry for something new', async () => {
    const v = await fresh();
    expect((await post(v, await mint(v))).status).toBe(201);
    const token = await mint(v);
    expect((await post(v, token)).status).toBe(200); // binds this token to that announce
    await expectRefused(reg, async () => post(await fresh(), token), 401, 'token_replayed');
  });

  it('does not use up a token whose announce was refused', async () => {
    const missing = await prepareBundle(reg, { version: `4.0.${versions++}`, upload: false });
    const token = await mint(missing);
    await expectRefused(reg, () => post(missing, token), 422, 'asset_not_found');
    const other = await fresh();
    expect((await post(other, token)).status).toBe(201);
  });

  it('lets exactly one of two concurrent announces with one token through', async () => {
    const version = `4.0.${versions++}`;
    const [linux, darwin] = [await fresh('linux', version), await fresh('darwin', version)];
    const token = await mint(linux);
    const answers = await Promise.all([post(linux, token), post(darwin, token)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401]);
    expect(answers.find((a) => a.status === 401)!.json.error.code).toBe('token_replayed');
  });
});

describe('the used-token records', () => {
  it('are kept in the private area, which the server never serves', async () => {
    const v = await fresh();
    const before = new Set(await usedTokens());
    expect((await post(v, await mint(v))).status).toBe(201);
    const [key] = (await usedTokens()).filter((k) => !before.has(k));
    expect(key).toMatch(/^private\/used-tokens\/\d{12}-[0-9a-f]{64}\.json$/);
    const record = JSON.parse(new TextDecoder().decode((await reg.store.get(key!))!.body));
    expect(record.announce).toEqual({ kind: 'bundle', package: '@acme/echo', version: v.body.version, os: 'any', arch: 'any', sha256: v.sha256 });
    for (const path of [`/${key}`, '/private/', `/${usedTokensPrefix()}`]) {
      const res = await fetch(`${reg.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain(v.sha256);
    }
  });

  it('are deleted once their token has expired (plus the grace period), and live ones kept', async () => {
    const now = Math.floor(Date.now() / 1000);
    const hash = (s: string) => createHash('sha256').update(s).digest('hex');
    const expired = usedTokenKey(now - USED_TOKEN_GRACE_SECONDS - 10, hash('old'));
    const graced = usedTokenKey(now - 10, hash('recent'));
    const live = usedTokenKey(now + 300, hash('live'));
    const opts = { contentType: 'application/json', cacheControl: 'no-store', ifNoneMatch: '*' as const };
    for (const key of [expired, graced, live]) await reg.store.put(key, new TextEncoder().encode('{}'), opts);
    const deleted = await sweepUsedTokens(reg.store, new Date(now * 1000));
    expect(deleted).toBeGreaterThanOrEqual(1);
    const left = await usedTokens();
    expect(left).not.toContain(expired);
    expect(left).toEqual(expect.arrayContaining([graced, live]));
  });
});

describe('tokens the rule needs', () => {
  it('refuses a token without a jti', async () => {
    const v = await fresh();
    await expectRefused(reg, async () => post(v, await reg.github.mint(claimsFor(v.repository), { omit: ['jti'] })), 401, 'token_claims_missing');
  });

  it('refuses a token valid for longer than the records are kept', async () => {
    const v = await fresh();
    const token = await reg.github.mint(claimsFor(v.repository), { expiresIn: MAX_TOKEN_LIFETIME_SECONDS + 60 });
    const res = await expectRefused(reg, () => post(v, token), 401, 'invalid_token');
    expect(res.json.error.message).toContain(String(MAX_TOKEN_LIFETIME_SECONDS));
  });
});
