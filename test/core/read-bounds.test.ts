/**
 * The client's read bounds on their own: which keys count as content-addressed (and so may be
 * cached without revalidation), how the environment overrides the bounds, a 304 passing
 * through the timeouts untouched, and the one deadline-and-cap request that writes and token
 * requests send (`fetchWithDeadline`).
 */
import { describe, expect, it } from 'vitest';
import { contentAddressOf, DEFAULT_READ_BOUNDS, fetchWithDeadline, fetchWithTimeouts, readBoundsFromEnv, verifyContentAddress, type HttpRequestInit } from '../../src/core/read-bounds.ts';
import { createHash } from 'node:crypto';

describe('contentAddressOf', () => {
  it.each([
    ['https://cdn.example/v1/search/bundles/shards/0123456789abcdef0123.json', '0123456789abcdef0123'],
    ['https://cdn.example/shelf/v1/search/skills/docs/k3z-0123456789.json', '0123456789'],
  ])('names the hash of %s', (url, hash) => expect(contentAddressOf(url)).toBe(hash));

  it.each([
    'https://cdn.example/v1/search/bundles/root.json',
    'https://cdn.example/v1/bundles/@acme/echo.json',
    'https://cdn.example/v1/config.json',
    'https://cdn.example/v1/search/bundles/shards/0123.json',
    'https://cdn.example/v1/search/bundles/shards/0123456789ABCDEF0123.json',
    'https://cdn.example/v1/bundles/@acme/shards/0123456789abcdef0123.json',
  ])('does not treat %s as content-addressed', (url) => expect(contentAddressOf(url)).toBeNull());

  it('verifies bytes against the name', async () => {
    const bytes = new TextEncoder().encode('{"a":1}\n');
    const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 20);
    expect(await verifyContentAddress(`https://x/v1/search/bundles/shards/${hash}.json`, bytes)).toBe(true);
    expect(await verifyContentAddress(`https://x/v1/search/bundles/shards/${'0'.repeat(20)}.json`, bytes)).toBe(false);
  });
});

describe('readBoundsFromEnv', () => {
  it('applies each variable and refuses what is not a positive integer, naming it', () => {
    expect(readBoundsFromEnv({})).toEqual(DEFAULT_READ_BOUNDS);
    expect(readBoundsFromEnv({ SHELF_MAX_DOCUMENT_BYTES: '10', SHELF_CONNECT_TIMEOUT_MS: '20', SHELF_IDLE_TIMEOUT_MS: '30' })).toEqual({ maxDocumentBytes: 10, connectTimeoutMs: 20, idleTimeoutMs: 30 });
    for (const value of ['0', '-1', '1.5', 'x']) {
      expect(() => readBoundsFromEnv({ SHELF_IDLE_TIMEOUT_MS: value })).toThrow(/SHELF_IDLE_TIMEOUT_MS/);
    }
  });
});

describe('fetchWithTimeouts', () => {
  it('passes a 304 through unchanged', async () => {
    const res = await fetchWithTimeouts(async () => new Response(null, { status: 304, headers: { etag: '"a"' } }), 'https://x/y.json', {}, DEFAULT_READ_BOUNDS);
    expect(res.status).toBe(304);
    expect(res.headers.get('etag')).toBe('"a"');
  });
});

describe('fetchWithDeadline', () => {
  /** A fetch whose answer streams `chunks` (then, when `endless`, never ends), as fetch does: the request's signal errors the body. */
  const streaming = (status: number, chunks: Uint8Array[], endless: boolean) => {
    const sent: Array<{ url: string; init: HttpRequestInit }> = [];
    let pulls = 0;
    const fetchFn = async (url: string, init: HttpRequestInit) => {
      sent.push({ url, init });
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => init.signal?.addEventListener('abort', () => controller.error(init.signal!.reason)),
        pull: (controller) => {
          const chunk = chunks[pulls++];
          if (chunk) controller.enqueue(chunk);
          else if (!endless) controller.close();
          else return new Promise<void>(() => {}); // stalls
        },
      });
      return new Response(body, { status });
    };
    return { fetchFn, sent, pulls: () => pulls };
  };

  it('sends a POST with its headers and body, and returns a refusal whole, status and bytes, for the caller to judge', async () => {
    const { fetchFn, sent } = streaming(409, [new TextEncoder().encode('{"error":'), new TextEncoder().encode('{}}')], false);
    const answer = await fetchWithDeadline(fetchFn, 'https://fn.example/announce', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}', timeoutMs: 5_000, maxBytes: 1024 });
    expect(answer).toMatchObject({ status: 409, ok: false });
    expect(new TextDecoder().decode(answer.bytes)).toBe('{"error":{}}');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.init).toMatchObject({ method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  });

  it('a POST whose answer stops mid-body fails at the deadline as registry_unreachable (reason deadline)', async () => {
    const { fetchFn } = streaming(200, [new Uint8Array(10)], true);
    await expect(fetchWithDeadline(fetchFn, 'https://fn.example/announce', { method: 'POST', body: '{}', timeoutMs: 100, maxBytes: 1024 })).rejects.toMatchObject({
      code: 'registry_unreachable',
      details: { url: 'https://fn.example/announce', reason: 'deadline' },
      message: expect.stringContaining('within 100 ms'),
    });
  });

  it('an answer past the cap fails as document_too_large with its status, at the first chunk past it, without reading on', async () => {
    const chunk = new Uint8Array(600);
    const { fetchFn, pulls } = streaming(500, Array.from({ length: 50 }, () => chunk), true);
    await expect(fetchWithDeadline(fetchFn, 'https://fn.example/status', { method: 'POST', timeoutMs: 5_000, maxBytes: 1000 })).rejects.toMatchObject({
      code: 'document_too_large',
      details: { url: 'https://fn.example/status', limit: 1000, status: 500 },
    });
    expect(pulls()).toBeLessThanOrEqual(3);
  });

  it('passes a network error through unchanged (callers decide whether to retry)', async () => {
    const failure = new TypeError('fetch failed');
    await expect(fetchWithDeadline(async () => Promise.reject(failure), 'https://fn.example/', { timeoutMs: 5_000, maxBytes: 10 })).rejects.toBe(failure);
  });

  it('validates timeoutMs and maxBytes, naming the option, before sending anything', async () => {
    const { fetchFn, sent } = streaming(200, [], false);
    for (const [key, value] of [['timeoutMs', 0], ['timeoutMs', 1.5], ['maxBytes', -1], ['maxBytes', Number.NaN]] as const) {
      await expect(fetchWithDeadline(fetchFn, 'https://fn.example/', { timeoutMs: 1_000, maxBytes: 10, [key]: value })).rejects.toMatchObject({
        code: 'invalid_argument',
        message: expect.stringContaining(`"${key}"`),
      });
    }
    expect(sent).toHaveLength(0);
  });
});
