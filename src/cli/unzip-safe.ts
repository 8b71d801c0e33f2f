/**
 * Safe extraction of untrusted zip archives (`.mcpb` bundles, `.skill` archives) for the CLI
 * (Node only).
 *
 * The whole archive is checked before anything is written, by the rules the registry also applies
 * to what it accepts (`archive/zip-entries.ts`: plain relative names, no links or devices, no
 * duplicates, no shared bytes, bounded sizes, entry count and ratio). Then each entry is
 * inflated in the thread pool while the bytes actually produced are counted (`archive/inflate.ts`):
 * an entry that inflates past its declared size (a lying zip bomb) or the total bound is refused
 * at once, and every entry's CRC-32 is checked.
 *
 * Files are written into a temporary directory beside the destination, which is renamed into
 * place only when everything succeeded; on any failure the temporary directory is removed, so
 * nothing partial is ever left.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import { inflateEntry } from '../archive/inflate.ts';
import { archiveLimits, readZipEntries, unsafe, type ArchiveLimits, type ZipEntry } from '../archive/zip-entries.ts';

/** What {@link extractZipSafely} wrote. */
export interface ExtractResult {
  /** The extracted files, relative to the destination, `/`-separated, sorted. */
  files: string[];
}

/**
 * Extracts `zip` into `destDir` safely and atomically.
 *
 * `destDir` must not exist, or be an empty directory; its parent is created if needed. The
 * entries are extracted into a temporary sibling directory that is renamed to `destDir` only on
 * success. Files get mode 0644, or 0755 when the archive marks them executable (never set-uid).
 *
 * @example
 * ```ts
 * const { files } = await extractZipSafely(await readFile('echo.mcpb'), '/tmp/echo', { maxTotalBytes: 50e6 });
 * ```
 * @param zip - The archive's bytes.
 * @param destDir - The directory to create (relative paths resolve against the working directory).
 * @param limits - Bounds on the total uncompressed size, the number of entries and the ratio.
 * @returns The extracted files, relative to `destDir`.
 * @throws ShelfError `invalid_argument` (bad options), `invalid_archive` (not a zip, truncated,
 *   encrypted, ZIP64, unsupported compression, CRC mismatch), `unsafe_archive` (traversal,
 *   absolute path, link or device entry, duplicate path, overlapping entries, too many entries,
 *   too large or too compressed, an entry inflating past its declared size; `details.reason`
 *   says which),
 *   `destination_exists` (`destDir` is a non-empty directory or a file). File-system errors
 *   pass through. In every case nothing is left behind.
 */
export async function extractZipSafely(zip: Uint8Array, destDir: string, limits: ArchiveLimits = {}): Promise<ExtractResult> {
  if (!(zip instanceof Uint8Array)) throw new ShelfError('invalid_argument', 'The "zip" argument must be a Uint8Array.');
  if (typeof destDir !== 'string' || destDir === '') {
    throw new ShelfError('invalid_argument', 'The "destDir" argument must be a non-empty path.');
  }
  const { maxTotalBytes } = archiveLimits(limits);

  // Everything is validated before the first byte is written.
  const entries = readZipEntries(zip, limits);
  const dest = resolve(destDir);
  await assertAvailable(dest);

  const parent = dirname(dest);
  await mkdir(parent, { recursive: true });
  const temp = join(parent, `.${basename(dest)}.${randomBytes(6).toString('hex')}.partial`);
  await mkdir(temp, { mode: 0o755 });
  let done = false;
  try {
    const files: string[] = [];
    let total = 0;
    for (const entry of entries) {
      const target = resolve(temp, ...entry.path.split('/'));
      // Defence in depth: validated names cannot escape, and this proves it.
      if (!target.startsWith(temp + sep)) unsafe('traversal', entry.rawName, 'escapes the destination');
      if (entry.directory) {
        await mkdir(target, { recursive: true, mode: 0o755 });
        continue;
      }
      await mkdir(dirname(target), { recursive: true, mode: 0o755 });
      total = await writeEntry(zip, entry, target, total, maxTotalBytes);
      files.push(entry.path);
    }
    await placeDirectory(temp, dest);
    done = true;
    return { files: files.sort() };
  } finally {
    if (!done) await rm(temp, { recursive: true, force: true }).catch(() => {});
  }
}

async function writeEntry(zip: Uint8Array, entry: ZipEntry, target: string, total: number, maxTotalBytes: number): Promise<number> {
  const mode = entry.mode & 0o111 ? 0o755 : 0o644;
  // 'wx': never follows or overwrites anything (a fresh temporary directory holds no links).
  const handle = await open(target, 'wx', mode);
  try {
    const newTotal = await inflateEntry(zip, entry, total, maxTotalBytes, async (chunk) => {
      let offset = 0;
      while (offset < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
        offset += bytesWritten;
      }
    });
    await handle.chmod(mode);
    return newTotal;
  } finally {
    await handle.close();
  }
}

// ---- Placing the result -------------------------------------------------------------------

async function assertAvailable(dest: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    if (code === 'ENOTDIR') throw new ShelfError('destination_exists', `${dest} exists and is not a directory.`, { path: dest });
    throw error;
  }
  if (names.length > 0) throw new ShelfError('destination_exists', `${dest} already exists and is not empty.`, { path: dest });
}

async function placeDirectory(temp: string, dest: string): Promise<void> {
  // An empty directory may be replaced; rename cannot do that on every platform.
  await rmdir(dest).catch(() => {});
  try {
    await rename(temp, dest);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR' || code === 'EPERM') {
      // Someone else filled the destination meanwhile (e.g. a concurrent extraction).
      throw new ShelfError('destination_exists', `${dest} already exists and is not empty.`, { path: dest });
    }
    throw error;
  }
}
