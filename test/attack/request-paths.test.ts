/**
 * Request paths the client controls, at the local server (CDN and function URL in one): a path
 * that cannot name a file is the client's mistake, answered with a 4xx and a stable code, never
 * a crash in the store or the file system (500 `internal_error` with a stack trace in the log).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { request } from 'node:http';
import { MAX_KEY_BYTES, MAX_KEY_SEGMENT_BYTES } from '../../src/core/paths.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

let reg: TestRegistry;
let errors: ReturnType<typeof vi.spyOn>;

beforeAll(async () => {
  reg = await startTestRegistry();
  expect((await announcePrepared(reg, await prepareBundle(reg, {}))).status).toBe(201);
});
afterAll(() => reg.close());
afterEach(() => errors?.mockRestore());

/** Sends `method path` exactly as written (no URL normalisation), and reads the answer. */
function raw(method: string, path: string): Promise<{ status: number; json: any }> {
  const { hostname, port } = new URL(reg.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers: method === 'POST' ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let json: unknown = null;
        try {
          json = JSON.parse(text);
        } catch {
          // HEAD and empty bodies
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

const longSegment = 'a'.repeat(MAX_KEY_SEGMENT_BYTES + 1);
const longPath = `/v1/${Array.from({ length: Math.ceil(MAX_KEY_BYTES / 100) + 1 }, () => 'b'.repeat(100)).join('/')}.json`;

describe('paths that cannot name a file', () => {
  it.each([
    ['a NUL byte', 'GET', '/v1/bundles/@acme/echo%00.json', 400, 'invalid_path'],
    ['a NUL byte in a HEAD', 'HEAD', '/v1/bundles/%00', 400, null],
    ['a control character', 'GET', '/v1/%0a/config.json', 400, 'invalid_path'],
    ['a segment over the file-name limit', 'GET', `/v1/bundles/@acme/${longSegment}.json`, 400, 'invalid_path'],
    ['a path over the key limit', 'GET', longPath, 400, 'invalid_path'],
    ['a percent-encoding that is not UTF-8', 'GET', '/v1/%E0%A4%A.json', 400, 'invalid_path'],
    ['a NUL byte on the announce route', 'POST', '/v1/bundles/announce%00', 400, 'invalid_path'],
    ['an over-long announce route', 'POST', `/v1/bundles/${longSegment}`, 400, 'invalid_path'],
    ['a path under a file', 'GET', '/v1/bundles/@acme/echo.json/x', 404, 'not_found'],
    ['a store bookkeeping folder', 'GET', '/.shelf-meta/v1/config.json.json', 404, 'not_found'],
    ['the private area', 'GET', '/private/used-tokens/', 404, 'not_found'],
    ['the private area, percent-encoded', 'GET', '/%70rivate/used-tokens/', 404, 'not_found'],
  ])('answers %s with a 4xx and a stable code, logging no crash', async (_, method, path, status, code) => {
    errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const before = await reg.snapshot();
    const res = await raw(method, path);
    expect(res.status).toBe(status);
    if (code) expect(res.json?.error?.code).toBe(code);
    expect(errors).not.toHaveBeenCalled();
    expect(await reg.snapshot()).toEqual(before);
  });

  it('serves an ordinary document (control)', async () => {
    expect((await raw('GET', '/v1/bundles/@acme/echo.json')).status).toBe(200);
  });
});
