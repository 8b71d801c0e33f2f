/**
 * Child process of the engine comparison: one engine at one registry size, alone in its process
 * so its memory is its own and an engine that runs out of memory or time fails alone.
 *
 * Builds the engine's index from the registry's catalog (the packages of its sharded index, in name
 * order, as one catalog document), serialises it, measures its bytes (raw
 * and gzip), loads it from those bytes (median of a few loads), then runs the latency workload
 * and the labelled queries within a time budget, interleaving classes so a slow engine still
 * gets a few of each.
 *
 * Usage (by `bench/search.ts`): `node --expose-gc --import tsx bench/engine-worker.ts <job.json> <out.json>`.
 * Prints `phase <name>` lines so the parent can say where a killed worker was.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readShardedCatalog, readShardedRoot } from '../src/search/write/publish.ts';
import { encodeJson } from '../src/store/json-documents.ts';
import { FsStore } from '../src/store/fs-store.ts';
import { buildCatalog } from './lib/reference.ts';
import { ENGINES, loadMinisearchBare, type EnginePayload, type LoadedEngine } from './engines.ts';
import { compressedSizes, cpuMs, now, peakRss, percentiles, round, type Percentiles } from './lib/stats.ts';
import { LABEL_TYPES, QUERY_CLASSES, type LabelledQuery, type Workload } from './queries.ts';

/** What the parent asks of the worker. */
export interface EngineJob {
  engine: string;
  /** The FS bucket the catalog is read from. */
  root: string;
  workload: Workload;
  labelled: LabelledQuery[];
  /** Time allowed for the latency workload and for the labelled queries, ms each. */
  queryBudgetMs: number;
  /** Loads to time (the median is reported). */
  loadRepeats: number;
}

/** Relevance counts. */
export interface RelevanceCounts {
  n: number;
  top1: number;
  top5: number;
}

/** What the worker reports for one engine at one size. */
export interface EngineResult {
  engine: string;
  build_ms: number;
  /** CPU time of the build, ms (varies less than wall time on a busy machine). */
  build_cpu_ms: number;
  /** Files the client downloads and their bytes; `display` is the catalog when the index lacks result data. */
  bytes: { files: number; index_raw: number; index_gzip: number; display_raw: number; display_gzip: number; total_raw: number; total_gzip: number };
  /** Parse + load until queryable, ms (median of `load_runs`). */
  load_ms: number;
  load_runs: number[];
  /** CPU time of a load, ms (median). */
  load_cpu_ms: number;
  /** MiniSearch only: `JSON.parse` + `MiniSearch.loadJS` without the client's validation. */
  bare_load_ms?: number;
  /** Live heap held by the loaded index (after GC), MiB; null without `--expose-gc`. */
  heap_loaded_mib: number | null;
  max_rss_mib: number;
  latency_ms: Record<string, Percentiles>;
  relevance: RelevanceCounts & { by_type: Record<string, RelevanceCounts> };
  /** Top 5 names per labelled query, aligned with the job's `labelled`; null where the budget ran out. */
  top5: (string[] | null)[];
}

const MIB = 1048576;

function phase(name: string): void {
  process.stdout.write(`phase ${name}\n`);
}

function gcHeap(): number | null {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return null;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

async function main(jobFile: string, outFile: string): Promise<void> {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as EngineJob;
  const adapter = ENGINES.find((e) => e.name === job.engine);
  if (!adapter) throw new Error(`unknown engine ${job.engine}`);
  const store = new FsStore(job.root);
  const root = await readShardedRoot(store, 'bundle');
  if (!root) throw new Error(`no sharded index in ${job.root}`);
  const catalog = buildCatalog('bundle', await readShardedCatalog(store, 'bundle', root.root));
  const catalogJson = new TextDecoder().decode(encodeJson(catalog));

  phase('build');
  let t = now();
  let c = cpuMs();
  let payload: EnginePayload | null = adapter.build(catalog, catalogJson);
  const buildMs = now() - t;
  const buildCpuMs = cpuMs() - c;
  const files = payload.index.length + (payload.display ? 1 : 0);

  phase('measure-bytes');
  let indexRaw = 0;
  let indexGzip = 0;
  for (const file of payload.index) {
    const s = compressedSizes(file, { brotli: false });
    indexRaw += s.raw;
    indexGzip += s.gzip;
  }
  const display = payload.display ? compressedSizes(payload.display, { brotli: false }) : { raw: 0, gzip: 0 };

  phase('load');
  const loadRuns: number[] = [];
  const loadCpuRuns: number[] = [];
  let engine: LoadedEngine | null = null;
  let heapLoaded: number | null = null;
  for (let i = 0; i < job.loadRepeats; i++) {
    engine = null;
    const before = gcHeap();
    t = now();
    c = cpuMs();
    engine = adapter.load(payload);
    loadRuns.push(now() - t);
    loadCpuRuns.push(cpuMs() - c);
    const after = gcHeap();
    if (before !== null && after !== null) heapLoaded = after - before;
  }
  let bareLoadMs: number | undefined;
  if (adapter.name === 'minisearch') {
    t = now();
    loadMinisearchBare(payload);
    bareLoadMs = round(now() - t);
  }
  payload = null; // the serialised form is no longer needed; let it go before querying
  const loaded = engine!;

  phase('latency');
  for (const q of job.workload['one-word'].slice(0, 5)) loaded.search(q, 20); // warm-up, untimed
  const times: Record<string, number[]> = Object.fromEntries(QUERY_CLASSES.map((c) => [c, []]));
  const longest = Math.max(...QUERY_CLASSES.map((c) => job.workload[c].length));
  const latencyStart = now();
  outer: for (let i = 0; i < longest; i++) {
    for (const c of QUERY_CLASSES) {
      const q = job.workload[c][i];
      if (q === undefined) continue;
      t = now();
      loaded.search(q, 20);
      times[c]!.push(now() - t);
      if (now() - latencyStart > job.queryBudgetMs) break outer;
    }
  }

  phase('relevance');
  const top5: (string[] | null)[] = job.labelled.map(() => null);
  const byType: Record<string, RelevanceCounts> = Object.fromEntries(LABEL_TYPES.map((ty) => [ty, { n: 0, top1: 0, top5: 0 }]));
  const total: RelevanceCounts = { n: 0, top1: 0, top5: 0 };
  // Interleave types so a budget cut still leaves a few of each.
  const order = interleave(job.labelled);
  const relevanceStart = now();
  for (const i of order) {
    const q = job.labelled[i]!;
    const result = loaded.search(q.query, 5);
    top5[i] = result;
    const counts = byType[q.type]!;
    for (const c of [counts, total]) {
      c.n++;
      if (result[0] === q.target) c.top1++;
      if (result.includes(q.target)) c.top5++;
    }
    if (now() - relevanceStart > job.queryBudgetMs) break;
  }

  const result: EngineResult = {
    engine: adapter.name,
    build_ms: round(buildMs),
    build_cpu_ms: round(buildCpuMs),
    bytes: {
      files,
      index_raw: indexRaw,
      index_gzip: indexGzip,
      display_raw: display.raw,
      display_gzip: display.gzip,
      total_raw: indexRaw + display.raw,
      total_gzip: indexGzip + display.gzip,
    },
    load_ms: percentiles(loadRuns).p50,
    load_runs: loadRuns.map(round),
    load_cpu_ms: percentiles(loadCpuRuns).p50,
    heap_loaded_mib: heapLoaded === null ? null : round(heapLoaded / MIB),
    max_rss_mib: round(peakRss() / MIB),
    latency_ms: Object.fromEntries(QUERY_CLASSES.map((c) => [c, percentiles(times[c]!)])),
    relevance: { ...total, by_type: byType },
    top5,
  };
  if (bareLoadMs !== undefined) result.bare_load_ms = bareLoadMs;
  writeFileSync(outFile, JSON.stringify(result));
}

/** Indexes of `queries` ordered round-robin over their types. */
function interleave(queries: readonly LabelledQuery[]): number[] {
  const byType = LABEL_TYPES.map((ty) => queries.flatMap((q, i) => (q.type === ty ? [i] : [])));
  const out: number[] = [];
  for (let k = 0; out.length < queries.length; k++) for (const list of byType) if (list[k] !== undefined) out.push(list[k]!);
  return out;
}

const [jobFile, outFile] = process.argv.slice(2);
if (!jobFile || !outFile) {
  console.error('usage: engine-worker.ts <job.json> <out.json>');
  process.exit(2);
}
main(jobFile, outFile).then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
