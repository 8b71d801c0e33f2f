/**
 * Verifies a GitHub Actions OIDC token (trust rule 1): signature against the issuer's remote JWKS
 * (fetched over HTTP by `jose`, cached across warm invocations), issuer, audience, RS256 only,
 * not expired, and the claims the registry relies on present.
 *
 * @module
 */
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ShelfError } from '../core/errors.ts';

/** The claims the registry uses, as strings. */
export interface TokenClaims {
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  sha: string;
  ref?: string;
  workflow_ref?: string;
  job_workflow_ref?: string;
  event_name?: string;
  run_id?: string;
  run_attempt?: string;
  /** `iss`: the issuer that signed the token. */
  issuer: string;
  /** `iat` as an ISO date. */
  issued_at: string;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** Expected `iss`. */
  issuer: string;
  /** Expected `aud`; an audience array must contain it. */
  audience: string;
  /** The issuer's JWKS URL. */
  jwksUrl: string;
  /** Time limit for fetching the JWKS, ms. Default 5000 (jose's). */
  jwksTimeoutMs?: number;
}

/** Verifies a token and returns its claims. @throws ShelfError 401 codes, or 503 `upstream_unavailable` */
export type TokenVerifier = (token: string) => Promise<TokenClaims>;

/** Claims without which the registry cannot apply its trust rules. */
const REQUIRED = ['repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'sha'] as const;
const OPTIONAL = ['ref', 'workflow_ref', 'job_workflow_ref', 'event_name', 'run_id', 'run_attempt'] as const;
/** GitHub's tokens are ~1 kB; anything far larger is not one. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * Builds a verifier. The JWKS is fetched lazily and cached by `jose` (refetched when a token
 * names an unknown `kid`, so key rotation needs no restart).
 *
 * @example
 * ```ts
 * const verify = createTokenVerifier({ issuer, audience: 'https://shelf.example', jwksUrl })
 * const claims = await verify(bearerToken)
 * ```
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  for (const key of ['issuer', 'audience', 'jwksUrl'] as const) {
    if (typeof options[key] !== 'string' || options[key] === '') {
      throw new TypeError(`"${key}" option must be a non-empty string`);
    }
  }
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), { timeoutDuration: options.jwksTimeoutMs ?? 5000 });

  return async (token) => {
    if (token.length > MAX_TOKEN_LENGTH) throw new ShelfError('invalid_token', 'The token is too large.');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, jwks, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat'],
        clockTolerance: 30,
      }));
    } catch (err) {
      throw mapJoseError(err);
    }
    const iat = payload.iat!;
    // A token issued in the future is forged or from a badly skewed clock; refuse it.
    if (iat > Date.now() / 1000 + 60) throw new ShelfError('invalid_token', 'The token was issued in the future.');
    const claims: Record<string, string> = {};
    for (const name of REQUIRED) {
      const value = payload[name];
      if ((typeof value !== 'string' && typeof value !== 'number') || value === '') {
        throw new ShelfError('token_claims_missing', `The token has no "${name}" claim.`);
      }
      claims[name] = String(value);
    }
    for (const name of OPTIONAL) {
      const value = payload[name];
      if (typeof value === 'string' || typeof value === 'number') claims[name] = String(value);
    }
    return { ...(claims as unknown as TokenClaims), issuer: payload.iss!, issued_at: new Date(iat * 1000).toISOString() };
  };
}

function mapJoseError(err: unknown): ShelfError {
  if (err instanceof joseErrors.JWTExpired) return new ShelfError('token_expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    return new ShelfError('invalid_token', `The token's "${err.claim}" claim is not acceptable: ${err.reason}.`);
  }
  if (err instanceof joseErrors.JWKSTimeout) return new ShelfError('upstream_unavailable', 'The OIDC issuer keys could not be fetched in time.');
  if (err instanceof joseErrors.JWKSInvalid) return new ShelfError('upstream_unavailable', 'The OIDC issuer returned an invalid key set.');
  if (err instanceof joseErrors.JWKSNoMatchingKey) return new ShelfError('invalid_token', 'No key of the issuer matches the token.');
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return new ShelfError('invalid_token', 'The token must be signed with RS256.');
  // jose reports a JWKS endpoint answering non-200 or non-JSON with its generic error class.
  if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message)) {
    return new ShelfError('upstream_unavailable', 'The OIDC issuer keys could not be fetched.');
  }
  if (err instanceof joseErrors.JOSEError) return new ShelfError('invalid_token', `The token could not be verified (${err.code}).`);
  // Anything else is the JWKS fetch failing (network, non-2xx, bad JSON): fail closed, retryable.
  return new ShelfError('upstream_unavailable', 'The OIDC issuer keys could not be fetched.');
}
