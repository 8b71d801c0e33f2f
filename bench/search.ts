/**
 * Search measurements:
 *
 * - {@link measureShelfSearch}: Shelf's own search in both layouts over one bucket that holds
 *   both (see `load.ts`). For each layout, `v1/config.json` is written naming it, and fresh
 *   clients make their first query against the local server over the bucket, from a visitor
 *   process of their own (`first-queries.ts`): what a visitor's first search costs. Then one warm client times the latency workload, and the sharded client's rankings are
 *   compared with the single index's on the labelled queries (issue 9's goal 3).
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
import { SearchEngine } from '../src/client/search.ts';
import { loadAnnounceConfig } from '../src/config.ts';
import { catalogKey, searchIndexKey, shardedRootKey } from '../src/core/paths.ts';
import { SearchIndexDocumentSchema, type SearchLayout } from '../src/core/schemas.ts';
import { buildConfigDocument, writeConfigDocument } from '../src/registry/config-document.ts';
import { startLocalServer } from '../src/server/local-server.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import type { SyntheticPackage } from './corpus.ts';
import type { EngineJob, EngineResult } from './engine-worker.ts';
export type { CountedResponse, FirstQueryReport, FirstQueryStats } from './first-queries.ts';
import { ENGINES } from './engines.ts';
import { firstQueries, firstQueriesInVisitor, warmUp, type FirstQueryReport } from './first-queries.ts';
import { TSX_IMPORT } from './lib/node.ts';
import { agreement } from './lib/agreement.ts';
import { compressedSizes, cpuMs, now, percentiles, round, type CompressedSizes, type Percentiles } from './lib/stats.ts';
import { LABEL_TYPES, QUERY_CLASSES, type LabelledQuery, type Workload } from './queries.ts';
import { KINDS as SHARD_QUERY_KINDS, makeQueries } from './shard/queries.ts';

/** The `single` layout: the whole index of a kind in one file. */
export interface SingleSearchReport extends FirstQueryReport {
  layout: 'single';
  documents: number;
  /** Distinct terms in the index. */
  terms: number;
  /** `v1/search/bundles.json` as stored, and compressed. */
  index_bytes: CompressedSizes;
  /** `v1/catalog/bundles.json`, for comparison (raw and gzip). */
  catalog_bytes: CompressedSizes;
  /** Parse + validate + load into the client's `SearchEngine`, ms (median of runs). */
  load_ms: number;
  load_runs: number[];
  /** CPU time of a load, ms (median). */
  load_cpu_ms: number;
  /** Query latency of the loaded client engine, by class. */
  latency_ms: Record<string, Percentiles>;
}

/** The `sharded` layout: a root naming immutable, content-addressed pieces. */
export interface ShardedSearchReport extends FirstQueryReport {
  layout: 'sharded';
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

/** Top-1 agreement and top-5 overlap of the sharded client with the single index. */
export interface AgreementStats {
  n: number;
  /** Share of queries whose first result is the same. */
  top1: number;
  /** Mean share of the single index's top 5 that the sharded top 5 also has. */
  top5: number;
}

/** Ranking agreement (issue 9, goal 3) and each layout's relevance on the labelled queries. */
export interface AgreementReport {
  /** The benchmark's labelled queries (`queries.ts`), all types, and by type. */
  labelled: AgreementStats & { by_type: Record<string, AgreementStats> };
  /** The queries of `bench/shard/measure.ts` (`shard/queries.ts`), all kinds, and by kind. */
  shard_queries: AgreementStats & { by_kind: Record<string, AgreementStats> };
  /** Does the intended package rank first / in the top 5, per layout, on the labelled queries. */
  relevance: Record<SearchLayout, { n: number; top1: number; top5: number }>;
  /** Every labelled query's sharded top 5 (aligned with the labelled queries). */
  sharded_top5: string[][];
}

/** Shelf's search at one size, in both layouts. */
export interface ShelfSearchReport {
  single: SingleSearchReport | { error: string };
  sharded: ShardedSearchReport | { error: string };
  agreement: AgreementReport | { error: string };
}

/** Options of {@link measureShelfSearch}. */
export interface ShelfSearchOptions {
  workload: Workload;
  /** Loads of the single index to time. Default 3. */
  loadRepeats?: number;
  /** First queries per class and layout (fresh client each). Default 10 sharded, 2 single. */
  firstQueries?: Partial<Record<SearchLayout, number>>;
  /** Labelled queries for the agreement (default none), and the corpus for the shard queries. */
  labelled?: LabelledQuery[];
  corpus?: readonly SyntheticPackage[];
  /** Queries per kind of `shard/queries.ts` for the agreement. Default 0. */
  shardQueriesPerKind?: number;
  /** The registry's folder, when it is a filesystem store (a faster count of the sharded generation). */
  root?: string;
  /** Layouts to measure. Default both. */
  layouts?: readonly SearchLayout[];
  /** Called as each part starts. */
  log?: (message: string) => void;
}

/**
 * Writes the registry's `v1/config.json` for a server at `url`, naming `layout`, as `shelf serve`
 * does at start-up: clients discover the layout and the index from it.
 */
export async function writeBenchConfig(store: ObjectStore, url: string, layout: SearchLayout): Promise<void> {
  const config = loadAnnounceConfig({ SHELF_AUDIENCE: 'https://shelf.bench', SHELF_PUBLIC_URL: url, SHELF_SEARCH_LAYOUT: layout });
  await writeConfigDocument(store, buildConfigDocument(config, url));
}

const failedPart = (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) });

/**
 * Measures Shelf's own search over a registry in `store`, in each layout it holds. Writes
 * `v1/config.json` (the client discovers the layout and the index from it), as `shelf serve`
 * does at start-up; afterwards it names `sharded` when that layout was measured.
 */
export async function measureShelfSearch(store: ObjectStore, options: ShelfSearchOptions): Promise<ShelfSearchReport> {
  const loadRepeats = options.loadRepeats ?? 3;
  if (!Number.isInteger(loadRepeats) || loadRepeats < 1) throw new TypeError(`"loadRepeats" option must be a positive integer, got ${String(loadRepeats)}`);
  const layouts = options.layouts ?? ['single', 'sharded'];
  const log = options.log ?? (() => {});
  const report: ShelfSearchReport = { single: { error: 'not run' }, sharded: { error: 'not run' }, agreement: { error: 'not run' } };
  const server = await startLocalServer({ store, port: 0, readsOnly: true });
  try {
    const useLayout = (layout: SearchLayout) => writeBenchConfig(store, server.url, layout);
    // The sharded layout first: its first queries are timed in a heap that does not yet hold the
    // single index (at 100,000 packages, two copies of a 107 MiB index made them ~3× slower by GC).
    let shardedClient: RegistryClient | null = null;
    if (layouts.includes('sharded')) {
      log('search: sharded layout');
      try {
        const generation = await generationSize(store, options.root);
        await useLayout('sharded');
        const perClass = options.firstQueries?.sharded ?? 10;
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
        report.sharded = { layout: 'sharded', generation, ...first, in_process: inProcess, latency_ms: latency, modelled_network: modelled };
        shardedClient = client;
      } catch (err) {
        report.sharded = failedPart(err);
      }
    }
    let single: SearchEngine | null = null;
    if (layouts.includes('single')) {
      log('search: single layout');
      try {
        const measured = await measureSingle(store, loadRepeats);
        single = measured.engine;
        await useLayout('single');
        const first = await firstQueriesInVisitor({ baseUrl: server.url, workload: options.workload, perClass: options.firstQueries?.single ?? 2, roundTripMs: 0 });
        const client = new RegistryClient({ baseUrl: server.url });
        const engine = await client.loadSearch('bundle');
        const latency = await workloadLatency(options.workload, (q) => engine.search(q, { limit: 20 }));
        report.single = { layout: 'single', ...measured.report, ...first, latency_ms: latency };
      } catch (err) {
        report.single = failedPart(err);
      }
    }
    if (shardedClient && single && (options.labelled?.length || options.shardQueriesPerKind)) {
      log('search: ranking agreement');
      report.agreement = await measureAgreement(shardedClient, single, options).catch(failedPart);
    }
    // The registry is left naming the default layout.
    if (layouts.includes('sharded')) await useLayout('sharded');
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

/** The single index as stored: sizes, and its load into the client's engine, timed. */
async function measureSingle(store: ObjectStore, loadRepeats: number): Promise<{ engine: SearchEngine; report: Omit<SingleSearchReport, 'layout' | 'latency_ms' | keyof FirstQueryReport> }> {
  const stored = await store.get(searchIndexKey('bundle'));
  const catalog = await store.get(catalogKey('bundle'));
  if (!stored || !catalog) throw new Error(`${store.description} has no single-layout search index or catalog`);
  const text = new TextDecoder().decode(stored.body);
  const loadRuns: number[] = [];
  const loadCpuRuns: number[] = [];
  let engine: SearchEngine | null = null;
  let terms = 0;
  for (let i = 0; i < loadRepeats; i++) {
    const t = now();
    const c = cpuMs();
    const doc = SearchIndexDocumentSchema.parse(JSON.parse(text));
    engine = new SearchEngine(doc);
    loadRuns.push(now() - t);
    loadCpuRuns.push(cpuMs() - c);
    terms = Array.isArray(doc.index.index) ? doc.index.index.length : 0;
  }
  return {
    engine: engine!,
    report: {
      documents: engine!.size,
      terms,
      index_bytes: compressedSizes(stored.body),
      catalog_bytes: compressedSizes(catalog.body, { brotli: false }),
      load_ms: percentiles(loadRuns).p50,
      load_runs: loadRuns.map(round),
      load_cpu_ms: percentiles(loadCpuRuns).p50,
    },
  };
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

/** The sharded client against the single index on the labelled queries and the shard benchmark's queries. */
async function measureAgreement(client: RegistryClient, single: SearchEngine, options: ShelfSearchOptions): Promise<AgreementReport> {
  const labelled = options.labelled ?? [];
  const rows: { type: string; top1: boolean; top5: number }[] = [];
  const relevance = { single: { n: 0, top1: 0, top5: 0 }, sharded: { n: 0, top1: 0, top5: 0 } };
  const shardedTop5: string[][] = [];
  for (const q of labelled) {
    const sharded = await client.search('bundle', q.query, { limit: 20 });
    const reference = single.search(q.query, { limit: 20 });
    rows.push({ type: q.type, ...agreement(sharded, reference) });
    shardedTop5.push(sharded.slice(0, 5).map((h) => h.name));
    for (const [layout, hits] of [['sharded', sharded], ['single', reference]] as const) {
      const top = hits.slice(0, 5).map((h) => h.name);
      relevance[layout].n++;
      if (top[0] === q.target) relevance[layout].top1++;
      if (top.includes(q.target)) relevance[layout].top5++;
    }
  }
  const byType: Record<string, AgreementStats> = {};
  for (const t of LABEL_TYPES) byType[t] = agreementStats(rows.filter((r) => r.type === t));

  const shardRows: { kind: string; top1: boolean; top5: number }[] = [];
  if (options.shardQueriesPerKind && options.corpus) {
    // The same queries, seed included, as bench/shard/measure.ts.
    for (const q of makeQueries([...options.corpus], options.shardQueriesPerKind, 7)) {
      const sharded = await client.search('bundle', q.text, { limit: 20 });
      shardRows.push({ kind: q.kind, ...agreement(sharded, single.search(q.text, { limit: 20 })) });
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
