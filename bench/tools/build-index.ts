/**
 * Times a full build of the sharded search index (`buildShardedIndex`, in process, no I/O) over
 * the bench's synthetic corpus and prints a digest of every file it produces (names and contents
 * in name order, and the root), so a change to the builder can be checked to leave every output
 * byte as it was while it changes the time.
 *
 * `npm run bench:build -- [packages=10000] [repeats=1] [--files]`: one line per build with its
 * wall-clock and CPU time (user + system, which a loaded machine disturbs less) and the digest; `--files` also lists each file's name and size. The corpus is
 * generated once per process, outside the timed part.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { generateCorpus } from '../corpus.ts';
import { packageFiles } from '../records.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const packages = Number(args[0] ?? 10_000);
const repeats = Number(args[1] ?? 1);
if (!Number.isInteger(packages) || packages < 0 || !Number.isInteger(repeats) || repeats < 1) {
  throw new Error('Usage: build-index.ts [packages=10000] [repeats=1] [--files]');
}

const summaries = generateCorpus({ packages }).packages.map((p) => packageFiles(p).summary);
for (let r = 0; r < repeats; r++) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const generation = await buildShardedIndex('bundle', summaries);
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
