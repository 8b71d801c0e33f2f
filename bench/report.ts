/**
 * The benchmark's result document (written as JSON) and its Markdown rendering.
 *
 * @module
 */
import type { SearchStorageReport } from './storage.ts';
import type { AnnounceReport, CompactorReport } from './announce.ts';
import type { ColdStartReport } from './cold-start.ts';
import { BASELINE_COMMANDS, STARTUP_COMMANDS, STARTUP_GOALS_MS, type BaselineCommand, type StartupCommand, type StartupReport } from './startup.ts';
import type { PageCode } from './lib/page-code.ts';
import type { EngineResult } from './engine-worker.ts';
import type { GrowthReport, PairedSamples } from './growth.ts';
import type { LoadReport } from './load.ts';
import { LABEL_TYPES, QUERY_CLASSES, type LabelledQuery } from './queries.ts';
import type { RebuildReport } from './rebuild.ts';
import type { EngineOutcome, FirstQueryReport, ShardedSearchReport, ShelfSearchReport } from './search.ts';
import { BROTLI_QUALITY, mib, round } from './lib/stats.ts';
import type { ComparisonOrFailure } from './pagefind/report.ts';
import { renderPagefind } from './pagefind/report.ts';

/** A measurement that failed, and why. */
export interface Failed {
  error: string;
}

/** Everything measured at one registry size. */
export interface SizeResult {
  packages: number;
  versions: number;
  scopes: number;
  /** Bulk load of the records (see `load.ts`). */
  load: LoadReport;
  /** Bulk derivation of every derived file (package documents, badges, scopes, the sharded index, the recent list). */
  derive: LoadReport;
  /** Hard-link copies of the registry (`cp -al`): records → registry, registry → the announce runs' copy, ms. */
  snapshots_ms: number[];
  /** The real rebuild of the records alone (measured last, with what time is left). */
  rebuild: RebuildReport | Failed;
  search: ShelfSearchReport | Failed;
  /** Shelf beside Pagefind, first queries in Chromium (issue 28; absent in runs before it). */
  pagefind?: ComparisonOrFailure;
  /** Engine results without their rankings (those are in `rankings`). */
  engines: (Omit<EngineResult, 'top5'> | { engine: string; error: string })[];
  labelled: LabelledQuery[];
  /** Top 5 of each engine (and `shelf-sharded`) for each labelled query (aligned with `labelled`; null: not run). */
  rankings: Record<string, (string[] | null)[]>;
  /** Announce runs per store. */
  announce: { fs: AnnounceReport | Failed; s3: AnnounceReport | Failed };
  /**
   * What the S3 bucket was given (the folder run's reads that existed before it), and
   * `extra_misses`: keys the S3 run looked for in vain although the folder run found them (should be empty).
   */
  s3_working_set: { objects: number; bytes: number; extra_misses: string[] } | null;
  /** The sharded index's storage after the announces, after `shelf gc`, and a fresh rebuild's (absent in runs before issue 27). */
  search_storage?: SearchStorageReport | Failed;
  load_average: { start: number[]; end: number[] };
  elapsed_s: number;
}

/** The whole result document. */
export interface BenchResult {
  /** 3 since the `single` layout was retired (issue 27): one announce run per store, no per-layout keys. */
  schema_version: 3;
  mode: 'quick' | 'full';
  started_at: string;
  finished_at: string;
  duration_s: number;
  machine: { cpus: number; cpu_model: string; node: string; platform: string; total_memory_gib: number; load_average_start: number[]; load_average_end: number[] };
  settings: Record<string, unknown>;
  notes: string[];
  cold_start: ColdStartReport | Failed;
  /** Start-up of the installed command line (`startup.ts`). Absent in runs before it. */
  startup?: StartupReport | Failed;
  sizes: SizeResult[];
  /**
   * The growth goals measured side by side at the end of the run: the smallest and the largest
   * size in alternating blocks (`growth.ts`). Absent in runs before it and with a single size.
   */
  growth?: GrowthReport | Failed;
}

/** Splits engine outcomes into results without rankings, and the rankings. */
export function splitRankings(outcomes: readonly EngineOutcome[]): { engines: SizeResult['engines']; rankings: SizeResult['rankings'] } {
  const rankings: SizeResult['rankings'] = {};
  const engines = outcomes.map((o) => {
    if ('error' in o) return o;
    const { top5, ...rest } = o;
    rankings[o.engine] = top5;
    return rest;
  });
  return { engines, rankings };
}

const failed = (x: unknown): x is Failed => typeof x === 'object' && x !== null && 'error' in x;
const n = (x: number) => x.toLocaleString('en-US');
const ms = (x: number) => (x >= 1000 ? `${round(x / 1000)} s` : `${round(x)} ms`);
const size = (bytes: number) => (bytes >= 1048576 ? `${mib(bytes)} MiB` : bytes >= 10240 ? `${Math.round(bytes / 1024)} KiB` : `${round(bytes / 1024)} KiB`);
/** Decimal kilobytes, as issue 9 states its limits. */
const kB = (bytes: number) => (bytes >= 1e6 ? `${round(bytes / 1e6)} MB` : `${round(bytes / 1000)} kB`);
const pct = (k: number, total: number) => (total === 0 ? '–' : `${Math.round((100 * k) / total)}%`);
const share = (x: number) => `${Math.round(100 * x)}%`;
const STORES = ['fs', 's3'] as const;
/** Announce phases in pipeline order; the first four are the request's checks. */
const PHASES = ['parse', 'verify', 'validate', 'fetch', 'pins', 'artifact', 'version', 'package', 'badge', 'scope', 'search', 'recent', 'interop'] as const;

/** One row of issue 9's goals: what is compared, the values, and whether the goal holds in this run. */
export interface GoalRow {
  goal: string;
  target: string;
  measured: string;
  holds: boolean | null;
}

function announceOf(s: SizeResult, store: 'fs' | 's3'): AnnounceReport | null {
  const a = s.announce?.[store];
  return a && !failed(a) ? a : null;
}

function shardedSearch(s: SizeResult): ShardedSearchReport | null {
  if (failed(s.search)) return null;
  return failed(s.search.sharded) ? null : s.search.sharded;
}

/**
 * Issue 9's goals, evaluated on this run's numbers. A goal whose sizes were not all measured
 * says so and counts as not shown (`null`).
 */
export function goalRows(r: BenchResult): GoalRow[] {
  const rows: GoalRow[] = [];
  const sizes = [...r.sizes].sort((a, b) => a.packages - b.packages);
  const small = sizes[0];
  const large = sizes.at(-1);
  const span = small && large && small !== large ? `${n(small.packages)} → ${n(large.packages)} packages` : null;
  const noSpan = (goal: string, target: string) => rows.push({ goal, target, measured: 'needs two sizes', holds: null });
  /** The same first queries timed in the bench's own process (the method of runs before the visitor process). */
  const inProcess = (a: FirstQueryReport, b: FirstQueryReport): string => {
    const ha = (a as Partial<ShardedSearchReport>).in_process?.all.p50;
    const hb = (b as Partial<ShardedSearchReport>).in_process?.all.p50;
    return ha && hb ? `; in the bench's own process (earlier runs' method): ${ms(ha)} → ${ms(hb)} (×${round(hb / ha)})` : '';
  };
  const growth = r.growth && !failed(r.growth) ? r.growth : null;
  /** A paired measurement of this goal, when the run made one over the same two sizes. */
  const paired = <T extends PairedSamples>(x: T | Failed | undefined): T | null =>
    growth && x && !failed(x) && small && large && growth.sizes[0] === small.packages && growth.sizes[1] === large.packages ? x : null;
  const blocksOf = (p: PairedSamples) => `${p.small.n} + ${p.large.n} samples in ${p.blocks.length} alternating blocks`;
  const partial = (x: number) => (large && large.packages < 100_000 ? ` (largest size in this run: ${n(x)}, not 100,000)` : '');

  // 1a. Files an announce writes: bounded independently of N.
  const goal1a = 'Every file an announce writes is bounded independently of N';
  if (span) {
    const maxOf = (s: SizeResult) => Math.max(...STORES.map((st) => announceOf(s, st)?.writes.max_file_bytes ?? 0));
    const a = maxOf(small!);
    const b = maxOf(large!);
    rows.push({
      goal: goal1a,
      target: 'largest file written at the largest size ≤ 2× that at the smallest',
      measured: `${size(a)} → ${size(b)} (×${round(b / a)}) over ${span}`,
      holds: a > 0 && b > 0 && large!.packages >= 100_000 && small!.packages <= 1_000 ? b <= 2 * a : null,
    });
  } else noSpan(goal1a, '');

  // 1b. Announce p50 growth.
  for (const store of STORES) {
    const goal = `Announce p50 at 100,000 ≤ 1.5× at 1,000 (${store === 'fs' ? 'filesystem' : 'S3'})`;
    if (!span) {
      noSpan(goal, '≤ 1.5×');
      continue;
    }
    const a = announceOf(small!, store);
    const b = announceOf(large!, store);
    const perSize = (label: string) =>
      a && b
        ? `${label}${ms(a.latency_ms.p50)} → ${ms(b.latency_ms.p50)} (×${round(b.latency_ms.p50 / a.latency_ms.p50)}; CPU ×${round(b.cpu_ms.p50 / a.cpu_ms.p50)})` +
          `; mean ${ms(a.latency_ms.mean)} → ${ms(b.latency_ms.mean)} (×${round(b.latency_ms.mean / a.latency_ms.mean)}), announces rewriting the base trees ${a.base_updates ?? '–'}/${a.n} → ${b.base_updates ?? '–'}/${b.n}`
        : '';
    const p = paired(growth?.announce[store]);
    const fits = large!.packages >= 100_000 && small!.packages <= 1_000;
    rows.push({
      goal,
      target: '≤ 1.5×',
      measured: p
        ? `side by side: ${ms(p.small.p50)} → ${ms(p.large.p50)} (×${p.ratio}; CPU ×${p.cpu.ratio}) over ${span}, ${blocksOf(p)}; mean ${ms(p.small.mean)} → ${ms(p.large.mean)} (×${round(p.large.mean / p.small.mean)}), announces rewriting the base trees ${p.base_updates.small}/${p.small.n} → ${p.base_updates.large}/${p.large.n}` +
          `${a && b ? perSize('; each size in its own part of the run: ') : ''}${partial(large!.packages)}`
        : a && b
          ? `${perSize('')} over ${span}${partial(large!.packages)}`
          : 'not measured',
      holds: !fits ? null : p ? (p.errors.length === 0 ? p.ratio <= 1.5 : null) : a && b ? b.latency_ms.p50 <= 1.5 * a.latency_ms.p50 : null,
    });
  }

  // 1c. Issue 28, goal 3: the announce that used to compact, now with the compactor off its path.
  {
    const goal = "Issue 28 goal 3: the compacting announce's p95 on S3 at 100,000 ≤ 1 s (compaction off the announce path; the compactor timed apart)";
    const measuredAt = sizes.filter((s) => announceOf(s, 's3'));
    const p = paired(growth?.announce.s3);
    const one = (s: SizeResult) => {
      const a = announceOf(s, 's3')!;
      return `${n(s.packages)}: p95 ${ms(a.latency_ms.p95)} (p50 ${ms(a.latency_ms.p50)}, max ${ms(a.latency_ms.max)}; ${a.n} announces, ${a.base_updates} rewrote the base trees); ${compactorText(a.compactor)}`;
    };
    const at100k = sizes.find((s) => s.packages === 100_000);
    const a100k = at100k ? announceOf(at100k, 's3') : null;
    rows.push({
      goal,
      target: 'p95 ≤ 1 s',
      measured: measuredAt.length
        ? measuredAt.map(one).join('; ') +
          (p ? `; side by side at ${n(large!.packages)}: p95 ${ms(p.large.p95)} (n ${p.large.n}, ${p.base_updates.large} rewrote the base trees), ${compactorText(p.compactor?.large ?? null)}` : '') +
          (a100k ? '' : ' (no 100,000 size in this run)')
        : 'not measured',
      holds: a100k ? a100k.latency_ms.p95 <= 1000 : null,
    });
  }

  // 2a. First-query bytes at 10,000 and 100,000.
  for (const [packages, limit] of [[10_000, 150_000], [100_000, 300_000]] as const) {
    const s = sizes.find((x) => x.packages === packages);
    const goal = `First query at ${n(packages)} downloads ≤ ${limit / 1000} kB compressed`;
    const q = s && shardedSearch(s);
    if (!q) {
      rows.push({ goal, target: `≤ ${limit / 1000} kB`, measured: s ? 'not measured' : `no ${n(packages)} size in this run`, holds: null });
      continue;
    }
    rows.push({
      goal,
      target: `max over the first queries ≤ ${limit / 1000} kB (brotli)`,
      measured: `brotli p50 ${kB(q.all.brotli.p50)}, p95 ${kB(q.all.brotli.p95)}, max ${kB(q.all.brotli.max)} (gzip max ${kB(q.all.gzip.max)}; ${q.all.n} queries)`,
      holds: q.all.brotli.max <= limit,
    });
  }

  // 2b. First-query time growth.
  const goal2b = 'First query at 100,000 costs ≤ 2× the time at 1,000';
  const qa = small && shardedSearch(small);
  const qb = large && shardedSearch(large);
  if (span && qa && qb) {
    const ratio = qb.all.ms.p50 / qa.all.ms.p50;
    const p = paired(growth?.first_query);
    const perSize = `p50: ${ms(qa.all.ms.p50)} → ${ms(qb.all.ms.p50)} (×${round(ratio)})`;
    const fits = large!.packages >= 100_000 && small!.packages <= 1_000;
    rows.push({
      goal: goal2b,
      target: 'p50 ≤ 2×',
      measured: p
        ? `side by side: p50 ${ms(p.small.p50)} → ${ms(p.large.p50)} (×${p.ratio}) over ${span}, from visitor processes, ${blocksOf(p)}; each size in its own part of the run: ${perSize.replace('p50: ', 'p50 ')}${inProcess(qa, qb)}${partial(large!.packages)}`
        : `${perSize} over ${span}, from a visitor process${inProcess(qa, qb)}${partial(large!.packages)}`,
      holds: fits ? (p ? p.ratio : ratio) <= 2 : null,
    });
  } else noSpan(goal2b, 'p50 ≤ 2×');
  const far = (q: FirstQueryReport | null | undefined) => (q as Partial<ShardedSearchReport> | null | undefined)?.modelled_network;
  const fa = far(qa);
  const fb = far(qb);
  const goal2c = `The same over a modelled network (every request ${fa?.round_trip_ms ?? fb?.round_trip_ms ?? '–'} ms away)`;
  if (span && fa && fb) {
    rows.push({
      goal: goal2c,
      target: 'p50 ≤ 2×',
      measured: `p50: ${ms(fa.all.p50)} → ${ms(fb.all.p50)} (×${round(fb.all.p50 / fa.all.p50)}) over ${span}; the loopback row above is the one the issue states${partial(large!.packages)}`,
      holds: large!.packages >= 100_000 && small!.packages <= 1_000 ? fb.all.p50 <= 2 * fa.all.p50 : null,
    });
  } else noSpan(goal2c, 'p50 ≤ 2×');

  // 3. Ranking agreement.
  const agreements = sizes.flatMap((s) => (failed(s.search) || failed(s.search.agreement) ? [] : [{ packages: s.packages, a: s.search.agreement }]));
  rows.push({
    goal: 'Ranking equals one whole index (the reference): top 1 agrees in ≥ 95% of labelled queries, top 5 overlap ≥ 90%',
    target: '≥ 95% / ≥ 90% at every size',
    measured: agreements.length
      ? agreements.map(({ packages, a }) => `${n(packages)}: ${share(a.labelled.top1)} / ${share(a.labelled.top5)} (${a.labelled.n} labelled; shard-benchmark queries ${share(a.shard_queries.top1)} / ${share(a.shard_queries.top5)})`).join('; ')
      : 'not measured',
    holds: agreements.length ? agreements.every(({ a }) => a.labelled.top1 >= 0.95 && a.labelled.top5 >= 0.9) : null,
  });

  // 4. Mutable pointers tiny; everything else immutable.
  const ALLOWED = new Set(['/v1/config.json', '/v1/search/bundles/root.json']);
  const mutable = sizes.flatMap((s) => {
    const q = shardedSearch(s);
    return q ? [{ packages: s.packages, q }] : [];
  });
  rows.push({
    goal: 'Mutable pointers are tiny; everything else a first query fetches is immutable',
    target: 'only config.json and the root revalidated; root ≤ 64 KiB',
    measured: mutable.length
      ? mutable.map(({ packages, q }) => `${n(packages)}: ${q.mutable.map((m) => `${m.path.split('/').pop()} ${size(m.max_raw)}`).join(', ')}; ${q.immutable_responses}/${q.responses} responses immutable`).join('; ')
      : 'not measured',
    holds: mutable.length ? mutable.every(({ q }) => q.mutable.every((m) => ALLOWED.has(m.path) && m.max_raw <= 65_536)) : null,
  });

  // 5. Live storage after the announces and shelf gc, against a fresh rebuild (issue 27; absent from older runs).
  const storage = sizes.flatMap((s) => (s.search_storage && !failed(s.search_storage) ? [{ packages: s.packages, st: s.search_storage }] : []));
  if (sizes.some((s) => s.search_storage)) {
    rows.push({
      goal: 'Live storage of the search index after the announces and `shelf gc` is within 1.2× of a fresh rebuild',
      target: '≤ 1.2× at every size',
      measured: storage.length
        ? storage.map(({ packages, st }) => `${n(packages)}: ${size(st.after_gc.bytes)} in ${n(st.after_gc.files)} files vs ${size(st.fresh.bytes)} in ${n(st.fresh.files)} (×${st.ratio}; before gc ${size(st.before_gc.bytes)} in ${n(st.before_gc.files)} files, gc ${st.gc_ms} ms)`).join('; ')
        : 'not measured',
      holds: storage.length ? storage.every(({ st }) => st.ratio <= 1.2) : null,
    });
  }
  return rows;
}

/** The compactor's runs in an announce run, in words (runs before the compactor had none). */
function compactorText(c: CompactorReport | null | undefined): string {
  if (!c) return 'no compactor in this run';
  if (c.n === 0) return 'the compactor never compacted';
  const cold = c.after_warmup > 0 ? ` (${c.after_warmup} of them the process's first, after its warm-up announce)` : '';
  return `the compactor, after the announces: p50 ${ms(c.ms.p50)}, max ${ms(c.ms.max)} over ${c.n} runs${cold} of ${c.packages.p50} packages p50, ${c.files.p50} files written p50`;
}

/** Renders the result as Markdown. */
export function renderMarkdown(r: BenchResult): string {
  const out: string[] = [];
  const line = (s = '') => out.push(s);
  line(`# Shelf benchmark — ${r.mode === 'quick' ? 'quick run' : 'full run'}`);
  line();
  line(`Run ${r.started_at} → ${r.finished_at} (${Math.round(r.duration_s / 60)} min). Generated by \`npm run bench${r.mode === 'quick' ? ' -- --quick' : ''}\`; the JSON beside this file has every number, the labelled queries and each engine's top 5 for them.`);
  line();
  line(`**Machine**: ${r.machine.cpus} × ${r.machine.cpu_model}, ${r.machine.total_memory_gib} GiB, Node ${r.machine.node} (${r.machine.platform}). Load average at start ${r.machine.load_average_start.join(' / ')}, at end ${r.machine.load_average_end.join(' / ')} (1/5/15 min).`);
  line();
  line('Absolute times are machine-dependent, and this machine was shared with other test runs (see the load averages per size): read times as orders of magnitude. Ratios between sizes and between engines come from the same run, one measurement after another on the same data.');
  for (const note of r.notes) line(`\n- ${note}`);
  line();

  line('## Issue 9 goals, from this run');
  line();
  line('| goal | target | measured | holds |');
  line('|---|---|---|---|');
  for (const g of goalRows(r)) line(`| ${g.goal} | ${g.target} | ${g.measured} | ${g.holds === null ? 'not shown' : g.holds ? '**yes**' : '**no**'} |`);
  line();
  line('"not shown": the run lacks a size the goal names (a quick run stops at 10,000 packages), so the ratio is given but not judged. Goal 4\'s "never mixes two generations" holds by construction (a root names content-addressed files only); the row checks what a client actually revalidated.');
  line();

  renderPagefind(r.sizes.map((s) => s.pagefind), r.sizes.map((s) => s.packages), line);

  if (r.startup) renderStartup(r.startup, line);

  if (r.growth) {
    line('## Growth, side by side');
    line();
    if (failed(r.growth)) {
      line(`Not measured: ${r.growth.error}`);
      line();
    } else {
      const g = r.growth;
      const [a, b] = g.sizes;
      line(`The growth rows above come from here: once every size was built, the ${n(a)}- and ${n(b)}-package registries were timed in alternating blocks (${n(a)}, ${n(b)}, ${n(b)}, ${n(a)}, … ${g.blocks} blocks each) with the same code as their own sections below, so both meet the same machine and the same bench process (see \`bench/growth.ts\`). Each size's own measurements ran minutes apart, in a process whose state differed between sizes; they are below, and in the rows beside.`);
      line();
      line(`| measurement | ${n(a)}: n, p50, p95 | ${n(b)}: n, p50, p95 | p50 ratio | p50 of each block, in order (${n(a)} / ${n(b)}) |`);
      line('|---|---|---|---:|---|');
      const row = (what: string, p: PairedSamples | Failed, extra = '') => {
        if (failed(p)) return line(`| ${what} | failed: ${p.error.slice(0, 160)} | | | |`);
        const blocks = p.blocks.map((k) => `${k.packages === a ? '' : '**'}${round(k.p50)}${k.packages === a ? '' : '**'}`).join(', ');
        line(`| ${what} | ${p.small.n}, ${ms(p.small.p50)}, ${ms(p.small.p95)} | ${p.large.n}, ${ms(p.large.p50)}, ${ms(p.large.p95)} | ×${p.ratio}${extra} | ${blocks} |`);
      };
      row('first query (visitor process, loopback)', g.first_query);
      for (const store of STORES) {
        const p = g.announce[store];
        const compactor = (c: CompactorReport | undefined) => (c && c.n > 0 ? `${ms(c.ms.p50)} / ${ms(c.ms.max)}` : '–');
        row(
          `announce, ${store}`,
          p,
          failed(p) ? '' : ` (CPU ×${p.cpu.ratio}; base rewrites ${p.base_updates.small} / ${p.base_updates.large}; compactor p50 / max ${compactor(p.compactor?.small)} and ${compactor(p.compactor?.large)}${p.errors.length ? `; errors: ${p.errors.join(', ')}` : ''})`,
        );
      }
      line();
      line(`Blocks in bold are the ${n(b)}-package ones. Each announce block is a fresh child process whose first announce is its warm-up (not timed). The compactor runs after every announce, outside its timed call (a schedule that keeps up); its runs that compacted are timed apart, pooled per size.`);
      line();
    }
  }

  line('## Registries');
  line();
  line('| packages | versions | scopes | records written (fsync off) | derived files | of which the sharded index (CPU) | hard-link copies | load avg during |');
  line('|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const s of r.sizes) {
    const sh = s.derive.sharded;
    line(`| ${n(s.packages)} | ${n(s.versions)} | ${n(s.scopes)} | ${n(s.load.objects)} (${size(s.load.bytes)}) in ${ms(s.load.total_ms)} | ${n(s.derive.objects + (sh?.files_written ?? 0))} in ${ms(s.derive.total_ms)} | ${sh ? `${n(sh.files_written)} files in ${ms(sh.ms)} (${ms(sh.cpu_ms)})` : '–'} | ${s.snapshots_ms.map(ms).join(', ')} | ${s.load_average.start[0]} → ${s.load_average.end[0]} |`);
  }
  line();

  line('## 1. Announce latency (through the handler, warm)');
  line();
  line('The compactor runs after every announce, outside its timed call and its counted writes, as a schedule that keeps up would: it compacts when the delta holds `delta_max` packages (its columns: runs that compacted, of them the process\'s first after its warm-up announce, their p50 / max, and the packages each merged, p50). "base rewrites": timed announces that compacted inline (past the hard cap, twice `delta_max`).');
  line();
  line('| packages | store | n | p50 | p95 | max | CPU p50 | first (cold) | slowest phases (p50) | base rewrites | compactor runs (first) | compactor p50 / max | packages per run | errors |');
  line('|---:|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---|');
  for (const s of r.sizes) {
    for (const store of STORES) {
      const a = s.announce?.[store];
      if (!a) continue;
      if (failed(a)) {
        line(`| ${n(s.packages)} | ${store} | – | – | – | – | – | – | failed: ${a.error.slice(0, 120)} | | | | | |`);
        continue;
      }
      const top = Object.entries(a.phases_p50_ms).sort((x, y) => y[1] - x[1]).slice(0, 3).map(([k, v]) => `${k} ${ms(v)}`).join(', ');
      const c = a.compactor;
      const cells = c && c.n > 0 ? `${c.n} (${c.after_warmup}) | ${ms(c.ms.p50)} / ${ms(c.ms.max)} | ${c.packages.p50}` : `${c ? 0 : '–'} | – | –`;
      line(`| ${n(s.packages)} | ${store} | ${a.n} | ${ms(a.latency_ms.p50)} | ${ms(a.latency_ms.p95)} | ${ms(a.latency_ms.max)} | ${ms(a.cpu_ms.p50)} | ${a.first_ms === null ? '–' : ms(a.first_ms)} | ${top} | ${a.base_updates ?? '–'} | ${cells} | ${a.errors.length ? a.errors.join(', ') : '0'} |`);
    }
  }
  line();
  for (const store of STORES) {
    const ok = r.sizes.flatMap((s) => {
      const a = announceOf(s, store);
      return a ? [{ packages: s.packages, a }] : [];
    });
    if (ok.length >= 2) {
      const first = ok[0]!;
      const last = ok.at(-1)!;
      line(`- Growth (${store}): p50 ×${round(last.a.latency_ms.p50 / first.a.latency_ms.p50)}, CPU p50 ×${round(last.a.cpu_ms.p50 / first.a.cpu_ms.p50)} from ${n(first.packages)} to ${n(last.packages)} packages (×${round(last.packages / first.packages)} packages).`);
    }
  }
  line();
  line('Phases (p50 of each, ms):');
  line();
  line(`| packages | store | ${PHASES.join(' | ')} |`);
  line(`|---:|---|${PHASES.map(() => '---:').join('|')}|`);
  for (const s of r.sizes) {
    for (const store of STORES) {
      const a = announceOf(s, store);
      if (!a) continue;
      line(`| ${n(s.packages)} | ${store} | ${PHASES.map((p) => (a.phases_p50_ms[p] === undefined ? '–' : String(round(a.phases_p50_ms[p]!)))).join(' | ')} |`);
    }
  }
  line();
  line('CPU p50 is the process\'s CPU time during the call: the work itself, without the time spent waiting for a core on this shared machine (it excludes waiting on the store and the network, too).');
  line();
  line('Phases: `parse` body checks, `verify` token, `validate` schema + manifest + pin reads, `fetch` release asset, then the writes: `pins`, `artifact`, `version`, and the derived files `package`, `badge`, `scope`, then the search index in one `search` step (read the root, update the few pieces the package touches, write them create-only, swap the root); `recent`; and last `interop`, the MCP registry API\'s files (or a skill\'s discovery indexes).');
  line();

  line('### What an announce writes');
  line();
  line('Per announce, artifacts left out (their size is the publisher\'s): files and bytes written (p50), and the largest single file any announce wrote — and the largest it rewrote in place (a mutable file: package document, scope record, root, recent list) — with its key. Same plan on both stores; the filesystem run is shown.');
  line();
  line('| packages | files p50 | bytes p50 (max) | of which rewritten in place p50 | largest file written | largest file rewritten |');
  line('|---:|---:|---:|---:|---|---|');
  for (const s of r.sizes) {
    const a = announceOf(s, 'fs') ?? announceOf(s, 's3');
    if (!a) continue;
    const w = a.writes;
    line(`| ${n(s.packages)} | ${w.files.p50} | ${size(w.bytes.p50)} (${size(w.bytes.max)}) | ${size(w.rewritten_bytes.p50)} | ${size(w.max_file_bytes)} \`${w.max_file_key}\` | ${size(w.rewritten_max_bytes)} \`${w.rewritten_max_key}\` |`);
  }
  line();
  line('### What an announce writes for the MCP registry API and agent-skills discovery');
  line();
  line('The files of the read APIs other clients speak (`v0.1/…`: the server\'s version files, its `versions.json` and `latest`, its page in each listing, and the pages of a split when the listings grow; `v1/agent-skills/…` for skills), part of the totals above: files and bytes per announce (p50 and max) and the largest such file any announce wrote. Bounded: a server\'s page holds about 16 servers, whatever the registry\'s size.');
  line();
  line('| packages | files p50 (max) | bytes p50 (max) | largest file written |');
  line('|---:|---:|---:|---|');
  for (const s of r.sizes) {
    const a = announceOf(s, 'fs') ?? announceOf(s, 's3');
    const w = a?.writes.interop;
    if (!w) continue;
    line(`| ${n(s.packages)} | ${w.files.p50} (${w.files.max}) | ${size(w.bytes.p50)} (${size(w.bytes.max)}) | ${size(w.max_file_bytes)} \`${w.max_file_key}\` |`);
  }
  line();
  const ws = r.sizes.flatMap((s) => (s.s3_working_set ? [`${n(s.packages)}: ${n(s.s3_working_set.objects)} objects (${size(s.s3_working_set.bytes)})${s.s3_working_set.extra_misses.length ? `, **${s.s3_working_set.extra_misses.length} keys missed**` : ''}`] : []));
  if (ws.length) line(`S3 working sets uploaded: ${ws.join('; ')}.`);
  line();

  line('## 2. Full rebuild (from the records alone)');
  line();
  line('| packages | concurrency | packages/s (whole rebuild) | package documents/s | elapsed | CPU | completed | files written | phases |');
  line('|---:|---|---:|---:|---:|---:|---|---:|---|');
  for (const s of r.sizes) {
    const b = s.rebuild;
    if (failed(b)) {
      line(`| ${n(s.packages)} | – | – | – | – | – | ${b.error.slice(0, 120)} | – | – |`);
      continue;
    }
    const phases = Object.entries(b.phases_ms).map(([k, v]) => `${k} ${ms(v)}`).join(', ');
    line(`| ${n(s.packages)} | ${b.concurrency} | ${b.packages_per_s ?? '–'} | ${b.package_phase_per_s} | ${ms(b.elapsed_ms)} | ${b.cpu_ms === null ? '–' : ms(b.cpu_ms)} | ${b.completed ? 'yes' : `**stopped** at ${n(b.files_done)}/${n(b.files_total)} files`} | ${n(b.files_changed)} | ${phases} |`);
  }
  line();
  line('The rebuild runs last at each size, on the records alone, with a durable store (fsync per file) and whatever time the run has left, up to its limit. Where it was stopped, the rate of its package phase is measured but the whole rebuild is not: the sharded index\'s share is then the "sharded index" column of the Registries table (the same `rebuildToStore`, with fsync off, so a lower bound).');
  line();

  line('## 3. Search: Shelf through the real client');
  line();
  line('### First query of a fresh client');
  line();
  line('Each query by a new `RegistryClient` in a visitor process of its own (a child of the bench, as a browser or the CLI is a process apart from the CDN), against the local server over the registry: config, then the root, the index pieces and the display data of the hits shown, parse, load and query, timed from the client\'s construction to its results. Bytes are every response of the query, as stored (raw) and as gzip (level 6) / brotli (quality ' + String(BROTLI_QUALITY) + ') would send them. Queries: the first of each latency-workload class.');
  line();
  line('| packages | class | n | brotli p50 / p95 / max | gzip p50 / p95 / max | raw p50 / max | time p50 / p95 | requests p50 / max |');
  line('|---:|---|---:|---|---|---|---|---|');
  for (const s of r.sizes) {
    const q = shardedSearch(s);
    if (!q) {
      const why = failed(s.search) ? s.search.error : (s.search.sharded as Failed).error;
      line(`| ${n(s.packages)} | failed: ${why.slice(0, 120)} |||||||`);
      continue;
    }
    for (const [c, st] of [...Object.entries(q.by_class), ['all', q.all] as const]) {
      line(`| ${n(s.packages)} | ${c} | ${st.n} | ${kB(st.brotli.p50)} / ${kB(st.brotli.p95)} / ${kB(st.brotli.max)} | ${kB(st.gzip.p50)} / ${kB(st.gzip.p95)} / ${kB(st.gzip.max)} | ${kB(st.raw.p50)} / ${kB(st.raw.max)} | ${ms(st.ms.p50)} / ${ms(st.ms.p95)} | ${st.requests.p50} / ${st.requests.max} |`);
    }
  }
  line();
  line('### First query over a modelled network');
  line();
  line('The same first queries again, each request delayed before it is sent, as if the server were a CDN edge that far away: time then counts the sequential rounds of requests a query needs (the client fetches each level\'s pieces in parallel) more than the local server\'s CPU.');
  line();
  line('| packages | round trip | one-word p50 / p95 | two-word | prefix | misspelled | all p50 / p95 |');
  line('|---:|---:|---|---|---|---|---|');
  for (const s of r.sizes) {
    const m = shardedSearch(s)?.modelled_network;
    if (!m) continue;
    const cell = (p: { p50: number; p95: number } | undefined) => (p ? `${ms(p.p50)} / ${ms(p.p95)}` : '–');
    line(`| ${n(s.packages)} | ${m.round_trip_ms} ms | ${QUERY_CLASSES.map((c) => cell(m.by_class[c])).join(' | ')} | ${cell(m.all)} |`);
  }
  line();
  line('### First query in the bench\'s own process (for comparison)');
  line();
  line('The same first queries by clients in the process that serves the registry and holds the synthetic corpus, as runs before the visitor process measured them: that process\'s garbage collection and serving count as the client\'s time.');
  line();
  line('| packages | one-word p50 / p95 | two-word | prefix | misspelled | all p50 / p95 |');
  line('|---:|---|---|---|---|---|');
  for (const s of r.sizes) {
    const h = shardedSearch(s)?.in_process;
    if (!h) continue;
    const cell = (p: { p50: number; p95: number } | undefined) => (p ? `${ms(p.p50)} / ${ms(p.p95)}` : '–');
    line(`| ${n(s.packages)} | ${QUERY_CLASSES.map((c) => cell(h.by_class[c])).join(' | ')} | ${cell(h.all)} |`);
  }
  line();
  line('### The index as stored');
  line();
  line('| packages | files | bytes | root |');
  line('|---:|---:|---:|---:|');
  for (const s of r.sizes) {
    const q = shardedSearch(s);
    if (q) line(`| ${n(s.packages)} | ${n(q.generation.files)} | ${size(q.generation.bytes)} | ${size(q.generation.root_bytes)} |`);
  }
  line();
  line('### Ranking agreement of the sharded index with one whole index');
  line();
  line('The reference is one whole MiniSearch index over the same packages, built in the bench\'s process (`bench/lib/reference.ts`; what the retired `single` layout published). Top 1: the same first result; top 5: share of the reference\'s top 5 also in the sharded top 5 (as `bench/shard/measure.ts` counts them). On the benchmark\'s labelled queries (by type) and on the shard benchmark\'s queries (`bench/shard/queries.ts`, same seed). Relevance: the intended package first / in the top 5.');
  line();
  line(`| packages | labelled: top 1 / top 5 (n) | ${LABEL_TYPES.join(' | ')} | shard queries: top 1 / top 5 (n) | relevance of the reference: top 1 / top 5 | relevance sharded |`);
  line(`|---:|---|${LABEL_TYPES.map(() => '---').join('|')}|---|---|---|`);
  for (const s of r.sizes) {
    if (failed(s.search) || failed(s.search.agreement)) continue;
    const a = s.search.agreement;
    const rel = (x: { n: number; top1: number; top5: number }) => `${pct(x.top1, x.n)} / ${pct(x.top5, x.n)}`;
    line(`| ${n(s.packages)} | ${share(a.labelled.top1)} / ${share(a.labelled.top5)} (${a.labelled.n}) | ${LABEL_TYPES.map((t) => (a.labelled.by_type[t]?.n ? `${share(a.labelled.by_type[t]!.top1)} / ${share(a.labelled.by_type[t]!.top5)}` : '–')).join(' | ')} | ${share(a.shard_queries.top1)} / ${share(a.shard_queries.top5)} (${a.shard_queries.n}) | ${rel(a.relevance.reference)} | ${rel(a.relevance.sharded)} |`);
  }
  line();
  line('### Query latency of a warm client (p50 / p95)');
  line();
  line('One client after its first query; a query still fetches (over loopback) the pieces it needs that the client has not seen yet.');
  line();
  line(`| packages | ${QUERY_CLASSES.join(' | ')} |`);
  line(`|---:|${QUERY_CLASSES.map(() => '---:').join('|')}|`);
  for (const s of r.sizes) {
    const q = shardedSearch(s);
    if (q) line(`| ${n(s.packages)} | ${QUERY_CLASSES.map((c) => `${ms(q.latency_ms[c]!.p50)} / ${ms(q.latency_ms[c]!.p95)}`).join(' | ')} |`);
  }
  line();

  line('## 4. The same corpus and queries with other engines');
  line();
  line('Bytes are what a client downloads to show results: the engine\'s index, plus the catalog when the index does not hold result data (lunr, flexsearch, fuse). Query latency p50 per class (n per class in the JSON; slow engines run within a time budget). Relevance: labelled queries whose intended package ranks first / in the top 5.');
  for (const s of r.sizes) {
    line();
    line(`### ${n(s.packages)} packages`);
    line();
    line(`| engine | download raw | gzip | build (CPU) | load (CPU) | heap | ${QUERY_CLASSES.join(' | ')} | top 1 | top 5 | n |`);
    line(`|---|---:|---:|---:|---:|---:|${QUERY_CLASSES.map(() => '---:').join('|')}|---:|---:|---:|`);
    for (const e of s.engines) {
      if ('error' in e) {
        line(`| ${e.engine} | ${e.error.slice(0, 140)} |||||${QUERY_CLASSES.map(() => '').join('|')}||||`);
        continue;
      }
      const lat = QUERY_CLASSES.map((c) => (e.latency_ms[c]?.n ? ms(e.latency_ms[c]!.p50) : '–')).join(' | ');
      line(`| ${e.engine} | ${size(e.bytes.total_raw)} | ${size(e.bytes.total_gzip)} | ${ms(e.build_ms)} (${ms(e.build_cpu_ms)}) | ${ms(e.load_ms)} (${ms(e.load_cpu_ms)}) | ${e.heap_loaded_mib === null ? '–' : `${e.heap_loaded_mib} MiB`} | ${lat} | ${pct(e.relevance.top1, e.relevance.n)} | ${pct(e.relevance.top5, e.relevance.n)} | ${e.relevance.n} |`);
    }
    line();
    line(`Top 1 by query type (${LABEL_TYPES.map((t) => `${t}: ${s.labelled.filter((q) => q.type === t).length}`).join(', ')} queries):`);
    line();
    line(`| engine | ${LABEL_TYPES.join(' | ')} |`);
    line(`|---|${LABEL_TYPES.map(() => '---:').join('|')}|`);
    for (const e of s.engines) {
      if ('error' in e) continue;
      line(`| ${e.engine} | ${LABEL_TYPES.map((t) => { const c = e.relevance.by_type[t]; return c && c.n ? `${pct(c.top1, c.n)} (${c.n})` : '–'; }).join(' | ')} |`);
    }
  }
  line();

  line('## 5. Cold start of the announce function');
  line();
  if (failed(r.cold_start)) line(`Failed: ${r.cold_start.error}`);
  else {
    const c = r.cold_start;
    line(`Bundle (\`scripts/build-lambda.ts\`, esbuild, minified, AWS SDK included): **${size(c.bundle_bytes)}**, zipped ${size(c.zip_bytes)}. Largest parts: ${c.bundle_parts.map(([k, v]) => `${k} ${size(v)}`).join(', ')}.`);
    line();
    line('| runs | import + INIT | first event | process start → response | spawn → exit | max RSS |');
    line('|---:|---:|---:|---:|---:|---:|');
    line(`| ${c.runs} | ${ms(c.import_ms.p50)} | ${ms(c.first_event_ms.p50)} | ${ms(c.process_to_response_ms.p50)} | ${ms(c.spawn_to_exit_ms.p50)} | ${round(c.max_rss_mib.p50)} MiB |`);
    line();
    line('Medians. INIT includes reading the configuration and probing the S3 store for conditional writes (two writes and a delete); the first event includes the cold JWKS fetch. Against the loopback S3-compatible server and fake GitHub, so network time to real AWS and GitHub is not in it.');
  }
  line();

  line('## 6. Memory of the announce handler');
  line();
  line('| packages | store | before first announce (max RSS) | peak max RSS | heap used right after an announce | heap kept after GC |');
  line('|---:|---|---:|---:|---:|---:|');
  for (const s of r.sizes) {
    for (const store of STORES) {
      const a = announceOf(s, store);
      if (!a) continue;
      line(`| ${n(s.packages)} | ${store} | ${a.memory.max_rss_mib_before} MiB | ${a.memory.max_rss_mib} MiB | ${a.memory.heap_used_peak_mib} MiB | ${a.memory.live_heap_peak_mib ?? '–'} MiB |`);
    }
  }
  line();
  return `${out.join('\n')}\n`;
}

/** Issue 26's start-up goals, on this run's medians (one row per goal and Node.js binary). */
export function startupGoalRows(report: StartupReport): GoalRow[] {
  const rows: GoalRow[] = [];
  for (const run of report.runs) {
    for (const [command, limit] of Object.entries(STARTUP_GOALS_MS) as [StartupCommand, number][]) {
      const what = command === 'help' ? '`shelf --help`' : `\`shelf search ${report.query}\` (cached documents, two 304s)`;
      rows.push({
        goal: `${what} on Node.js ${run.version}`,
        target: `≤ bare Node + ${limit} ms`,
        measured: `+${round(run.over_bare_ms[command])} ms (${ms(run.ms[command].p50)} against ${ms(run.ms.bare.p50)} p50)`,
        holds: run.over_bare_ms[command] <= limit,
      });
    }
  }
  return rows;
}

function renderStartup(startup: StartupReport | Failed, line: (s?: string) => void): void {
  line('## Issue 26 goals: start-up of the installed command line');
  line();
  if (failed(startup)) {
    line(`Not measured: ${startup.error}`);
    line();
    return;
  }
  line(`\`npm pack\` → \`npm install -g\` of the tarball into a temporary prefix: tarball **${size(startup.tarball_bytes)}**, installed **${size(startup.installed_bytes)}** (\`lib/node_modules\` holds ${startup.installed.join(', ')}: the package has no dependencies). Spawn to exit of the installed command against a registry seeded as \`npm start\` seeds it, in interleaved rounds with a bare \`node -e ""\` (see \`bench/startup.ts\`).`);
  line();
  line('| goal | target | measured | holds |');
  line('|---|---|---|---|');
  for (const g of startupGoalRows(startup)) line(`| ${g.goal} | ${g.target} | ${g.measured} | ${g.holds ? '**yes**' : '**no**'} |`);
  line();
  line('| Node.js | build | rounds | bare `node -e ""` | `shelf --help` | `shelf search` | `shelf search --offline` | load at start / end |');
  line('|---|---|---:|---:|---:|---:|---:|---|');
  for (const run of startup.runs) {
    const cell = (c: StartupCommand) => `${ms(run.ms[c].p50)} (p95 ${ms(run.ms[c].p95)})${c === 'bare' ? '' : `, +${round(run.over_bare_ms[c])} ms`}`;
    const load = `${run.load_average.start.join(', ')} / ${run.load_average.end.join(', ')}`;
    line(`| ${run.version} | this | ${run.rounds} | ${STARTUP_COMMANDS.map(cell).join(' | ')} | ${load} |`);
    if (run.baseline) {
      const b = run.baseline;
      const baseCell = (c: BaselineCommand) => `${ms(b.ms[c].p50)} (p95 ${ms(b.ms[c].p95)}), +${round(b.over_bare_ms[c])} ms`;
      line(`| ${run.version} | baseline | ${run.rounds} | (same rounds) | ${BASELINE_COMMANDS.map(baseCell).join(' | ')} | ${load} |`);
    }
  }
  line();
  if (startup.baseline) {
    line(`Baseline: \`${startup.baseline.tarball}\` (tarball ${size(startup.baseline.tarball_bytes)}, installed ${size(startup.baseline.installed_bytes)}), installed beside this build; its commands ran in the same interleaved rounds.`);
    line();
  }
  const code = (c: PageCode | undefined) =>
    c ? `${kB(c.brotli_bytes)} brotli (${kB(c.raw_bytes)} raw; ${c.scripts.length} file${c.scripts.length === 1 ? '' : 's'}); zod ${c.has_zod ? 'in it' : 'absent'}, semver ${c.has_semver ? 'in it' : 'absent'}` : 'no web pages';
  if (startup.page_code) {
    line(`The code the web search page loads (issue 28, goal 2: ≤ 60 kB brotli, no zod or semver; its script and preloads as \`dist/www/index.html\` names them): this build ${code(startup.page_code)}${startup.baseline ? `; baseline ${code(startup.baseline.page_code)}` : ''}.`);
    line();
  }
}

/** The start-up section alone, as Markdown (`npx tsx bench/startup.ts`). */
export function renderStartupSection(startup: StartupReport): string {
  const out: string[] = [];
  renderStartup(startup, (s = '') => out.push(s));
  return out.join('\n');
}
