/**
 * Child process of the announce measurement: one per registry size and store, so its peak
 * peak memory is the announce handler's at that size and nothing else's.
 *
 * It drives the real Lambda handler in process (`createAnnounceHandler` with the production
 * dependencies of `announceDepsFromConfig`): real JWKS verification and real release fetches
 * against a loopback fake of GitHub, and a real small `.mcpb` artifact per announce. Only the
 * handler call is timed; packing, minting and uploading to the fake release happen before.
 *
 * With `compact`, the search index's compactor (`compactStore`, what `shelf compact` and the
 * stack's scheduled function run) runs after every announce, outside the timed call, as a
 * schedule that keeps up with the announces would: it compacts when the delta holds
 * `policy.delta_max` packages and only reads the root otherwise. Its runs that compacted are
 * timed apart.
 *
 * Usage (by `bench/announce.ts`): `node --expose-gc --import tsx bench/announce-worker.ts <job.json> <out.json>`.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { AnnounceDeps } from '../src/announce/announce.ts';
import { announceDepsFromConfig } from '../src/announce/from-config.ts';
import { createAnnounceHandler } from '../src/announce/handler.ts';
import { loadAnnounceConfig } from '../src/config.ts';
import { compactStore } from '../src/search/write/compact.ts';
import { FsStore } from '../src/store/fs-store.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import { startFakeGitHub } from '../test/fakes/fake-github.ts';
import type { PlannedAnnounce } from './announce-plan.ts';
import { prepareAnnounceEvent } from './lib/announce-event.ts';
import { RecordingStore, type RecordedWrite } from './lib/recording-store.ts';
import { cpuMs, now, peakRss } from './lib/stats.ts';

/** Where the worker's registry lives. */
export type WorkerStore =
  | { type: 'fs'; root: string }
  | { type: 's3'; endpoint: string; bucket: string; prefix: string; accessKeyId: string; secretAccessKey: string };

/** What the parent asks of the worker. */
export interface AnnounceJob {
  store: WorkerStore;
  /** Announces made first and reported apart (cold JWKS cache, unoptimised code). */
  warmup: number;
  announces: PlannedAnnounce[];
  /** Stop starting announces after this long (ms) once at least one was timed. */
  budgetMs?: number;
  /** Run the compactor after every announce, outside the timed call. Default false (announces alone). */
  compact?: boolean;
}

/** One compactor run that compacted (after an announce, outside its timed call). */
export interface CompactTiming {
  /** Wall and CPU time of the run, ms. */
  ms: number;
  cpu: number;
  /** Packages the delta held. */
  packages: number;
  /** Files it wrote (the root included). */
  files: number;
  /** Whether it followed a warm-up announce (cold code; reported apart). */
  warmup: boolean;
}

/** The phases of one announce, ms. `validate` is everything between the token and the fetch. */
export interface AnnounceTiming {
  kind: PlannedAnnounce['kind'];
  status: number;
  error?: string;
  total: number;
  /** CPU time of the process during the call, ms (the work, without waiting for a core). */
  cpu: number;
  phases: Record<string, number>;
  /** What the announce wrote (see {@link summariseWrites}). */
  writes: WriteSummary;
}

/**
 * The files one announce wrote, the artifact (the publisher's bytes, not the registry's) left
 * out. `rewritten_*`: files replaced in place (compare-and-swap or unconditional), i.e. the
 * mutable files; `created_*`: create-only files (pins, version records of new versions,
 * content-addressed index pieces).
 */
export interface WriteSummary {
  files: number;
  bytes: number;
  max_file_bytes: number;
  max_file_key: string;
  rewritten_files: number;
  rewritten_bytes: number;
  rewritten_max_bytes: number;
  rewritten_max_key: string;
  created_files: number;
  created_bytes: number;
  /** Files of the sharded index written, its root left out: 1 for an update of the delta alone, more when the base trees were rewritten. */
  index_files: number;
  /** Files of the read APIs of other clients (the MCP registry API under `v0.1/`, agent-skills discovery and the skills CLI's archives). */
  interop_files: number;
  interop_bytes: number;
  interop_max_bytes: number;
  interop_max_key: string;
}

/** Summarises the writes of one announce (artifacts excluded). */
export function summariseWrites(writes: readonly RecordedWrite[]): WriteSummary {
  const out: WriteSummary = { files: 0, bytes: 0, max_file_bytes: 0, max_file_key: '', rewritten_files: 0, rewritten_bytes: 0, rewritten_max_bytes: 0, rewritten_max_key: '', created_files: 0, created_bytes: 0, index_files: 0, interop_files: 0, interop_bytes: 0, interop_max_bytes: 0, interop_max_key: '' };
  for (const w of writes) {
    if (/\.(mcpb|skill)$/.test(w.key)) continue;
    out.files++;
    out.bytes += w.bytes;
    if (/^v1\/search\/[a-z]+s\//.test(w.key) && !w.key.endsWith('/root.json')) out.index_files++;
    if (/^(v0\.1\/|v1\/agent-skills\/)|\/skills-cli\.[0-9a-f]{64}\.zip$/.test(w.key)) {
      out.interop_files++;
      out.interop_bytes += w.bytes;
      if (w.bytes > out.interop_max_bytes) [out.interop_max_bytes, out.interop_max_key] = [w.bytes, w.key];
    }
    if (w.bytes > out.max_file_bytes) [out.max_file_bytes, out.max_file_key] = [w.bytes, w.key];
    if (w.mode === 'create') {
      out.created_files++;
      out.created_bytes += w.bytes;
    } else {
      out.rewritten_files++;
      out.rewritten_bytes += w.bytes;
      if (w.bytes > out.rewritten_max_bytes) [out.rewritten_max_bytes, out.rewritten_max_key] = [w.bytes, w.key];
    }
  }
  return out;
}

/** What the worker reports. */
export interface AnnounceWorkerResult {
  store: string;
  warmup: AnnounceTiming[];
  timed: AnnounceTiming[];
  /** Peak resident set size before the first announce and at the end, bytes. */
  max_rss_before: number;
  max_rss_after: number;
  /** Largest heapUsed seen right after an announce (garbage included), bytes. */
  heap_used_peak: number;
  /** Largest heap still in use after a full GC following an announce (what it keeps), bytes; null without `--expose-gc`. */
  live_heap_peak: number | null;
  /** Keys the announces (warm-up included) read or listed that existed, sorted. */
  reads: string[];
  /** Keys they read that did not exist, sorted. */
  misses: string[];
  /** The compactor's runs that compacted (with `compact`). */
  compactions: CompactTiming[];
}

const AUDIENCE = 'https://shelf.bench';

async function main(jobFile: string, outFile: string): Promise<void> {
  const job = JSON.parse(readFileSync(jobFile, 'utf8')) as AnnounceJob;
  const github = await startFakeGitHub(AUDIENCE);
  try {
    const store = new RecordingStore(await openStore(job.store));
    const config = loadAnnounceConfig({
      SHELF_AUDIENCE: AUDIENCE,
      SHELF_OIDC_ISSUER: github.issuer,
      SHELF_OIDC_JWKS_URL: github.jwksUrl,
      SHELF_GITHUB_API_URL: github.url,
      // The bench publishes whole registries from a few scopes in one day.
      SHELF_QUOTA_ANNOUNCES_PER_DAY: 'unlimited',
      SHELF_QUOTA_BYTES_PER_DAY: 'unlimited',
    });
    let marks: [string, number][] = [];
    const base = announceDepsFromConfig(config, store);
    const deps: AnnounceDeps = {
      ...base,
      verifyToken: async (token) => {
        marks.push(['verify:start', now()]);
        const claims = await base.verifyToken(token);
        marks.push(['verify', now()]);
        return claims;
      },
      fetchAsset: async (request) => {
        marks.push(['validate', now()]);
        const asset = await base.fetchAsset(request);
        marks.push(['fetch', now()]);
        return asset;
      },
      afterStep: (step) => void marks.push([step, now()]),
    };
    const handler = createAnnounceHandler(deps);

    const result: AnnounceWorkerResult = {
      store: store.description,
      warmup: [],
      timed: [],
      max_rss_before: peakRss(),
      max_rss_after: 0,
      heap_used_peak: 0,
      live_heap_peak: null,
      reads: [],
      misses: [],
      compactions: [],
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    const startedAt = now();
    for (const [i, planned] of job.announces.entries()) {
      if (job.budgetMs !== undefined && result.timed.length > 0 && now() - startedAt > job.budgetMs) break;
      const event = await prepareAnnounceEvent(github, planned, `bench-${i}`);
      marks = [];
      store.takeWrites();
      const c0 = cpuMs();
      const t0 = now();
      const response = await handler(event);
      const t1 = now();
      const cpu = cpuMs() - c0;
      const timing: AnnounceTiming = { kind: planned.kind, status: response.statusCode, total: t1 - t0, cpu, phases: phases(t0, marks, t1), writes: summariseWrites(store.takeWrites()) };
      if (response.statusCode >= 300) timing.error = (JSON.parse(response.body) as { error?: { code?: string } }).error?.code ?? 'unknown';
      (i < job.warmup ? result.warmup : result.timed).push(timing);
      result.heap_used_peak = Math.max(result.heap_used_peak, process.memoryUsage().heapUsed);
      if (job.compact) {
        // The schedule's run, after the announce answered: never part of its time or writes.
        const k0 = cpuMs();
        const s0 = now();
        const run = await compactStore(store, 'bundle');
        const ms = now() - s0;
        const cpu = cpuMs() - k0;
        const files = store.takeWrites().length;
        if (run.compacted) result.compactions.push({ ms, cpu, packages: run.packages, files, warmup: i < job.warmup });
      }
      if (gc) {
        // Outside the timed call: what the warm function keeps between invocations.
        gc();
        result.live_heap_peak = Math.max(result.live_heap_peak ?? 0, process.memoryUsage().heapUsed);
      }
    }
    result.max_rss_after = peakRss();
    result.reads = [...store.reads].sort();
    result.misses = [...store.misses].sort();
    writeFileSync(outFile, JSON.stringify(result));
  } finally {
    await github.close();
  }
}

async function openStore(spec: WorkerStore): Promise<ObjectStore> {
  if (spec.type === 'fs') return new FsStore(spec.root);
  // Loaded only when needed: the AWS SDK is a large import the filesystem runs do not need.
  const { S3Store } = await import('../src/store/s3-store.ts');
  const store = new S3Store({
    bucket: spec.bucket,
    prefix: spec.prefix,
    clientConfig: {
      endpoint: spec.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: spec.accessKeyId, secretAccessKey: spec.secretAccessKey },
    },
  });
  // As the Lambda does at INIT, before any request.
  await store.probe();
  return store;
}

/** Turns the marks of one announce into phase durations. */
function phases(t0: number, marks: [string, number][], t1: number): Record<string, number> {
  const out: Record<string, number> = {};
  let previous = t0;
  for (const [name, at] of marks) {
    if (name === 'verify:start') {
      out.parse = at - previous;
    } else {
      out[name] = (out[name] ?? 0) + at - previous;
    }
    previous = at;
  }
  out.respond = t1 - previous;
  return out;
}

const isEntry = process.argv[1] !== undefined && new URL(import.meta.url).pathname === process.argv[1];
const [jobFile, outFile] = process.argv.slice(2);
if (!isEntry) {
  // Imported (for its types and summariseWrites): nothing to run.
} else if (!jobFile || !outFile) {
  console.error('usage: announce-worker.ts <job.json> <out.json>');
  process.exit(2);
} else {
  main(jobFile, outFile).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
