/**
 * `npm run bench [-- --quick] [-- --sizes 1000,10000] [-- --out DIR] [-- --work-dir DIR] [-- --keep]`
 *
 * Generates synthetic registries (see `corpus.ts`) at each size, writes them through the real
 * code into the embedded filesystem store, with every derived file, and measures: announce
 * latency, memory and the files an announce writes through the handler on the filesystem store
 * and on S3 (a local S3-compatible server); what a fresh client downloads for its first query and
 * how long it takes, through the real client; the sharded index's ranking agreement with one
 * whole MiniSearch index over the same packages (the ranking reference, `lib/reference.ts`). And:
 * full-rebuild throughput, the same corpus and queries with other engines, and the announce
 * function's cold start. Writes `bench/results/latest.{json,md}` (full run) or
 * `quick-latest.{json,md}` (`--quick`), opening with issue 9's goals and whether each holds.
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
import { applyToStore, readShardedCatalog, readShardedRoot } from '../src/search/write/publish.ts';
import { FsStore } from '../src/store/fs-store.ts';
import { startFakeGitHub } from '../test/fakes/fake-github.ts';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../test/helpers/s3-server.ts';
import { planAnnounces } from './announce-plan.ts';
import { measureAnnounces, uploadWorkingSet, type AnnounceReport } from './announce.ts';
import { measureColdStart } from './cold-start.ts';
import { benchStartup } from './startup.ts';
import { generateCorpus } from './corpus.ts';
import { measureGrowth, type GrowthSide } from './growth.ts';
import { loadRegistry } from './load.ts';
import { labelledQueries, workloads } from './queries.ts';
import { measureRebuild } from './rebuild.ts';
import { renderMarkdown, splitRankings, type BenchResult, type Failed, type SizeResult } from './report.ts';
import { measureEngines, measureShelfSearch, writeBenchConfig } from './search.ts';
import { hardLinkCopy } from './lib/snapshot.ts';
import { measureSearchStorage } from './storage.ts';
import { comparePagefind, shelfIndexFootprint } from './pagefind/compare.ts';
import { packageFiles } from './records.ts';
import { relevanceQueries } from './relevance/classes.ts';
import { round } from './lib/stats.ts';

/** Settings of one size. */
interface SizeSettings {
  /** Announces per store (the first is a warm-up). */
  announces: number;
  announceBudgetMs: number;
  rebuildTimeoutMs: number;
  /** The rebuild's `concurrency` option (files written at once). */
  rebuildConcurrency: number;
  engineTimeoutMs: number;
  queryBudgetMs: number;
  labelledPerType: number;
  /** Queries per kind of `shard/queries.ts` for the ranking agreement. */
  shardQueriesPerKind: number;
  workloadPerClass: number;
  /** First queries per class, each by a fresh client. */
  firstQueries: number;
  /** First queries per class (one word, two words, prefix) from fresh browser pages, per engine, beside Pagefind. */
  pagefindPerClass: number;
  loadRepeats: number;
}

const MIN = 60_000;

/** Per-size settings of a full run: bigger registries get fewer repetitions. */
function fullSettings(packages: number): SizeSettings {
  const common = { rebuildConcurrency: 32, labelledPerType: 50, shardQueriesPerKind: 50, workloadPerClass: 100, engineTimeoutMs: 5 * MIN };
  if (packages <= 2_000) return { ...common, announces: 30, announceBudgetMs: 1.5 * MIN, rebuildTimeoutMs: 5 * MIN, queryBudgetMs: 20_000, firstQueries: 25, pagefindPerClass: 15, loadRepeats: 3 };
  if (packages <= 20_000) return { ...common, announces: 24, announceBudgetMs: 1.5 * MIN, rebuildTimeoutMs: 6 * MIN, queryBudgetMs: 15_000, firstQueries: 25, pagefindPerClass: 15, loadRepeats: 3 };
  return { ...common, announces: 12, announceBudgetMs: 2.5 * MIN, rebuildTimeoutMs: 6 * MIN, queryBudgetMs: 10_000, labelledPerType: 30, shardQueriesPerKind: 30, workloadPerClass: 50, firstQueries: 15, pagefindPerClass: 8, loadRepeats: 1 };
}

/**
 * The growth goals measured side by side at the end (`growth.ts`): blocks per size and
 * measurement, first queries per class and announces per block (the first a warm-up), and the
 * time kept for it (the largest size's rebuild gets what is left; the step took 7 min of a full run).
 */
const FULL_GROWTH = { blocks: 4, firstQueriesPerClass: 15, announcesPerBlock: 7, reserveMs: 10 * MIN };
const QUICK_GROWTH = { blocks: 2, firstQueriesPerClass: 3, announcesPerBlock: 3, reserveMs: MIN };

/** Per-size settings of `--quick`: a few minutes in all on two busy cores. */
function quickSettings(packages: number): SizeSettings {
  const common = { rebuildConcurrency: 32, labelledPerType: 10, shardQueriesPerKind: 10, workloadPerClass: 10, pagefindPerClass: 5, queryBudgetMs: 1_000, engineTimeoutMs: MIN, announceBudgetMs: 30_000, loadRepeats: 1 };
  if (packages <= 2_000) return { ...common, announces: 6, rebuildTimeoutMs: 45_000, firstQueries: 5 };
  return { ...common, announces: 4, rebuildTimeoutMs: 25_000, firstQueries: 5 };
}

interface Args {
  quick: boolean;
  sizes: number[];
  out: string;
  workDir: string | undefined;
  keep: boolean;
  /** The run's deadline, minutes (default 14 quick, 135 full: a full run took 101 min on 2026-12-06). */
  timeLimitMin: number | undefined;
  /** Sections left out (`--skip`): reported as not measured. */
  skip: Set<Section>;
}

/** The sections `--skip` may leave out, by the name each is logged with (lowercase, dashed). */
const SECTIONS = ['cold-start', 'start-up', 'search', 'pagefind', 'announces-fs', 'announces-s3', 'search-storage', 'engines', 'rebuild', 'growth'] as const;
type Section = (typeof SECTIONS)[number];
/** The run's `--skip` set, read by {@link step}. */
let skipped = new Set<Section>();

const USAGE = `Usage: npm run bench [-- --quick] [-- --sizes 1000,10000,100000] [-- --out DIR] [-- --work-dir DIR] [-- --keep] [-- --time-limit MIN] [-- --skip LIST]

  --quick        short run (1,000 and 10,000 packages, fewer repetitions): a few minutes
  --sizes LIST   registry sizes, comma-separated (default 1000,10000,100000; --quick 1000,10000)
  --out DIR      where results go (default bench/results)
  --work-dir DIR where registries are generated (default a temp folder, removed at the end)
  --keep         keep the generated registries
  --time-limit M the run's deadline in minutes (default 14 with --quick, 135 without): steps
                 that would start too close to it are skipped; raise it on a busy machine
  --skip LIST    sections to leave out, comma-separated, reported as not measured (e.g. to
                 measure the announces at 100,000 alone): ${SECTIONS.join(', ')}`;

/**
 * Fills the sharded index's delta segment, as `policy.delta_max` announces since the last
 * compaction would, without changing what the registry holds: each of that many packages is
 * removed and announced again with the same summary through the real `applyToStore`. First
 * queries then read a full delta (the most a client ever downloads of it) and results stay
 * comparable with the whole-index reference built from the same summaries. `count`: fewer than
 * that (the bench's smoke test). Returns the delta's size.
 */
export async function fillDelta(store: FsStore, names: readonly string[], count?: number): Promise<number> {
  const current = await readShardedRoot(store, 'bundle');
  const max = Math.min(count ?? Number.POSITIVE_INFINITY, current?.root.policy.delta_max ?? 0);
  if (!current || max === 0) return 0;
  const catalog = await readShardedCatalog(store, 'bundle', current.root);
  const byName = new Map(catalog.map((summary) => [summary.name, summary]));
  // Spread over the name space (every k-th package), deterministic for the corpus.
  const picked = names.filter((_, i) => i % Math.max(1, Math.floor(names.length / max)) === 0).slice(0, max);
  for (const name of picked) {
    const summary = byName.get(name)!;
    await applyToStore(store, 'bundle', name, null);
    await applyToStore(store, 'bundle', name, summary);
  }
  return (await readShardedRoot(store, 'bundle'))?.root.delta?.count ?? 0;
}

/** Parses the command line. @throws Error naming the offending option. */
export function parseArgs(argv: readonly string[]): Args {
  const args: Args = { quick: false, sizes: [], out: resolve(new URL('./results', import.meta.url).pathname), workDir: undefined, keep: false, timeLimitMin: undefined, skip: new Set() };
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
    else if (a === '--time-limit') {
      args.timeLimitMin = Number(value());
      if (!Number.isFinite(args.timeLimitMin) || args.timeLimitMin <= 0) throw new Error('option --time-limit must be a positive number of minutes');
    }
    else if (a === '--sizes') {
      args.sizes = value().split(',').map((s) => Number(s.trim()));
      if (args.sizes.some((s) => !Number.isInteger(s) || s < 10)) throw new Error('option --sizes must be a comma-separated list of integers ≥ 10');
    } else if (a === '--skip') {
      const names = value().split(',').map((n) => n.trim());
      const unknown = names.filter((n) => !(SECTIONS as readonly string[]).includes(n));
      if (unknown.length > 0) throw new Error(`option --skip names unknown sections (${unknown.join(', ')}); known: ${SECTIONS.join(', ')}`);
      args.skip = new Set(names as Section[]);
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
  if (skipped.has(sectionOf(what))) {
    log(`${what} skipped: --skip`);
    return { error: 'not measured: left out of this run (--skip)' };
  }
  if (left() < 60_000) {
    log(`${what} skipped: the run's time limit is near`);
    return { error: 'skipped: the run was about to exceed its time limit' };
  }
  return attempt(what, fn);
}

/** The `--skip` name of a section logged as `what`: "announces (fs)" is `announces-fs`. */
function sectionOf(what: string): Section {
  return what.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') as Section;
}

/**
 * Builds and measures one size. Returns its results, and what the side-by-side growth
 * measurement needs of it (small: the corpus itself is not kept, so the bench's process is lean
 * again when that runs).
 */
async function runSize(
  packages: number,
  s: SizeSettings,
  work: string,
  s3: TestS3Server,
  left: Clock,
  growth: { announces: number; reserveMs: number },
): Promise<{ result: SizeResult; growth: GrowthSide }> {
  const started = performance.now();
  const loadStart = loads();
  log(`${packages} packages: generating`);
  const corpus = generateCorpus({ packages });
  // `records`: the version records alone, kept for the rebuild (measured last); `root`: a hard-link
  // copy completed with every derived file, where everything else is measured.
  const records = join(work, `records-${packages}`);
  const root = join(work, `fs-${packages}`);
  rmSync(records, { recursive: true, force: true });

  // 1. The records, through the store (fsync off: bulk loading only; announces below use a durable store).
  const load = await loadRegistry(new FsStore(records, { durable: false }), corpus, {
    derived: false,
    progress: (done) => done % 20_000 === 0 && log(`  records of ${done} packages written`),
  });
  log(`  ${load.objects} records written in ${Math.round(load.total_ms / 1000)} s`);
  const snapshots_ms: number[] = [await hardLinkCopy(records, root)];

  // 2. The derived files, with the real builders (the sharded index by the real rebuildToStore);
  //    the real rebuild is measured at the end, on the records alone.
  log('  deriving package documents, badges, scopes, the recent list and the sharded index');
  const derive = await loadRegistry(new FsStore(root, { durable: false }), corpus, { records: false, derived: true });
  log(`  derived files written in ${Math.round(derive.total_ms / 1000)} s (sharded index ${Math.round((derive.sharded?.ms ?? 0) / 1000)} s)`);
  // What a fresh build of the sharded index stored, before the delta below adds to it (issue 28's storage goal).
  const shelfIndexStored = await shelfIndexFootprint(new FsStore(root));
  const delta = await fillDelta(new FsStore(root, { durable: false }), corpus.packages.map((p) => p.name));
  if (delta > 0) log(`  the sharded index's delta filled with ${delta} packages`);

  // 3. Search through the client, and its agreement with the whole-index reference.
  const workload = workloads(corpus, s.workloadPerClass);
  const labelled = labelledQueries(corpus, s.labelledPerType);
  const search = await step('search', left, () =>
    measureShelfSearch(new FsStore(root), {
      workload,
      firstQueries: s.firstQueries,
      labelled,
      corpus: corpus.packages,
      shardQueriesPerKind: s.shardQueriesPerKind,
      root,
      log: (m) => log(`  ${m}`),
    }),
  );
  // 3b. Pagefind beside Shelf, first queries from fresh pages in Chromium (issue 28; pagefind/compare.ts).
  const pagefind = await step('pagefind', left, () =>
    comparePagefind({
      store: new FsStore(root),
      writeConfig: writeBenchConfig,
      summaries: corpus.packages.map((p) => packageFiles(p).summary),
      shelfBuild: { ms: derive.sharded?.ms ?? Number.NaN, stored: shelfIndexStored },
      workload,
      perClass: s.pagefindPerClass,
      relevance: { labelled, classes: relevanceQueries(corpus, s.labelledPerType) },
      work: join(work, `pagefind-${packages}`),
      log: (m) => log(`  ${m}`),
    }),
  );
  // 4. Announces on a hard-link copy of the folder (recording every key read), then on S3, whose
  //    bucket gets exactly the objects the folder run read that existed before it (copied from
  //    the untouched folder).
  const plan = planAnnounces(corpus, s.announces);
  const runRoot = join(work, `run-${packages}`);
  const prefix = `size-${packages}/`;
  let searchStorage: SizeResult['search_storage'] = { error: 'not run: the announces on the filesystem failed' };
  let workingSet: SizeResult['s3_working_set'] = null;
  log(`  announces on fs (${plan.length} planned)`);
  const fsRun = await step('announces (fs)', left, async () => {
    snapshots_ms.push(await hardLinkCopy(root, runRoot));
    return measureAnnounces({ store: { type: 'fs', root: runRoot }, plan, budgetMs: Math.min(s.announceBudgetMs, left() / 4), compact: true });
  });
  let s3Result: AnnounceReport | Failed;
  if ('error' in fsRun) s3Result = { error: `not run: the filesystem run (whose reads make the S3 working set) ${fsRun.error}` };
  else {
    // The S3 run makes as many announces as the folder run did, so its working set covers them.
    const timed = plan.slice(0, fsRun.made);
    log('  uploading the working set to S3');
    const uploaded = await attempt('S3 working set', () => uploadWorkingSet(new FsStore(root), s3.makeStore(prefix), fsRun.reads));
    if ('error' in uploaded) s3Result = uploaded;
    else {
      log(`  announces on s3 (${uploaded.objects} objects, ${Math.round(uploaded.bytes / 1024)} KiB)`);
      const s3Run = await step('announces (s3)', left, () => measureAnnounces({ store: { type: 's3', endpoint: s3.endpoint, bucket: s3.bucket, prefix, ...S3RVER_CREDENTIALS }, plan: timed, compact: true }));
      s3Result = 'error' in s3Run ? s3Run : s3Run.report;
      const fsMisses = new Set(fsRun.misses);
      const extra = 'error' in s3Run ? [] : s3Run.misses.filter((k) => !fsMisses.has(k));
      workingSet = { ...uploaded, extra_misses: extra };
      if (extra.length > 0) log(`  warning: the S3 run missed ${extra.length} keys the folder run found, e.g. ${extra[0]}`);
    }
    log('  storage after the announces, shelf gc, and a fresh rebuild');
    searchStorage = await step('search storage', left, () => measureSearchStorage(new FsStore(runRoot)));
  }
  const announce: SizeResult['announce'] = { fs: 'error' in fsRun ? fsRun : fsRun.report, s3: s3Result };

  // 5. Every other engine on the same catalog (after the announces, which matter more to the run
  //    if time runs short; they worked on copies, so the catalog is the loaded one).
  log('  engines');
  const outcomes = skipped.has('engines') ? [] : await measureEngines({
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
  if (!('error' in search) && !('error' in search.agreement)) rankings['shelf-sharded'] = search.agreement.sharded_top5;

  // 6. The real rebuild, from the records alone, with what time is left (it says so when stopped).
  const rebuildLimit = Math.min(s.rebuildTimeoutMs, left() - 2 * MIN - growth.reserveMs);
  const rebuild =
    rebuildLimit < 15_000
      ? ({ error: 'skipped: too little of the run\'s time was left for it' } as Failed)
      : await step('rebuild', left, () => {
          log(`  rebuild (concurrency ${s.rebuildConcurrency}, limit ${Math.round(rebuildLimit / 1000)} s)`);
          return measureRebuild(records, packages, rebuildLimit, { concurrency: s.rebuildConcurrency });
        });
  if (!('error' in rebuild)) log(`  rebuild: ${rebuild.completed ? `${rebuild.packages_per_s} packages/s` : `stopped at ${rebuild.files_done}/${rebuild.files_total} files, ${rebuild.package_phase_per_s} package documents/s`}`);

  const side: GrowthSide = { packages, root, workload, plan: planAnnounces(corpus, growth.announces, 89) };
  const result: SizeResult = {
    packages,
    versions: load.versions,
    scopes: corpus.scopes.size,
    load,
    derive,
    snapshots_ms,
    rebuild,
    search,
    pagefind,
    engines,
    labelled,
    rankings,
    announce,
    s3_working_set: workingSet,
    search_storage: searchStorage,
    load_average: { start: loadStart, end: loads() },
    elapsed_s: Math.round((performance.now() - started) / 1000),
  };
  return { result, growth: side };
}

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
    skipped = args.skip;
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
    schema_version: 3,
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
      'Shelf publishes one search layout, the sharded index (a small root naming immutable, content-addressed pieces). Its rankings are compared with one whole MiniSearch index over the same packages (`lib/reference.ts`, what the retired `single` layout published), built in the bench\'s process.',
      'S3 is s3rver behind the test conditional-write proxy on loopback: it shows how the costs scale, not AWS latencies. Its bucket holds the announces\' working set: every object the same announces read on the filesystem run that existed before it, copied from the untouched registry (see bench/README.md). `extra_misses` in the JSON lists any key the S3 run looked for and did not find although the filesystem run found it (should be empty).',
      'Announces run in a child process per size and store, one after another (never concurrently), with the real handler and a durable filesystem store; bulk loading alone skips fsync.',
      'The growth goals (announce p50 and first-query time, 1,000 → 100,000 packages) are judged on the smallest and the largest size measured side by side at the end of the run, in alternating blocks (see "Growth, side by side"); each size\'s own measurements, minutes apart, are given beside.',
      "The sharded index's delta segment holds `policy.delta_max` packages when search is measured (that many removed and announced again with the same summaries, through the real update): the most a client meets while the compactor keeps up (an announce appends up to twice that before compacting inline). Compaction runs off the announce path: in every announce run (per size and in the growth blocks) the compactor (`compactStore`, what `shelf compact` and the stack's scheduled function run) runs after each announce, outside its timed call and its counted writes, as a schedule that keeps up with the announces would; it compacts when the delta holds `delta_max` packages and only reads the root otherwise. Its runs that compacted are timed apart (the compactor columns and the goal row of issue 28); an announce that still rewrites the base trees (past the hard cap) is counted beside p50, with the mean.",
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
    result.cold_start = await step('cold start', () => Number.POSITIVE_INFINITY, () => measureColdStart({ github, s3, announces: coldPlan.slice(0, args.quick ? 2 : 5) }));
    log('start-up of the installed command line');
    result.startup = await step('start-up', () => Number.POSITIVE_INFINITY, () => benchStartup({ quick: args.quick, log }));
    // The issue's limits: a quick run takes a few minutes, a full one about an hour (Pagefind beside Shelf added ~5 min).
    const deadline = performance.now() + (args.timeLimitMin ?? (args.quick ? 14 : 135)) * MIN;
    const left: Clock = () => deadline - performance.now();
    const growthSettings = args.quick ? QUICK_GROWTH : FULL_GROWTH;
    const sides: GrowthSide[] = [];
    for (const packages of args.sizes) {
      // The last size's rebuild (which takes whatever time is left) leaves room for the growth step.
      const last = packages === Math.max(...args.sizes) && args.sizes.length >= 2;
      const growth = { announces: growthSettings.blocks * growthSettings.announcesPerBlock, reserveMs: last ? growthSettings.reserveMs : 0 };
      const size = await runSize(packages, settings(packages), work, s3, left, growth);
      result.sizes.push(size.result);
      sides.push(size.growth);
      save(join(work, 'progress.json'));
    }
    // The growth goals, the smallest and the largest size side by side (see growth.ts).
    sides.sort((a, b) => a.packages - b.packages);
    if (sides.length >= 2) {
      const { reserveMs: _, ...growthOptions } = growthSettings;
      result.growth = await step('growth', left, () => measureGrowth({ small: sides[0]!, large: sides.at(-1)!, work, s3, ...growthOptions, log }));
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
