/**
 * `npm run bench [-- --quick] [-- --sizes 1000,10000] [-- --out DIR] [-- --work-dir DIR] [-- --keep]`
 *
 * Generates synthetic registries (see `corpus.ts`) at each size, writes them through the real
 * code into the embedded filesystem store, and measures: announce latency and memory through the
 * handler on the filesystem store and on S3 (a local S3-compatible server), full-rebuild
 * throughput, Shelf's search (bytes, load, latency, first query through the real client), the
 * same corpus and queries with other engines, and the announce function's cold start. Writes
 * `bench/results/latest.{json,md}` (full run) or `quick-latest.{json,md}` (`--quick`).
 *
 * Every slow step has a time limit, and says so in the results when it hit it, so the full run
 * ends within the hour even on a busy machine.
 *
 * @module
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FsStore } from '../src/store/fs-store.ts';
import { startFakeGitHub } from '../test/fakes/fake-github.ts';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../test/helpers/s3-server.ts';
import { planAnnounces } from './announce-plan.ts';
import { copyWorkingSet, measureAnnounces } from './announce.ts';
import { measureColdStart } from './cold-start.ts';
import { generateCorpus } from './corpus.ts';
import { loadRegistry } from './load.ts';
import { labelledQueries, workloads } from './queries.ts';
import { measureRebuild } from './rebuild.ts';
import { renderMarkdown, splitRankings, type BenchResult, type Failed, type SizeResult } from './report.ts';
import { measureEngines, measureShelfSearch } from './search.ts';
import { round } from './lib/stats.ts';

/** Settings of one size. */
interface SizeSettings {
  announces: number;
  announceBudgetMs: number;
  rebuildTimeoutMs: number;
  engineTimeoutMs: number;
  queryBudgetMs: number;
  labelledPerType: number;
  workloadPerClass: number;
  loadRepeats: number;
}

const MIN = 60_000;

/** Per-size settings of a full run: bigger registries get fewer repetitions and the same time limits. */
function fullSettings(packages: number): SizeSettings {
  if (packages <= 2_000) return { announces: 30, announceBudgetMs: 2 * MIN, rebuildTimeoutMs: 5 * MIN, engineTimeoutMs: 5 * MIN, queryBudgetMs: 30_000, labelledPerType: 50, workloadPerClass: 100, loadRepeats: 3 };
  if (packages <= 20_000) return { announces: 24, announceBudgetMs: 2.5 * MIN, rebuildTimeoutMs: 6 * MIN, engineTimeoutMs: 6 * MIN, queryBudgetMs: 30_000, labelledPerType: 50, workloadPerClass: 100, loadRepeats: 3 };
  return { announces: 10, announceBudgetMs: 3 * MIN, rebuildTimeoutMs: 4 * MIN, engineTimeoutMs: 6 * MIN, queryBudgetMs: 30_000, labelledPerType: 50, workloadPerClass: 100, loadRepeats: 1 };
}

/** Per-size settings of `--quick`: a few minutes in all. */
function quickSettings(packages: number): SizeSettings {
  if (packages <= 2_000) return { announces: 10, announceBudgetMs: MIN, rebuildTimeoutMs: 2 * MIN, engineTimeoutMs: 2 * MIN, queryBudgetMs: 5_000, labelledPerType: 20, workloadPerClass: 30, loadRepeats: 2 };
  return { announces: 6, announceBudgetMs: MIN, rebuildTimeoutMs: 45_000, engineTimeoutMs: 3 * MIN, queryBudgetMs: 5_000, labelledPerType: 20, workloadPerClass: 30, loadRepeats: 1 };
}

interface Args {
  quick: boolean;
  sizes: number[];
  out: string;
  workDir: string | undefined;
  keep: boolean;
}

const USAGE = `Usage: npm run bench [-- --quick] [-- --sizes 1000,10000,100000] [-- --out DIR] [-- --work-dir DIR] [-- --keep]

  --quick        short run (1,000 and 10,000 packages, fewer repetitions): a few minutes
  --sizes LIST   registry sizes, comma-separated (default 1000,10000,100000; --quick 1000,10000)
  --out DIR      where results go (default bench/results)
  --work-dir DIR where registries are generated (default a temp folder, removed at the end)
  --keep         keep the generated registries`;

/** Parses the command line. @throws Error naming the offending option. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, sizes: [], out: resolve(new URL('./results', import.meta.url).pathname), workDir: undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`option ${a} needs a value`);
      return v;
    };
    if (a === '--quick') args.quick = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--out') args.out = resolve(value());
    else if (a === '--work-dir') args.workDir = resolve(value());
    else if (a === '--sizes') {
      args.sizes = value().split(',').map((s) => Number(s.trim()));
      if (args.sizes.some((s) => !Number.isInteger(s) || s < 10)) throw new Error('option --sizes must be a comma-separated list of integers ≥ 10');
    } else throw new Error(`unknown option ${JSON.stringify(a)}`);
  }
  if (args.sizes.length === 0) args.sizes = args.quick ? [1_000, 10_000] : [1_000, 10_000, 100_000];
  return args;
}

function log(message: string): void {
  console.log(`[bench ${new Date().toISOString().slice(11, 19)} load ${loadavg()[0]!.toFixed(1)}] ${message}`);
}

async function attempt<T>(what: string, fn: () => Promise<T>): Promise<T | Failed> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`${what} failed: ${message}`);
    return { error: message };
  }
}

const loads = () => loadavg().map((x) => round(x));

/** Milliseconds left before the run's deadline. */
type Clock = () => number;

/** Runs `fn` unless the deadline is too close, in which case the step is recorded as skipped. */
async function step<T>(what: string, left: Clock, fn: () => Promise<T>): Promise<T | Failed> {
  if (left() < 60_000) {
    log(`${what} skipped: the run's time limit is near`);
    return { error: 'skipped: the run was about to exceed its time limit' };
  }
  return attempt(what, fn);
}

async function runSize(packages: number, s: SizeSettings, work: string, s3: TestS3Server, left: Clock): Promise<SizeResult> {
  const started = performance.now();
  const loadStart = loads();
  log(`${packages} packages: generating`);
  const corpus = generateCorpus({ packages });
  const root = join(work, `fs-${packages}`);
  rmSync(root, { recursive: true, force: true });

  // 1. The records, through the store (fsync off: bulk loading only; announces below use a durable store).
  const bulkStore = new FsStore(root, { durable: false });
  const load = await loadRegistry(bulkStore, corpus, {
    derived: false,
    progress: (done) => done % 20_000 === 0 && log(`  records of ${done} packages written`),
  });
  log(`  ${load.objects} records written in ${Math.round(load.total_ms / 1000)} s`);

  // 2. The real rebuild derives everything else; if it hits its time limit, the loader's pure
  //    derivation (the same builders) completes the bucket so the other measurements can run.
  const rebuild = await step('rebuild', left, () => measureRebuild(root, packages, Math.min(s.rebuildTimeoutMs, left() / 4)));
  let derivedBy: SizeResult['derived_by'] = 'rebuild';
  if ('error' in rebuild || !rebuild.completed) {
    log('  rebuild stopped; completing the derived files with the bulk loader');
    await loadRegistry(bulkStore, corpus, { records: false, derived: true });
    derivedBy = 'loader';
  } else log(`  rebuild: ${rebuild.packages_per_s} packages/s`);
  if (derivedBy === 'loader' && !('error' in rebuild)) log(`  rebuild: ${rebuild.package_phase_per_s} package documents/s before it was stopped`);

  // 3. Search: Shelf through the client, then every engine.
  const workload = workloads(corpus, s.workloadPerClass);
  const labelled = labelledQueries(corpus, s.labelledPerType);
  log('  search (client path)');
  const search = await step('search', left, () => measureShelfSearch(new FsStore(root), { workload, loadRepeats: s.loadRepeats }));
  log('  engines');
  const outcomes = await measureEngines({
    timeoutFor: () => Math.max(30_000, Math.min(s.engineTimeoutMs, left() / 6)),
    root,
    workload,
    labelled,
    queryBudgetMs: s.queryBudgetMs,
    loadRepeats: s.loadRepeats,
    timeoutMs: s.engineTimeoutMs,
    onEngine: (o) => log(`    ${o.engine}: ${'error' in o ? o.error : `top1 ${o.relevance.top1}/${o.relevance.n}, load ${Math.round(o.load_ms)} ms`}`),
  });
  const { engines, rankings } = splitRankings(outcomes);

  // 4. Announces: the same plan on the folder and on S3 (whose bucket gets the objects they read).
  const plan = planAnnounces(corpus, s.announces);
  const prefix = `size-${packages}/`;
  let workingSet: number | null = null;
  const s3Ready = await attempt('S3 working set', async () => {
    workingSet = await copyWorkingSet(new FsStore(root), s3.makeStore(prefix), plan);
    return true;
  });
  log(`  announces on fs (${plan.length} planned)`);
  const fs = await step('announces (fs)', left, () => measureAnnounces({ store: { type: 'fs', root }, plan, budgetMs: Math.min(s.announceBudgetMs, left() / 3) }));
  log('  announces on s3');
  const s3Result =
    s3Ready === true
      ? await step('announces (s3)', left, () =>
          measureAnnounces({
            store: { type: 's3', endpoint: s3.endpoint, bucket: s3.bucket, prefix, ...S3RVER_CREDENTIALS },
            plan,
            budgetMs: Math.min(s.announceBudgetMs, left() / 3),
          }),
        )
      : (s3Ready as Failed);

  return {
    packages,
    versions: load.versions,
    scopes: corpus.scopes.size,
    load,
    derived_by: derivedBy,
    rebuild,
    search,
    engines,
    labelled,
    rankings,
    announce: { fs, s3: s3Result },
    s3_working_set_objects: workingSet,
    load_average: { start: loadStart, end: loads() },
    elapsed_s: Math.round((performance.now() - started) / 1000),
  };
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error(`error[invalid_argument]: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const started = new Date();
  const work = args.workDir ?? mkdtempSync(join(tmpdir(), 'shelf-bench-'));
  mkdirSync(work, { recursive: true });
  mkdirSync(args.out, { recursive: true });
  const settings = args.quick ? quickSettings : fullSettings;
  log(`${args.quick ? 'quick' : 'full'} run, sizes ${args.sizes.join(', ')}, work dir ${work}`);

  const s3 = await startS3Server();
  const github = await startFakeGitHub('https://shelf.bench');
  const result: BenchResult = {
    schema_version: 1,
    mode: args.quick ? 'quick' : 'full',
    started_at: started.toISOString(),
    finished_at: '',
    duration_s: 0,
    machine: {
      cpus: cpus().length,
      cpu_model: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      total_memory_gib: round(totalmem() / 1073741824),
      load_average_start: loads(),
      load_average_end: [],
    },
    settings: Object.fromEntries(args.sizes.map((n) => [n, settings(n)])),
    notes: [
      'Registries are bundles only (skills go through the same code). Generated history has version records with artifact metadata but no artifact bytes; the timed announces fetch and store real (small) artifacts.',
      'S3 is s3rver behind the test conditional-write proxy on loopback: it shows how the costs scale, not AWS latencies. Its bucket holds the working set of the announces (shared derived files, and the scope, package and version records they touch); S3 reads are by key or by one package\'s prefix, so the rest of the registry would not change their cost.',
      'Announces run in a child process per size and store, one after another (never concurrently), with the real handler and a durable filesystem store; bulk loading alone skips fsync.',
    ],
    cold_start: { error: 'not run' },
    sizes: [],
  };
  const save = (file: string) => {
    result.finished_at = new Date().toISOString();
    result.duration_s = Math.round((Date.now() - started.getTime()) / 1000);
    result.machine.load_average_end = loads();
    writeFileSync(join(file), `${JSON.stringify(result, null, 1)}\n`);
  };
  try {
    log('cold start');
    const coldPlan = planAnnounces(generateCorpus({ packages: 10, seed: 5 }), args.quick ? 3 : 5 * 3, 77).filter((p) => p.kind !== 'new-version');
    result.cold_start = await attempt('cold start', () => measureColdStart({ github, s3, announces: coldPlan.slice(0, args.quick ? 2 : 5) }));
    // The issue's limits: a quick run takes a few minutes, a full one under an hour.
    const deadline = performance.now() + (args.quick ? 12 : 57) * MIN;
    const left: Clock = () => deadline - performance.now();
    for (const packages of args.sizes) {
      result.sizes.push(await runSize(packages, settings(packages), work, s3, left));
      save(join(work, 'progress.json'));
    }
  } finally {
    await github.close();
    await s3.close();
  }
  const base = args.quick ? 'quick-latest' : 'latest';
  save(join(args.out, `${base}.json`));
  writeFileSync(join(args.out, `${base}.md`), renderMarkdown(result));
  log(`done in ${Math.round(result.duration_s / 60)} min: ${join(args.out, `${base}.md`)}`);
  if (!args.workDir && !args.keep) {
    // Removing a million small files takes minutes; leave it to a background rm once we are done.
    spawn('rm', ['-rf', work], { detached: true, stdio: 'ignore' }).unref();
    log(`removing ${work} in the background`);
  }
  return 0;
}

/**
 * The node options the run needs: DES for s3rver's list pagination (legacy OpenSSL provider),
 * and room for a 100,000-package index in this process. `npm run bench` starts plain tsx, so the
 * run restarts itself once with them.
 */
const NODE_FLAGS = ['--openssl-legacy-provider', '--max-old-space-size=8192'];

function hasLegacyCiphers(): boolean {
  try {
    createCipheriv('des', randomBytes(8), randomBytes(8));
    return true;
  } catch {
    return false;
  }
}

const isEntry = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (!isEntry) {
  // Imported (by the smoke test): nothing to run.
} else if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(USAGE);
} else if (process.env.SHELF_BENCH_RESTARTED === '1' && !hasLegacyCiphers()) {
  console.error('error: this Node cannot enable DES with --openssl-legacy-provider, which s3rver needs.');
  process.exit(1);
} else if (process.env.SHELF_BENCH_RESTARTED !== '1') {
  const env = { ...process.env, SHELF_BENCH_RESTARTED: '1', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} ${NODE_FLAGS.join(' ')}`.trim() };
  const child = spawnSync(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit', env });
  process.exit(child.status ?? 1);
} else {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
