/**
 * Times a full build of the sharded search index (`buildShardedIndex`, in process, no I/O) over
 * the bench's synthetic corpus and prints a digest of every file it produces (names and contents
 * in name order, and the root), so a change to the builder can be checked to leave every output
 * byte as it was while it changes the time.
 *
 * `npm run bench:build -- [packages=10000] [repeats=1] [--files] [--classes]`: one line per build with its
 * wall-clock and CPU time (user + system, which a loaded machine disturbs less) and the digest; `--files` also lists each file's name and size. The corpus is
 * generated once per process, outside the timed part.
 *
 * `--classes` also prints, after the last build, its storage by file class (`lib/file-classes.ts`):
 * files, raw bytes, gzip bytes (each file alone, level 9) and the document entries the `terms`,
 * `page` and `heads` files repeat, beside Pagefind's stored files at the same size where an earlier
 * full bench run measured them.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { generateCorpus } from '../corpus.ts';
import { packageFiles } from '../records.ts';
import { buildShardedIndex, type ShardedGeneration } from '../../src/search/write/build.ts';
import { storageByClass, storageTable } from '../lib/file-classes.ts';

/** Pagefind's stored search files on the same corpus, from the full bench's runs (`bench/results/2026-12-06-full.md`, `2026-12-06-issue28-100k-8e0a49d.md`; its files are stored gzip-compressed). */
const PAGEFIND_STORED: Record<number, { files: number; bytes: number }> = {
  10_000: { files: 10_068, bytes: 4.88e6 },
  100_000: { files: 100_448, bytes: 47e6 },
};

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const packages = Number(args[0] ?? 10_000);
const repeats = Number(args[1] ?? 1);
if (!Number.isInteger(packages) || packages < 0 || !Number.isInteger(repeats) || repeats < 1) {
  throw new Error('Usage: build-index.ts [packages=10000] [repeats=1] [--files] [--classes]');
}

const summaries = generateCorpus({ packages }).packages.map((p) => packageFiles(p).summary);
let generation: ShardedGeneration | null = null;
for (let r = 0; r < repeats; r++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  generation = await buildShardedIndex('bundle', summaries);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const digest = createHash('sha256');
  let bytes = 0;
  for (const name of [...generation.files.keys()].sort()) {
    const content = generation.files.get(name)!;
    digest.update(`${name}\u0000${content}\u0000`);
    bytes += Buffer.byteLength(content, 'utf8');
    if (process.argv.includes('--files')) console.log(`${name}\t${content.length}`);
  }
  digest.update(JSON.stringify(generation.root));
  console.log(`packages ${packages}  build ${Math.round(ms)} ms  cpu ${Math.round((used.user + used.system) / 1000)} ms  files ${generation.files.size}  bytes ${bytes}  digest ${digest.digest('hex').slice(0, 16)}`);
}

if (generation && process.argv.includes('--classes')) {
  const storage = storageByClass('bundle', generation.root, generation.files);
  const mb = (b: number): string => (b / 1e6).toFixed(2);
  console.log(`\nStorage by file class (the root included; gzip: each file alone, level 9):\n\n${storageTable(packages, storage)}\n`);
  const { total, docs } = storage;
  console.log(
    `Document entries: ${total.docEntries.toLocaleString('en-US')} in the docs of terms, page and heads files, ${mb(total.docBytes)} MB raw (${Math.round((total.docBytes / total.bytes) * 100)}% of all raw bytes), for ${docs.distinct.toLocaleString('en-US')} distinct documents whose entries once each take ${mb(docs.onceBytes)} MB: ${mb(total.docBytes - docs.onceBytes)} MB are repeats.`,
  );
  const pf = PAGEFIND_STORED[packages];
  if (pf) console.log(`Pagefind at ${packages.toLocaleString('en-US')}: ${pf.files.toLocaleString('en-US')} files, ${mb(pf.bytes)} MB stored; Shelf: ${total.files.toLocaleString('en-US')} files (x${(total.files / pf.files).toFixed(2)}), ${mb(total.bytes)} MB raw (x${(total.bytes / pf.bytes).toFixed(2)}), ${mb(total.gzip)} MB gzip (x${(total.gzip / pf.bytes).toFixed(2)}).`);
}
