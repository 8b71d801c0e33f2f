/**
 * The sharded index's full build beside Pagefind's on the same documents, alone on the machine:
 * Shelf's `rebuildToStore` into a fresh folder (build and files written, no fsync) and Pagefind's
 * Node API (`buildPagefindIndex`, indexing to files written), alternating, each timed by the wall
 * clock. The full bench measures the same two inside its run (issue 28 goal 3's build row), where
 * Shelf's build runs while the registry is derived; this tool repeats the pair without anything
 * else in the process.
 *
 * `npx tsx bench/tools/build-vs-pagefind.ts [packages=10000] [pairs=1]`
 *
 * @module
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateCorpus } from '../corpus.ts';
import { packageFiles } from '../records.ts';
import { buildPagefindIndex } from '../pagefind/build.ts';
import { rebuildToStore } from '../../src/search/write/publish.ts';
import { FsStore } from '../../src/store/fs-store.ts';

const packages = Number(process.argv[2] ?? 10_000);
const pairs = Number(process.argv[3] ?? 1);
if (!Number.isInteger(packages) || packages < 1 || !Number.isInteger(pairs) || pairs < 1) throw new Error('Usage: build-vs-pagefind.ts [packages=10000] [pairs=1]');

const summaries = generateCorpus({ packages }).packages.map((p) => packageFiles(p).summary);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
for (let i = 0; i < pairs; i++) {
  const shelfDir = mkdtempSync(join(tmpdir(), 'shelf-build-'));
  let started = performance.now();
  const files = await rebuildToStore(new FsStore(shelfDir, { durable: false }), 'bundle', summaries);
  const shelfMs = performance.now() - started;
  rmSync(shelfDir, { recursive: true, force: true });
  const pfDir = mkdtempSync(join(tmpdir(), 'pagefind-build-'));
  started = performance.now();
  const pf = await buildPagefindIndex(summaries, pfDir);
  const pfWall = performance.now() - started;
  rmSync(pfDir, { recursive: true, force: true });
  console.log(`packages ${packages}  pair ${i + 1}  shelf ${(shelfMs / 1000).toFixed(1)} s (${files} files)  pagefind ${(pf.ms / 1000).toFixed(1)} s (its own clock; ${(pfWall / 1000).toFixed(1)} s with start-up)  ratio ${(shelfMs / pf.ms).toFixed(2)}  load ${load()}`);
}
