/**
 * The consumer side of a tampered CDN: the registry's records say one sha256, the bucket (or a
 * CDN in front of it) serves other bytes. `shelf bundle pull` must refuse with
 * `integrity_mismatch`, keep nothing, and leave an existing file alone.
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { contentTypeFor, IMMUTABLE_CACHE } from '../../src/core/paths.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { consumerFolders, shelf as runShelf } from '../cli/helpers.ts';

let reg: TestRegistry;
let linux: PreparedArtifact;
let work: string;
let cacheDir: string;
const KEY = 'v1/bundles/@acme/echo/versions/1.2.0/linux-x64.mcpb';

beforeAll(async () => {
  reg = await startTestRegistry();
  linux = await prepareBundle(reg, { os: 'linux', arch: 'x64' });
  expect((await announcePrepared(reg, linux)).status).toBe(201);
  expect(await reg.store.head(KEY)).not.toBeNull();
});
afterAll(() => reg.close());
beforeEach(async (ctx) => ({ work, cacheDir } = await consumerFolders(ctx, 'shelf-attack')));

const shelf = (...argv: string[]) => runShelf(argv, { cwd: work, env: { SHELF_REGISTRY: reg.url, SHELF_CACHE_DIR: cacheDir } });

/** Every file under the CLI's cache directory that is not a cached JSON document. */
async function cachedArtifacts(): Promise<string[]> {
  const entries = await readdir(cacheDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && !e.name.endsWith('.json')).map((e) => join(e.parentPath, e.name));
}

/** Replaces the stored artifact, as a compromised bucket or CDN would. */
async function tamper(bytes: Uint8Array) {
  await reg.store.put(KEY, bytes, { contentType: contentTypeFor(KEY), cacheControl: IMMUTABLE_CACHE });
}

describe('a tampered artifact on the CDN', () => {
  it('pulls the genuine artifact (control)', async () => {
    await tamper(linux.bytes);
    const r = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64', '-o', 'echo.mcpb', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Buffer.from(await readFile(join(work, 'echo.mcpb'))).equals(Buffer.from(linux.bytes))).toBe(true);
  });

  it('refuses bytes of the recorded size with another sha256, and keeps no file', async () => {
    const evil = new Uint8Array(linux.bytes);
    evil[100]! ^= 0x01;
    await tamper(evil);
    const r = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64', '-o', 'echo.mcpb');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[integrity_mismatch\]: .*sha256/);
    expect(await readdir(work)).toEqual([]);
    expect(await cachedArtifacts()).toEqual([]);
  });

  it('refuses a tampered artifact pulled into the cache, and keeps nothing there', async () => {
    const evil = new Uint8Array(linux.bytes);
    evil[200]! ^= 0x10;
    await tamper(evil);
    const r = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64', '--cache');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[integrity_mismatch\]/);
    expect(await cachedArtifacts()).toEqual([]);
    expect(await readdir(work)).toEqual([]);
  });

  it.each([
    ['longer than recorded', (b: Uint8Array) => new Uint8Array([...b, 0])],
    ['shorter than recorded', (b: Uint8Array) => b.subarray(0, b.length - 1)],
    ['empty', () => new Uint8Array(0)],
  ])('refuses an artifact that is %s, and keeps no file', async (_, change) => {
    await tamper(change(linux.bytes));
    const r = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[integrity_mismatch\]/);
    expect(await readdir(work)).toEqual([]);
    expect(await cachedArtifacts()).toEqual([]);
  });

  it('leaves an existing file at the destination untouched', async () => {
    await writeFile(join(work, 'echo.mcpb'), 'previous download');
    const evil = new Uint8Array(linux.bytes);
    evil[0]! ^= 0xff;
    await tamper(evil);
    const r = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64', '-o', 'echo.mcpb', '--json');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error\[integrity_mismatch\]/);
    expect(await readdir(work)).toEqual(['echo.mcpb']);
    expect(await readFile(join(work, 'echo.mcpb'), 'utf8')).toBe('previous download');
  });
});
