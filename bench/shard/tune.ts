/**
 * Tuning harness for the sharded client: builds a generation once per size and caches it, with
 * the single index's results for the labelled queries, in /tmp/shard; later runs load both in
 * seconds, run the queries through the current client and print per-kind numbers (brotli bytes,
 * ms, top-1, top-5) and, with --show, every query that disagrees or exceeds the byte goal.
 * Delete the cache after changing the format (build.ts, specs.ts, ...): it is not invalidated.
 * Usage: node --max-old-space-size=8000 --import tsx bench/shard/tune.ts <size> [--queries N] [--kind K] [--budget BYTES] [--show]
 *
 * Modes reproducing the full benchmark (`bench/run.ts`, `bench/search.ts`):
 * - `--labelled [--per N]`: its labelled queries (`labelledQueries(corpus, N)`, N = 30 at
 *   100,000 packages, else 50), limit 20, agreement counted as `agreement()` does, by type.
 * - `--first`: its first queries (the first 25 of each latency-workload class, 15 at 100,000, of
 *   `workloads(corpus, 100)`, 50 at 100,000), default limit, bytes as the benchmark counts them:
 *   brotli quality 9 per response, config (254 B) and root included.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { deserialize, serialize } from 'node:v8';
import { brotliCompressSync, constants } from 'node:zlib';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { buildCatalog, buildReferenceIndex, ReferenceSearch } from '../lib/reference.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { DEFAULT_POLICY, type ShardingPolicy } from '../../src/search/format/policy.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { generateCorpus } from '../corpus.ts';
import { packageFiles } from '../records.ts';
import { labelledQueries, workloads, QUERY_CLASSES } from '../queries.ts';
import { compressedSizes, percentiles } from '../lib/stats.ts';
import { agreement } from '../lib/agreement.ts';
import { makeQueries } from './queries.ts';

const args = process.argv.slice(2);
const n = Number(args[0]);
const qi = args.indexOf('--queries');
const QUERIES = qi >= 0 ? Number(args[qi + 1]) : 100;
const show = args.includes('--show');
const only = args.includes('--kind') ? args[args.indexOf('--kind') + 1] : null;
const budget = args.includes('--budget') ? Number(args[args.indexOf('--budget') + 1]) : undefined;
const labelled = args.includes('--labelled');
const first = args.includes('--first');
const PER = args.includes('--per') ? Number(args[args.indexOf('--per') + 1]) : n >= 100_000 ? 30 : 50;
const dir = '/tmp/shard';
/** SHELF_TUNE_POLICY: JSON merged over DEFAULT_POLICY, to try other file sizes (cached apart). */
const policyOverride = process.env.SHELF_TUNE_POLICY ? (JSON.parse(process.env.SHELF_TUNE_POLICY) as Partial<ShardingPolicy>) : null;
const policyTag = policyOverride ? `-${createHash('sha256').update(JSON.stringify(policyOverride)).digest('hex').slice(0, 8)}` : '';
const genFile = `${dir}/gen-${n}${policyTag}.v8`;
const refFile = labelled ? `${dir}/lref-${n}-${PER}.json` : first ? `${dir}/fref-${n}.json` : `${dir}/ref-${n}-${QUERIES}.json`;
const brFile = first ? `${dir}/br9-${n}${policyTag}.json` : `${dir}/br-${n}${policyTag}.json`;
/** Bytes of v1/config.json as the benchmark counts it (brotli 9): fetched before the root. */
const CONFIG_BROTLI = 254;

const corpus = generateCorpus({ packages: n });
let store: Map<string, string>;
if (existsSync(genFile)) {
  store = deserialize(readFileSync(genFile)) as Map<string, string>;
} else {
  const summaries: PackageSummary[] = corpus.packages.map((p) => packageFiles(p).summary);
  const gen = await buildShardedIndex('bundle', summaries, policyOverride ? { policy: { ...DEFAULT_POLICY, ...policyOverride } } : {});
  store = new Map(gen.files);
  store.set(shardedRootKey('bundle'), `${JSON.stringify(gen.root)}\n`);
  writeFileSync(genFile, serialize(store));
}
type Q = { kind: string; text: string; limit: number };
let queries: Q[];
if (labelled) queries = labelledQueries(corpus, PER).map((l) => ({ kind: l.type, text: l.query, limit: 20 }));
else if (first) {
  const w = workloads(corpus, n >= 100_000 ? 50 : 100);
  queries = QUERY_CLASSES.flatMap((c) => w[c].slice(0, n >= 100_000 ? 15 : 25).map((text) => ({ kind: c, text, limit: 20 })));
} else queries = makeQueries(corpus.packages, QUERIES, 7).map((m) => ({ kind: m.kind, text: m.text, limit: 20 }));
let refs: string[][];
if (existsSync(refFile)) refs = JSON.parse(readFileSync(refFile, 'utf8'));
else {
  const summaries: PackageSummary[] = corpus.packages.map((p) => packageFiles(p).summary);
  const single = new ReferenceSearch(JSON.parse(JSON.stringify(buildReferenceIndex('bundle', buildCatalog('bundle', summaries)))));
  refs = queries.map((q) => single.search(q.text, { limit: q.limit }).map((h) => h.name));
  writeFileSync(refFile, JSON.stringify(refs));
}
const br: Record<string, number> = existsSync(brFile) ? JSON.parse(readFileSync(brFile, 'utf8')) : {};
const brOf = (key: string): number =>
  (br[key] ??= first ? compressedSizes(store.get(key)!).brotli! : brotliCompressSync(Buffer.from(store.get(key)!), { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length);

const BASE = 'http://bench.invalid';
const fetchFn = async (url: string): Promise<Response> => {
  const v = store.get(url.slice(BASE.length + 1));
  return v === undefined ? new Response('nf', { status: 404 }) : new Response(v, { headers: { etag: '"x"' } });
};
const q = (s: number[], p: number): number => [...s].sort((a, b) => a - b)[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
const per = new Map<string, { br: number[]; ms: number[]; top1: number; top5: number; c: number; docs: number[] }>();
const allBr: number[] = [];
let worst = { b: 0, text: '' };
for (let i = 0; i < queries.length; i++) {
  const qq = queries[i]!;
  if (only && qq.kind !== only) continue;
  const t = performance.now();
  const client = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: fetchFn, ...(budget === undefined ? {} : { expansionBudget: budget }) });
  const hits = (await client.search(qq.text, { limit: qq.limit })).map((h) => h.name);
  const ms = performance.now() - t;
  let b = first ? CONFIG_BROTLI : 0;
  let docs = 0;
  for (const k of client.stats.keys) {
    b += brOf(k);
    if (k.includes('/docs/')) docs += brOf(k);
  }
  const ref = refs[i]!;
  const { top1, top5 } = agreement(hits, ref);
  const k = per.get(qq.kind) ?? { br: [], ms: [], top1: 0, top5: 0, c: 0, docs: [] };
  per.set(qq.kind, k);
  k.br.push(b);
  allBr.push(b);
  if (b > worst.b) worst = { b, text: `${qq.kind} "${qq.text}" req=${client.stats.requests}` };
  k.ms.push(ms);
  k.docs.push(docs);
  k.top1 += top1 ? 1 : 0;
  k.top5 += top5;
  k.c++;
  const goal = n >= 100_000 ? 300_000 : 150_000;
  if (show && (!top1 || top5 < 1 || b > (first ? 0.75 : 1) * goal)) {
    // Bytes by file type (`t` of tree files; docs; root).
    const by = new Map<string, number>();
    for (const k of client.stats.keys) {
      const t = k.includes('/docs/') ? 'docs' : k.endsWith('root.json') ? 'root' : String((JSON.parse(store.get(k)!) as { t?: string }).t);
      by.set(t, (by.get(t) ?? 0) + brOf(k));
    }
    const parts = [...by].map(([t, v]) => `${t}=${(v / 1e3).toFixed(0)}k`).join(' ');
    console.log(`${qq.kind} "${qq.text}" br=${(b / 1e3).toFixed(0)}k raw=${(client.stats.bytes / 1e3).toFixed(0)}k ${parts} req=${client.stats.requests} ms=${ms.toFixed(0)} top1=${top1} top5=${top5}\n   got ${hits.slice(0, 5).join(' ')}\n   ref ${ref.slice(0, 5).join(' ')}`);
  }
}
writeFileSync(brFile, JSON.stringify(br));
let t1 = 0;
let t5 = 0;
let c = 0;
for (const [kind, k] of per) {
  console.log(
    `${kind.padEnd(11)} br p50 ${(q(k.br, 0.5) / 1e3).toFixed(1)} p95 ${(q(k.br, 0.95) / 1e3).toFixed(1)} max ${(q(k.br, 1) / 1e3).toFixed(1)} (docs p50 ${(q(k.docs, 0.5) / 1e3).toFixed(1)} max ${(q(k.docs, 1) / 1e3).toFixed(1)}) ms p50 ${q(k.ms, 0.5).toFixed(1)} top1 ${(k.top1 / k.c).toFixed(3)} top5 ${(k.top5 / k.c).toFixed(3)}`,
  );
  t1 += k.top1;
  t5 += k.top5;
  c += k.c;
}
console.log(`all top1 ${(t1 / c).toFixed(3)} top5 ${(t5 / c).toFixed(3)} (${c}) br p50 ${(percentiles(allBr).p50 / 1e3).toFixed(1)} p95 ${(percentiles(allBr).p95 / 1e3).toFixed(1)} max ${(q(allBr, 1) / 1e3).toFixed(1)} (${worst.text})`);
