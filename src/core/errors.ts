/**
 * Every error Shelf reports, defined in one place: an HTTP status, a stable snake_case code that
 * clients match on, and a default message. Errors are data: the announce handler serialises them
 * as `{"error": {"code", "message", "details"?}}`, the CLI prints them, tests assert the code.
 *
 * @module
 */

/** The table of errors. Add new ones here and only here. */
export const ERRORS = {
  // 400: the request itself is malformed.
  invalid_json: { status: 400, message: 'The request body is not valid JSON.' },
  unsupported_media_type: { status: 400, message: 'The request must have Content-Type: application/json.' },
  invalid_body: { status: 400, message: 'The announce body does not match the announce schema.' },
  invalid_name: { status: 400, message: 'The package name is not a valid @scope/name.' },
  invalid_version: { status: 400, message: 'The version is not a strict semver 2.0 version.' },
  invalid_manifest: { status: 400, message: 'The bundle manifest is not valid.' },
  invalid_skill: { status: 400, message: 'The skill front matter is not valid.' },
  manifest_mismatch: { status: 400, message: 'The name or version in the body does not match the manifest.' },
  duplicate_key: { status: 400, message: 'The request body has an object with the same key twice.' },
  invalid_path: { status: 400, message: 'The request path cannot name a file (a control character, or a segment or path that is too long).' },
  // 401: the token.
  missing_token: { status: 401, message: 'An Authorization: Bearer <GitHub OIDC token> header is required.' },
  invalid_token: { status: 401, message: 'The token could not be verified.' },
  token_expired: { status: 401, message: 'The token has expired.' },
  token_claims_missing: { status: 401, message: 'The token lacks a claim the registry requires.' },
  token_replayed: { status: 401, message: 'This token was already used for another announce or status change; request a new token for each.' },
  untrusted_event: { status: 401, message: 'Tokens from workflows triggered by pull requests cannot publish.' },
  // 403: who may publish what.
  scope_mismatch: { status: 403, message: "The package scope must equal the token's repository_owner." },
  scope_owner_mismatch: { status: 403, message: 'This scope is pinned to another GitHub owner id.' },
  package_repository_mismatch: { status: 403, message: 'This package is pinned to another GitHub repository.' },
  // 404
  not_found: { status: 404, message: 'Not found.' },
  route_not_found: { status: 404, message: 'No such route.' },
  method_not_allowed: { status: 405, message: 'Method not allowed.' },
  // 409: versions are immutable.
  artifact_exists: { status: 409, message: 'This version already has a different artifact for this platform.' },
  version_yanked: { status: 409, message: 'This version is yanked: no new platform can be announced for it.' },
  // 410: taken down by the registry operator.
  package_removed: { status: 410, message: 'This package was removed by the registry operator; its name cannot be used.' },
  version_removed: { status: 410, message: 'This version was removed by the registry operator; it cannot be published or used again.' },
  // 413
  body_too_large: { status: 413, message: 'The request body is too large.' },
  asset_too_large: { status: 413, message: 'The release asset is larger than the registry accepts.' },
  // 429: a scope's daily quota (see `announce/quota.ts`).
  quota_exceeded: { status: 429, message: "The scope's daily quota is used up; retry after the time Retry-After gives." },
  // 422: the release asset does not match the announce.
  asset_not_found: { status: 422, message: 'The asset was not found in release.' },
  asset_size_mismatch: { status: 422, message: 'The release asset size differs from the announced size.' },
  asset_digest_mismatch: { status: 422, message: 'The release asset sha256 differs from the announced sha256.' },
  asset_metadata_mismatch: { status: 422, message: "The artifact's own manifest.json or SKILL.md does not name the announced package and version." },
  asset_untrusted_host: { status: 422, message: 'The release asset is served from a host the registry does not trust.' },
  attestation_invalid: { status: 422, message: "The artifact's attestation does not verify, or does not match the announcing workflow." },
  // 5xx
  internal_error: { status: 500, message: 'Internal error.' },
  upstream_unavailable: { status: 503, message: 'A service the registry depends on is unavailable; retry later.' },
  upstream_untrusted_host: { status: 502, message: 'A service the registry depends on redirected to, or is served from, a host the registry does not trust.' },
  upstream_too_large: { status: 502, message: 'A service the registry depends on sent a response larger than the registry reads.' },
  write_contention: { status: 503, message: 'Too many concurrent writes to the same file; retry later.' },
  not_ready: { status: 503, message: 'The registry is starting; retry shortly.' },
  server_busy: { status: 503, message: 'The server is sending as many downloads as it may at once; retry shortly.' },
  // Start-up: the configuration, or the object store it names, cannot be used.
  invalid_config: { status: 500, message: 'A configuration variable is missing or invalid.' },
  store_unsupported: { status: 500, message: 'The object store does not honour conditional writes (If-None-Match / If-Match); refusing to run.' },
  store_unavailable: { status: 503, message: 'The object store could not be reached.' },
  no_registry: { status: 404, message: 'The store holds no registry (no v1/config.json and no records).' },
  address_in_use: { status: 500, message: 'The address the server should listen on is already in use.' },
  // Client-side (CLI) errors. Status is what the CLI maps to an exit code family.
  integrity_mismatch: { status: 422, message: 'The downloaded file does not match the registry sha256 or size.' },
  no_matching_artifact: { status: 404, message: 'No artifact matches the requested platform.' },
  registry_unreachable: { status: 503, message: 'The registry could not be reached.' },
  document_too_large: { status: 502, message: 'The registry sent a document larger than this client reads (SHELF_MAX_DOCUMENT_BYTES).' },
  invalid_argument: { status: 400, message: 'Invalid command-line argument.' },
  // CLI and web pages: what the registry signed, and what was pinned.
  signature_invalid: { status: 422, message: "A document or artifact is not signed by the registry, or its signature does not match what it says." },
  key_untrusted: { status: 422, message: "Signed by a key this client does not trust for the registry; if the registry changed its keys, run shelf trust." },
  rollback_detected: { status: 422, message: 'The registry served a document older than one this client already verified.' },
  attestation_missing: { status: 404, message: 'This artifact has no Sigstore attestation.' },
  // CLI: archives (.mcpb, .skill) unpacked on the user's machine.
  invalid_archive: { status: 422, message: 'The file is not a zip archive this tool can read.' },
  unsafe_archive: { status: 422, message: 'The archive has an entry that cannot be extracted safely (path traversal, absolute path, link, duplicate, or too large).' },
  destination_exists: { status: 409, message: 'The destination directory already exists and is not empty.' },
  skill_exists: { status: 409, message: 'Another skill (or a locally modified one) is installed there; use --force to replace it.' },
  // CLI: the local cache and running bundles.
  not_cached: { status: 404, message: 'Not in the local cache; run the command once without --offline.' },
  cache_unavailable: { status: 500, message: 'No cache directory: set SHELF_CACHE_DIR, XDG_CACHE_HOME or HOME.' },
  missing_user_config: { status: 400, message: "A required value of the bundle's user_config is missing." },
  invalid_user_config: { status: 400, message: "A user_config value does not match the bundle's declaration." },
  server_start_failed: { status: 500, message: "The bundle's server could not be started." },
  // CLI: publishing from GitHub Actions.
  oidc_unavailable: { status: 401, message: 'No GitHub Actions OIDC token available: the job needs "permissions: id-token: write".' },
  oidc_request_failed: { status: 502, message: 'The GitHub Actions OIDC token request failed.' },
  announce_failed: { status: 502, message: 'The registry refused or did not answer the announce.' },
  status_change_failed: { status: 502, message: 'The registry refused or did not answer the status change.' },
  // Operator side: a takedown's CDN invalidation.
  cdn_invalidation_failed: { status: 502, message: 'The CDN invalidation failed; the takedown itself is done. Run it again, or invalidate the printed paths yourself.' },
  // Operator side: publishing the web pages into the bucket.
  web_assets_unavailable: { status: 500, message: 'The web pages could not be built (esbuild missing) and no prebuilt assets were found; run npm run build:web.' },
} as const satisfies Record<string, { status: number; message: string }>;

/** A stable error code. */
export type ErrorCode = keyof typeof ERRORS;

/**
 * The `details` each code may carry (codes not listed carry none): what a caller can act on
 * without parsing the message. Never secrets.
 */
export interface ErrorDetails {
  /**
   * `reason`: `connect_timeout` or `idle_timeout` when a read bound ended the request, `deadline`
   * when a whole answer did not come within its deadline; `untrusted_redirect` when a hop led off the hosts the client reads from (the CLI's transport
   * refuses it before connecting), `too_many_redirects`.
   */
  registry_unreachable: { url: string; status?: number; reason?: 'connect_timeout' | 'idle_timeout' | 'deadline' | 'untrusted_redirect' | 'too_many_redirects' };
  /** `status`: the answer's HTTP status, when the caller reads error answers too. */
  document_too_large: { url: string; limit: number; status?: number };
  /** `url`: what was missing; `packageFound`: the package exists, the version does not (web pages). */
  not_found: { url?: string; packageFound?: boolean };
  not_cached: { url: string };
  /** Present when the token is for another audience: the one this registry accepts (public in `v1/config.json`). */
  invalid_token: { expected_audience: string };
  invalid_body: { issues: { path: string; message: string }[] };
  invalid_manifest: { issues: { path: string; message: string }[] };
  invalid_skill: { issues: { path: string; message: string }[] };
  asset_size_mismatch: { expected: number; actual?: number };
  asset_digest_mismatch: { expected: string; actual: string };
  /** Sizes in bytes, or digests; `actual` absent when the download ran past `expected`. */
  integrity_mismatch: { url?: string; expected: string | number; actual?: string | number };
  missing_user_config: { missing: string[] };
  server_start_failed: { command: string };
  unsafe_archive: { entry?: string; reason: string };
  /** `field`: where a version's artifacts differ; `issues`: what the artifact's own metadata fails. */
  asset_metadata_mismatch: { field?: string; issues?: { path: string; message: string }[] };
  /** `used_for`: the announce, or the status change, the token is bound to. */
  token_replayed: {
    used_for: { kind: string; package: string; version: string; os: string; arch: string; sha256: string } | { kind: string; package: string; version: string | null; status: string; message: string | null };
  };
  upstream_untrusted_host: { host: string; protocol: string };
  upstream_too_large: { limit: number };
  destination_exists: { path: string };
  skill_exists: { dir: string };
  store_unsupported: { missing: string };
  no_matching_artifact: { wanted: string; available: string[] };
  /** `url`: the document; `keyid`: the key it names, when it names one. */
  signature_invalid: { url?: string; keyid?: string; reason: string };
  key_untrusted: { url?: string; keyid: string };
  /** `seen`: the signing time this client verified before; `got`: the one served now (or what is missing). */
  rollback_detected: { url?: string; seen: string; got: string };
  /** `reasons`: why each attestation found for the digest was refused. */
  attestation_invalid: { reasons: string[] };
  /** Which quota, its limit, what today's announces used, and the seconds until the next UTC day (also the Retry-After header). */
  quota_exceeded: { quota: 'announces_per_day' | 'bytes_per_day'; limit: number; used: number; retry_after_seconds: number };
  not_ready: { retry_after_seconds: number };
  server_busy: { retry_after_seconds: number };
  address_in_use: { host: string; port: number };
  package_removed: { reason: string; removed_at?: string };
  cdn_invalidation_failed: { paths: string[]; cause: string };
  version_removed: { reason: string; removed_at?: string };
}

/** The details of a code: its entry in {@link ErrorDetails}, or none. */
export type DetailsOf<C extends ErrorCode> = C extends keyof ErrorDetails ? ErrorDetails[C] : never;

/** The wire shape of an error response body. */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/**
 * The one error class Shelf throws on purpose. `code` is stable; `message` is for people.
 *
 * @example
 * ```ts
 * throw new ShelfError('scope_mismatch', `scope "@acme" is not owner "other"`)
 * ```
 */
export class ShelfError<C extends ErrorCode = ErrorCode> extends Error {
  /** The stable code. */
  readonly code: C;
  /** The HTTP status this error maps to. */
  readonly status: number;
  /** Optional structured context, typed per code ({@link ErrorDetails}). */
  readonly details?: DetailsOf<C>;

  constructor(code: C, message?: string, details?: DetailsOf<C>) {
    super(message ?? ERRORS[code].message);
    this.name = 'ShelfError';
    this.code = code;
    this.status = ERRORS[code].status;
    if (details !== undefined) this.details = details;
  }

  /** The JSON body the handler sends for this error. */
  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** True when `value` is a ShelfError with the given code (or any ShelfError without one). */
export function isShelfError<C extends ErrorCode = ErrorCode>(value: unknown, code?: C): value is ShelfError<C> {
  return value instanceof ShelfError && (code === undefined || value.code === code);
}
