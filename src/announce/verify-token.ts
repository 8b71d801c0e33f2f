/**
 * Verifies a GitHub Actions OIDC token (trust rule 1): signature against the issuer's remote JWKS
 * (fetched over HTTP by `jose`, cached across warm invocations), issuer, audience, RS256 only,
 * not expired, and the claims the registry relies on present. Beyond that it refuses tokens
 * whose audience is shared with other relying parties and tokens of workflows triggered by pull
 * requests (see {@link UNTRUSTED_EVENTS}).
 *
 * @module
 */
import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type FetchImplementation, type JWTPayload } from 'jose';
import { ShelfError } from '../core/errors.ts';
import { fetchOutbound, readOutboundBody } from '../net/outbound-fetch.ts';

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
  /** `jti`: the token's unique id, which binds it to one announce (see `token-use.ts`). */
  jti: string;
  /** `exp`, seconds since the epoch. */
  expires_at: number;
}

/** Options of {@link createTokenVerifier}. */
export interface TokenVerifierOptions {
  /** Expected `iss`. */
  issuer: string;
  /**
   * Expected `aud`. The token's `aud` must be exactly this string (or a one-element array of
   * it): a token addressed to several audiences could be replayed at the others, and GitHub
   * mints one audience per token.
   */
  audience: string;
  /** The issuer's JWKS URL. */
  jwksUrl: string;
  /** Time limit for fetching the JWKS, ms. Default 5000 (jose's). */
  jwksTimeoutMs?: number;
  /**
   * Least time between two JWKS fetches triggered by an unknown `kid`, ms. Default 30000 (jose's):
   * it stops tokens with made-up `kid`s from making the registry hammer the issuer, while a
   * really new key is still picked up on its first use. Tests use 0.
   */
  jwksCooldownMs?: number;
  /**
   * How long a fetched JWKS is used before it is fetched again, ms. Default 600000 (jose's). A key
   * the issuer removed stops verifying at most this long after its removal (at once when a
   * token with an unknown `kid` triggers a refetch first).
   */
  jwksCacheMaxAgeMs?: number;
}

/** Verifies a token and returns its claims. @throws ShelfError 401 codes, or 503 `upstream_unavailable` */
export type TokenVerifier = (token: string) => Promise<TokenClaims>;

/**
 * Largest key set read from the issuer: GitHub's holds a few keys in a few kilobytes. A larger
 * answer is refused (`upstream_too_large`), never read whole.
 */
export const MAX_JWKS_BYTES = 256 * 1024;

/**
 * Longest token lifetime (`exp - iat`) accepted, seconds. GitHub documents tokens valid for 5 minutes; a used
 * token's record is kept until it expires, so this bounds how long records are kept.
 */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

/** Claims without which the registry cannot apply its trust rules. */
const REQUIRED = ['repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'sha', 'jti'] as const;
const OPTIONAL = ['ref', 'workflow_ref', 'job_workflow_ref', 'event_name', 'run_id', 'run_attempt'] as const;
/**
 * GitHub's tokens are 1–2 kB; anything far larger is not one. Below Node's 16 KiB header limit,
 * so an oversized token gets this clear error rather than a bare 431.
 */
export const MAX_TOKEN_LENGTH = 8 * 1024;
/**
 * `event_name`s of workflows that a pull request (possibly from a fork) can trigger. Their code
 * or inputs may come from someone who cannot push to the repository, so their tokens never
 * publish; so are tokens whose `ref` is a pull request's (`refs/pull/...`).
 */
export const UNTRUSTED_EVENTS: readonly string[] = ['pull_request', 'pull_request_target', 'pull_request_review', 'pull_request_review_comment'];
/** `owner/repo` as GitHub spells repositories. */
const REPOSITORY_RE = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/;

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
  for (const key of ['jwksTimeoutMs', 'jwksCooldownMs', 'jwksCacheMaxAgeMs'] as const) {
    const value = options[key];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new TypeError(`"${key}" option must be a non-negative integer (milliseconds)`);
    }
  }
  const jwks = createRemoteJWKSet(new URL(options.jwksUrl), {
    timeoutDuration: options.jwksTimeoutMs ?? 5000,
    cooldownDuration: options.jwksCooldownMs ?? 30_000,
    cacheMaxAge: options.jwksCacheMaxAgeMs ?? 600_000,
    [customFetch]: keySetFetch(new URL(options.jwksUrl).host),
  });

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
      throw mapJoseError(err, options.audience);
    }
    const iat = payload.iat!;
    // A token issued in the future is forged or from a badly skewed clock; refuse it.
    if (iat > Date.now() / 1000 + 60) throw new ShelfError('invalid_token', 'The token was issued in the future.');
    if (payload.exp! - iat > MAX_TOKEN_LIFETIME_SECONDS) {
      throw new ShelfError('invalid_token', `The token is valid for ${payload.exp! - iat} s; the registry accepts at most ${MAX_TOKEN_LIFETIME_SECONDS} s.`);
    }
    // jose accepts an array that contains ours; a token meant for several parties is replayable at each.
    if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
      throw wrongAudience(`The token's "aud" must be this registry's audience alone, not ${payload.aud.length} audiences`, options.audience);
    }
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
    checkClaimShapes(claims);
    if (claims.event_name !== undefined && UNTRUSTED_EVENTS.includes(claims.event_name)) {
      throw new ShelfError('untrusted_event', `Tokens of "${claims.event_name}" workflows cannot publish: pull requests may run code from outside the repository.`);
    }
    if (claims.ref?.startsWith('refs/pull/')) {
      throw new ShelfError('untrusted_event', `Tokens for the pull request ref "${claims.ref}" cannot publish.`);
    }
    return { ...(claims as unknown as TokenClaims), issuer: payload.iss!, issued_at: new Date(iat * 1000).toISOString(), expires_at: payload.exp! };
  };
}

/**
 * jose's key-set fetch, through the outbound plumbing: the configured JWKS host is the only host
 * any hop may reach (jose itself would refuse every redirect), and the body is read with a cap
 * within jose's own deadline.
 */
function keySetFetch(jwksHost: string): FetchImplementation {
  return async (url, init) => {
    const headers: Record<string, string> = {};
    init.headers.forEach((value, name) => (headers[name] = value));
    const request = { what: 'the OIDC key set', allowedHosts: [jwksHost], signal: init.signal, headers };
    try {
      const response = await fetchOutbound(url, request);
      const body = await readOutboundBody(response, MAX_JWKS_BYTES, request);
      return new Response(body as Uint8Array<ArrayBuffer>, { status: response.status, headers: { 'content-type': response.headers.get('content-type') ?? 'application/json' } });
    } catch (err) {
      if (init.signal.aborted) throw new ShelfError('upstream_unavailable', 'The OIDC issuer keys could not be fetched in time.');
      throw err;
    }
  };
}

/** The repository and ids end up in URLs and pins; a token whose claims are inconsistent is refused. */
function checkClaimShapes(claims: Record<string, string>): void {
  const repo = REPOSITORY_RE.exec(claims.repository!);
  if (!repo || repo[1]!.toLowerCase() !== claims.repository_owner!.toLowerCase() || repo[2] === '.' || repo[2] === '..') {
    throw new ShelfError('invalid_token', `The token's "repository" claim is not a repository of its "repository_owner".`);
  }
  if (claims.jti!.length > 256) throw new ShelfError('invalid_token', `The token's "jti" claim is longer than 256 characters.`);
  for (const name of ['repository_id', 'repository_owner_id'] as const) {
    if (!/^[0-9]{1,20}$/.test(claims[name]!)) throw new ShelfError('invalid_token', `The token's "${name}" claim is not a numeric id.`);
  }
}

/**
 * A token for another audience. The message and `details.expected_audience` name ours, which is
 * public anyway (`v1/config.json`): a publisher whose action asks for another audience (mpak's
 * `https://mpak.dev`) learns what to request instead.
 */
function wrongAudience(why: string, audience: string): ShelfError {
  return new ShelfError('invalid_token', `${why}; this registry accepts only tokens for the audience "${audience}" (see its v1/config.json).`, { expected_audience: audience });
}

function mapJoseError(err: unknown, audience: string): ShelfError {
  // The key-set fetch's own refusals (untrusted host, too large, timed out) keep their codes.
  if (err instanceof ShelfError) return err;
  if (err instanceof joseErrors.JWTExpired) return new ShelfError('token_expired');
  if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') {
    const got = err.payload.aud;
    const what = typeof got === 'string' ? `is for the audience ${JSON.stringify(got.slice(0, 200))}` : Array.isArray(got) ? `lists the audiences ${JSON.stringify(got).slice(0, 200)}` : 'has no usable "aud" claim';
    return wrongAudience(`The token ${what}`, audience);
  }
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
