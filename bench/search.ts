/**
 * Search measurements:
 *
 * - {@link measureShelfSearch}: Shelf's own search over a bucket (see `load.ts`): `v1/config.json`
 *   is written, and fresh clients make their first query against the local server over the
 *   bucket, from a visitor process of their own (`first-queries.ts`): what a visitor's first
 *   search costs. Then one warm client times the latency workload, and the sharded client's
 *   rankings are compared with the ranking reference's, one whole MiniSearch index over the same
 *   packages (`lib/reference.ts`), on the labelled queries (issue 9's goal 3).
 * - {@link measureEngines}: the same corpus and queries with every engine of `engines.ts`, each
 *   in its own child process (`engine-worker.ts`).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../src/client/registry-client.ts';
import { loadAnnounceConfig } from '../src/config.ts';
import { shardedRootKey } from '../src/core/paths.ts';
import { buildConfigDocument, writeConfigDocument } from '../src/registry/config-document.ts';
import { readShardedCatalog, readShardedRoot } from '../src/search/write/publish.ts';
import { startLocalServer } from '../src/server/local-server.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import type { SyntheticPackage } from './corpus.ts';
import type { EngineJob, EngineResult } from './engine-worker.ts';
export type { CountedResponse, FirstQueryReport, FirstQueryStats } from './first-queries.ts';
import { ENGINES } from './engines.ts';
import { firstQueries, firstQueriesInVisitor, warmUp, type FirstQueryReport } from './first-queries.ts';
import { TSX_IMPORT } from './lib/node.ts';
import { agreement } from './lib/agreement.ts';
import { referenceSearch, type ReferenceSearch } from './lib/reference.ts';
import { now, percentiles, round, type Percentiles } from './lib/stats.ts';
import { LABEL_TYPES, QUERY_CLASSES, type LabelledQuery, type Workload } from './queries.ts';
import { KINDS as SHARD_QUERY_KINDS, makeQueries } from './shard/queries.ts';

/** The sharded index: a root naming immutable, content-addressed pieces. */
export interface ShardedSearchReport extends FirstQueryReport {
  /** The whole generation as stored: files and bytes (root included), and the root alone. */
  generation: { files: number; bytes: number; root_bytes: number };
  /**
   * Query latency of one warm client (after its first query), by class: each query still
   * fetches the pieces it needs that the client has not fetched yet (over loopback).
   */
  latency_ms: Record<string, Percentiles>;
  /**
   * The same first queries again, each request delayed by `round_trip_ms` before it is sent: a
   * model of a client far from the server (a CDN edge is typically 10–50 ms away), where the
   * number of sequential rounds of requests, not the local server's CPU, decides the time.
   */
  modelled_network: { round_trip_ms: number; by_class: Record<string, Percentiles>; all: Percentiles };
  /**
   * The same first queries (ms) by fresh clients in the bench's own process, which also serves
   * the registry and holds the corpus: how runs before the visitor process measured them, kept
   * for comparison.
   */
  in_process: { by_class: Record<string, Percentiles>; all: Percentiles };
}

/** Delay added to every request of the modelled-network first queries, ms. */
export const MODELLED_ROUND_TRIP_MS = 20;

/** Top-1 agreement and top-5 overlap of the sharded client with the whole-index reference. */
export interface AgreementStats {
  n: number;
  /** Share of queries whose first result is the same. */
  top1: number;
  /** Mean share of the reference's top 5 that the sharded top 5 also has. */
  top5: number;
}

/** Ranking agreement (issue 9, goal 3) and the relevance of each on the labelled queries. */
export interface AgreementReport {
  /** The benchmark's labelled queries (`queries.ts`), all types, and by type. */
  labelled: AgreementStats & { by_type: Record<string, AgreementStats> };
  /** The queries of `bench/shard/measure.ts` (`shard/queries.ts`), all kinds, and by kind. */
  shard_queries: AgreementStats & { by_kind: Record<string, AgreementStats> };
  /** Does the intended package rank first / in the top 5, for the sharded client and the reference, on the labelled queries. */
  relevance: Record<'sharded' | 'reference', { n: number; top1: number; top5: number }>;
  /** Every labelled query's sharded top 5 (aligned with the labelled queries). */
  sharded_top5: string[][];
}

/** Shelf's search at one size. */
export interface ShelfSearchReport {
  sharded: ShardedSearchReport | { error: string };
  agreement: AgreementReport | { error: string };
}

/** Options of {@link measureShelfSearch}. */
export interface ShelfSearchOptions {
  workload: Workload;
  /** First queries per class (fresh client each). Default 10. */
  firstQueries?: number;
  /** Labelled queries for the agreement (default none), and the corpus for the shard queries. */
  labelled?: LabelledQuery[];
  corpus?: readonly SyntheticPackage[];
  /** Queries per kind of `shard/queries.ts` for the agreement. Default 0. */
  shardQueriesPerKind?: number;
  /** The registry's folder, when it is a filesystem store (a faster count of the sharded generation). */
  root?: string;
  /** Called as each part starts. */
  log?: (message: string) => void;
}

/** Writes the registry's `v1/config.json` for a server at `url`, as `shelf serve` does at start-up. */
export async function writeBenchConfig(store: ObjectStore, url: string): Promise<void> {
  const config = loadAnnounceConfig({ SHELF_AUDIENCE: 'https://shelf.bench', SHELF_PUBLIC_URL: url });
  await writeConfigDocument(store, buildConfigDocument(config, url));
}

const failedPart = (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) });

/**
 * Measures Shelf's own search over a registry in `store`. Writes `v1/config.json`, as `shelf
 * serve` does at start-up.
 */
export async function measureShelfSearch(store: ObjectStore, options: ShelfSearchOptions): Promise<ShelfSearchReport> {
  const log = options.log ?? (() => {});
  const report: ShelfSearchReport = { sharded: { error: 'not run' }, agreement: { error: 'not run' } };
  const server = await startLocalServer({ store, port: 0, readsOnly: true });
  try {
    let shardedClient: RegistryClient | null = null;
    log('search: sharded index');
    try {
      const generation = await generationSize(store, options.root);
      await writeBenchConfig(store, server.url);
      const perClass = options.firstQueries ?? 10;
      const first = await firstQueriesInVisitor({ baseUrl: server.url, workload: options.workload, perClass, roundTripMs: 0 });
      const far = await firstQueriesInVisitor({ baseUrl: server.url, workload: options.workload, perClass, roundTripMs: MODELLED_ROUND_TRIP_MS });
      await warmUp(server.url, options.workload);
      const here = await firstQueries(server.url, options.workload, perClass);
      const inProcess = { by_class: Object.fromEntries(Object.entries(here.by_class).map(([c, st]) => [c, st.ms])), all: here.all.ms };
      const modelled = {
        round_trip_ms: MODELLED_ROUND_TRIP_MS,
        by_class: Object.fromEntries(Object.entries(far.by_class).map(([c, st]) => [c, st.ms])),
        all: far.all.ms,
      };
      const client = new RegistryClient({ baseUrl: server.url });
      await client.search('bundle', options.workload['one-word'][0] ?? 'server');
      const latency = await workloadLatency(options.workload, (q) => client.search('bundle', q, { limit: 20 }));
      report.sharded = { generation, ...first, in_process: inProcess, latency_ms: latency, modelled_network: modelled };
      shardedClient = client;
    } catch (err) {
      report.sharded = failedPart(err);
    }
    if (shardedClient && (options.labelled?.length || options.shardQueriesPerKind)) {
      log('search: ranking agreement with the whole-index reference');
      report.agreement = await (async () => {
        const root = await readShardedRoot(store, 'bundle');
        if (!root) throw new Error(`${store.description} has no sharded index`);
        return measureAgreement(shardedClient, referenceSearch(await readShardedCatalog(store, 'bundle', root.root)), options);
      })().catch(failedPart);
    }
    return report;
  } finally {
    await server.close();
  }
}

/**
 * Files and bytes of the sharded generation as stored (root included), and the root's size. With
 * the registry's folder, a walk of the folder (`store.list` would hash every file for its ETag:
 * 600 MB at 100,000 packages).
 */
async function generationSize(store: ObjectStore, folder: string | undefined): Promise<ShardedSearchReport['generation']> {
  const rootKey = shardedRootKey('bundle');
  const prefix = rootKey.replace(/root\.json$/, '');
  const root = await store.head(rootKey);
  if (!root) throw new Error(`${store.description} has no sharded index (${rootKey})`);
  if (folder === undefined) {
    const listed = await store.list(prefix);
    return { files: listed.length, bytes: listed.reduce((a, o) => a + o.size, 0), root_bytes: root.size };
  }
  let files = 0;
  let bytes = 0;
  const dir = join(folder, prefix);
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || entry.name.startsWith('.')) continue;
    files++;
    bytes += (await stat(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name))).size;
  }
  return { files, bytes, root_bytes: root.size };
}

/** Latency of each workload query on a loaded (warm) searcher, by class. */
async function workloadLatency(workload: Workload, search: (q: string) => unknown): Promise<Record<string, Percentiles>> {
  for (const q of workload['one-word'].slice(0, 5)) await search(q); // warm-up, untimed
  const latency: Record<string, Percentiles> = {};
  for (const c of QUERY_CLASSES) {
    const times: number[] = [];
    for (const q of workload[c]) {
      const start = now();
      await search(q);
      times.push(now() - start);
    }
    latency[c] = percentiles(times);
  }
  return latency;
}

/** Top-1 agreement and top-5 overlap of two rankings (defined in `bench/lib/agreement.ts`). */
export { agreement };

function agreementStats(rows: readonly { top1: boolean; top5: number }[]): AgreementStats {
  const n = rows.length;
  return { n, top1: n ? round(rows.filter((r) => r.top1).length / n) : 0, top5: n ? round(rows.reduce((a, r) => a + r.top5, 0) / n) : 0 };
}

/** The sharded client against the whole-index reference on the labelled queries and the shard benchmark's queries. */
async function measureAgreement(client: RegistryClient, whole: ReferenceSearch, options: ShelfSearchOptions): Promise<AgreementReport> {
  const labelled = options.labelled ?? [];
  const rows: { type: string; top1: boolean; top5: number }[] = [];
  const relevance = { reference: { n: 0, top1: 0, top5: 0 }, sharded: { n: 0, top1: 0, top5: 0 } };
  const shardedTop5: string[][] = [];
  for (const q of labelled) {
    const sharded = await client.search('bundle', q.query, { limit: 20 });
    const reference = whole.search(q.query, { limit: 20 });
    rows.push({ type: q.type, ...agreement(sharded, reference) });
    shardedTop5.push(sharded.slice(0, 5).map((h) => h.name));
    for (const [which, hits] of [['sharded', sharded], ['reference', reference]] as const) {
      const top = hits.slice(0, 5).map((h) => h.name);
      relevance[which].n++;
      if (top[0] === q.target) relevance[which].top1++;
      if (top.includes(q.target)) relevance[which].top5++;
    }
  }
  const byType: Record<string, AgreementStats> = {};
  for (const t of LABEL_TYPES) byType[t] = agreementStats(rows.filter((r) => r.type === t));

  const shardRows: { kind: string; top1: boolean; top5: number }[] = [];
  if (options.shardQueriesPerKind && options.corpus) {
    // The same queries, seed included, as bench/shard/measure.ts.
    for (const q of makeQueries([...options.corpus], options.shardQueriesPerKind, 7)) {
      const sharded = await client.search('bundle', q.text, { limit: 20 });
      shardRows.push({ kind: q.kind, ...agreement(sharded, whole.search(q.text, { limit: 20 })) });
    }
  }
  const byKind: Record<string, AgreementStats> = {};
  for (const k of SHARD_QUERY_KINDS) byKind[k] = agreementStats(shardRows.filter((r) => r.kind === k));
  return {
    labelled: { ...agreementStats(rows), by_type: byType },
    shard_queries: { ...agreementStats(shardRows), by_kind: byKind },
    relevance,
    sharded_top5: shardedTop5,
  };
}

/** An engine's result, or why it has none. */
export type EngineOutcome = EngineResult | { engine: string; error: string };

/** Options of {@link measureEngines}. */
export interface MeasureEnginesOptions {
  /** The FS bucket whose catalog the engines index. */
  root: string;
  workload: Workload;
  labelled: LabelledQuery[];
  /** Time for the latency workload and again for the labelled queries, per engine, ms. */
  queryBudgetMs: number;
  /** Loads to time per engine. */
  loadRepeats: number;
  /** Kill an engine's worker after this long, ms. */
  timeoutMs: number;
  /** Called before each engine: a time limit that overrides `timeoutMs` (a run with a deadline). */
  timeoutFor?: () => number;
  /** Engines to run (default all). */
  engines?: readonly string[];
  /** Called as each engine finishes. */
  onEngine?: (outcome: EngineOutcome) => void;
}

const WORKER = new URL('./engine-worker.ts', import.meta.url).pathname;

/** Runs every engine over the same catalog and queries, one child process at a time. */
export async function measureEngines(options: MeasureEnginesOptions): Promise<EngineOutcome[]> {
  const names = options.engines ?? ENGINES.map((e) => e.name);
  for (const n of names) if (!ENGINES.some((e) => e.name === n)) throw new TypeError(`"engines" option: unknown engine ${JSON.stringify(n)}`);
  const dir = mkdtempSync(join(tmpdir(), 'shelf-bench-engines-'));
  const outcomes: EngineOutcome[] = [];
  try {
    for (const engine of names) {
      const job: EngineJob = {
        engine,
        root: options.root,
        workload: options.workload,
        labelled: options.labelled,
        queryBudgetMs: options.queryBudgetMs,
        loadRepeats: options.loadRepeats,
      };
      const jobFile = join(dir, `${engine}.job.json`);
      const outFile = join(dir, `${engine}.out.json`);
      writeFileSync(jobFile, JSON.stringify(job));
      let outcome: EngineOutcome;
      try {
        await runEngineWorker(jobFile, outFile, options.timeoutFor?.() ?? options.timeoutMs);
        outcome = JSON.parse(readFileSync(outFile, 'utf8')) as EngineResult;
      } catch (err) {
        outcome = { engine, error: err instanceof Error ? err.message : String(err) };
      }
      outcomes.push(outcome);
      options.onEngine?.(outcome);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return outcomes;
}

function runEngineWorker(jobFile: string, outFile: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // A generous heap: the question is how big an engine gets, not whether Node's default fits it.
    const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=8192', ...TSX_IMPORT, WORKER, jobFile, outFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let phase = 'start';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.startsWith('phase ')) phase = line.slice(6);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      if (timedOut) return reject(new Error(`did not finish within ${Math.round(timeoutMs / 1000)} s (was in phase "${phase}")`));
      const oom = /heap out of memory|Allocation failed/i.test(stderr);
      reject(new Error(`${oom ? 'ran out of memory' : `failed (${signal ?? `exit ${code}`})`} in phase "${phase}"${oom ? '' : `: ${lastLine(stderr)}`}`));
    });
  });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ').slice(0, 400);
}
