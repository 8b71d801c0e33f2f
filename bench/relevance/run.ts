/**
 * The relevance measurement alone, in a few minutes: `npm run bench:relevance [-- --sizes
 * 1000,10000] [-- --per-class 30] [-- --json FILE]`. For each size it generates the bench's corpus,
 * builds the sharded index in memory (the real builder), and asks Shelf's sharded reader (the code
 * the web page and the CLI run, over an in-memory fetch) and the whole-index reference
 * (`bench/lib/reference.ts`) the bench's labelled queries and issue 28's relevance classes. It
 * prints, per class, both engines' relevance (top 1 / top 5, as `measure.ts` judges) and their
 * agreement (goal 5: the same first result; the share of the reference's top 5 in Shelf's), and
 * what each query cost a fresh client (requests and kB of JSON, the root included; median). The
 * full bench (`npm run bench`) measures the same classes through a served registry, beside Pagefind.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { generateCorpus } from '../corpus.ts';
import { quantile } from '../lib/stats.ts';
import { referenceSearch } from '../lib/reference.ts';
import { labelledQueries, QUERY_CLASSES, workloads } from '../queries.ts';
import { packageFiles } from '../records.ts';
import { judge, relevanceQueries } from './classes.ts';
import { allQueries, TOP } from './measure.ts';
import { costByClassTable, costTable, PAGE_RESULTS, workloadCost, type CostRow } from './first-query-cost.ts';
import { classifyFiles } from '../lib/file-classes.ts';

const USAGE = 'Usage: npm run bench:relevance [-- --sizes 1000,10000] [-- --per-class 30] [-- --workload 30] [-- --json FILE]';

/** One engine's relevance on a class: share with a relevant first result, mean share of the top 5 relevant. */
interface Score {
  top1: number;
  top5: number;
}

/** A class at one size: both engines' relevance and their agreement. */
export interface ClassRow {
  packages: number;
  class: string;
  n: number;
  shelf: Score;
  reference: Score;
  /** Same first result; share of the reference's top 5 also in Shelf's top 5. */
  agreement: Score;
  /** A fresh client's first query: median requests and kB of JSON (uncompressed), the root included. */
  cost: { requests: number; kb: number };
}

function parseArgs(argv: string[]): { sizes: number[]; perClass: number; workload: number; json: string | null } {
  const out = { sizes: [1_000, 10_000], perClass: 30, workload: 30, json: null as string | null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--sizes' && v) out.sizes = v.split(',').map(Number);
    else if (a === '--per-class' && v) out.perClass = Number(v);
    else if (a === '--workload' && v) out.workload = Number(v);
    else if (a === '--json' && v) out.json = v;
    else throw new Error(`Unknown argument ${String(a)}.\n${USAGE}`);
    i++;
  }
  if (out.sizes.some((s) => !Number.isInteger(s) || s < 1) || !Number.isInteger(out.perClass) || out.perClass < 1 || !Number.isInteger(out.workload) || out.workload < 0) throw new Error(USAGE);
  return out;
}

/** A fetch over a generation's files in memory. */
function memoryFetch(files: Map<string, string>): (url: string) => Promise<Response> {
  return async (url) => {
    const v = files.get(new URL(url).pathname.slice(1));
    return v === undefined ? new Response('not found', { status: 404 }) : new Response(v);
  };
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000);

/** Measures every class at one size, and the first-query cost of `workload` queries of each latency workload class (none when 0). */
export async function measureSize(packages: number, perClass: number, workload = 0): Promise<{ rows: ClassRow[]; cost: CostRow[] }> {
  const corpus = generateCorpus({ packages });
  const summaries: PackageSummary[] = corpus.packages.map((p) => packageFiles(p).summary);
  const gen = await buildShardedIndex('bundle', summaries);
  const files = new Map(gen.files);
  files.set(shardedRootKey('bundle'), JSON.stringify(gen.root));
  const fetch = memoryFetch(files);
  const reference = referenceSearch(summaries);
  const queries = allQueries(labelledQueries(corpus, perClass), relevanceQueries(corpus, perClass));
  const judged: { class: string; shelf: ReturnType<typeof judge>; reference: ReturnType<typeof judge>; same1: boolean; overlap5: number; requests: number; bytes: number }[] = [];
  for (const q of queries) {
    const client = await ShardedSearch.open({ baseUrl: 'http://relevance.invalid', kind: 'bundle', fetch });
    const shelf = (await client.search(q.query, { limit: TOP })).map((h) => h.name);
    const ref = reference.search(q.query, { limit: TOP }).map((h) => h.name);
    judged.push({
      class: q.class,
      shelf: judge(shelf, q.relevant),
      reference: judge(ref, q.relevant),
      same1: shelf[0] === ref[0],
      overlap5: ref.length === 0 ? (shelf.length === 0 ? 1 : 0) : ref.filter((n) => shelf.includes(n)).length / ref.length,
      requests: client.stats.requests,
      bytes: client.stats.bytes,
    });
  }
  const classes = [...new Set(judged.map((j) => j.class))];
  const row = (c: string, js: typeof judged): ClassRow => ({
    packages,
    class: c,
    n: js.length,
    shelf: { top1: mean(js.map((j) => Number(j.shelf.top1))), top5: mean(js.map((j) => j.shelf.top5)) },
    reference: { top1: mean(js.map((j) => Number(j.reference.top1))), top5: mean(js.map((j) => j.reference.top5)) },
    agreement: { top1: mean(js.map((j) => Number(j.same1))), top5: mean(js.map((j) => j.overlap5)) },
    cost: { requests: quantile(js.map((j) => j.requests), 0.5), kb: Math.round(quantile(js.map((j) => j.bytes), 0.5) / 1000) },
  });
  const rows = [...classes.map((c) => row(c, judged.filter((j) => j.class === c))), row('all labelled:*', judged.filter((j) => j.class.startsWith('labelled:'))), row('all classes', judged.filter((j) => !j.class.startsWith('labelled:')))];
  const cost = workload > 0 ? await workloadCost(packages, workloads(corpus, workload), fetch, reference, QUERY_CLASSES, classifyFiles('bundle', gen.root, files)) : [];
  return { rows, cost };
}

/** The rows as a markdown table. */
export function relevanceTable(rows: ClassRow[]): string {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const lines = ['| packages | class | n | Shelf: top 1 / top 5 | reference: top 1 / top 5 | Shelf = reference: top 1 / top 5 | first query: requests, kB (median) |', '|---:|---|---:|---|---|---|---|'];
  for (const r of rows) lines.push(`| ${r.packages.toLocaleString('en-US')} | ${r.class} | ${r.n} | ${pct(r.shelf.top1)} / ${pct(r.shelf.top5)} | ${pct(r.reference.top1)} / ${pct(r.reference.top5)} | ${pct(r.agreement.top1)} / ${pct(r.agreement.top5)} | ${r.cost.requests}, ${r.cost.kb} |`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = parseArgs(process.argv.slice(2));
  const rows: ClassRow[] = [];
  const cost: CostRow[] = [];
  for (const size of args.sizes) {
    const started = performance.now();
    const measured = await measureSize(size, args.perClass, args.workload);
    rows.push(...measured.rows);
    cost.push(...measured.cost);
    process.stderr.write(`${size} packages: ${Math.round((performance.now() - started) / 1000)} s\n`);
  }
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ relevance: rows, first_query_cost: cost }, null, 2)}\n`);
  process.stdout.write(`${relevanceTable(rows)}\n`);
  if (cost.length > 0) process.stdout.write(`\nFirst query of the latency workload (fresh client, ${PAGE_RESULTS} results as the web page shows):\n\n${costTable(cost)}\n\nRequests of the same queries by the class of the file requested, median [max] (\`bench/lib/file-classes.ts\`):\n\n${costByClassTable(cost)}\n`);
}
