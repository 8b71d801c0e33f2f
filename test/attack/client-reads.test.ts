/**
 * The CLI against a registry (or a CDN in front of it) that serves hostile or broken documents:
 * every read is bounded in size (`document_too_large`) and time (`registry_unreachable` past the
 * connect or idle timeout), `shelf bundle run` falls back to its last verified copy, and only a
 * content-addressed file whose bytes match its name is ever cached without revalidation.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_READ_BOUNDS } from '../../src/core/read-bounds.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from '../cli/helpers.ts';
import { startHostileRegistry, type HostileRegistry } from './hostile-registry.ts';

const PACKAGE = /^\/v1\/bundles\/@acme\/echo\.json$/;
let reg: TestRegistry;
let cdn: HostileRegistry;
let cacheDir: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  expect((await announcePrepared(reg, await prepareBundle(reg, {}))).status).toBe(201);
  cdn = await startHostileRegistry(reg.url);
});
afterAll(async () => {
  await cdn.close();
  await reg.close();
});
beforeEach(async (ctx) => {
  cacheDir = await mkdtemp(join(tmpdir(), 'shelf-hostile-cache-'));
  ctx.onTestFinished(async () => {
    for (const rule of [PACKAGE, /\/shards\//, /^\/v1\/config\.json$/]) cdn.serve(rule, undefined);
    await rm(cacheDir, { recursive: true, force: true });
  });
});

const env = (extra: Record<string, string> = {}) => ({ SHELF_REGISTRY: cdn.url, SHELF_CACHE_DIR: cacheDir, ...extra });

/** Cached document entries (`documents/*.json`), parsed. */
async function cachedDocuments(): Promise<Array<{ url: string; immutable?: boolean; body: string }>> {
  const dir = join(cacheDir, 'documents');
  const names = await readdir(dir).catch(() => [] as string[]);
  return Promise.all(names.filter((n) => n.endsWith('.json')).map(async (n) => JSON.parse(await readFile(join(dir, n), 'utf8'))));
}

describe('document size', () => {
  it('refuses a 96 MiB package document with document_too_large, reading no more than the default cap', async () => {
    cdn.serve(PACKAGE, { kind: 'huge', bytes: 96 * 1024 * 1024 });
    const before = cdn.hostileBytes();
    const r = await shelf(['bundle', 'show', '@acme/echo'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[document_too_large\].*SHELF_MAX_DOCUMENT_BYTES/);
    // The client hung up at the cap: what the server got to write is the cap plus socket buffers.
    expect(cdn.hostileBytes() - before).toBeLessThan(DEFAULT_READ_BOUNDS.maxDocumentBytes + 8 * 1024 * 1024);
    expect((await cachedDocuments()).filter((d) => d.url.endsWith('/echo.json'))).toEqual([]);
  });

  it('applies SHELF_MAX_DOCUMENT_BYTES', async () => {
    cdn.serve(PACKAGE, { kind: 'huge', bytes: 2 * 1024 * 1024 });
    const r = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env({ SHELF_MAX_DOCUMENT_BYTES: String(1024 * 1024) }) });
    expect(r.stderr).toMatch(/^error\[document_too_large\].*1048576/);
    const bad = await shelf(['bundle', 'show', '@acme/echo'], { env: env({ SHELF_MAX_DOCUMENT_BYTES: 'lots' }) });
    expect(bad.stderr).toMatch(/^error\[invalid_argument\].*SHELF_MAX_DOCUMENT_BYTES/);
  });
});

describe('time', () => {
  it('gives up on a document that stalls after its headers (SHELF_IDLE_TIMEOUT_MS), as on an unreachable registry', async () => {
    cdn.serve(PACKAGE, { kind: 'stall' });
    const r = await shelf(['bundle', 'show', '@acme/echo'], { env: env({ SHELF_IDLE_TIMEOUT_MS: '300' }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[registry_unreachable\].*sent no data for 300 ms \(SHELF_IDLE_TIMEOUT_MS\)/);
  });

  it('gives up on a registry that accepts the connection and never answers (SHELF_CONNECT_TIMEOUT_MS)', async () => {
    cdn.serve(/^\/v1\/config\.json$/, { kind: 'silent' });
    const r = await shelf(['search', 'echo'], { env: env({ SHELF_CONNECT_TIMEOUT_MS: '300' }) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[registry_unreachable\].*did not answer within 300 ms \(SHELF_CONNECT_TIMEOUT_MS\)/);
  });

  it('bundle run falls back to its last verified copy when the registry stalls', async () => {
    const first = await shelf(['bundle', 'run', '@acme/echo', '--dry-run'], { env: env() });
    expect(first.code, first.stderr).toBe(0);
    cdn.serve(PACKAGE, { kind: 'stall' });
    const stalled = await shelf(['bundle', 'run', '@acme/echo', '--dry-run'], { env: env({ SHELF_IDLE_TIMEOUT_MS: '300' }) });
    expect(stalled.code, stalled.stderr).toBe(0);
    expect(stalled.stderr).toContain('Using the cached copy.');
    expect(JSON.parse(stalled.stdout)).toMatchObject({ name: '@acme/echo', version: '1.2.0' });
  });

  it('bounds an artifact download in time too: a stalled download leaves no file', async () => {
    cdn.serve(/\.mcpb$/, { kind: 'stall' });
    try {
      const r = await shelf(['bundle', 'pull', '@acme/echo', '-o', cacheDir], { env: env({ SHELF_IDLE_TIMEOUT_MS: '300' }) });
      expect(r.stderr).toMatch(/^error\[registry_unreachable\].*SHELF_IDLE_TIMEOUT_MS/);
      expect((await readdir(cacheDir)).filter((n) => n.includes('mcpb'))).toEqual([]);
    } finally {
      cdn.serve(/\.mcpb$/, undefined);
    }
  });
});

describe('what is cached as immutable', () => {
  it('revalidates a package document once served with Cache-Control: immutable, so latest is not frozen', async () => {
    cdn.serve(PACKAGE, { kind: 'immutable' });
    const first = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    expect(JSON.parse(first.stdout).package.latest).toBe('1.2.0');
    cdn.serve(PACKAGE, undefined);
    const next = await prepareBundle(reg, { version: '1.3.0' });
    expect((await announcePrepared(reg, next)).status).toBe(201);
    const from = cdn.requests.length;
    const second = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: env() });
    expect(JSON.parse(second.stdout).package.latest).toBe('1.3.0');
    // It asked again, with the ETag it had: a revalidation, not a frozen entry.
    const asked = cdn.requests.slice(from).filter((r) => PACKAGE.test(r.path));
    expect(asked).toHaveLength(1);
    // (A weak one when the server compressed the answer: a signed package document is large enough.)
    expect(asked[0]!.ifNoneMatch).toMatch(/^(W\/)?"/);
  });

  it('refuses an index piece whose bytes do not match the hash in its name, and never caches it', async () => {
    cdn.serve(/\/shards\//, { kind: 'replace', body: '{"k":"bundle","t":[]}\n' });
    const r = await shelf(['search', 'echo'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[integrity_mismatch\]/);
    expect((await cachedDocuments()).filter((d) => d.url.includes('/shards/'))).toEqual([]);
    // Once the CDN serves the real piece, the search works: nothing poisoned was kept.
    cdn.serve(/\/shards\//, undefined);
    const again = await shelf(['search', 'echo', '--json'], { env: env() });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout).results.map((x: { name: string }) => x.name)).toContain('@acme/echo');
    // Verified pieces are the only immutable entries.
    const immutable = (await cachedDocuments()).filter((d) => d.immutable);
    expect(immutable.length).toBeGreaterThan(0);
    expect(immutable.every((d) => /\/v1\/search\/bundles\/(shards|docs)\//.test(d.url))).toBe(true);
  });
});
