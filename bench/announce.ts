/**
 * Announce latency, memory and writes: runs `announce-worker.ts` in a fresh child process
 * against a registry (a folder, or a bucket on the local S3-compatible server), and summarises
 * what it measured. {@link uploadWorkingSet} gives an S3 bucket the objects
 * a filesystem run of the same plan read (see bench/README.md).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from '../src/store/object-store.ts';
import type { PlannedAnnounce } from './announce-plan.ts';
import type { AnnounceJob, AnnounceTiming, AnnounceWorkerResult, CompactTiming, WorkerStore } from './announce-worker.ts';
import { TSX_IMPORT } from './lib/node.ts';
import { percentiles, pool, round, type Percentiles } from './lib/stats.ts';

/** The summary of one announce run. */
export interface AnnounceReport {
  store: 'fs' | 's3';
  /** Timed announces (warm-up excluded). */
  n: number;
  /** Announces that did not answer 2xx (should be 0), with their codes. */
  errors: string[];
  latency_ms: Percentiles;
  /** CPU time per announce (the work without waiting for a core on a busy machine), ms. */
  cpu_ms: Percentiles;
  /** By kind of announce. */
  by_kind: Record<string, Percentiles>;
  /**
   * Timed announces that rewrote the base trees of the sharded index (every one without a delta;
   * with one, those that compacted it: past its hard cap, with the compactor off the announce path).
   */
  base_updates: number;
  /**
   * The compactor's runs that compacted, after the announces and outside their timed calls (null
   * when the run had no compactor); those after a warm-up announce are counted in `after_warmup`.
   */
  compactor: CompactorReport | null;
  /** Median of each phase, ms, in pipeline order. */
  phases_p50_ms: Record<string, number>;
  /** The first announce of the process (cold JWKS cache, cold code), ms. */
  first_ms: number | null;
  /**
   * `max_rss_mib`: peak resident memory of the process (Node's default heap sizing lets garbage
   * pile up, so this is an upper bound); `live_heap_peak_mib`: heap kept after a full GC between
   * announces; `max_rss_mib_before`: the process before its first announce.
   */
  memory: { max_rss_mib_before: number; max_rss_mib: number; heap_used_peak_mib: number; live_heap_peak_mib: number | null };
  /**
   * What the timed announces wrote, artifacts left out: files and bytes per announce; the largest
   * file any of them wrote, and the largest it rewrote in place (a mutable file), with its key.
   */
  writes: {
    files: Percentiles;
    bytes: Percentiles;
    rewritten_bytes: Percentiles;
    max_file_bytes: number;
    max_file_key: string;
    rewritten_max_bytes: number;
    rewritten_max_key: string;
    /** The MCP registry API's and agent-skills discovery's files (`WriteSummary.interop_*`): per announce, and the largest. */
    interop: { files: Percentiles; bytes: Percentiles; max_file_bytes: number; max_file_key: string };
  };
}

/** The compactor's runs in an announce run (see {@link AnnounceReport}). */
export interface CompactorReport {
  /** Runs that compacted. */
  n: number;
  ms: Percentiles;
  cpu_ms: Percentiles;
  /** Packages each run merged. */
  packages: Percentiles;
  /** Files each run wrote (its root included). */
  files: Percentiles;
  /** Of the `n`, runs after the warm-up announce: the process's first compaction (cold code), like the warm-up announce, whose time is reported apart. */
  after_warmup: number;
}

/** A report, and the keys the worker's announces read (the working set) or missed. */
export interface AnnounceRun {
  report: AnnounceReport;
  /** Announces made (warm-up included; fewer than planned when the time budget ran out). */
  made: number;
  reads: string[];
  misses: string[];
  /** Each timed announce that succeeded: wall and CPU time, ms, and whether it rewrote the base trees (pooled across runs by `growth.ts`). */
  samples: { ms: number; cpu_ms: number; base_update: boolean }[];
  /** The compactor's runs that compacted (pooled across runs by `growth.ts`). */
  compactions: CompactTiming[];
}

/** Options of {@link measureAnnounces}. */
export interface MeasureAnnouncesOptions {
  store: WorkerStore;
  plan: PlannedAnnounce[];
  /** How many of `plan` are warm-up (not timed). Default 1. */
  warmup?: number;
  /** Start no new announce after this long (ms), once one was timed; the report's `n` says how many ran. */
  budgetMs?: number;
  /** Kill the worker after this long, ms. Default 30 minutes. */
  timeoutMs?: number;
  /** Run the compactor after every announce, outside the timed calls (see `announce-worker.ts`). Default false. */
  compact?: boolean;
}

const WORKER = new URL('./announce-worker.ts', import.meta.url).pathname;
const MIB = 1048576;

/**
 * Runs the plan in a child process and summarises it.
 *
 * @throws Error when the worker fails or times out.
 */
export async function measureAnnounces(options: MeasureAnnouncesOptions): Promise<AnnounceRun> {
  const warmup = options.warmup ?? 1;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= options.plan.length) {
    throw new TypeError(`"warmup" option must be an integer in [0, plan.length), got ${String(warmup)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shelf-bench-announce-'));
  try {
    const job: AnnounceJob = { store: options.store, warmup, announces: options.plan };
    if (options.budgetMs !== undefined) job.budgetMs = options.budgetMs;
    if (options.compact) job.compact = true;
    const jobFile = join(dir, 'job.json');
    const outFile = join(dir, 'out.json');
    writeFileSync(jobFile, JSON.stringify(job));
    await runWorker([jobFile, outFile], options.timeoutMs ?? 30 * 60_000);
    const raw = JSON.parse(readFileSync(outFile, 'utf8')) as AnnounceWorkerResult;
    const samples = raw.timed.filter((t) => t.status < 300).map((t) => ({ ms: t.total, cpu_ms: t.cpu, base_update: isBaseUpdate(t) }));
    return { report: summarise(options.store.type, raw, options.compact === true), made: raw.warmup.length + raw.timed.length, reads: raw.reads, misses: raw.misses, samples, compactions: raw.compactions };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Whether an announce rewrote the sharded index's base trees (more index files than the delta). */
const isBaseUpdate = (t: AnnounceTiming): boolean => (t.writes.index_files ?? 0) > 1;

/** Summarises the compactor's runs that compacted (`n` 0 when none did). */
export function summariseCompactions(runs: readonly CompactTiming[]): CompactorReport {
  return {
    n: runs.length,
    ms: percentiles(runs.map((c) => c.ms)),
    cpu_ms: percentiles(runs.map((c) => c.cpu)),
    packages: percentiles(runs.map((c) => c.packages)),
    files: percentiles(runs.map((c) => c.files)),
    after_warmup: runs.filter((c) => c.warmup).length,
  };
}

/** Summarises a worker's raw timings. */
export function summarise(store: 'fs' | 's3', raw: AnnounceWorkerResult, compact = false): AnnounceReport {
  const ok = raw.timed.filter((t) => t.status < 300);
  const byKind: Record<string, Percentiles> = {};
  for (const kind of new Set(ok.map((t) => t.kind))) byKind[kind] = percentiles(ok.filter((t) => t.kind === kind).map((t) => t.total));
  const phaseNames = [...new Set(ok.flatMap((t) => Object.keys(t.phases)))];
  const phases: Record<string, number> = {};
  for (const name of phaseNames) phases[name] = percentiles(ok.map((t) => t.phases[name] ?? 0)).p50;
  const largest = (pick: (t: AnnounceTiming) => [number, string]) =>
    ok.map(pick).reduce<[number, string]>((a, b) => (b[0] > a[0] ? b : a), [0, '']);
  const [maxFile, maxFileKey] = largest((t) => [t.writes.max_file_bytes, t.writes.max_file_key]);
  const [maxRewritten, maxRewrittenKey] = largest((t) => [t.writes.rewritten_max_bytes, t.writes.rewritten_max_key]);
  return {
    store,
    n: ok.length,
    errors: [...raw.warmup, ...raw.timed].filter((t: AnnounceTiming) => t.status >= 300).map((t) => `${t.status} ${t.error ?? ''}`.trim()),
    latency_ms: percentiles(ok.map((t) => t.total)),
    cpu_ms: percentiles(ok.map((t) => t.cpu)),
    by_kind: byKind,
    base_updates: ok.filter(isBaseUpdate).length,
    compactor: compact ? summariseCompactions(raw.compactions ?? []) : null,
    phases_p50_ms: phases,
    first_ms: raw.warmup[0] ? round(raw.warmup[0].total) : null,
    memory: {
      max_rss_mib_before: round(raw.max_rss_before / MIB),
      max_rss_mib: round(raw.max_rss_after / MIB),
      heap_used_peak_mib: round(raw.heap_used_peak / MIB),
      live_heap_peak_mib: raw.live_heap_peak === null ? null : round(raw.live_heap_peak / MIB),
    },
    writes: {
      files: percentiles(ok.map((t) => t.writes.files)),
      bytes: percentiles(ok.map((t) => t.writes.bytes)),
      rewritten_bytes: percentiles(ok.map((t) => t.writes.rewritten_bytes)),
      max_file_bytes: maxFile,
      max_file_key: maxFileKey,
      rewritten_max_bytes: maxRewritten,
      rewritten_max_key: maxRewrittenKey,
      interop: {
        files: percentiles(ok.map((t) => t.writes.interop_files ?? 0)),
        bytes: percentiles(ok.map((t) => t.writes.interop_bytes ?? 0)),
        ...((([b, k]) => ({ max_file_bytes: b, max_file_key: k }))(largest((t) => [t.writes.interop_max_bytes ?? 0, t.writes.interop_max_key ?? '']))),
      },
    },
  };
}

/**
 * Uploads to `target` the objects of `keys` that exist in `source`: with `source` the bucket as
 * it was before a filesystem run of a plan, and `keys` what that run read (see `reads` of
 * {@link AnnounceRun}), `target` gets exactly the objects the same plan will read there. Keys
 * the run created itself are absent from `source` and skipped.
 *
 * @returns how many objects, and their bytes, were uploaded.
 */
export async function uploadWorkingSet(source: ObjectStore, target: ObjectStore, keys: Iterable<string>): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  await pool([...new Set(keys)], 16, async (key) => {
    const obj = await source.get(key);
    if (!obj) return;
    await target.put(key, obj.body, { contentType: obj.contentType, cacheControl: obj.cacheControl });
    objects++;
    bytes += obj.body.byteLength;
  });
  return { objects, bytes };
}

function runWorker(args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...TSX_IMPORT, WORKER, ...args], { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`announce worker failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
  });
}
