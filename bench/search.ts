/**
 * Search measurements:
 *
 * - {@link measureShelfSearch}: Shelf's own index as stored, and what a client goes through for
 *   its first query — measured through the real client (`RegistryClient.search`) against the
 *   local server over the bucket, with a fetch that counts every response's bytes (raw, and as
 *   gzip and brotli would send them). Whatever index layout the registry publishes later
 *   (shards, say), this code path measures it unchanged.
 * - {@link measureEngines}: the same corpus and queries with every engine of `engines.ts`, each
 *   in its own child process (`engine-worker.ts`).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient } from '../src/client/registry-client.ts';
import { SearchEngine } from '../src/client/search.ts';
import { loadAnnounceConfig } from '../src/config.ts';
import { searchIndexKey, catalogKey } from '../src/core/paths.ts';
import { SearchIndexDocumentSchema } from '../src/core/schemas.ts';
import { buildConfigDocument, writeConfigDocument } from '../src/registry/config-document.ts';
import { startLocalServer } from '../src/server/local-server.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import type { EngineJob, EngineResult } from './engine-worker.ts';
import { ENGINES } from './engines.ts';
import { TSX_IMPORT } from './lib/node.ts';
import { compressedSizes, cpuMs, now, percentiles, round, type CompressedSizes, type Percentiles } from './lib/stats.ts';
import { QUERY_CLASSES, type LabelledQuery, type Workload } from './queries.ts';

/** One response the client received. */
export interface CountedResponse extends CompressedSizes {
  path: string;
  status: number;
}

/** Shelf's search at one size. */
export interface ShelfSearchReport {
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
  /** What the client fetched for its first query, and the time until it had results. */
  first_query: { ms: number; responses: CountedResponse[]; total: CompressedSizes };
  /** Query latency of the loaded client engine, by class. */
  latency_ms: Record<string, Percentiles>;
}

/** Options of {@link measureShelfSearch}. */
export interface ShelfSearchOptions {
  workload: Workload;
  /** Loads to time. Default 3. */
  loadRepeats?: number;
  /** The query whose results the client waits for first. Default the first one-word query. */
  firstQuery?: string;
}

/**
 * Measures Shelf's own search over a registry in `store`. Writes `v1/config.json` (the client
 * discovers the index from it), as `shelf serve` does at start-up.
 */
export async function measureShelfSearch(store: ObjectStore, options: ShelfSearchOptions): Promise<ShelfSearchReport> {
  const loadRepeats = options.loadRepeats ?? 3;
  if (!Number.isInteger(loadRepeats) || loadRepeats < 1) throw new TypeError(`"loadRepeats" option must be a positive integer, got ${String(loadRepeats)}`);
  const stored = await store.get(searchIndexKey('bundle'));
  const catalog = await store.get(catalogKey('bundle'));
  if (!stored || !catalog) throw new Error(`${store.description} has no bundle search index or catalog`);

  const text = new TextDecoder().decode(stored.body);
  const loadRuns: number[] = [];
  const loadCpuRuns: number[] = [];
  let documents = 0;
  let terms = 0;
  for (let i = 0; i < loadRepeats; i++) {
    const t = now();
    const c = cpuMs();
    const doc = SearchIndexDocumentSchema.parse(JSON.parse(text));
    const engine = new SearchEngine(doc);
    loadRuns.push(now() - t);
    loadCpuRuns.push(cpuMs() - c);
    documents = engine.size;
    terms = Array.isArray(doc.index.index) ? doc.index.index.length : 0;
  }

  const server = await startLocalServer({ store, port: 0 });
  try {
    const config = loadAnnounceConfig({ SHELF_AUDIENCE: 'https://shelf.bench', SHELF_PUBLIC_URL: server.url });
    await writeConfigDocument(store, buildConfigDocument(config, server.url));
    // Bodies are kept and measured after the query, so compressing them is not in its time.
    const received: { path: string; status: number; body: Uint8Array }[] = [];
    const countingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      const body = new Uint8Array(await response.arrayBuffer());
      received.push({ path: new URL(response.url || String(input)).pathname, status: response.status, body });
      const nullBody = [101, 204, 205, 304].includes(response.status);
      return new Response(nullBody ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
    const client = new RegistryClient({ baseUrl: server.url, fetch: countingFetch });
    const first = options.firstQuery ?? options.workload['one-word'][0] ?? 'server';
    const t = now();
    await client.search('bundle', first);
    const firstMs = now() - t;

    const engine = await client.loadSearch('bundle');
    for (const q of options.workload['one-word'].slice(0, 5)) engine.search(q); // warm-up, untimed
    const latency: Record<string, Percentiles> = {};
    for (const c of QUERY_CLASSES) {
      const times = options.workload[c].map((q) => {
        const start = now();
        engine.search(q, { limit: 20 });
        return now() - start;
      });
      latency[c] = percentiles(times);
    }
    const responses: CountedResponse[] = received.map((r) => ({ path: r.path, status: r.status, ...compressedSizes(r.body) }));
    const total = responses.reduce<CompressedSizes>(
      (acc, r) => ({ raw: acc.raw + r.raw, gzip: acc.gzip + r.gzip, brotli: (acc.brotli ?? 0) + (r.brotli ?? 0) }),
      { raw: 0, gzip: 0, brotli: 0 },
    );
    return {
      documents,
      terms,
      index_bytes: compressedSizes(stored.body),
      catalog_bytes: compressedSizes(catalog.body, { brotli: false }),
      load_ms: percentiles(loadRuns).p50,
      load_runs: loadRuns.map(round),
      load_cpu_ms: percentiles(loadCpuRuns).p50,
      first_query: { ms: round(firstMs), responses, total },
      latency_ms: latency,
    };
  } finally {
    await server.close();
  }
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
