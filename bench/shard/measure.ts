/**
 * Measures the sharded index (src/search) against the single MiniSearch index on the benchmark's
 * synthetic registry (bench/corpus.ts: Zipf vocabulary, coined names, 1–40 tools):
 *
 * - what a fresh client downloads for its first query of each kind (one word, two words, a
 *   prefix, a misspelling), as JSON and compressed per file (brotli 11, gzip 9), display data of
 *   the 20 hits shown included, and how long that first query takes (all files in memory, so
 *   this is parse + merge + search time);
 * - top-1 agreement and top-5 overlap with the single index on the same labelled queries;
 * - what one announce rewrites (new files, bytes) and how long the pure update takes;
 * - the size and build time of a whole generation.
 *
 * Usage: `node --max-old-space-size=8000 --import tsx bench/shard/measure.ts [sizes] [--queries N] [--updates N]`
 * (sizes default to `1000,10000,100000`). Results go to stdout (a Markdown table) and to
 * `bench/shard/results/<size>.json`.
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import MiniSearch from 'minisearch';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { buildCatalog, buildReferenceIndex, ReferenceSearch } from '../lib/reference.ts';
import { indexOptions } from '../../src/core/search-options.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { updateShardedIndex } from '../../src/search/write/update.ts';
import { generateCorpus } from '../corpus.ts';
import { agreement } from '../lib/agreement.ts';
import { Random } from '../lib/random.ts';
import { packageFiles } from '../records.ts';
import { KINDS, makeQueries, type QueryKind } from './queries.ts';

const args = process.argv.slice(2);
const flag = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const sizes = (args.find((a) => /^[0-9,]+$/.test(a)) ?? '1000,10000,100000').split(',').map(Number);
const QUERIES = flag('queries', 100);
const UPDATES = flag('updates', 40);
const BASE = 'http://bench.invalid';

const compressed = new Map<string, { br: number; gz: number }>();
function sizesOf(key: string, content: string): { raw: number; br: number; gz: number } {
  let c = compressed.get(key);
  if (!c) {
    const buf = Buffer.from(content);
    c = {
      br: brotliCompressSync(buf, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
      gz: gzipSync(buf, { level: 9 }).length,
    };
    compressed.set(key, c);
  }
  return { raw: Buffer.byteLength(content), ...c };
}

function quantiles(values: number[]): { p50: number; p95: number; max: number; mean: number } {
  const s = [...values].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), max: s.at(-1) ?? 0, mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length) };
}

async function measure(n: number): Promise<Record<string, unknown>> {
  const log = (msg: string): void => console.error(`[${n}] ${msg}`);
  let t = performance.now();
  const corpus = generateCorpus({ packages: n });
  const summaries: PackageSummary[] = corpus.packages.map((p) => packageFiles(p).summary);
  log(`corpus ${(performance.now() - t).toFixed(0)} ms`);

  t = performance.now();
  const gen = await buildShardedIndex('bundle', summaries);
  const buildMs = performance.now() - t;
  const store = new Map(gen.files);
  store.set(shardedRootKey('bundle'), `${JSON.stringify(gen.root)}\n`);
  let genBytes = 0;
  for (const v of store.values()) genBytes += Buffer.byteLength(v);
  log(`sharded build ${buildMs.toFixed(0)} ms, ${store.size} files, ${(genBytes / 1e6).toFixed(1)} MB`);

  t = performance.now();
  const singleDoc = buildReferenceIndex('bundle', buildCatalog('bundle', summaries));
  const singleJson = JSON.stringify(singleDoc);
  const singleBuildMs = performance.now() - t;
  t = performance.now();
  const single = new ReferenceSearch(JSON.parse(singleJson));
  const singleLoadMs = performance.now() - t;
  const singleSizes = {
    raw: Buffer.byteLength(singleJson),
    br: n <= 10_000 ? brotliCompressSync(Buffer.from(singleJson), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length : null,
    gz: gzipSync(Buffer.from(singleJson), { level: 9 }).length,
  };
  log(`single index ${(singleSizes.raw / 1e6).toFixed(1)} MB, load ${singleLoadMs.toFixed(0)} ms`);
  void MiniSearch;
  void indexOptions;

  const fetchFn = async (url: string): Promise<Response> => {
    const key = url.slice(BASE.length + 1);
    const v = store.get(key);
    return v === undefined ? new Response('not found', { status: 404 }) : new Response(v, { headers: { etag: '"x"' } });
  };

  const queries = makeQueries(corpus.packages, QUERIES, 7);
  const perKind = new Map<QueryKind, { raw: number[]; br: number[]; gz: number[]; ms: number[]; requests: number[]; top1: number; top5: number; count: number }>();
  for (const q of queries) {
    const k = perKind.get(q.kind) ?? { raw: [], br: [], gz: [], ms: [], requests: [], top1: 0, top5: 0, count: 0 };
    perKind.set(q.kind, k);
    const start = performance.now();
    const client = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: fetchFn });
    const hits = await client.search(q.text, { limit: 20 });
    k.ms.push(performance.now() - start);
    let raw = 0;
    let br = 0;
    let gz = 0;
    for (const key of client.stats.keys) {
      const s = sizesOf(key, store.get(key)!);
      raw += s.raw;
      br += s.br;
      gz += s.gz;
    }
    k.raw.push(raw);
    k.br.push(br);
    k.gz.push(gz);
    k.requests.push(client.stats.requests);
    const ref = single.search(q.text, { limit: 20 });
    const a = agreement(hits, ref);
    k.top1 += a.top1 ? 1 : 0;
    k.top5 += a.top5;
    k.count++;
  }

  // Announces: a new version of a random package (new date, one more tool), chained.
  const r = new Random(11);
  const updates: { raw: number; br: number; files: number; ms: number }[] = [];
  let root: unknown = gen.root;
  const read = async (key: string): Promise<unknown> => {
    const v = store.get(key);
    return v === undefined ? null : JSON.parse(v);
  };
  for (let i = 0; i < UPDATES; i++) {
    const base = r.pick(summaries);
    const next: PackageSummary = {
      ...base,
      updated_at: new Date(Date.parse(base.updated_at) + 86_400_000).toISOString(),
      tools: [...base.tools, `get_${r.pick(corpus.packages).short.split('-')[0]}`],
    };
    const start = performance.now();
    const u = await updateShardedIndex(root, base.name, next, read);
    const ms = performance.now() - start;
    let raw = 0;
    let br = 0;
    let files = 0;
    for (const [key, content] of u.files) {
      if (store.has(key)) continue;
      store.set(key, content);
      const s = sizesOf(key, content);
      raw += s.raw;
      br += s.br;
      files++;
    }
    const rootText = `${JSON.stringify(u.root)}\n`;
    raw += Buffer.byteLength(rootText);
    files++;
    store.set(shardedRootKey('bundle'), rootText);
    root = u.root;
    updates.push({ raw, br, files, ms });
  }

  const kinds: Record<string, unknown> = {};
  let top1 = 0;
  let top5 = 0;
  let count = 0;
  for (const [kind, k] of perKind) {
    kinds[kind] = {
      raw: quantiles(k.raw),
      br: quantiles(k.br),
      gz: quantiles(k.gz),
      ms: quantiles(k.ms),
      requests: quantiles(k.requests),
      top1: k.top1 / k.count,
      top5: k.top5 / k.count,
    };
    top1 += k.top1;
    top5 += k.top5;
    count += k.count;
  }
  return {
    packages: n,
    generation: { files: store.size, bytes: genBytes, build_ms: Math.round(buildMs), root_bytes: Buffer.byteLength(store.get(shardedRootKey('bundle'))!) },
    single: { ...singleSizes, build_ms: Math.round(singleBuildMs), load_ms: Math.round(singleLoadMs) },
    queries: kinds,
    agreement: { top1: top1 / count, top5: top5 / count, queries: count },
    update: {
      raw: quantiles(updates.map((u) => u.raw)),
      br: quantiles(updates.map((u) => u.br)),
      files: quantiles(updates.map((u) => u.files)),
      ms: quantiles(updates.map((u) => u.ms)),
    },
  };
}

const kB = (b: number): string => `${(b / 1000).toFixed(1)}`;
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
for (const n of sizes) {
  const result = await measure(n);
  writeFileSync(new URL(`./results/${n}.json`, import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
  const q = result.queries as Record<string, { br: { p50: number; max: number }; gz: { p50: number; max: number }; raw: { p50: number }; ms: { p50: number; p95: number }; requests: { p50: number }; top1: number; top5: number }>;
  console.log(`\n## ${n} packages\n`);
  console.log('| query | first query kB br p50 / max | gzip p50 / max | JSON p50 | requests p50 | ms p50 / p95 | top-1 | top-5 |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const kind of KINDS) {
    const k = q[kind]!;
    console.log(
      `| ${kind} | ${kB(k.br.p50)} / ${kB(k.br.max)} | ${kB(k.gz.p50)} / ${kB(k.gz.max)} | ${kB(k.raw.p50)} | ${k.requests.p50} | ${k.ms.p50.toFixed(1)} / ${k.ms.p95.toFixed(1)} | ${(k.top1 * 100).toFixed(0)}% | ${(k.top5 * 100).toFixed(0)}% |`,
    );
  }
  console.log(JSON.stringify({ generation: result.generation, single: result.single, agreement: result.agreement, update: result.update }));
}
