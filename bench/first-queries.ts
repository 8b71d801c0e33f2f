/**
 * First queries: fresh clients — the real `RegistryClient`, one per query, with a fetch that
 * counts every response's bytes (raw, and as gzip and brotli would send them) and notes its
 * Cache-Control — each making one query against a registry's server, timed from the client's
 * construction to its results.
 *
 * {@link firstQueriesInVisitor} runs them in a child process of their own (`first-query-worker.ts`),
 * as a visitor's browser or CLI is: the bench's process serves the registry and holds the
 * synthetic corpus (hundreds of MB at 100,000 packages), whose garbage collection and serving
 * would otherwise be timed as the client's. {@link firstQueries} runs them in the calling
 * process (the worker's body, and the bench's earlier method, still reported beside).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../src/client/registry-client.ts';
import { TSX_IMPORT } from './lib/node.ts';
import { compressedSizes, now, percentiles, round, type CompressedSizes, type Percentiles } from './lib/stats.ts';
import { QUERY_CLASSES, type Workload } from './queries.ts';

/** One response the client received. */
export interface CountedResponse extends CompressedSizes {
  path: string;
  status: number;
  /** The response's Cache-Control. */
  cache_control: string;
}

/** What fresh clients downloaded for their first query, and how long it took, over a set of queries. */
export interface FirstQueryStats {
  n: number;
  /** Bytes of every response of the query (config, index pieces, display data), per query. */
  raw: Percentiles;
  gzip: Percentiles;
  brotli: Percentiles;
  /** From the client's construction to the results, ms. */
  ms: Percentiles;
  requests: Percentiles;
}

/** One layout's first queries and warm latency. */
export interface FirstQueryReport {
  /** Per query class (the latency workload's: one word, two words, a prefix, a misspelling). */
  by_class: Record<string, FirstQueryStats>;
  /** Every query of every class. */
  all: FirstQueryStats;
  /** The first query's responses, one by one. */
  example: { query: string; responses: CountedResponse[] };
  /**
   * Files the first queries fetched that are not served `immutable`, with the largest size seen
   * (raw bytes): what a CDN must revalidate. Everything else was content-addressed and immutable.
   */
  mutable: { path: string; max_raw: number; cache_control: string }[];
  /** The process the clients ran in. */
  pid: number;
  /** Every query's time, ms, in the order they ran (what `all.ms` summarises; pooled across runs by `growth.ts`). */
  ms_samples: number[];
  /** Responses of the first queries served with `immutable` in their Cache-Control. */
  immutable_responses: number;
  responses: number;
}

/**
 * Untimed first queries (the last query of each workload class, by fresh clients) before the
 * timed ones: without them the first timed queries would also pay for compiling the client's
 * code (and, when sizes are measured one after another in one process, the ratio between sizes
 * would flatter the largest).
 */
export async function warmUp(baseUrl: string, workload: Workload): Promise<void> {
  for (const c of QUERY_CLASSES) {
    const query = workload[c].at(-1);
    if (query !== undefined) await new RegistryClient({ baseUrl }).search('bundle', query);
  }
}

/**
 * The first `perClass` queries of each workload class, each by a fresh `RegistryClient` (so it
 * fetches the config and whatever index files the layout named there needs), timed from the
 * client's construction to its results. Bodies are compressed after the query, out of its time.
 * With `roundTripMs`, every request waits that long before it is sent (a modelled network).
 */
export async function firstQueries(baseUrl: string, workload: Workload, perClass: number, roundTripMs = 0): Promise<FirstQueryReport> {
  if (!Number.isInteger(perClass) || perClass < 1) throw new TypeError(`first queries per class must be a positive integer, got ${String(perClass)}`);
  const byClass: Record<string, FirstQueryStats> = {};
  const all: { raw: number; gzip: number; brotli: number; ms: number; requests: number }[] = [];
  const mutable = new Map<string, { path: string; max_raw: number; cache_control: string }>();
  let example: FirstQueryReport['example'] | null = null;
  let immutable = 0;
  let responses = 0;
  for (const c of QUERY_CLASSES) {
    const rows: typeof all = [];
    for (const query of workload[c].slice(0, perClass)) {
      const received: { path: string; status: number; body: Uint8Array; cacheControl: string }[] = [];
      const countingFetch: typeof fetch = async (input, init) => {
        if (roundTripMs > 0) await new Promise((resolve) => setTimeout(resolve, roundTripMs));
        const response = await fetch(input, init);
        const body = new Uint8Array(await response.arrayBuffer());
        received.push({ path: new URL(response.url || String(input)).pathname, status: response.status, body, cacheControl: response.headers.get('cache-control') ?? '' });
        const nullBody = [101, 204, 205, 304].includes(response.status);
        return new Response(nullBody ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
      };
      const t = now();
      const client = new RegistryClient({ baseUrl, fetch: countingFetch });
      await client.search('bundle', query);
      const ms = now() - t;
      const counted: CountedResponse[] = received.map((r) => ({ path: r.path, status: r.status, cache_control: r.cacheControl, ...compressedSizes(r.body) }));
      example ??= { query, responses: counted };
      for (const r of counted) {
        responses++;
        if (/\bimmutable\b/.test(r.cache_control)) immutable++;
        else {
          const m = mutable.get(r.path) ?? { path: r.path, max_raw: 0, cache_control: r.cache_control };
          m.max_raw = Math.max(m.max_raw, r.raw);
          mutable.set(r.path, m);
        }
      }
      rows.push({
        raw: counted.reduce((a, r) => a + r.raw, 0),
        gzip: counted.reduce((a, r) => a + r.gzip, 0),
        brotli: counted.reduce((a, r) => a + (r.brotli ?? 0), 0),
        ms,
        requests: counted.length,
      });
    }
    byClass[c] = firstQueryStats(rows);
    all.push(...rows);
  }
  return { by_class: byClass, all: firstQueryStats(all), pid: process.pid, ms_samples: all.map((r) => round(r.ms)), example: example!, mutable: [...mutable.values()], immutable_responses: immutable, responses };
}

function firstQueryStats(rows: readonly { raw: number; gzip: number; brotli: number; ms: number; requests: number }[]): FirstQueryStats {
  return {
    n: rows.length,
    raw: percentiles(rows.map((r) => r.raw)),
    gzip: percentiles(rows.map((r) => r.gzip)),
    brotli: percentiles(rows.map((r) => r.brotli)),
    ms: percentiles(rows.map((r) => r.ms)),
    requests: percentiles(rows.map((r) => r.requests)),
  };
}


/** What the bench asks of a visitor process. */
export interface FirstQueryJob {
  baseUrl: string;
  workload: Workload;
  perClass: number;
  /** Delay before every request, ms (0: loopback as it is). */
  roundTripMs: number;
}

const WORKER = new URL('./first-query-worker.ts', import.meta.url).pathname;

/**
 * {@link firstQueries} (after a {@link warmUp}) in a fresh child process: a visitor with its own
 * heap and CPU, as a browser or the CLI is, rather than the process that serves the registry.
 *
 * @throws Error when the child fails or does not finish within `timeoutMs`.
 */
export async function firstQueriesInVisitor(job: FirstQueryJob, timeoutMs = 10 * 60_000): Promise<FirstQueryReport> {
  const dir = mkdtempSync(join(tmpdir(), 'shelf-bench-visitor-'));
  try {
    const jobFile = join(dir, 'job.json');
    const outFile = join(dir, 'out.json');
    writeFileSync(jobFile, JSON.stringify(job));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [...TSX_IMPORT, WORKER, jobFile, outFile], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(new Error(`the visitor process ${signal === 'SIGKILL' ? `did not finish within ${Math.round(timeoutMs / 1000)} s` : `failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`}`));
      });
    });
    return JSON.parse(readFileSync(outFile, 'utf8')) as FirstQueryReport;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
