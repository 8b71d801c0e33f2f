/**
 * Hostile bundle archives at the consumer side: `extractZipSafely` must refuse each with
 * `unsafe_archive`, write nothing (neither the destination, nor a partial folder, nor anything
 * outside it), and extract an honest archive (the control).
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { beforeEach, describe, expect, it } from 'vitest';
import { extractZipSafely } from '../../src/cli/unzip-safe.ts';
import { isShelfError } from '../../src/core/errors.ts';
import { rawZip, type RawEntry } from './raw-zip.ts';

let root: string; // holds the destination; nothing else may ever appear in it
let dest: string;

beforeEach(async (ctx) => {
  root = await mkdtemp(join(tmpdir(), 'shelf-attack-zip-'));
  dest = join(root, 'sandbox', 'bundle');
  ctx.onTestFinished(() => rm(root, { recursive: true, force: true }));
});

/** Every path under `root`, relative, sorted. */
async function tree(): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.map(String).sort();
}

/** Extracts and expects a refusal with `code`, and that nothing but (at most) empty parents appeared. */
async function expectRefusedArchive(zip: Uint8Array, code = 'unsafe_archive', limits?: { maxTotalBytes?: number; maxEntries?: number }) {
  let error: unknown;
  try {
    await extractZipSafely(zip, dest, limits);
  } catch (err) {
    error = err;
  }
  expect(isShelfError(error), String(error)).toBe(true);
  expect((error as { code: string }).code, String(error)).toBe(code);
  // The parent may have been created; nothing may be in it, and nothing beside it.
  expect((await tree()).filter((p) => p !== 'sandbox')).toEqual([]);
  return error as { code: string; message: string; details?: { reason?: string } };
}

const file = (name: string, data: RawEntry['data'] = 'x', extra: Partial<RawEntry> = {}): RawEntry => ({ name, data, ...extra });

describe('entry names', () => {
  it.each([
    ['a ../ entry', '../evil.txt'],
    ['a deeper ../ entry', 'server/../../evil.txt'],
    ['a ../ past the root after a folder', 'a/b/../../../evil.txt'],
    ['a bare ..', '..'],
    ['an absolute path', '/tmp/evil.txt'],
    ['an absolute path to the sandbox parent', `${'/'}${'..'}/evil.txt`],
    ['a drive letter', 'C:/evil.txt'],
    ['a drive-relative path', 'C:evil.txt'],
    ['a Windows separator traversal', '..\\evil.txt'],
    ['a UNC path', '\\\\server\\share\\evil.txt'],
    ['a NUL byte', 'evil.txt\u0000.json'],
    ['an empty name', ''],
  ])('refuses %s', async (_, name) => {
    const err = await expectRefusedArchive(rawZip([file('manifest.json', '{}'), file(name)]));
    expect(err.message.length).toBeGreaterThan(0);
  });
});

describe('links and special files', () => {
  it('refuses a symlink entry', async () => {
    const err = await expectRefusedArchive(rawZip([file('manifest.json', '{}'), file('escape', '/etc', { unixMode: 0o120777, method: 0 })]));
    expect(err.details?.reason).toBe('symlink');
  });

  it('refuses a symlink followed by a file written through it', async () => {
    await expectRefusedArchive(rawZip([file('escape', root, { unixMode: 0o120777, method: 0 }), file('escape/evil.txt')]));
  });

  it.each([
    ['a character device', 0o020644],
    ['a block device', 0o060644],
    ['a FIFO', 0o010644],
    ['a socket', 0o140644],
  ])('refuses %s', async (_, unixMode) => {
    await expectRefusedArchive(rawZip([file('dev', '', { unixMode })]));
  });
});

describe('zip bombs', () => {
  it('refuses an archive whose expansion exceeds the bound (ratio ~1000:1)', async () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const zip = rawZip([file('manifest.json', '{}'), file('bomb.bin', zeros)]);
    expect(zeros.byteLength / zip.byteLength).toBeGreaterThan(500);
    const err = await expectRefusedArchive(zip, 'unsafe_archive', { maxTotalBytes: 2 * 1024 * 1024 });
    expect(err.details?.reason).toBe('too_large');
  });

  it('refuses an entry that inflates past the size it declares (a lying bomb)', async () => {
    const zeros = new Uint8Array(8 * 1024 * 1024);
    const zip = rawZip([file('manifest.json', '{}'), file('bomb.bin', zeros, { declaredSize: 1000 })]);
    await expectRefusedArchive(zip, 'unsafe_archive', { maxTotalBytes: 2 * 1024 * 1024 });
  });

  it('refuses many entries sharing one compressed body (overlapping bomb)', async () => {
    const zeros = new Uint8Array(1024 * 1024);
    const entries: RawEntry[] = [file('f0', zeros)];
    for (let i = 1; i < 50; i++) entries.push({ name: `f${i}`, sharesDataOf: 0 });
    await expectRefusedArchive(rawZip(entries));
  });

  it('refuses more entries than the bound', async () => {
    const entries = Array.from({ length: 101 }, (_, i) => file(`f${i}.txt`, ''));
    await expectRefusedArchive(rawZip(entries), 'unsafe_archive', { maxEntries: 100 });
  });
});

describe('duplicates', () => {
  it.each([
    ['the same name twice', ['server/index.js', 'server/index.js']],
    ['names that differ only by case', ['README.md', 'readme.md']],
    ['names that differ by a ./ segment', ['server/index.js', './server/index.js']],
    ['names that differ by a doubled slash', ['server/index.js', 'server//index.js']],
    ['a file used as a folder', ['server', 'server/index.js']],
    ['names equal after Unicode normalisation', ['caf\u00e9.txt', 'cafe\u0301.txt']],
  ])('refuses %s', async (_, names) => {
    const err = await expectRefusedArchive(rawZip(names.map((n, i) => file(n, `v${i}`))));
    expect(err.details?.reason).toBe('duplicate');
  });
});

describe('control', () => {
  it('extracts an honest archive (built by hand and by fflate)', async () => {
    const honest = rawZip([file('manifest.json', '{"name":"x"}'), file('server/index.js', 'console.log(1)', { method: 0 }), { name: 'server/lib/', data: '', unixMode: 0o040755 }]);
    expect((await extractZipSafely(honest, dest)).files).toEqual(['manifest.json', 'server/index.js']);
    expect(await readFile(join(dest, 'server', 'index.js'), 'utf8')).toBe('console.log(1)');
    const other = join(root, 'sandbox', 'other');
    const made = zipSync({ 'manifest.json': new TextEncoder().encode('{}'), 'a/b.txt': new TextEncoder().encode('b') });
    expect((await extractZipSafely(made, other)).files).toEqual(['a/b.txt', 'manifest.json']);
  });
});
