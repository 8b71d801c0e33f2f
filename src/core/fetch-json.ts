/**
 * The one JSON read every client makes (the registry client, the sharded search reader, the web
 * pages): a GET of a static file, sent once more when the connection fails before any answer,
 * with `If-None-Match` when an ETag is known, parsed as JSON, checked against the schema version
 * this client understands, and validated. Every failure is a {@link ShelfError}:
 * `registry_unreachable` naming the URL, or the caller's `not_found` for a 404 or 410.
 *
 * Every read is bounded (`read-bounds.ts`): in size (`document_too_large`) and in time (a
 * response that does not start, or a body that stalls, is `registry_unreachable`).
 *
 * Pure module: no Node APIs (the web pages import it); the GET is passed in (`http-answer.ts`).
 *
 * @module
 */
import { ShelfError, isShelfError } from './errors.ts';
import type { FetchLike, HttpAnswer } from './http-answer.ts';
import { DEFAULT_READ_BOUNDS, fetchWithTimeouts, readDocumentBody, type ReadBounds } from './read-bounds.ts';
import { SCHEMA_VERSION } from './schema-constants.ts';

export { globalFetch, type FetchLike } from './http-answer.ts';

/** Options of {@link fetchJson}. */
export interface FetchJsonOptions<T> {
  /** The GET to send (the global `fetch`, or the CLI's transport and cache). */
  fetch: FetchLike;
  /**
   * Validates the parsed JSON and returns the document, or throws (a zod schema's `parse` fits;
   * any error becomes `registry_unreachable` naming the URL and the message). Default: none.
   */
  parse?: (json: unknown) => T;
  /** What the document is, for messages (`package`, `index file`). Default `JSON`. */
  what?: string;
  /** Sent as `If-None-Match`; a 304 then answers `{ notModified: true }`. */
  etag?: string | null;
  /** The error for a 404 or 410. Default `registry_unreachable`. */
  notFound?: (url: string) => ShelfError;
  /** Size and time bounds. Default {@link DEFAULT_READ_BOUNDS}. */
  bounds?: ReadBounds;
}

/** What {@link fetchJson} read. */
export type FetchJsonResult<T> =
  | { notModified: false; value: T; etag: string | null; bytes: number }
  | { notModified: true; etag: string };

/**
 * GETs a JSON document and validates it.
 *
 * @throws ShelfError `registry_unreachable` (network failure, HTTP error, invalid JSON, a newer
 *   `schema_version`, or a document `parse` refuses), or `notFound(url)` for a 404 or 410.
 */
export async function fetchJson<T = unknown>(url: string, options: FetchJsonOptions<T>): Promise<FetchJsonResult<T>> {
  const { etag } = options;
  const bounds = options.bounds ?? DEFAULT_READ_BOUNDS;
  const send: FetchLike = (u, init) => fetchWithTimeouts(options.fetch, u, init ?? {}, bounds);
  let response: HttpAnswer;
  let body: Uint8Array;
  try {
    response = await fetchOnceMore(send, url, { headers: etag ? { accept: 'application/json', 'if-none-match': etag } : { accept: 'application/json' } });
    if (response.status === 304 && etag) {
      await response.body?.cancel().catch(() => {});
      return { notModified: true, etag };
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel().catch(() => {});
      throw options.notFound?.(url) ?? new ShelfError('registry_unreachable', `${url} was not found (HTTP ${response.status}).`, { url, status: response.status });
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new ShelfError('registry_unreachable', `GET ${url} failed with HTTP ${response.status}.`, { url, status: response.status });
    }
    body = await readDocumentBody(response, url, bounds);
  } catch (error) {
    if (isShelfError(error)) throw error;
    throw new ShelfError('registry_unreachable', `Could not reach ${url}: ${describeNetworkError(error)}.`, { url });
  }
  let json: unknown;
  try {
    json = JSON.parse(UTF8.decode(body));
  } catch {
    throw new ShelfError('registry_unreachable', `${url} did not return valid JSON.`, { url });
  }
  const version = (json as { schema_version?: unknown } | null)?.schema_version;
  if (typeof version === 'number' && version > SCHEMA_VERSION) {
    throw new ShelfError('registry_unreachable', `${url} has schema_version ${version}; this client understands ${SCHEMA_VERSION}. Upgrade shelf.`, { url });
  }
  let value: T;
  try {
    value = options.parse ? options.parse(json) : (json as T);
  } catch (error) {
    if (isShelfError(error)) throw error;
    throw new ShelfError('registry_unreachable', `${url} is not a valid ${options.what ?? 'JSON'} document (${describeInvalid(error)}).`, { url });
  }
  return { notModified: false, value, etag: response.headers.get('etag'), bytes: body.byteLength };
}

/**
 * A GET that is sent once more when the first attempt fails before any response (the fetch
 * throws): a keep-alive connection the server closed just as it was reused fails that way, and
 * browsers resend idempotent requests in that case too. HTTP errors are responses, never resent;
 * nor is a request that timed out (a {@link ShelfError}): waiting twice helps nobody.
 */
export async function fetchOnceMore<I, R>(fetchFn: (url: string, init?: I) => Promise<R>, url: string, init?: I): Promise<R> {
  try {
    return await fetchFn(url, init);
  } catch (error) {
    if (isShelfError(error)) throw error;
    return fetchFn(url, init);
  }
}

const UTF8 = new TextDecoder();

/** A zod error's first issues (`path: message`), or any other error's message. */
function describeInvalid(error: unknown): string {
  const issues = (error as { issues?: { path: PropertyKey[]; message: string }[] } | null)?.issues;
  if (Array.isArray(issues)) return issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  return error instanceof Error ? error.message : String(error);
}

/** Node's fetch says only "fetch failed"; the useful part (ECONNREFUSED...) is in `cause`. */
function describeNetworkError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return `${error.message} (${typeof code === 'string' ? `${code}: ` : ''}${cause.message})`;
  }
  return error.message;
}
