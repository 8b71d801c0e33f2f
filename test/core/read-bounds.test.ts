/**
 * The client's read bounds on their own: which keys count as content-addressed (and so may be
 * cached without revalidation), how the environment overrides the bounds, and a 304 passing
 * through the timeouts untouched.
 */
import { describe, expect, it } from 'vitest';
import { contentAddressOf, DEFAULT_READ_BOUNDS, fetchWithTimeouts, readBoundsFromEnv, verifyContentAddress } from '../../src/core/read-bounds.ts';
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
