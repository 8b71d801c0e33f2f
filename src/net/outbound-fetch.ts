/**
 * Every request the registry itself makes to the outside world (the OIDC issuer's key set, the
 * GitHub releases API, release asset downloads) goes through this one module:
 *
 * - **every hop is checked** against the caller's allow-list before it is contacted: the first
 *   URL and each redirect, which is followed by hand (at most {@link MAX_REDIRECTS}). Hosts are
 *   compared exactly (host and port, never by suffix); only HTTPS, or plain HTTP to loopback;
 *   no credentials in URLs. A credential header (`authorization`) is dropped when a redirect
 *   leaves the first host;
 * - **bounded in time**: one deadline covers the whole exchange, redirects and body included;
 * - **bounded in size**: bodies are read through {@link readOutboundBody} with a cap.
 *
 * Its errors are one family: `upstream_untrusted_host` (a hop off the allow-list, refused
 * before connecting), `upstream_too_large` (a body over its cap), `upstream_unavailable`
 * (unreachable, timed out, reset, too many redirects). Callers map them where their own contract
 * names another code (the asset fetch reports an untrusted hop as `asset_untrusted_host`).
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { BodyTooLargeError, readBodyBounded } from '../core/read-bounds.ts';

/** Most redirects followed for one request (GitHub's asset downloads take one or two). */
export const MAX_REDIRECTS = 5;

/** Options of {@link fetchOutbound}. */
export interface OutboundOptions {
  /** What is fetched, for messages: "the releases API", "the OIDC key set". */
  what: string;
  /** `host` or `host:port` values (as in `URL.host`) every hop may go to, compared exactly, case-insensitively. */
  allowedHosts: readonly string[];
  /** The deadline of the whole exchange, body included (see {@link outboundDeadline}). */
  signal: AbortSignal;
  /** Request headers. `authorization` is sent only to the first URL's host. */
  headers?: Record<string, string>;
  /** Most redirects to follow. Default {@link MAX_REDIRECTS}. */
  maxRedirects?: number;
}

/** A deadline `ms` from now, combined with an outer signal (such as jose's) when one is given. */
export function outboundDeadline(ms: number, outer?: AbortSignal | null): AbortSignal {
  const own = AbortSignal.timeout(ms);
  return outer ? AbortSignal.any([own, outer]) : own;
}

/**
 * Checks one hop: the URL must be HTTPS (or HTTP to loopback), without credentials, on a host of
 * the allow-list.
 *
 * @throws ShelfError `upstream_untrusted_host` naming the scheme and host
 */
export function checkHop(url: URL, allowedHosts: readonly string[], what: string): void {
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  const schemeOk = url.protocol === 'https:' || (url.protocol === 'http:' && loopback);
  const allowed = allowedHosts.some((h) => h.toLowerCase() === url.host.toLowerCase());
  if (!schemeOk || !allowed || url.username !== '' || url.password !== '') {
    const where = url.protocol === 'http:' || url.protocol === 'https:' ? `${url.protocol}//${url.host}` : url.protocol;
    throw new ShelfError('upstream_untrusted_host', `${capitalise(what)} is served from ${where}, which is not a trusted host.`, {
      host: url.host,
      protocol: url.protocol,
    });
  }
}

/**
 * GETs `url`, following redirects by hand and checking every hop first. The final response is
 * returned with its body unread (read it with {@link readOutboundBody}); any status, 2xx or not,
 * is the caller's to judge.
 *
 * @throws ShelfError `upstream_untrusted_host`, `upstream_unavailable`
 */
export async function fetchOutbound(url: string, options: OutboundOptions): Promise<Response> {
  const maxRedirects = options.maxRedirects ?? MAX_REDIRECTS;
  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new ShelfError('upstream_untrusted_host', `${capitalise(options.what)} has no valid URL.`);
  }
  const firstHost = current.host.toLowerCase();
  for (let hop = 0; ; hop++) {
    checkHop(current, options.allowedHosts, options.what);
    const headers = { ...options.headers };
    // A credential meant for the first host never follows a redirect elsewhere.
    if (current.host.toLowerCase() !== firstHost) delete headers.authorization;
    let response: Response;
    try {
      response = await fetch(current, { redirect: 'manual', signal: options.signal, headers });
    } catch (error) {
      throw unavailable(options, error);
    }
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || location === null) return response;
    await response.body?.cancel().catch(() => {});
    if (hop >= maxRedirects) throw new ShelfError('upstream_unavailable', `${capitalise(options.what)} redirected more than ${maxRedirects} times.`);
    try {
      current = new URL(location, current);
    } catch {
      throw new ShelfError('upstream_unavailable', `${capitalise(options.what)} redirected to an invalid URL.`);
    }
  }
}

/**
 * Reads a response body of at most `maxBytes`, within the request's deadline.
 *
 * @param onChunk - Optional: sees each chunk as it arrives (to hash it, or to stop early by throwing).
 * @throws ShelfError `upstream_too_large`, `upstream_unavailable`; whatever `onChunk` throws.
 */
export async function readOutboundBody(
  response: Response,
  maxBytes: number,
  options: Pick<OutboundOptions, 'what' | 'signal'>,
  onChunk?: (chunk: Uint8Array) => void,
): Promise<Uint8Array> {
  try {
    return await readBodyBounded(response, maxBytes, onChunk);
  } catch (error) {
    if (error instanceof ShelfError) throw error;
    if (error instanceof BodyTooLargeError) {
      throw new ShelfError('upstream_too_large', `${capitalise(options.what)} sent more than ${maxBytes} bytes.`, { limit: maxBytes });
    }
    throw unavailable(options, error);
  }
}

function unavailable(options: Pick<OutboundOptions, 'what' | 'signal'>, error: unknown): ShelfError {
  if (options.signal.aborted) return new ShelfError('upstream_unavailable', `Fetching ${options.what} timed out.`);
  const cause = error instanceof Error ? ((error.cause as { code?: string } | undefined)?.code ?? error.message) : String(error);
  return new ShelfError('upstream_unavailable', `Fetching ${options.what} failed (${cause}).`);
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
