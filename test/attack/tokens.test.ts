/**
 * Hostile and broken tokens, over real HTTP: every one is refused with a 401 (or a 503 when the
 * issuer's keys cannot be fetched) and a stable code, and the bucket is unchanged. The body is a
 * valid announce whose asset is in the release, so the token is the only thing wrong (the last
 * test publishes it with a good token to prove that).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier, MAX_JWKS_BYTES, MAX_TOKEN_LENGTH } from '../../src/announce/verify-token.ts';
import { GITHUB_ISSUER } from '../../src/config.ts';
import { AUDIENCE, announcePrepared, claimsFor, prepareBundle, type PreparedArtifact } from '../helpers/test-registry.ts';
import type { Claims, MintOptions } from '../fakes/fake-github.ts';
import {
  bearer,
  expectRefused,
  hs256Token,
  payloadFor,
  publicKeySecrets,
  startSwappableRegistry,
  unsignedToken,
  withPayload,
  type SwappableRegistry,
} from './helpers.ts';

let reg: SwappableRegistry;
let next: PreparedArtifact;
let claims: Claims;

beforeAll(async () => {
  reg = await startSwappableRegistry();
  const first = await prepareBundle(reg, {});
  expect((await announcePrepared(reg, first)).status).toBe(201);
  next = await prepareBundle(reg, { version: '1.2.1' });
  claims = claimsFor(next.repository);
});
afterAll(() => reg.close());

/** POSTs the prepared announce with this exact token. */
const withToken = (token: string) => reg.post('/v1/bundles/announce', JSON.stringify(next.body), bearer(token));
/** Mints a token for the prepared announce and POSTs it. */
const minted = async (extraClaims: Record<string, unknown> = {}, mint: MintOptions = {}) =>
  withToken(await reg.github.mint({ ...claims, ...extraClaims }, mint));

/** A loopback server that records every request and answers 200: a host the registry must never contact. */
async function startRecordingServer(): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('signatures and algorithms', () => {
  it('refuses an unsigned token (alg none)', async () => {
    await expectRefused(reg, () => withToken(unsignedToken(payloadFor(reg, claims))), 401, 'invalid_token');
    await expectRefused(reg, () => withToken(unsignedToken(payloadFor(reg, claims), reg.github.jwks()[0]!.kid)), 401, 'invalid_token');
  });

  it.each([0, 1, 2, 3])('refuses an HS256 token keyed with the issuer public key (form %i)', async (form) => {
    const jwk = reg.github.jwks()[0]!;
    const [, secret] = publicKeySecrets(jwk)[form]!;
    await expectRefused(reg, () => withToken(hs256Token(payloadFor(reg, claims), secret, jwk.kid)), 401, 'invalid_token');
  });

  it('refuses a token signed by a key that is not in the JWKS, even under a known kid', async () => {
    await expectRefused(reg, () => minted({}, { foreignKey: true }), 401, 'invalid_token');
  });

  it('refuses a token whose kid is not in the JWKS', async () => {
    const res = await expectRefused(reg, () => minted({}, { kid: 'no-such-key' }), 401, 'invalid_token');
    expect(res.json.error.message).toMatch(/key/i);
  });

  it.each([
    ['repository', 'acme/other-repo'],
    ['repository_owner', 'globex'],
    ['repository_owner_id', '1'],
    ['event_name', 'push'],
  ])('refuses a signed token whose %s was tampered with', async (claim, value) => {
    const token = await reg.github.mint(claims);
    await expectRefused(reg, () => withToken(withPayload(token, (p) => ({ ...p, [claim]: value }))), 401, 'invalid_token');
  });

  it('refuses a token whose signature was cut off or swapped for another token’s', async () => {
    const token = await reg.github.mint(claims);
    const other = await reg.github.mint(claimsFor('acme/another'));
    const [h, p] = token.split('.');
    await expectRefused(reg, () => withToken(`${h}.${p}.`), 401, 'invalid_token');
    await expectRefused(reg, () => withToken(`${h}.${p}.${other.split('.')[2]}`), 401, 'invalid_token');
  });
});

describe('time claims', () => {
  it('refuses an expired token', async () => {
    await expectRefused(reg, () => minted({}, { expiresIn: -120 }), 401, 'token_expired');
  });

  it('refuses a token that is not valid yet (nbf in the future)', async () => {
    const res = await expectRefused(reg, () => minted({}, { notBefore: 600 }), 401, 'invalid_token');
    expect(res.json.error.message).toContain('nbf');
  });

  it('refuses a token issued far in the future', async () => {
    const res = await expectRefused(reg, () => minted({}, { issuedIn: 3600, expiresIn: 7200 }), 401, 'invalid_token');
    expect(res.json.error.message).toContain('future');
  });

  it.each(['exp', 'iat', 'iss', 'aud'])('refuses a token without %s', async (claim) => {
    await expectRefused(reg, () => minted({}, { omit: [claim] }), 401, 'invalid_token');
  });
});

describe('issuer and audience', () => {
  it.each(['.evil.com', '/x', '/', 'x'])('refuses the fake issuer with the suffix %j', async (suffix) => {
    await expectRefused(reg, () => minted({}, { issuer: `${reg.github.issuer}${suffix}` }), 401, 'invalid_token');
  });

  it("refuses GitHub's issuer with a suffix, signed by a trusted key", async () => {
    // A verifier configured exactly as production (GitHub's issuer), with the fake's keys.
    const verify = reg.useVerifier({ issuer: GITHUB_ISSUER });
    try {
      for (const issuer of [`${GITHUB_ISSUER}.evil.com`, `${GITHUB_ISSUER}/x`, `${GITHUB_ISSUER}/`, 'https://token.actions.githubusercontent.co']) {
        const res = await expectRefused(reg, () => minted({}, { issuer }), 401, 'invalid_token');
        expect(res.json.error.message).toContain('iss');
      }
      // Control: the exact issuer verifies with the same keys.
      await expect(verify(await reg.github.mint(claims, { issuer: GITHUB_ISSUER }))).resolves.toMatchObject({ repository: claims.repository });
    } finally {
      reg.useVerifier();
    }
  });

  it('refuses a token for another audience, naming the audience this registry expects', async () => {
    for (const audience of ['https://mpak.dev', `${AUDIENCE}.evil.com`, `${AUDIENCE}/`, 'sigstore']) {
      const res = await expectRefused(reg, () => minted({}, { audience }), 401, 'invalid_token');
      // Public anyway (v1/config.json): a publisher migrating from mpak learns what to request.
      expect(res.json.error.message).toContain(`this registry accepts only tokens for the audience "${AUDIENCE}"`);
      expect(res.json.error.message).toContain(JSON.stringify(audience));
      expect(res.json.error.details).toEqual({ expected_audience: AUDIENCE });
    }
  });

  it('refuses an audience array that contains ours among others (replayable elsewhere)', async () => {
    const res = await expectRefused(reg, () => minted({}, { audience: [AUDIENCE, 'https://mpak.dev'] }), 401, 'invalid_token');
    expect(res.json.error.message).toContain('aud');
    expect(res.json.error.details).toEqual({ expected_audience: AUDIENCE });
    await expectRefused(reg, () => minted({}, { audience: ['https://mpak.dev', AUDIENCE] }), 401, 'invalid_token');
    await expectRefused(reg, () => minted({}, { audience: [] }), 401, 'invalid_token');
  });

  it('accepts an audience array holding only ours (verifier level)', async () => {
    const verify = createTokenVerifier({ issuer: reg.github.issuer, audience: AUDIENCE, jwksUrl: reg.github.jwksUrl });
    await expect(verify(await reg.github.mint(claims, { audience: [AUDIENCE] }))).resolves.toMatchObject({ repository: claims.repository });
  });
});

describe('claims', () => {
  it.each(['repository', 'repository_owner', 'repository_owner_id', 'repository_id', 'sha'])('refuses a token without %s', async (claim) => {
    const res = await expectRefused(reg, () => minted({}, { omit: [claim] }), 401, 'token_claims_missing');
    expect(res.json.error.message).toContain(claim);
  });

  it.each([
    ['an empty repository_id', { repository_id: '' }, 'token_claims_missing'],
    ['a repository_id that is an object', { repository_id: { id: 1 } }, 'token_claims_missing'],
    ['a non-numeric repository_owner_id', { repository_owner_id: 'acme' }, 'invalid_token'],
    ['a repository of another owner', { repository: 'globex/echo-mcp' }, 'invalid_token'],
    ['a repository with a path', { repository: 'acme/echo-mcp/../../globex/x' }, 'invalid_token'],
    ['a look-alike owner (Cyrillic a)', { repository_owner: '\u0430cme' }, 'invalid_token'],
  ])('refuses a token with %s', async (_, extra, code) => {
    await expectRefused(reg, () => minted(extra), 401, code);
  });

  it.each(['pull_request', 'pull_request_target', 'pull_request_review', 'pull_request_review_comment'])(
    'refuses a token from a %s workflow (a pull request, possibly from a fork)',
    async (event_name) => {
      const res = await expectRefused(reg, () => minted({ event_name, ref: 'refs/heads/main' }), 401, 'untrusted_event');
      expect(res.json.error.message).toContain(event_name);
    },
  );

  it('refuses a token whose ref is a pull request merge ref, whatever the event', async () => {
    await expectRefused(reg, () => minted({ event_name: 'workflow_dispatch', ref: 'refs/pull/7/merge' }), 401, 'untrusted_event');
    await expectRefused(reg, () => minted({ event_name: 'push', ref: 'refs/pull/7/head' }), 401, 'untrusted_event');
  });
});

describe('transport', () => {
  it('refuses an oversized token with a clear error', async () => {
    const token = await reg.github.mint({ ...claims, padding: 'x'.repeat(MAX_TOKEN_LENGTH) });
    expect(token.length).toBeGreaterThan(MAX_TOKEN_LENGTH);
    const res = await expectRefused(reg, () => withToken(token), 401, 'invalid_token');
    expect(res.json.error.message).toContain('too large');
  });

  it('answers 431 and writes nothing for an Authorization header beyond the HTTP limit', async () => {
    const before = await reg.snapshot();
    const res = await reg.post('/v1/bundles/announce', JSON.stringify(next.body), bearer('x'.repeat(32 * 1024)));
    expect(res.status).toBe(431);
    expect(await reg.snapshot()).toEqual(before);
  });

  it.each([
    ['no scheme', (t: string) => ({ authorization: t })],
    ['Basic', (t: string) => ({ authorization: `Basic ${t}` })],
    ['two tokens', (t: string) => ({ authorization: `Bearer ${t} ${t}` })],
    ['an empty bearer', () => ({ authorization: 'Bearer ' })],
  ])('refuses an Authorization header with %s', async (_, header) => {
    const token = await reg.github.mint(claims);
    await expectRefused(reg, () => reg.post('/v1/bundles/announce', JSON.stringify(next.body), { ...header(token), 'content-type': 'application/json' }), 401, 'missing_token');
  });
});

describe('the JWKS', () => {
  it('picks up a rotated key without a restart, and refuses the removed one', async () => {
    reg.useVerifier({ jwksCooldownMs: 0 });
    try {
      const v = await prepareBundle(reg, { version: '1.6.0' });
      const w = await prepareBundle(reg, { version: '1.6.1' });
      const oldToken = await reg.github.mint(claims);
      await reg.github.rotateKey();
      // The cached key set has only the old kid: the new one triggers a refetch, and publishes.
      const accepted = await reg.announce('bundle', v.body, claims);
      expect(accepted.status, JSON.stringify(accepted.json)).toBe(201);
      // The refetched key set no longer holds the old key: a token it signed is refused.
      await expectRefused(reg, () => reg.post('/v1/bundles/announce', JSON.stringify(w.body), bearer(oldToken)), 401, 'invalid_token');
      await expectRefused(reg, () => reg.announce('bundle', w.body, claims, { previousKey: true }), 401, 'invalid_token');
    } finally {
      reg.useVerifier();
    }
  });

  it('stops trusting a removed key once the cached key set is older than its maximum age', async () => {
    const shortLived = reg.useVerifier({ jwksCacheMaxAgeMs: 100 });
    // The production default (10 minutes), primed at the same moment, for contrast.
    const longLived = createTokenVerifier({ issuer: reg.github.issuer, audience: AUDIENCE, jwksUrl: reg.github.jwksUrl });
    try {
      const current = await reg.github.mint(claims);
      await Promise.all([shortLived(current), longLived(current)]); // both cache the current key
      await reg.github.rotateKey();
      const stale = await reg.github.mint(claims, { previousKey: true });
      await new Promise((r) => setTimeout(r, 150));
      // Within its cache age a verifier still trusts the removed key (the documented window)...
      await expect(longLived(stale)).resolves.toMatchObject({ repository: claims.repository });
      // ...past it, the key set is refetched and the removed key is refused.
      await expectRefused(reg, () => withToken(stale), 401, 'invalid_token');
    } finally {
      reg.useVerifier();
    }
  });

  it.each([
    ['down (503)', 'down'],
    ['answering garbage', 'garbage'],
    ['answering JSON that is not a key set', 'not-a-jwks'],
  ] as const)('fails closed with 503 when the JWKS endpoint is %s', async (_, mode) => {
    reg.useVerifier();
    reg.github.jwksMode = mode;
    try {
      await expectRefused(reg, () => minted(), 503, 'upstream_unavailable');
    } finally {
      reg.github.jwksMode = 'ok';
      reg.useVerifier();
    }
  });

  it('fails closed with 503 when the JWKS endpoint is slower than the timeout', async () => {
    reg.useVerifier({ jwksTimeoutMs: 200 });
    reg.github.jwksDelayMs = 5000;
    try {
      const res = await expectRefused(reg, () => minted(), 503, 'upstream_unavailable');
      expect(res.json.error.message).toContain('in time');
    } finally {
      reg.github.jwksDelayMs = 0;
      reg.useVerifier();
    }
  });

  it('fails closed with 503 when the JWKS host does not answer at all', async () => {
    reg.useVerifier({ jwksUrl: 'http://127.0.0.1:9/.well-known/jwks' });
    try {
      await expectRefused(reg, () => minted(), 503, 'upstream_unavailable');
    } finally {
      reg.useVerifier();
    }
  });

  it('fails closed once the cached key set expires while the endpoint is down', async () => {
    const verify = reg.useVerifier({ jwksCacheMaxAgeMs: 100 });
    try {
      await verify(await reg.github.mint(claims));
      reg.github.jwksMode = 'down';
      await new Promise((r) => setTimeout(r, 150));
      await expectRefused(reg, () => minted(), 503, 'upstream_unavailable');
    } finally {
      reg.github.jwksMode = 'ok';
      reg.useVerifier();
    }
  });

  it('refuses a key set redirected to another host with 502 upstream_untrusted_host, without contacting it', async () => {
    const evil = await startRecordingServer();
    reg.useVerifier();
    reg.github.jwksMode = 'redirect';
    reg.github.jwksRedirectTo = `${evil.url}/.well-known/jwks`;
    try {
      const res = await expectRefused(reg, () => minted(), 502, 'upstream_untrusted_host');
      expect(res.json.error.message).toContain(new URL(evil.url).host);
      expect(evil.requests).toEqual([]);
    } finally {
      reg.github.jwksMode = 'ok';
      reg.useVerifier();
      await evil.close();
    }
  });

  it('follows a key set redirect that stays on the issuer host (control)', async () => {
    reg.useVerifier();
    reg.github.jwksMode = 'redirect';
    reg.github.jwksRedirectTo = `${reg.github.url}/.well-known/jwks-moved`;
    try {
      const from = reg.github.requests.length;
      await expect(reg.useVerifier()(await reg.github.mint(claims))).resolves.toMatchObject({ repository: claims.repository });
      expect(reg.github.requests.slice(from)).toEqual(['GET /.well-known/jwks', 'GET /.well-known/jwks-moved']);
    } finally {
      reg.github.jwksMode = 'ok';
      reg.useVerifier();
    }
  });

  it('refuses a key set larger than it reads with 502 upstream_too_large', async () => {
    reg.useVerifier();
    reg.github.jwksMode = 'huge';
    try {
      const res = await expectRefused(reg, () => minted(), 502, 'upstream_too_large');
      expect(res.json.error.message).toContain(String(MAX_JWKS_BYTES));
    } finally {
      reg.github.jwksMode = 'ok';
      reg.useVerifier();
    }
  });

  it('validates the verifier options eagerly, naming the option', () => {
    const base = { issuer: reg.github.issuer, audience: AUDIENCE, jwksUrl: reg.github.jwksUrl };
    expect(() => createTokenVerifier({ ...base, jwksCooldownMs: -1 })).toThrow(/"jwksCooldownMs"/);
    expect(() => createTokenVerifier({ ...base, jwksCacheMaxAgeMs: Number.NaN })).toThrow(/"jwksCacheMaxAgeMs"/);
    expect(() => createTokenVerifier({ ...base, jwksTimeoutMs: 1.5 })).toThrow(/"jwksTimeoutMs"/);
    expect(() => createTokenVerifier({ ...base, audience: '' })).toThrow(/"audience"/);
  });
});

describe('control', () => {
  it('publishes the same announce with a good token', async () => {
    const res = await announcePrepared(reg, next);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json).toMatchObject({ package: '@acme/echo', version: '1.2.1', status: 'created' });
  });
});
