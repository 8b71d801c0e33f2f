/**
 * Reads a response body with a hard cap on its size: the read stops (and the connection is
 * released) as soon as the bytes received pass the cap, so an endless or oversized body costs at
 * most one chunk more than the cap. Shared by the registry's outbound requests and the client's
 * document reads.
 *
 * Pure module: web streams only.
 *
 * @module
 */

/** Thrown by {@link readBodyBounded} when the body passes the cap; callers turn it into their own code. */
export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`The response body is larger than ${limit} bytes.`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Reads the whole body of `response`, at most `maxBytes` of it.
 *
 * @param onChunk - Optional: called with each chunk as it arrives (e.g. to hash it).
 * @throws BodyTooLargeError when the body passes `maxBytes` (the stream is cancelled first);
 *   whatever the stream throws (an aborted signal, a reset connection) otherwise.
 */
export async function readBodyBounded(response: Response, maxBytes: number, onChunk?: (chunk: Uint8Array) => void): Promise<Uint8Array> {
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
    if (done) break;
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
