/**
 * Shared pieces of the attack suite: the "refused and nothing written" assertion, a registry
 * whose token verifier a test can swap, and hand-made tokens the fake issuer would never mint.
 */
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { JWK } from 'jose';
import { createTokenVerifier, type TokenVerifier, type TokenVerifierOptions } from '../../src/announce/verify-token.ts';
import { AUDIENCE, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import type { Claims } from '../fakes/fake-github.ts';

/** A response as the test registry's `post` returns it. */
export type Answer = { status: number; json: any };

/**
 * Runs a request and asserts it is refused with `status` and `code`, with a message, and that
 * the bucket is byte-for-byte unchanged afterwards (every key and ETag).
 */
export async function expectRefused(reg: TestRegistry, run: () => Promise<Answer>, status: number, code: string): Promise<Answer> {
  const before = await reg.snapshot();
  const res = await run();
  expect(res.json?.error?.code, JSON.stringify(res.json)).toBe(code);
  expect(res.status).toBe(status);
  expect(typeof res.json.error.message).toBe('string');
  expect(res.json.error.message.length).toBeGreaterThan(0);
  expect(await reg.snapshot()).toEqual(before);
  return res;
}

/** Headers of an announce with a bearer token. */
export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });

/** A test registry whose announce handler verifies tokens with whatever verifier `use` installed last. */
export interface SwappableRegistry extends TestRegistry {
  /** Installs a fresh verifier (fresh JWKS cache) against the fake issuer, with these overrides. */
  useVerifier(overrides?: Partial<TokenVerifierOptions>): TokenVerifier;
}

/**
 * Starts a test registry whose token verifier can be replaced between tests, so each JWKS
 * scenario starts from an empty key cache and can use short cooldowns and timeouts.
 */
export async function startSwappableRegistry(env: Record<string, string> = {}): Promise<SwappableRegistry> {
  let verifier: TokenVerifier | undefined;
  const reg = await startTestRegistry({
    env,
    wrapDeps: (deps) => ({ ...deps, verifyToken: (token) => (verifier ?? deps.verifyToken)(token) }),
  });
  return Object.assign(reg, {
    useVerifier(overrides: Partial<TokenVerifierOptions> = {}) {
      verifier = createTokenVerifier({ issuer: reg.github.issuer, audience: AUDIENCE, jwksUrl: reg.github.jwksUrl, ...overrides });
      return verifier;
    },
  });
}

const b64url = (value: string | Buffer) => Buffer.from(value).toString('base64url');

/** The payload a valid token for `claims` would carry, for hand-made tokens. */
export function payloadFor(reg: TestRegistry, claims: Claims, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sha: 'a'.repeat(40),
    ref: 'refs/tags/v1',
    event_name: 'release',
    jti: randomUUID(),
    ...claims,
    iss: reg.github.issuer,
    aud: AUDIENCE,
    iat: now,
    exp: now + 300,
    ...extra,
  };
}

/** An unsigned token (`alg: none`), as in the classic JWT library bypass. */
export function unsignedToken(payload: Record<string, unknown>, kid?: string): string {
  const header = kid ? { alg: 'none', typ: 'JWT', kid } : { alg: 'none', typ: 'JWT' };
  return `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.`;
}

/** A token "signed" with HS256, using `secret` (an issuer's public key, in the algorithm-confusion attack). */
export function hs256Token(payload: Record<string, unknown>, secret: string | Buffer, kid?: string): string {
  const header = kid ? { alg: 'HS256', typ: 'JWT', kid } : { alg: 'HS256', typ: 'JWT' };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** The forms of a public key an HS256 confusion attack would try as the HMAC secret. */
export function publicKeySecrets(jwk: JWK): Array<[string, string | Buffer]> {
  const key = createPublicKey({ key: jwk as any, format: 'jwk' });
  return [
    ['the PEM of the public key', key.export({ type: 'spki', format: 'pem' }) as string],
    ['the DER of the public key', key.export({ type: 'spki', format: 'der' }) as Buffer],
    ['the JWK JSON', JSON.stringify(jwk)],
    ['the modulus', Buffer.from(jwk.n!, 'base64url')],
  ];
}

/** Replaces the payload of a signed token, keeping its header and signature. */
export function withPayload(token: string, edit: (payload: Record<string, unknown>) => Record<string, unknown>): string {
  const [header, payload, signature] = token.split('.');
  const decoded = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
  return `${header}.${b64url(JSON.stringify(edit(decoded)))}.${signature}`;
}

/** Sets `path` (dot-separated) in a deep copy of `value`; `undefined` deletes it. */
export function setPath(value: unknown, path: string, replacement: unknown): any {
  const copy = structuredClone(value) as any;
  if (path === '') return replacement;
  const parts = path.split('.');
  let target = copy;
  for (const part of parts.slice(0, -1)) target = target[part];
  const last = parts[parts.length - 1]!;
  if (replacement === undefined) delete target[last];
  else target[last] = replacement;
  return copy;
}
