/**
 * What a fresh client's first query costs, per class of the latency workload (`queries.ts`: one
 * word, two words, a prefix, a misspelling; the queries the full bench's Pagefind comparison
 * asks), over a generation in memory: requests, rounds, kB of JSON, and agreement with the
 * whole-index reference on the 5 results the web page shows.
 *
 * Rounds come from {@link waveFetch} (`lib/wave-fetch.ts`): the rounds of requests a network
 * whose every response takes the same time would see; `http1` counts a round of more than
 * {@link CONNECTIONS} requests as several, as a browser's six connections per host serve it.
 *
 * Given the generation's file classes (`lib/file-classes.ts`), it also counts each query's
 * requests by the class of the file requested, to show which files make the count; display files
 * of results the page does not show (read to rescore candidates) count apart.
 *
 * @module
 */
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { agreement } from '../lib/agreement.ts';
import { quantile } from '../lib/stats.ts';
import type { ReferenceSearch } from '../lib/reference.ts';
import { QUERY_CLASSES, type Workload } from '../queries.ts';
import { CONNECTIONS, waveFetch } from '../lib/wave-fetch.ts';
import { classOf, FILE_CLASSES, type FileClass } from '../lib/file-classes.ts';
import { documentId } from '../../src/search/format/hash.ts';
import { encodeId } from '../../src/search/format/ids.ts';

/** Results the web page shows for a query (`RESULTS_PAGE` in `src/web/home.ts`). */
export const PAGE_RESULTS = 5;

/** One class of the workload at one size. */
export interface CostRow {
  packages: number;
  class: string;
  n: number;
  requests: { p50: number; max: number };
  /** Waves of requests (the root's included). */
  rounds: { p50: number; max: number };
  /** The same with at most {@link CONNECTIONS} requests per round. */
  http1: { p50: number; max: number };
  kb: { p50: number; max: number };
  /** Same first result as the reference; mean share of its top 5 in Shelf's. */
  agreement: { top1: number; top5: number };
  /** Requests by the class of the file requested (classes no query of the row requested left out); when file classes were given. */
  by_class?: Partial<Record<FileClass, ClassRequests>>;
}

const mean = (xs: number[]): number => (xs.length === 0 ? 0 : Math.round((xs.reduce((a, b) => a + b, 0) / xs.length) * 1000) / 1000);
const spread = (xs: number[]): { p50: number; max: number } => ({ p50: quantile(xs, 0.5), max: Math.max(...xs) });

/** Each workload class's first-query cost and agreement, a fresh client per query. */
export async function workloadCost(
  packages: number,
  workload: Workload,
  fetch: (url: string) => Promise<Response>,
  reference: ReferenceSearch,
  classes: readonly string[] = QUERY_CLASSES,
  fileClasses?: ReadonlyMap<string, FileClass>,
): Promise<CostRow[]> {
  const rows: CostRow[] = [];
  for (const c of classes) {
    const per: { requests: number; rounds: number; http1: number; bytes: number; top1: boolean; top5: number; byClass: Map<FileClass, number> }[] = [];
    for (const query of workload[c as keyof Workload]) {
      const waves = waveFetch(fetch);
      const client = await ShardedSearch.open({ baseUrl: 'http://relevance.invalid', kind: 'bundle', fetch: waves.fetch });
      const shelf = (await client.searchPage(query, { limit: PAGE_RESULTS })).hits;
      const ref = reference.search(query, { limit: PAGE_RESULTS });
      const a = agreement(shelf, ref);
      const byClass = new Map<FileClass, number>();
      if (fileClasses) {
        const shown = shelf.map((h) => `/docs/${encodeId(documentId(h.name))}-`);
        for (const key of client.stats.keys) {
          let fc = classOf(fileClasses, key);
          if (fc === 'display' && !shown.some((s) => key.includes(s))) fc = 'display, not shown';
          byClass.set(fc, (byClass.get(fc) ?? 0) + 1);
        }
      }
      per.push({ requests: client.stats.requests, rounds: waves.waves(), http1: waves.http1(), bytes: client.stats.bytes, ...a, byClass });
    }
    rows.push({
      packages,
      class: c,
      n: per.length,
      requests: spread(per.map((p) => p.requests)),
      rounds: spread(per.map((p) => p.rounds)),
      http1: spread(per.map((p) => p.http1)),
      kb: { p50: Math.round(quantile(per.map((p) => p.bytes), 0.5) / 1000), max: Math.round(Math.max(...per.map((p) => p.bytes)) / 1000) },
      agreement: { top1: mean(per.map((p) => Number(p.top1))), top5: mean(per.map((p) => p.top5)) },
      ...(fileClasses ? { by_class: requestsByClass(per.map((p) => p.byClass)) } : {}),
    });
  }
  return rows;
}

/** Median, max and mean requests of one file class per query: the means add up to the mean requests, the medians need not. */
export interface ClassRequests {
  p50: number;
  max: number;
  mean: number;
}

/** Requests per file class over the queries (a query that requested none of a class counts 0). */
function requestsByClass(perQuery: readonly ReadonlyMap<FileClass, number>[]): Partial<Record<FileClass, ClassRequests>> {
  const out: Partial<Record<FileClass, ClassRequests>> = {};
  for (const fc of FILE_CLASSES) {
    const counts = perQuery.map((m) => m.get(fc) ?? 0);
    if (counts.some((n) => n > 0)) out[fc] = { ...spread(counts), mean: mean(counts) };
  }
  return out;
}

/** Requests by file class (median [max]), one row per workload class; only the classes some query requested. */
export function costByClassTable(rows: CostRow[]): string {
  const used = FILE_CLASSES.filter((fc) => rows.some((r) => r.by_class?.[fc] !== undefined));
  const cell = (x: { p50: number; max: number } | undefined): string => (x ? `${x.p50} [${x.max}]` : '0');
  const lines = [`| packages | workload class | requests | ${used.join(' | ')} |`, `|---:|---|---:|${used.map(() => '---:|').join('')}`];
  for (const r of rows) lines.push(`| ${r.packages.toLocaleString('en-US')} | ${r.class} | ${r.requests.p50} [${r.requests.max}] | ${used.map((fc) => cell(r.by_class?.[fc])).join(' | ')} |`);
  lines.push('', 'Mean requests per query by file class (the means add up to the mean requests):', '', `| packages | workload class | requests | ${used.join(' | ')} |`, `|---:|---|---:|${used.map(() => '---:|').join('')}`);
  for (const r of rows) {
    const total = used.reduce((n, fc) => n + (r.by_class?.[fc]?.mean ?? 0), 0);
    lines.push(`| ${r.packages.toLocaleString('en-US')} | ${r.class} | ${total.toFixed(1)} | ${used.map((fc) => (r.by_class?.[fc]?.mean ?? 0).toFixed(1)).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The rows as a markdown table. */
export function costTable(rows: CostRow[]): string {
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const mm = (x: { p50: number; max: number }): string => `${x.p50} [${x.max}]`;
  const lines = [
    '| packages | workload class | n | requests | rounds | rounds, 6 connections | kB of JSON | Shelf = reference: top 1 / top 5 |',
    '|---:|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) lines.push(`| ${r.packages.toLocaleString('en-US')} | ${r.class} | ${r.n} | ${mm(r.requests)} | ${mm(r.rounds)} | ${mm(r.http1)} | ${mm(r.kb)} | ${pct(r.agreement.top1)} / ${pct(r.agreement.top5)} |`);
  return lines.join('\n');
}
