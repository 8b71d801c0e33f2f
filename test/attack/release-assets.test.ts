/**
 * Hostile release assets: the registry fetches the asset itself from the token's repository and
 * refuses anything that is not exactly what was announced, from where it trusts (every hop of
 * the releases API request and of the download), in bounded size and time. Each refusal asserts the status, the stable code and an unchanged bucket.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RELEASE_JSON_BYTES } from '../../src/announce/release-asset.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { expectRefused } from './helpers.ts';

/** Small, so the slow-stream test is quick; the other assets are served at once. */
const ASSET_TIMEOUT_MS = 1000;

let reg: TestRegistry;
let evil: { url: string; requests: string[]; server: Server };
let versions = 0;

beforeAll(async () => {
  reg = await startTestRegistry({ env: { SHELF_ASSET_TIMEOUT_MS: String(ASSET_TIMEOUT_MS) } });
  expect((await announcePrepared(reg, await prepareBundle(reg, {}))).status).toBe(201);
  // Another loopback host:port, not among the trusted download hosts; it would serve anything.
  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end('evil');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  evil = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, server };
});
afterAll(async () => {
  await new Promise<void>((r) => evil.server.close(() => r()));
  await reg.close();
});

/** A fresh version of @acme/echo, packed but not uploaded: each test decides what the release serves. */
async function fresh(): Promise<PreparedArtifact> {
  return prepareBundle(reg, { version: `2.0.${versions++}`, upload: false });
}
/** Requests the fake GitHub saw since `from`. */
const seenSince = (from: number) => reg.github.requests.slice(from);

describe('size and digest', () => {
  it('refuses an asset bigger than announced when the API says so, without downloading it', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: new Uint8Array([...v.bytes, 1, 2, 3]) });
    const from = reg.github.requests.length;
    await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_size_mismatch');
    expect(seenSince(from).filter((r) => r.includes('/download/'))).toEqual([]);
  });

  it('refuses an asset bigger than announced when the API lies about its size', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: new Uint8Array([...v.bytes, 1, 2, 3]), reportedSize: v.size });
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_size_mismatch');
    expect(res.json.error.message).toContain('larger');
  });

  it('refuses an asset smaller than announced', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes.subarray(0, v.size - 10), reportedSize: v.size });
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_size_mismatch');
    expect(res.json.error.details).toMatchObject({ expected: v.size, actual: v.size - 10 });
  });

  it('refuses an asset of the announced size with other bytes', async () => {
    const v = await fresh();
    const other = new Uint8Array(v.bytes);
    other[other.length >> 1]! ^= 0xff;
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: other });
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_digest_mismatch');
    expect(res.json.error.details).toMatchObject({ expected: v.sha256 });
  });

  it('refuses an endless stream as soon as it passes the announced size, and hangs up', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, endless: true, reportedSize: v.size });
    await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_size_mismatch');
    // The registry closed the connection: the fake stops being able to write.
    await new Promise((r) => setTimeout(r, 100));
    const served = reg.github.served(v.repository, v.tag, v.filename);
    await new Promise((r) => setTimeout(r, 200));
    expect(reg.github.served(v.repository, v.tag, v.filename)).toBe(served);
    expect(served).toBeLessThan(v.size + 16 * 1024 * 1024);
  });

  it('refuses a slow stream after SHELF_ASSET_TIMEOUT_MS with 503', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, trickleMs: 100 });
    expect((v.size / 16) * 100).toBeGreaterThan(ASSET_TIMEOUT_MS * 5); // the stream would take far longer than the limit
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 503, 'upstream_unavailable');
    expect(res.json.error.message).toContain('timed out');
    expect(reg.github.served(v.repository, v.tag, v.filename)).toBeLessThan(v.size);
  });

  it('publishes the same asset served quickly (control)', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes });
    const res = await announcePrepared(reg, v);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const stored = await reg.store.get(`v1/bundles/@acme/echo/versions/${v.body.version}/any-any.mcpb`);
    expect(Buffer.from(stored!.body).equals(Buffer.from(v.bytes))).toBe(true);
  });
});

describe('where the asset comes from', () => {
  it('refuses a download redirected to a host that is not trusted, without contacting it', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, redirectTo: `${evil.url}/echo.mcpb` });
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_untrusted_host');
    expect(res.json.error.message).toContain(new URL(evil.url).host);
    expect(evil.requests).toEqual([]);
  });

  it('refuses a browser_download_url on a host that is not trusted, without contacting it', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, downloadUrl: `${evil.url}/echo.mcpb` });
    await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_untrusted_host');
    expect(evil.requests).toEqual([]);
  });

  it.each([
    ['plain http to a trusted name', 'http://github.com/acme/echo-mcp/releases/download/x/echo.mcpb'],
    ['a look-alike of a trusted host', 'https://github.com.evil.example/echo.mcpb'],
    ['a trusted host with credentials in the URL', 'https://user:pass@objects.githubusercontent.com.evil.example/x'],
    ['a file URL', 'file:///etc/passwd'],
    ['a data URL', 'data:application/octet-stream;base64,AAAA'],
  ])('refuses a redirect to %s', async (_, location) => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes, redirectTo: location });
    await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_untrusted_host');
  });

  it('follows a redirect that stays on a trusted host (control)', async () => {
    const v = await fresh();
    const hidden = `hidden-${v.filename}`;
    reg.github.addAsset(v.repository, v.tag, hidden, { bytes: v.bytes });
    reg.github.addAsset(v.repository, v.tag, v.filename, {
      bytes: v.bytes,
      redirectTo: `${reg.github.url}/download/${v.repository}/${v.tag}/${hidden}`,
    });
    const res = await announcePrepared(reg, v);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  });

  it.each([
    ['another loopback port', () => `${evil.url}/repos/acme/echo-mcp/releases/tags/v9`],
    ['a link-local metadata address', () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/'],
    ['a private range', () => 'https://10.0.0.7/repos/acme/echo-mcp/releases/tags/v9'],
    ['a look-alike of the API host', () => `https://${new URL(reg.github.url).hostname}.evil.example/x`],
  ])('refuses a releases API that redirects to %s, without contacting it', async (_, location) => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes });
    reg.github.redirectRelease(v.repository, v.tag, location());
    const from = reg.github.requests.length;
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_untrusted_host');
    expect(res.json.error.message).toContain('releases API');
    expect(evil.requests).toEqual([]);
    // Nothing was downloaded from anywhere.
    expect(seenSince(from).filter((r) => r.includes('/download/'))).toEqual([]);
  });

  it('follows a releases API redirect that stays on the API host (a renamed repository, control)', async () => {
    const v = await fresh();
    reg.github.addAsset('acme/echo-mcp-renamed', v.tag, v.filename, { bytes: v.bytes });
    reg.github.redirectRelease(v.repository, v.tag, `${reg.github.url}/repos/acme/echo-mcp-renamed/releases/tags/${v.tag}`);
    const res = await announcePrepared(reg, v);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  });

  it('refuses a release description larger than the registry reads, with 502 upstream_too_large', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, v.filename, { bytes: v.bytes });
    reg.github.padRelease(v.repository, v.tag, MAX_RELEASE_JSON_BYTES + 1);
    const from = reg.github.requests.length;
    await expectRefused(reg, () => announcePrepared(reg, v), 502, 'upstream_too_large');
    expect(seenSince(from).filter((r) => r.includes('/download/'))).toEqual([]);
  });

  it('reads only the token’s repository, whatever the body names', async () => {
    const v = await fresh();
    // The asset exists only in another repository's release of the same tag.
    reg.github.addAsset('globex/echo-mcp', v.tag, v.filename, { bytes: v.bytes });
    const from = reg.github.requests.length;
    const body = { ...v.body, repository: 'globex/echo-mcp', release_url: `https://github.com/globex/echo-mcp/releases/tag/${v.tag}` };
    const res = await expectRefused(reg, () => reg.announce('bundle', body, claimsFor(v.repository)), 422, 'asset_not_found');
    expect(res.json.error.message).toContain('not found in release');
    const seen = seenSince(from).filter((r) => !r.includes('jwks'));
    expect(seen).toEqual([`GET /repos/${v.repository}/releases/tags/${v.tag}`]);
    expect(seen.join(' ')).not.toContain('globex');
  });

  it('keeps a release tag that looks like a path inside the token’s repository', async () => {
    const v = await fresh();
    reg.github.addAsset('globex/echo-mcp', v.tag, v.filename, { bytes: v.bytes });
    const from = reg.github.requests.length;
    const tag = '%2e%2e%2f%2e%2e%2fglobex%2fecho-mcp%2freleases%2ftags%2fv2';
    await expectRefused(reg, () => reg.announce('bundle', { ...v.body, release_tag: tag }, claimsFor(v.repository)), 422, 'asset_not_found');
    const seen = seenSince(from).filter((r) => !r.includes('jwks'));
    expect(seen).toHaveLength(1);
    expect(seen[0]!.startsWith(`GET /repos/${v.repository}/releases/tags/`)).toBe(true);
  });

  it('says "not found in release" for a tag that does not exist', async () => {
    const v = await fresh();
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_not_found');
    expect(res.json.error.message).toContain('not found in release');
  });

  it('says "not found in release" for an asset name the release does not have', async () => {
    const v = await fresh();
    reg.github.addAsset(v.repository, v.tag, `other-${v.filename}`, { bytes: v.bytes });
    const res = await expectRefused(reg, () => announcePrepared(reg, v), 422, 'asset_not_found');
    expect(res.json.error.message).toContain('not found in release');
  });
});
