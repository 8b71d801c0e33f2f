/**
 * Publishing: building announce bodies and POSTing them (and status changes) to the registry's
 * function URL, with the retries publishing workflows need. Pure module: `fetch` only, no Node
 * APIs.
 *
 * @module
 */
import { ERRORS, ShelfError, isShelfError, type ErrorCode } from '../core/errors.ts';
import { fetchWithDeadline } from '../core/read-bounds.ts';
import { AnnounceResponseSchema, StatusResponseSchema, type AnnounceResponse, type StatusResponse } from '../core/schemas.ts';

/** The artifact part of an announce body. */
export interface AnnounceArtifact {
  /** The asset's file name in the GitHub release. */
  filename: string;
  /** Lower-case hex SHA-256 of the file. */
  sha256: string;
  /** Size in bytes. */
  size: number;
  /** Bundles only: `darwin`, `linux`, `win32` or `any`. */
  os?: string;
  /** Bundles only: `x64`, `arm64` or `any`. */
  arch?: string;
}

/** Inputs of {@link buildAnnounceBody}. */
export interface AnnounceBodyInput {
  kind: 'bundle' | 'skill';
  /** `@scope/name`. */
  name: string;
  version: string;
  /** Bundles: the manifest.json; skills: the SKILL.md front matter. */
  metadata: Record<string, unknown>;
  releaseTag: string;
  prerelease: boolean;
  artifact: AnnounceArtifact;
}

/**
 * Builds the JSON body of `POST /v1/{bundles,skills}/announce` (see the announce contract):
 * a bundle carries `manifest` and an artifact with `os`/`arch`; a skill carries `skill` and an
 * artifact without them.
 *
 * @throws ShelfError `invalid_argument` when a bundle's artifact lacks `os`/`arch`.
 */
export function buildAnnounceBody(input: AnnounceBodyInput): Record<string, unknown> {
  const { kind, name, version, metadata, releaseTag, prerelease, artifact } = input;
  const base = { name, version, release_tag: releaseTag, prerelease };
  if (kind === 'bundle') {
    if (!artifact.os || !artifact.arch) throw new ShelfError('invalid_argument', 'A bundle announce needs the artifact os and arch.');
    return {
      ...base,
      manifest: metadata,
      artifact: { filename: artifact.filename, os: artifact.os, arch: artifact.arch, sha256: artifact.sha256, size: artifact.size },
    };
  }
  return { ...base, skill: metadata, artifact: { filename: artifact.filename, sha256: artifact.sha256, size: artifact.size } };
}

/** Options of {@link postAnnounce}. */
export interface PostAnnounceOptions {
  /** The announce URL (`config.announce.bundles` or `.skills` of the registry's config). */
  url: string;
  /** The GitHub Actions OIDC token. Sent only in the Authorization header, never echoed. */
  token: string;
  /** The body, from {@link buildAnnounceBody}. */
  body: Record<string, unknown>;
  /** Most attempts in all, at least 1. Default {@link DEFAULT_MAX_ATTEMPTS}. */
  maxAttempts?: number;
  /** Wait before the second attempt, doubled for each later one (capped at a minute). Default 3000. */
  retryDelayMs?: number;
  /** Waits between attempts; default a timer. Tests inject one. */
  sleep?: (ms: number) => Promise<void>;
  /** Told about each retry, e.g. to log it. */
  onRetry?: (info: { attempt: number; maxAttempts: number; delayMs: number; reason: string }) => void;
  /**
   * Longest wait for one attempt's whole answer (status, headers and body), ms; an attempt that
   * runs past it counts as a network error (retried). Default {@link DEFAULT_WRITE_TIMEOUT_MS}.
   */
  timeoutMs?: number;
  /** The fetch implementation; defaults to the global `fetch`. */
  fetch?: typeof fetch;
}

/** Attempts {@link postAnnounce} makes by default. */
export const DEFAULT_MAX_ATTEMPTS = 6;
/**
 * Default deadline of one write attempt: 5 minutes, above the function's default timeout (60 s)
 * and its largest asset download, so only a registry that never answers reaches it.
 */
export const DEFAULT_WRITE_TIMEOUT_MS = 300_000;
/** Largest answer to a write that is read (a refusal or a result is a few hundred bytes). */
export const MAX_WRITE_ANSWER_BYTES = 1024 * 1024;
const MAX_DELAY_MS = 60_000;

/** A successful announce, and how many attempts it took. */
export interface AnnounceResult {
  response: AnnounceResponse;
  attempts: number;
}

/**
 * POSTs an announce, retrying with exponential backoff while the asset is not yet visible in
 * the release (the registry's message says `not found in release`), on 429 and 502/503/504, and
 * on network errors. Any other refusal fails at once.
 *
 * @throws ShelfError with the registry's own code (`scope_mismatch`, `artifact_exists`, ...)
 *   when it sent a known one, else `announce_failed`; `invalid_argument` for bad options.
 */
export async function postAnnounce(options: PostAnnounceOptions): Promise<AnnounceResult> {
  const { value, attempts } = await postToFunction(options, {
    parse: (json) => AnnounceResponseSchema.safeParse(json),
    what: 'an announce response',
    failure: 'announce_failed',
    action: 'the announce',
    retryable: (status, message) => /not found in release/i.test(message) || status === 429 || status === 502 || status === 503 || status === 504,
  });
  return { response: value, attempts };
}

/** How {@link postToFunction} reads answers and decides on retries. */
export interface WriteRules<T> {
  /** Parses a 2xx answer. */
  parse: (json: unknown) => { success: true; data: T } | { success: false };
  /** What a 2xx answer should be, for the message when it is not. */
  what: string;
  /** The code of a failure the registry gave no known code for. */
  failure: 'announce_failed' | 'status_change_failed';
  /** What was refused, for messages: `the announce`. */
  action: string;
  /** Whether trying again may help after this refusal (network errors are always retried). */
  retryable: (status: number, message: string) => boolean;
}

/**
 * POSTs a write (an announce, a status change) to the registry's function with its one token,
 * retrying with exponential backoff on network errors and on the refusals `rules` names; the
 * identical retry is idempotent on the registry's side (one token, one write).
 *
 * @throws ShelfError with the registry's own code when it sent a known one, else `rules.failure`;
 *   `invalid_argument` for bad options.
 */
export async function postToFunction<T>(options: PostAnnounceOptions, rules: WriteRules<T>): Promise<{ value: T; attempts: number }> {
  const { url, token, body } = options;
  if (typeof url !== 'string' || !/^https?:\/\//.test(url)) throw new ShelfError('invalid_argument', 'The "url" option must be an http(s) URL.');
  if (typeof token !== 'string' || token === '') throw new ShelfError('invalid_argument', 'The "token" option must be a non-empty string.');
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) {
    throw new ShelfError('invalid_argument', `The "maxAttempts" option must be a positive integer; got ${String(maxAttempts)}.`);
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ShelfError('invalid_argument', `The "timeoutMs" option must be a positive integer; got ${String(timeoutMs)}.`);
  }
  const retryDelayMs = options.retryDelayMs ?? 3000;
  if (!Number.isFinite(retryDelayMs) || retryDelayMs < 0) {
    throw new ShelfError('invalid_argument', `The "retryDelayMs" option must be a non-negative number; got ${String(retryDelayMs)}.`);
  }
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const fetchImpl = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));
  const payload = JSON.stringify(body);

  for (let attempt = 1; ; attempt++) {
    let failure: { retry: boolean; error: ShelfError };
    try {
      // One deadline for the whole answer, body included: a registry that stalls is a network error.
      const answer = await fetchWithDeadline(fetchImpl, url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
        body: payload,
        timeoutMs,
        maxBytes: MAX_WRITE_ANSWER_BYTES,
      });
      const text = new TextDecoder().decode(answer.bytes);
      if (answer.ok) {
        const parsed = rules.parse(safeJson(text));
        if (!parsed.success) {
          throw new ShelfError(rules.failure, `${url} answered HTTP ${answer.status} with something that is not ${rules.what}.`);
        }
        return { value: parsed.data, attempts: attempt };
      }
      failure = refusal(answer.status, text, url, rules);
    } catch (error) {
      if (isShelfError(error, 'document_too_large')) {
        // Final: a registry's answer is small, so an oversized one is not a hiccup to retry.
        throw new ShelfError<ErrorCode>(rules.failure, `${url} answered with more than ${MAX_WRITE_ANSWER_BYTES} bytes; a registry's answer is a few hundred.`, { url, status: error.details?.status });
      }
      const deadline = isShelfError(error, 'registry_unreachable');
      if (error instanceof ShelfError && !deadline) throw error;
      const cause = deadline ? `no whole answer within ${timeoutMs} ms` : error instanceof Error ? error.message : String(error);
      failure = { retry: true, error: new ShelfError(rules.failure, `Could not reach ${url}: ${cause}.`) };
    }
    if (!failure.retry || attempt >= maxAttempts) {
      if (failure.retry && maxAttempts > 1) {
        throw new ShelfError(failure.error.code, `${failure.error.message} (gave up after ${attempt} attempts)`, failure.error.details);
      }
      throw failure.error;
    }
    const delayMs = Math.min(MAX_DELAY_MS, retryDelayMs * 2 ** (attempt - 1));
    options.onRetry?.({ attempt, maxAttempts, delayMs, reason: failure.error.message });
    await sleep(delayMs);
  }
}

/** Turns an error answer into a ShelfError, and says whether trying again may help. */
function refusal<T>(status: number, text: string, url: string, rules: WriteRules<T>): { retry: boolean; error: ShelfError } {
  const json = safeJson(text) as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null;
  const remote = json && typeof json === 'object' ? json.error : undefined;
  const message = typeof remote?.message === 'string' ? remote.message : `HTTP ${status}`;
  const remoteCode = typeof remote?.code === 'string' ? remote.code : undefined;
  const code: ErrorCode = remoteCode !== undefined && Object.hasOwn(ERRORS, remoteCode) ? (remoteCode as ErrorCode) : rules.failure;
  const retry = rules.retryable(status, message);
  const error = new ShelfError(code, `The registry refused ${rules.action} (HTTP ${status}${remoteCode ? ` ${remoteCode}` : ''}): ${message}`, {
    url,
    status,
    ...(remote?.details !== undefined ? { details: remote.details } : {}),
  });
  return { retry, error };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A status change's body: `POST /v1/{bundles,skills}/status` (see `StatusRequestSchema`). */
export interface StatusBody {
  name: string;
  /** Omitted for the package as a whole. */
  version?: string;
  status: 'active' | 'deprecated' | 'yanked';
  message?: string;
}

/** A successful status change, and how many attempts it took. */
export interface StatusResult {
  response: StatusResponse;
  attempts: number;
}

/**
 * POSTs a status change, retrying on network errors only (a refusal is final; the identical
 * retry with the same token is idempotent on the registry's side).
 *
 * @throws ShelfError with the registry's own code (`scope_mismatch`, `not_found`,
 *   `version_removed`, ...) when it sent a known one, else `status_change_failed`
 */
export async function postStatus(options: Omit<PostAnnounceOptions, 'body'> & { body: StatusBody }): Promise<StatusResult> {
  const { value, attempts } = await postToFunction({ ...options, body: { ...options.body } }, {
    parse: (json) => StatusResponseSchema.safeParse(json),
    what: 'a status change response',
    failure: 'status_change_failed',
    action: 'the status change',
    retryable: () => false,
  });
  return { response: value, attempts };
}
