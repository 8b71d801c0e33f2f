/**
 * Hard-link copies of a filesystem registry (`cp -al`). The filesystem store never writes into
 * an existing file: every put writes a temp file and renames it over the key (and its metadata
 * sidecar), see `src/store/fs-store.ts`. So after `cp -al a b`, writes through a store on `b`
 * replace `b`'s directory entries and leave `a`'s files as they were: `b` is a copy-on-write
 * snapshot that costs directory entries, not bytes.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

/** Replaces `to` with a hard-link copy of `from`. @returns the time it took, ms. */
export async function hardLinkCopy(from: string, to: string): Promise<number> {
  const t = performance.now();
  rmSync(to, { recursive: true, force: true });
  await new Promise<void>((resolve, reject) => {
    const child = spawn('cp', ['-al', from, to], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`cp -al ${from} ${to} failed (${code}): ${stderr.trim()}`))));
  });
  return Math.round(performance.now() - t);
}
