import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readArchiveFile } from '../../src/archive/inflate.ts';
import { extractZipSafely } from '../../src/cli/unzip-safe.ts';
import { ShelfError } from '../../src/core/errors.ts';
import { buildZip } from './zip-builder.ts';

let work: string;
beforeEach(async () => {
  work = await mkdtemp(join(tmpdir(), 'shelf-unzip-'));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

const text = (s: string) => new TextEncoder().encode(s);

/** Extracts and expects a refusal; returns the error after checking nothing was left behind. */
async function refuse(zip: Uint8Array, limits?: Parameters<typeof extractZipSafely>[2]): Promise<ShelfError> {
  const dest = join(work, 'out');
  const error = await extractZipSafely(zip, dest, limits).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ShelfError);
  // Nothing partial: neither the destination nor a temporary sibling.
  expect(await readdir(work)).toEqual([]);
  return error as ShelfError;
}

describe('extractZipSafely', () => {
  it('extracts a normal archive with folders, keeping executable bits, into a new directory', async () => {
    const zip = zipSync({
      'manifest.json': text('{"a":1}'),
      'server/index.js': [text('console.log(1)'), { os: 3, attrs: 0o100644 << 16 }],
      'bin/tool': [text('#!/bin/sh\n'), { os: 3, attrs: 0o100755 << 16 }],
      'empty.txt': new Uint8Array(),
      'big.txt': text('x'.repeat(100_000)),
    });
    const dest = join(work, 'nested', 'bundle');
    const { files } = await extractZipSafely(zip, dest);
    expect(files).toEqual(['big.txt', 'bin/tool', 'empty.txt', 'manifest.json', 'server/index.js']);
    expect(await readFile(join(dest, 'manifest.json'), 'utf8')).toBe('{"a":1}');
    expect((await readFile(join(dest, 'big.txt'))).byteLength).toBe(100_000);
    if (process.platform !== 'win32') {
      expect((await stat(join(dest, 'bin/tool'))).mode & 0o777).toBe(0o755);
      expect((await stat(join(dest, 'server/index.js'))).mode & 0o777).toBe(0o644);
    }
    expect(await readdir(join(work, 'nested'))).toEqual(['bundle']);
  });

  it('accepts an existing empty destination directory', async () => {
    const dest = join(work, 'out');
    await mkdir(dest);
    await extractZipSafely(zipSync({ 'a.txt': text('a') }), dest);
    expect(await readFile(join(dest, 'a.txt'), 'utf8')).toBe('a');
  });

  it('refuses a non-empty destination with destination_exists and leaves it untouched', async () => {
    const dest = join(work, 'out');
    await mkdir(dest);
    await writeFile(join(dest, 'keep.txt'), 'mine');
    const error = await extractZipSafely(zipSync({ 'a.txt': text('a') }), dest).catch((e) => e);
    expect(error).toMatchObject({ code: 'destination_exists' });
    expect(await readdir(dest)).toEqual(['keep.txt']);
    expect(await readdir(work)).toEqual(['out']);
  });

  it.each([
    ['../evil.txt', 'traversal'],
    ['a/../../evil.txt', 'traversal'],
    ['/etc/evil', 'absolute_path'],
    ['C:/Windows/evil.dll', 'absolute_path'],
    ['c:evil', 'absolute_path'],
    ['..\\evil.txt', 'absolute_path'],
    ['\\\\server\\share\\evil', 'absolute_path'],
    ['dir\\..\\..\\evil', 'absolute_path'],
    ['bad\u0000name', 'traversal'],
  ])('refuses the entry name %j with unsafe_archive (%s)', async (name, reason) => {
    const zip = buildZip([{ name: 'ok.txt', data: 'fine' }, { name, data: 'x' }]);
    const error = await refuse(zip);
    expect(error.code).toBe('unsafe_archive');
    expect(error.details).toMatchObject({ reason });
  });

  it('refuses a symlink entry, even one pointing inside the archive', async () => {
    const zip = buildZip([
      { name: 'link', data: '/etc/passwd', method: 0, externalAttributes: (0o120777 << 16) >>> 0 },
      { name: 'after.txt', data: 'x' },
    ]);
    expect((await refuse(zip)).details).toMatchObject({ reason: 'symlink', entry: 'link' });
  });

  it('refuses device and fifo entries', async () => {
    const zip = buildZip([{ name: 'fifo', data: '', externalAttributes: (0o010644 << 16) >>> 0 }]);
    expect((await refuse(zip)).details).toMatchObject({ reason: 'special_file' });
  });

  it('refuses duplicate entries, including ones differing only by case', async () => {
    expect((await refuse(buildZip([{ name: 'a.txt', data: '1' }, { name: 'a.txt', data: '2' }]))).details).toMatchObject({
      reason: 'duplicate',
    });
    expect((await refuse(buildZip([{ name: 'A.txt', data: '1' }, { name: 'a.txt', data: '2' }]))).code).toBe('unsafe_archive');
    expect((await refuse(buildZip([{ name: 'x/./a.txt', data: '1' }, { name: 'x/a.txt', data: '2' }]))).code).toBe('unsafe_archive');
    // A file used as a folder by a later entry.
    expect((await refuse(buildZip([{ name: 'a', data: '1' }, { name: 'a/b.txt', data: '2' }]))).details).toMatchObject({
      reason: 'duplicate',
    });
  });

  it('refuses archives whose declared sizes exceed maxTotalBytes before writing anything', async () => {
    const zip = zipSync({ 'a.bin': new Uint8Array(600), 'b.bin': new Uint8Array(600) });
    expect((await refuse(zip, { maxTotalBytes: 1000 })).details).toMatchObject({ reason: 'too_large' });
  });

  it('refuses a zip bomb that lies about its size, counting the bytes actually inflated', async () => {
    // 2 MiB of zeros deflates to a few KiB; the headers claim 100 bytes.
    const zip = buildZip([{ name: 'bomb.bin', data: new Uint8Array(2 * 1024 * 1024), declaredSize: 100 }]);
    const error = await refuse(zip, { maxTotalBytes: 1024 * 1024 });
    expect(error.code).toBe('unsafe_archive');
    expect(error.details).toMatchObject({ reason: 'size_mismatch', entry: 'bomb.bin' });
  });

  it('refuses overlapping entries that share compressed data', async () => {
    const zip = buildZip([
      { name: 'a.bin', data: new Uint8Array(1000) },
      { name: 'b.bin', data: new Uint8Array(1000), shareDataWith: 0 },
    ]);
    expect((await refuse(zip)).details).toMatchObject({ reason: 'overlapping_entries' });
  });

  it('refuses more entries than maxEntries', async () => {
    const zip = zipSync({ 'a': text('1'), 'b': text('2'), 'c': text('3') });
    expect((await refuse(zip, { maxEntries: 2 })).details).toMatchObject({ reason: 'too_many_entries' });
  });

  it('refuses corrupt data (CRC mismatch, not a zip, truncated) with invalid_archive', async () => {
    expect((await refuse(buildZip([{ name: 'a.txt', data: 'hello', crc: 1234 }]))).code).toBe('invalid_archive');
    expect((await refuse(text('definitely not a zip file, just text'))).code).toBe('invalid_archive');
    const good = zipSync({ 'a.txt': text('hello world') });
    expect((await refuse(good.subarray(0, good.byteLength - 5))).code).toBe('invalid_archive');
  });

  it('a late failure leaves nothing: entries before the bad one are removed with the temp dir', async () => {
    const zip = buildZip([
      { name: 'first.txt', data: 'written first' },
      { name: 'second.txt', data: 'corrupt', crc: 42 },
    ]);
    expect((await refuse(zip)).code).toBe('invalid_archive');
  });

  it('validates its options eagerly, naming them', async () => {
    await expect(extractZipSafely(new Uint8Array(), join(work, 'x'), { maxTotalBytes: -1 })).rejects.toMatchObject({
      code: 'invalid_argument',
      message: expect.stringContaining('maxTotalBytes'),
    });
    await expect(extractZipSafely('zip' as unknown as Uint8Array, join(work, 'x'))).rejects.toMatchObject({ code: 'invalid_argument' });
  });

  it('reads an archive with an mcpb signature block appended', async () => {
    const zip = zipSync({ 'manifest.json': text('{"name":"x"}') });
    const trailer = new Uint8Array([...text('MCPB_SIG_V1'), 3, 0, 0, 0, 1, 2, 3, ...text('MCPB_SIG_END')]);
    const signed = new Uint8Array([...zip, ...trailer]);
    expect(new TextDecoder().decode((await readArchiveFile(signed, 'manifest.json'))!)).toBe('{"name":"x"}');
    expect(await readArchiveFile(signed, 'missing.json')).toBeNull();
  });
});
