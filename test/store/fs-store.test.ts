import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsStore } from '../../src/store/fs-store.ts';
import { objectStoreContract } from './contract.ts';

const OPTS = { contentType: 'application/json', cacheControl: 'no-cache' };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const lockPath = (root: string, key: string): string =>
  join(root, '.shelf-locks', createHash('sha256').update(key).digest('hex'));

objectStoreContract('FsStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'shelf-fs-store-'));
  return { store: new FsStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

describe('FsStore', () => {
  let root: string;
  let store: FsStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shelf-fs-store-'));
    store = new FsStore(root);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('rejects a missing or empty root, naming the option', () => {
    expect(() => new FsStore('')).toThrow(/"root"/);
    expect(() => new FsStore(undefined as unknown as string)).toThrow(TypeError);
  });

  it('describes itself by its absolute root', () => {
    expect(store.description).toBe(`fs:${root}`);
  });

  it('stores an object as the plain file at <root>/<key> with an S3-style md5 etag', async () => {
    const { etag } = await store.put('a/b/c.json', enc('{"hello":"world"}'), OPTS);
    expect(await readFile(join(root, 'a/b/c.json'), 'utf8')).toBe('{"hello":"world"}');
    expect(etag).toBe(`"${createHash('md5').update('{"hello":"world"}').digest('hex')}"`);
    expect((await store.put('empty', new Uint8Array(0), OPTS)).etag).toBe('"d41d8cd98f00b204e9800998ecf8427e"');
  });

  it('serves a file dropped in by hand with default metadata', async () => {
    await mkdir(join(root, 'manual'));
    await writeFile(join(root, 'manual/file.txt'), 'hi');
    expect(await store.get('manual/file.txt')).toMatchObject({ contentType: 'application/octet-stream', cacheControl: 'no-cache' });
    expect((await store.list('manual/')).map((o) => o.key)).toEqual(['manual/file.txt']);
  });

  it('notices a file changed behind its back instead of serving a cached etag', async () => {
    const { etag } = await store.put('k', enc('one'), OPTS);
    await writeFile(join(root, 'k'), 'changed');
    const head = await store.head('k');
    expect(head!.etag).not.toBe(etag);
    expect(head!.etag).toBe(`"${createHash('md5').update('changed').digest('hex')}"`);
  });

  it('serves the metadata of a newer put by another process, not the one it remembered', async () => {
    await store.put('k', enc('one'), OPTS);
    expect(await store.get('k')).toMatchObject({ cacheControl: 'no-cache' }); // remembered with the bytes
    const other = new FsStore(root); // another process: this store's memory does not see its write
    await other.put('k', enc('two'), { contentType: 'text/plain', cacheControl: 'public, max-age=60' });
    const got = await store.get('k');
    expect(new TextDecoder().decode(got!.body)).toBe('two');
    expect(got).toMatchObject({ contentType: 'text/plain', cacheControl: 'public, max-age=60' });
    expect(got!.etag).toBe(`"${createHash('md5').update('two').digest('hex')}"`);
  });

  it('reads a sidecar once per version of the bytes', async () => {
    await store.put('k', enc('one'), OPTS);
    const fresh = new FsStore(root);
    expect(await fresh.get('k')).toMatchObject({ cacheControl: 'no-cache' }); // reads the sidecar
    await rm(join(root, '.shelf-meta', 'k.json'));
    // Same bytes, same identity: the remembered sidecar still describes them.
    expect(await fresh.get('k')).toMatchObject({ contentType: 'application/json', cacheControl: 'no-cache' });
    await writeFile(join(root, 'k'), 'changed by hand');
    expect(await fresh.get('k')).toMatchObject({ contentType: 'application/octet-stream', cacheControl: 'no-cache' });
  });

  it('serves small objects (read synchronously) and large ones (read asynchronously) alike: bytes, etag and metadata', async () => {
    const large = new Uint8Array(600 * 1024).map((_, i) => (i * 31) % 251);
    const small = enc('{"small":true}');
    await store.put('big.bin', large, { contentType: 'application/octet-stream', cacheControl: 'public, max-age=31536000, immutable' });
    await store.put('small.json', small, OPTS);
    const fresh = new FsStore(root);
    for (const [key, body, cacheControl] of [['big.bin', large, 'public, max-age=31536000, immutable'], ['small.json', small, 'no-cache']] as const) {
      const got = (await fresh.get(key))!;
      expect(Buffer.from(got.body).equals(Buffer.from(body)), key).toBe(true);
      expect(got.etag).toBe(`"${createHash('md5').update(body).digest('hex')}"`);
      expect(got.cacheControl).toBe(cacheControl);
      expect((await fresh.get(key))!.etag).toBe(got.etag); // remembered
    }
    // Changed by hand to the other size class: still noticed.
    await writeFile(join(root, 'small.json'), large);
    await writeFile(join(root, 'big.bin'), 'tiny');
    expect((await fresh.get('small.json'))!.body.byteLength).toBe(large.byteLength);
    expect(new TextDecoder().decode((await fresh.get('big.bin'))!.body)).toBe('tiny');
  });

  it('treats a key under a file, or naming a folder, as absent', async () => {
    await store.put('a', enc('file'), OPTS);
    await store.put('d/x', enc('x'), OPTS);
    expect(await store.get('a/b')).toBeNull();
    expect(await store.head('a/b')).toBeNull();
    expect(await store.get('d')).toBeNull();
    expect(await store.head('d')).toBeNull();
    await store.delete('a/b');
    await store.delete('d');
  });

  it('rejects keys that would escape the root on reads too', async () => {
    await expect(store.get('../x')).rejects.toThrow(TypeError);
    await expect(store.head('a/../../x')).rejects.toThrow(TypeError);
    await expect(store.delete('../x')).rejects.toThrow(TypeError);
    // Keys a file system cannot hold are refused as keys, never as an ERR_INVALID_ARG_VALUE or ENAMETOOLONG.
    await expect(store.get('a\u0000b')).rejects.toThrow(TypeError);
    await expect(store.get(`a/${'s'.repeat(256)}`)).rejects.toThrow(TypeError);
    await expect(store.head(`${'k/'.repeat(600)}x`)).rejects.toThrow(TypeError);
    expect(await store.list('../')).toEqual([]);
  });

  it('list ignores temp files, sidecars, locks and dot-folders', async () => {
    await store.put('a/real.json', enc('1'), OPTS);
    await writeFile(join(root, 'a/.real.json.abc123.tmp'), 'partial');
    await mkdir(join(root, '.git'));
    await writeFile(join(root, '.git/config'), 'x');
    await mkdir(join(root, 'a/.hidden'));
    await writeFile(join(root, 'a/.hidden/x'), 'x');
    expect((await store.list('')).map((o) => o.key)).toEqual(['a/real.json']);
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/real.json']);
  });

  it('leaves no temp files behind after writes and failed preconditions', async () => {
    await store.put('t/k', enc('1'), OPTS);
    await expect(store.put('t/k', enc('2'), { ...OPTS, ifNoneMatch: '*' })).rejects.toThrow();
    await expect(store.put('t/k', enc('2'), { ...OPTS, ifMatch: '"stale"' })).rejects.toThrow();
    expect(await readdir(join(root, 't'))).toEqual(['k']);
    expect(await readdir(join(root, '.shelf-meta/t'))).toEqual(['k.json']);
    expect(await readdir(join(root, '.shelf-locks'))).toEqual([]);
  });

  it('delete removes the sidecar too', async () => {
    await store.put('s/k', enc('1'), OPTS);
    await store.delete('s/k');
    await expect(readFile(join(root, '.shelf-meta/s/k.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('waits for a held lock', async () => {
    const lock = lockPath(root, 'held');
    await mkdir(join(root, '.shelf-locks'), { recursive: true });
    await writeFile(lock, '');
    let done = false;
    const put = store.put('held', enc('1'), OPTS).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    await rm(lock);
    await put;
    expect(done).toBe(true);
  });

  it('breaks a stale lock left by a crashed process', async () => {
    const lock = lockPath(root, 'stale');
    await mkdir(join(root, '.shelf-locks'), { recursive: true });
    await writeFile(lock, '');
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    const started = Date.now();
    await store.put('stale', enc('1'), { ...OPTS, ifNoneMatch: '*' });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(await readFile(join(root, 'stale'), 'utf8')).toBe('1');
  });

  it('compare-and-swap loses no update across processes', async () => {
    await store.put('counter.json', enc('[]'), OPTS);
    const worker = fileURLToPath(new URL('./cas-worker.ts', import.meta.url));
    const runs = [0, 1, 2, 3].map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', worker, root, 'counter.json', `p${w}`, '25'], {
            stdio: ['ignore', 'inherit', 'pipe'],
          });
          let stderr = '';
          child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          child.on('error', reject);
          child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`worker p${w} exited ${code}: ${stderr}`))));
        }),
    );
    await Promise.all(runs);
    const ids = JSON.parse(new TextDecoder().decode((await store.get('counter.json'))!.body)) as string[];
    expect(ids).toHaveLength(100);
    expect(new Set(ids).size).toBe(100);
    for (const w of [0, 1, 2, 3]) for (let i = 0; i < 25; i++) expect(ids).toContain(`p${w}-${i}`);
  });
});
