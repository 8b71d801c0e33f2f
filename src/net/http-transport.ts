/**
 * The CLI's GET: `node:http`/`node:https` behind the {@link FetchLike} every client reads with.
 * A command reads one to three small JSON documents over the network (a search: the config and
 * the index root, revalidated; the rest comes from the cache); Node's `fetch` would first load
 * its whole HTTP stack (undici, and on Node.js 20 a WebAssembly HTTP parser), which costs more
 * than the requests. The web pages keep the browser's fetch.
 *
 * - **Every hop is checked** before it is contacted: the first URL and each redirect, followed
 *   by hand (at most {@link MAX_REDIRECTS}), must be on a host of the allow-list (the registry's
 *   own host), compared exactly (host and port); never from HTTPS down to HTTP; no credentials in
 *   URLs. A hop off the list is `registry_unreachable` (reason `untrusted_redirect`), refused
 *   before any connection to it.
 * - **Bounded** by the caller: the abort signal (the read bounds' connect and idle timeouts, see
 *   `core/read-bounds.ts`) ends the request and a body being read; sizes are counted by the
 *   reader (`readDocumentBody`).
 * - Compressed answers (`gzip`, `deflate`, `br`, which a CDN sends when asked) are decoded, as
 *   fetch decodes them; `node:zlib` is loaded only then.
 *
 * Connections are kept alive within a command (Node's global agents), and never keep the
 * process alive.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { ShelfError } from '../core/errors.ts';
import { headerGetter, type BodyReader, type FetchLike, type HttpAnswer, type HttpGetInit } from '../core/http-answer.ts';

/**
 * Node's HTTP modules, required rather than imported: importing `node:http` as an ES module reads
 * every export, and on Node.js 22 three of them (`WebSocket`, `CloseEvent`, `MessageEvent`) load
 * undici, the very stack this transport avoids.
 */
const builtin = createRequire(import.meta.url) as <T>(id: string) => T;

/** Most redirects followed for one request. */
export const MAX_REDIRECTS = 5;

const REDIRECTS = [301, 302, 303, 307, 308];
/** Bytes of a redirect's body read to keep its connection; a longer one is cut off. */
const SMALL_BODY = 64 * 1024;

/** Options of {@link createHttpTransport}. */
export interface HttpTransportOptions {
  /**
   * `host` or `host:port` values (as in `URL.host`) every hop may go to, compared exactly,
   * case-insensitively: for a registry client, its base URL's host.
   */
  allowedHosts: readonly string[];
}

/**
 * A GET over `node:http`/`node:https` that follows redirects within the allow-list.
 *
 * @example
 * ```ts
 * const client = new RegistryClient({ baseUrl, fetch: createHttpTransport({ allowedHosts: [new URL(baseUrl).host] }) });
 * ```
 * @throws ShelfError `invalid_argument` when `allowedHosts` is not a list of hosts. The GET
 *   throws ShelfError `registry_unreachable` for a hop off the list or too many redirects, and
 *   Node's network errors (`ECONNREFUSED`…) or the signal's reason otherwise.
 */
export function createHttpTransport(options: HttpTransportOptions): FetchLike {
  const { allowedHosts } = options;
  if (!Array.isArray(allowedHosts) || !allowedHosts.every((h) => typeof h === 'string' && h !== '')) {
    throw new ShelfError('invalid_argument', 'The "allowedHosts" option must be a list of hosts.');
  }
  const allowed = new Set(allowedHosts.map((h) => h.toLowerCase()));
  return async (url, init = {}) => {
    let current = new URL(url);
    checkHop(current, allowed, url, null);
    for (let hop = 0; ; hop++) {
      const { location, answer } = await get(current, init);
      if (location === null) return answer;
      if (hop >= MAX_REDIRECTS) {
        throw new ShelfError('registry_unreachable', `${url} redirected more than ${MAX_REDIRECTS} times.`, { url, reason: 'too_many_redirects' });
      }
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        throw new ShelfError('registry_unreachable', `${url} redirected to an invalid URL.`, { url, reason: 'untrusted_redirect' });
      }
      checkHop(next, allowed, url, current);
      current = next;
    }
  };
}

/**
 * A hop must be http(s), on an allowed host, without credentials, and never go from HTTPS to HTTP.
 *
 * @throws ShelfError `registry_unreachable` (reason `untrusted_redirect`) naming where it leads.
 */
function checkHop(next: URL, allowed: Set<string>, url: string, from: URL | null): void {
  const scheme = next.protocol === 'https:' || (next.protocol === 'http:' && from?.protocol !== 'https:');
  if (scheme && allowed.has(next.host.toLowerCase()) && next.username === '' && next.password === '') return;
  const where = next.protocol === 'http:' || next.protocol === 'https:' ? `${next.protocol}//${next.host}` : next.protocol;
  if (from === null) throw new ShelfError('registry_unreachable', `${url} is on ${where}, which is not a host this client reads from.`, { url, reason: 'untrusted_redirect' });
  throw new ShelfError('registry_unreachable', `${url} redirected to ${where}, which is not the registry's host; not followed.`, { url, reason: 'untrusted_redirect' });
}

/** One GET, its body unread. */
async function get(url: URL, init: HttpGetInit): Promise<{ status: number; location: string | null; answer: HttpAnswer }> {
  const { request } = url.protocol === 'https:' ? builtin<typeof import('node:https')>('node:https') : builtin<typeof import('node:http')>('node:http');
  const { signal } = init;
  signal?.throwIfAborted();
  const response = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { 'accept-encoding': 'gzip, deflate, br', ...init.headers } }, resolve);
    const abort = () => req.destroy(signal!.reason instanceof Error ? signal!.reason : new Error(String(signal!.reason)));
    signal?.addEventListener('abort', abort, { once: true });
    req.once('error', (error) => {
      signal?.removeEventListener('abort', abort);
      reject(signal?.aborted ? signal.reason : error);
    });
    req.once('response', (res) => {
      // From here the signal ends the answer's body instead.
      signal?.removeEventListener('abort', abort);
      if (signal) {
        const end = () => res.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
        signal.addEventListener('abort', end, { once: true });
        res.once('close', () => signal.removeEventListener('abort', end));
      }
    });
    req.end();
  });
  const status = response.statusCode ?? 0;
  const location = typeof response.headers.location === 'string' ? response.headers.location : null;
  const answer = { status, ok: status >= 200 && status < 300, headers: headerGetter(response.headers) };
  const redirect = location !== null && REDIRECTS.includes(status);
  if (status === 204 || status === 205 || status === 304 || redirect) {
    // No body (as fetch answers them), or a redirect's: drained now, when it is known to be small,
    // so the connection serves the next request; cut off otherwise.
    const length = Number(response.headers['content-length'] ?? (status === 304 || status === 204 || status === 205 ? 0 : NaN));
    if (!(length <= SMALL_BODY) || response.headers['content-encoding'] !== undefined) response.destroy();
    else {
      await new Promise<void>((resolve) => {
        response.once('end', resolve).once('close', resolve);
        response.resume();
      });
    }
    return { status, location: redirect ? location : null, answer: { ...answer, body: null } };
  }
  const body = decoded(response);
  return { status, location, answer: { ...answer, body: { getReader: () => reader(body, response), cancel: async () => release(body, response) } } };
}

/** The body as sent, or decoded when it is compressed. */
function decoded(response: IncomingMessage): AsyncIterable<Uint8Array> & NodeJS.ReadableStream {
  const encoding = response.headers['content-encoding']?.trim().toLowerCase();
  if (encoding === undefined || encoding === '' || encoding === 'identity') return response;
  const zlib = builtin<typeof import('node:zlib')>('node:zlib');
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : null;
  if (decoder === null) {
    response.destroy();
    throw new Error(`unsupported content-encoding "${encoding}"`);
  }
  response.on('error', (error) => decoder.destroy(error));
  response.on('close', () => {
    if (!response.complete) decoder.destroy(new Error('the answer broke off'));
  });
  return response.pipe(decoder);
}

/**
 * Ends an answer nobody reads further: one received whole and not being decoded (a 304, a small
 * error page) is drained, so its connection serves the next request; anything else is cut off.
 */
function release(stream: NodeJS.ReadableStream, response: IncomingMessage): void {
  if (response.complete && stream === response) response.resume();
  else response.destroy();
}

/** Reads a Node stream chunk by chunk; cancelling destroys the connection's answer. */
function reader(stream: AsyncIterable<Uint8Array> & NodeJS.ReadableStream, response: IncomingMessage): BodyReader {
  const chunks = stream[Symbol.asyncIterator]();
  return {
    read: async () => {
      const next = await chunks.next();
      return next.done ? { done: true } : { done: false, value: next.value };
    },
    cancel: async () => release(stream, response),
  };
}
