/**
 * The bounds on everything a client reads from a registry, in one place. Every client read path
 * goes through here: the one JSON fetch (`fetch-json.ts`, which the registry client, the sharded
 * search reader and the web pages use), the CLI's document cache (`cli/cache.ts`) and its artifact
 * downloads (`cli/download.ts`).
 *
 * - **Size**: a document is read up to {@link ReadBounds.maxDocumentBytes} and refused past it
 *   (`document_too_large`), never read whole first. Artifacts are bounded by the size their
 *   version records, and streamed to disk.
 * - **Time**: a request that has no answer (status and headers) within
 *   {@link ReadBounds.connectTimeoutMs}, or whose body then stalls for
 *   {@link ReadBounds.idleTimeoutMs}, is aborted: `registry_unreachable`, as any other network
 *   failure, so callers that fall back on an unreachable registry (`shelf bundle run`) do so.
 * - **Writes**: a write to the registry's function and the CLI's OIDC token request, whose answers
 *   are small, go through {@link fetchWithDeadline}: one deadline for the whole answer, and a cap.
 * - **Immutability**: only a content-addressed key — one whose name carries the hash of its bytes,
 *   which the client checks — may be kept without revalidation, whatever `Cache-Control` says
 *   (see {@link contentAddressOf} and {@link verifyContentAddress}).
 *
 * Pure module: no Node APIs; Web Crypto for content addresses (the web pages import it).
 *
 * @module
 */
import { ShelfError } from './errors.ts';
import type { FetchLike, HttpAnswer, HttpBody, HttpGetInit } from './http-answer.ts';

/** Bounds on client reads. */
export interface ReadBounds {
  /** Largest document read, bytes. Default {@link DEFAULT_READ_BOUNDS} (16 MiB); `SHELF_MAX_DOCUMENT_BYTES`. */
  maxDocumentBytes: number;
  /** Longest wait for a response to start (status and headers), ms. Default 10 s; `SHELF_CONNECT_TIMEOUT_MS`. */
  connectTimeoutMs: number;
  /** Longest wait for the next bytes of a body, ms. Default 30 s; `SHELF_IDLE_TIMEOUT_MS`. */
  idleTimeoutMs: number;
}

/**
 * The defaults. 16 MiB is far above any package or version document and every piece of the
 * sharded index (tens of kilobytes).
 */
export const DEFAULT_READ_BOUNDS: Readonly<ReadBounds> = Object.freeze({
  maxDocumentBytes: 16 * 1024 * 1024,
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 30_000,
});

/** The environment variables that override each bound. */
export const READ_BOUND_VARIABLES: Readonly<Record<keyof ReadBounds, string>> = Object.freeze({
  maxDocumentBytes: 'SHELF_MAX_DOCUMENT_BYTES',
  connectTimeoutMs: 'SHELF_CONNECT_TIMEOUT_MS',
  idleTimeoutMs: 'SHELF_IDLE_TIMEOUT_MS',
});

/**
 * The bounds, with the environment's overrides applied.
 *
 * @throws ShelfError `invalid_argument` naming a variable that is not a positive integer
 */
export function readBoundsFromEnv(env: Record<string, string | undefined>): ReadBounds {
  const bounds = { ...DEFAULT_READ_BOUNDS };
  for (const [key, name] of Object.entries(READ_BOUND_VARIABLES) as Array<[keyof ReadBounds, string]>) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n <= 0) throw new ShelfError('invalid_argument', `${name} must be a positive integer, got ${JSON.stringify(raw)}.`);
    bounds[key] = n;
  }
  return bounds;
}

/** Validates partial bounds (eagerly, naming the option) and fills in the defaults. */
export function readBounds(partial: Partial<ReadBounds> = {}): ReadBounds {
  const bounds = { ...DEFAULT_READ_BOUNDS, ...partial };
  for (const key of Object.keys(DEFAULT_READ_BOUNDS) as Array<keyof ReadBounds>) {
    if (!Number.isSafeInteger(bounds[key]) || bounds[key] <= 0) {
      throw new ShelfError('invalid_argument', `The "${key}" bound must be a positive integer; got ${String(bounds[key])}.`);
    }
  }
  return bounds;
}

/**
 * Sends a request with the connect and idle timeouts: the answer must start within
 * `connectTimeoutMs`, and its body (wrapped here) must never stall for `idleTimeoutMs`.
 *
 * @throws ShelfError `registry_unreachable` when the answer does not start in time (the body's
 *   reader throws the same when the body stalls); whatever `fetch` throws otherwise.
 */
export async function fetchWithTimeouts(fetchFn: FetchLike, url: string, init: HttpGetInit, bounds: ReadBounds): Promise<HttpAnswer> {
  const controller = new AbortController();
  let timedOut: ShelfError | null = null;
  const expire = (error: ShelfError) => {
    timedOut = error;
    controller.abort(error);
  };
  const connect = setTimeout(
    () => expire(new ShelfError('registry_unreachable', `${url} did not answer within ${bounds.connectTimeoutMs} ms (SHELF_CONNECT_TIMEOUT_MS).`, { url, reason: 'connect_timeout' })),
    bounds.connectTimeoutMs,
  );
  let response: HttpAnswer;
  try {
    // A caller's own signal (an outer deadline) still applies.
    const signal = init.signal ? AbortSignal.any([controller.signal, init.signal]) : controller.signal;
    response = await fetchFn(url, { ...init, signal });
  } catch (error) {
    throw timedOut ?? error;
  } finally {
    clearTimeout(connect);
  }
  const inner = response.body;
  if (!inner || [101, 204, 205, 304].includes(response.status)) return response;
  const stalled = () =>
    new ShelfError('registry_unreachable', `${url} sent no data for ${bounds.idleTimeoutMs} ms (SHELF_IDLE_TIMEOUT_MS).`, { url, reason: 'idle_timeout' });
  const cancel = (reason?: unknown): Promise<void> => {
    controller.abort(reason);
    return inner.cancel(reason);
  };
  const body: HttpBody = {
    getReader: () => {
      const reader = inner.getReader();
      return {
        read: async () => {
          let idle: ReturnType<typeof setTimeout> | undefined;
          // The read is raced against the idle timer: a body that ignores the abort still ends.
          const expired = new Promise<never>((_, reject) => {
            idle = setTimeout(() => {
              expire(stalled());
              reject(timedOut);
            }, bounds.idleTimeoutMs);
          });
          try {
            return await Promise.race([reader.read(), expired]);
          } catch (error) {
            throw timedOut ?? error;
          } finally {
            clearTimeout(idle);
          }
        },
        cancel: (reason) => {
          controller.abort(reason);
          return reader.cancel(reason);
        },
      };
    },
    cancel,
  };
  return { status: response.status, ok: response.ok, headers: response.headers, body };
}

/** What {@link fetchWithDeadline} sends, and how long and how much of the answer it waits for. */
export interface DeadlineRequest {
  /** The HTTP method. Default `GET`. */
  method?: 'GET' | 'POST';
  /** Request headers. */
  headers?: Record<string, string>;
  /** The request body (a POST's JSON). */
  body?: string;
  /** Longest wait for the whole answer (status, headers and body), ms. A positive integer; no default. */
  timeoutMs: number;
  /** Largest body read, bytes. A positive integer; no default. */
  maxBytes: number;
}

/** What {@link fetchWithDeadline} sends with: a GET's init, plus a method and a body. */
export interface HttpRequestInit extends HttpGetInit {
  method?: string;
  body?: string;
}

/** A fetch that can send any method (the global `fetch` is one). */
export type RequestFetchLike = (url: string, init: HttpRequestInit) => Promise<HttpAnswer>;

/** A whole answer, read within its deadline and cap. Any status: judging it is the caller's. */
export interface WholeAnswer {
  status: number;
  /** Whether the status is 2xx. */
  ok: boolean;
  bytes: Uint8Array;
}

/**
 * Sends one request (a write's POST, a token request) and reads its whole answer within one
 * deadline, `request.timeoutMs`, that covers the status, the headers and the body, and within a
 * size cap, `request.maxBytes`: for small answers, where an answer that stalls is a failure
 * however it stalls (documents use {@link fetchWithTimeouts}'s connect and idle bounds instead).
 *
 * @throws ShelfError `invalid_argument` naming an option that is not a positive integer;
 *   `registry_unreachable` (`reason: 'deadline'`) when the whole answer did not come in time;
 *   `document_too_large` (with the answer's `status`) as soon as the body passes the cap;
 *   whatever `fetch` or the body throws otherwise (a network error).
 */
export async function fetchWithDeadline(fetchFn: RequestFetchLike, url: string, request: DeadlineRequest): Promise<WholeAnswer> {
  for (const key of ['timeoutMs', 'maxBytes'] as const) {
    if (!Number.isSafeInteger(request[key]) || request[key] <= 0) {
      throw new ShelfError('invalid_argument', `The "${key}" option must be a positive integer; got ${String(request[key])}.`);
    }
  }
  const { timeoutMs, maxBytes } = request;
  const signal = AbortSignal.timeout(timeoutMs);
  const init: HttpRequestInit = { method: request.method ?? 'GET', headers: request.headers ?? {}, signal };
  if (request.body !== undefined) init.body = request.body;
  let response: HttpAnswer | undefined;
  try {
    response = await fetchFn(url, init);
    return { status: response.status, ok: response.ok, bytes: await readBodyBounded(response, maxBytes) };
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new ShelfError('document_too_large', `${url} answered with more than ${maxBytes} bytes.`, { url, limit: maxBytes, status: response?.status });
    }
    if (signal.aborted && !(error instanceof ShelfError)) {
      throw new ShelfError('registry_unreachable', `No whole answer from ${url} within ${timeoutMs} ms.`, { url, reason: 'deadline' });
    }
    throw error;
  }
}

/** Thrown by {@link readBodyBounded} when the body passes the cap; callers turn it into their own code. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The response body is larger than ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads the whole body of `response`, at most `maxBytes` of it: the read stops (and the
 * connection is released) as soon as the bytes received pass the cap, so an endless or oversized
 * body costs at most one chunk more than the cap. Shared with the registry's outbound requests.
 *
 * @param onChunk - Optional: called with each chunk as it arrives (e.g. to hash it).
 * @throws BodyTooLargeError when the body passes `maxBytes`; whatever the stream throws otherwise.
 */
export async function readBodyBounded(response: Pick<HttpAnswer, 'headers' | 'body'>, maxBytes: number, onChunk?: (chunk: Uint8Array) => void): Promise<Uint8Array> {
  // A declared length over the cap is refused before reading anything.
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes && !response.headers.get('content-encoding')) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLargeError(maxBytes);
  }
  if (!response.body) return new Uint8Array(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done || value === undefined) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLargeError(maxBytes);
    }
    onChunk?.(value);
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/**
 * Reads a document's body within `bounds.maxDocumentBytes`.
 *
 * @throws ShelfError `document_too_large` naming the URL and the bound; `registry_unreachable`
 *   when the body stalls or breaks off.
 */
export async function readDocumentBody(response: HttpAnswer, url: string, bounds: ReadBounds): Promise<Uint8Array> {
  try {
    return await readBodyBounded(response, bounds.maxDocumentBytes);
  } catch (error) {
    if (error instanceof ShelfError) throw error;
    if (error instanceof BodyTooLargeError) {
      throw new ShelfError('document_too_large', `${url} is larger than the ${bounds.maxDocumentBytes} bytes this client reads (SHELF_MAX_DOCUMENT_BYTES).`, {
        url,
        limit: bounds.maxDocumentBytes,
      });
    }
    throw new ShelfError('registry_unreachable', `The answer from ${url} broke off (${error instanceof Error ? error.message : String(error)}).`, { url });
  }
}

/**
 * The hash a content-addressed key names, or null for any other key. Only these keys may be
 * treated as immutable: the sharded index's pieces, `…/shards/{sha256 prefix}.json` (20 hex
 * digits) and `…/docs/{id}-{sha256 prefix}.json` (10 hex digits), whose names are the first hex
 * digits of the SHA-256 of their bytes.
 */
export function contentAddressOf(url: string): string | null {
  const path = url.replace(/[?#].*$/, '');
  const m = /\/v1\/search\/[a-z]+\/(?:shards\/([0-9a-f]{20})|docs\/[0-9a-z]+-([0-9a-f]{10}))\.json$/.exec(path);
  return m ? (m[1] ?? m[2]!) : null;
}

/**
 * Checks that `bytes` are what a content-addressed URL names.
 *
 * @returns false for a URL that is not content-addressed, or bytes of another hash.
 */
export async function verifyContentAddress(url: string, bytes: Uint8Array): Promise<boolean> {
  const expected = contentAddressOf(url);
  if (expected === null) return false;
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  const hex = Array.from(digest.subarray(0, Math.ceil(expected.length / 2)), (b) => b.toString(16).padStart(2, '0')).join('');
  return hex.startsWith(expected);
}
