/**
 * What a client reads an HTTP answer as: status, headers, and a body read chunk by chunk. A fetch
 * `Response` is one (the web pages keep the browser's fetch); so is what the CLI's small Node
 * transport (`net/http-transport.ts`) answers, without loading fetch's HTTP stack (undici) for
 * the few small JSON requests of a command; so is a document the CLI answers from its cache.
 * Every read path (`fetch-json.ts`, `read-bounds.ts`, the CLI's cache and downloads) reads
 * through these shapes only.
 *
 * Pure module: no Node APIs.
 *
 * @module
 */

/** One read of a body: the next chunk, or the end. (A web stream reader's result is one.) */
export interface BodyChunk {
  done: boolean;
  value?: Uint8Array;
}

/** Reads a body chunk by chunk. */
export interface BodyReader {
  read(): Promise<BodyChunk>;
  /** Stops reading and releases the connection. */
  cancel(reason?: unknown): Promise<void>;
}

/** A body (a web `ReadableStream` is one). */
export interface HttpBody {
  getReader(): BodyReader;
  /** Discards the body and releases the connection. */
  cancel(reason?: unknown): Promise<void>;
}

/** An HTTP answer (a fetch `Response` is one). */
export interface HttpAnswer {
  readonly status: number;
  /** Whether the status is 2xx. */
  readonly ok: boolean;
  /** Header values by case-insensitive name, or null. */
  readonly headers: { get(name: string): string | null };
  readonly body: HttpBody | null;
}

/** What a GET is sent with. */
export interface HttpGetInit {
  headers?: Record<string, string>;
  /** Aborts the request, and a body being read. */
  signal?: AbortSignal;
}

/**
 * The GET every client reads with: the global `fetch` fits (the web pages), as do the CLI's
 * transport and its cache.
 */
export type FetchLike = (url: string, init?: HttpGetInit) => Promise<HttpAnswer>;

/** The global fetch, called through a wrapper: browsers throw "Illegal invocation" for a detached `window.fetch`. */
export const globalFetch: FetchLike = (url, init) => globalThis.fetch(url, init);

/**
 * An answer held in memory, its body read as one chunk.
 *
 * @param headers - Header values by lower-case name.
 */
export function memoryAnswer(status: number, headers: Record<string, string>, body: Uint8Array | null): HttpAnswer {
  let pending = body;
  const reader: BodyReader = {
    read: async () => {
      const value = pending;
      pending = null;
      return value === null ? { done: true } : { done: false, value };
    },
    cancel: async () => {
      pending = null;
    },
  };
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: headerGetter(headers),
    body: body === null ? null : { getReader: () => reader, cancel: reader.cancel },
  };
}

/** `get(name)` over header values by lower-case name. */
export function headerGetter(headers: Record<string, string | string[] | undefined>): HttpAnswer['headers'] {
  return {
    get: (name) => {
      const value = headers[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
