/**
 * Announce latency and memory: runs `announce-worker.ts` in a fresh child process against a
 * registry (a folder, or a bucket on the local S3-compatible server) and summarises what it
 * measured.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePackageName } from '../src/core/names.ts';
import { catalogKey, packageKey, recentKey, scopeKey, searchIndexKey, versionsPrefix } from '../src/core/paths.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import type { PlannedAnnounce } from './announce-plan.ts';
import type { AnnounceJob, AnnounceTiming, AnnounceWorkerResult, WorkerStore } from './announce-worker.ts';
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
}

const WORKER = new URL('./announce-worker.ts', import.meta.url).pathname;
const MIB = 1048576;

/**
 * Runs the plan in a child process and summarises it.
 *
 * @throws Error when the worker fails or times out.
 */
export async function measureAnnounces(options: MeasureAnnouncesOptions): Promise<AnnounceReport> {
  const warmup = options.warmup ?? 1;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= options.plan.length) {
    throw new TypeError(`"warmup" option must be an integer in [0, plan.length), got ${String(warmup)}`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'shelf-bench-announce-'));
  try {
    const job: AnnounceJob = { store: options.store, warmup, announces: options.plan };
    if (options.budgetMs !== undefined) job.budgetMs = options.budgetMs;
    const jobFile = join(dir, 'job.json');
    const outFile = join(dir, 'out.json');
    writeFileSync(jobFile, JSON.stringify(job));
    await runWorker([jobFile, outFile], options.timeoutMs ?? 30 * 60_000);
    return summarise(options.store.type, JSON.parse(readFileSync(outFile, 'utf8')) as AnnounceWorkerResult);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Summarises a worker's raw timings. */
export function summarise(store: 'fs' | 's3', raw: AnnounceWorkerResult): AnnounceReport {
  const ok = raw.timed.filter((t) => t.status < 300);
  const byKind: Record<string, Percentiles> = {};
  for (const kind of new Set(ok.map((t) => t.kind))) byKind[kind] = percentiles(ok.filter((t) => t.kind === kind).map((t) => t.total));
  const phaseNames = [...new Set(ok.flatMap((t) => Object.keys(t.phases)))];
  const phases: Record<string, number> = {};
  for (const name of phaseNames) phases[name] = percentiles(ok.map((t) => t.phases[name] ?? 0)).p50;
  return {
    store,
    n: ok.length,
    errors: [...raw.warmup, ...raw.timed].filter((t: AnnounceTiming) => t.status >= 300).map((t) => `${t.status} ${t.error ?? ''}`.trim()),
    latency_ms: percentiles(ok.map((t) => t.total)),
    cpu_ms: percentiles(ok.map((t) => t.cpu)),
    by_kind: byKind,
    phases_p50_ms: phases,
    first_ms: raw.warmup[0] ? round(raw.warmup[0].total) : null,
    memory: {
      max_rss_mib_before: round(raw.max_rss_before / MIB),
      max_rss_mib: round(raw.max_rss_after / MIB),
      heap_used_peak_mib: round(raw.heap_used_peak / MIB),
      live_heap_peak_mib: raw.live_heap_peak === null ? null : round(raw.live_heap_peak / MIB),
    },
  };
}

/**
 * Copies from `source` to `target` the objects the planned announces read: the shared derived
 * files and the scope, package and version records of the scopes and packages they touch. On
 * an S3 store every read is by key or by a package's own prefix, so the rest of the registry
 * does not change what an announce costs; copying only this keeps loading a 100,000-package
 * bucket over HTTP out of the benchmark's time.
 *
 * @returns the number of objects copied.
 */
export async function copyWorkingSet(source: ObjectStore, target: ObjectStore, plan: readonly PlannedAnnounce[]): Promise<number> {
  const keys = new Set<string>([catalogKey('bundle'), searchIndexKey('bundle'), recentKey()]);
  for (const p of plan) {
    const pkg = parsePackageName(p.name);
    keys.add(scopeKey(pkg.scope));
    keys.add(packageKey('bundle', pkg));
    for (const o of await source.list(versionsPrefix('bundle', pkg))) keys.add(o.key);
  }
  let copied = 0;
  await pool([...keys], 8, async (key) => {
    const obj = await source.get(key);
    if (!obj) return;
    await target.put(key, obj.body, { contentType: obj.contentType, cacheControl: obj.cacheControl });
    copied++;
  });
  return copied;
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
