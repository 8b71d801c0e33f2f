/**
 * Where the files one announce writes go, per tree and level of the sharded index: the question
 * behind issue 9's announce-latency goal (an announce's cost is about proportional to the files
 * it writes, and that count grows with the registry through deeper trees and more paged terms).
 *
 * Runs the pure update ({@link updateShardedIndex}) for `--updates` packages of the synthetic
 * registry, each as a new version (new `latest_version` and `updated_at`, same terms), and walks
 * the new root through the files the update created: the term tree (`terms` files, `dict`, inner
 * `refs`), the page trees of paged fields (head pages and pages, their `refs`), the name-pair
 * tree, the suffix tree and both catalog orders. Prints the mean count per announce.
 *
 * Reuses `bench/shard/tune.ts`'s cached generation (`/tmp/shard/gen-<size>.v8`), or builds it.
 * Usage: `node --max-old-space-size=8000 --import tsx bench/shard/announce-files.ts <size> [--updates N]`
 *
 * @module
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { shardedRootKey, shardKey } from '../../src/core/paths.ts';
import type { ShardedRoot } from '../../src/search/format/wire.ts';
import { updateShardedIndex } from '../../src/search/write/update.ts';
import { generateCorpus } from '../corpus.ts';
import { packageFiles } from '../records.ts';

const args = process.argv.slice(2);
const size = Number(args[0]);
const updates = args.includes('--updates') ? Number(args[args.indexOf('--updates') + 1]) : 12;
if (!Number.isInteger(size) || size < 1 || !Number.isInteger(updates) || updates < 1) {
  throw new TypeError('usage: announce-files.ts <size> [--updates N]');
}

const corpus = generateCorpus({ packages: size });
const cache = `/tmp/shard/gen-${size}.v8`;
let store: Map<string, string>;
if (existsSync(cache)) store = deserialize(readFileSync(cache)) as Map<string, string>;
else {
  const gen = await buildShardedIndex('bundle', corpus.packages.map((p): PackageSummary => packageFiles(p).summary));
  store = new Map(gen.files);
  store.set(shardedRootKey('bundle'), `${JSON.stringify(gen.root)}\n`);
  mkdirSync('/tmp/shard', { recursive: true });
  writeFileSync(cache, serialize(store));
}
const root = JSON.parse(store.get(shardedRootKey('bundle'))!) as ShardedRoot;
const read = async (key: string): Promise<unknown> => {
  const text = store.get(key);
  return text === undefined ? null : JSON.parse(text);
};

type Entry = unknown[];
interface TreeTop {
  height: number;
  top: unknown[];
}
const counts = new Map<string, number>();
const bump = (label: string): void => void counts.set(label, (counts.get(label) ?? 0) + 1);
let total = 0;

for (let i = 0; i < updates; i++) {
  const pkg = corpus.packages[(i * 7919) % size]!;
  const before = packageFiles(pkg).summary;
  const summary = { ...before, latest_version: '99.0.0', updated_at: new Date(Date.parse('2026-11-20T00:00:00Z') + i * 1000).toISOString() };
  const update = await updateShardedIndex(root, summary.name, summary, read);
  const created = (file: string): unknown | null => {
    const key = shardKey('bundle', file);
    return update.files.has(key) && !store.has(key) ? JSON.parse(update.files.get(key)!) : null;
  };
  for (const key of update.files.keys()) if (!store.has(key)) total++;
  // Level-1 entries of term-like trees are `dict` entries [file, bytes, terms]; other refs are [first, file, bytes, weight].
  const walk = (tree: string, height: number, entries: unknown[], dictAtLevel1: boolean): void => {
    for (const entry of entries as Entry[]) {
      const file = (dictAtLevel1 && height === 1 ? entry[0] : entry[1]) as string;
      const json = created(file) as { t: string; e: unknown[] } | null;
      if (!json) continue;
      bump(`${tree}: level ${height - 1} (${json.t})`);
      if (height > 1) walk(tree, height - 1, json.e, dictAtLevel1);
      else if (json.t === 'terms') {
        for (const term of json.e as Entry[]) {
          // The head page is the page tree's first leaf: counted there.
          for (const field of Object.values((term[2] ?? {}) as Record<string, { t: TreeTop }>)) walk(`${tree} › page tree`, field.t.height, field.t.top, false);
        }
      }
    }
  };
  walk('terms', update.root.search.terms.height, update.root.search.terms.top, true);
  walk('pairs', update.root.search.pairs.height, update.root.search.pairs.top, true);
  walk('suffixes', update.root.search.suffixes.height, update.root.search.suffixes.top, false);
  walk('catalog by name', update.root.catalog.by_name.height, update.root.catalog.by_name.top, false);
  walk('catalog by recent', update.root.catalog.by_recent.height, update.root.catalog.by_recent.top, false);
}

console.log(`${size.toLocaleString('en-US')} packages, ${updates} new-version updates: ${(total / updates).toFixed(1)} new files per announce (display file included)`);
console.log('| tree: level (file type) | files per announce |\n|---|---:|');
for (const [label, n] of [...counts].sort(([a], [b]) => (a < b ? -1 : 1))) console.log(`| ${label} | ${(n / updates).toFixed(1)} |`);
