/**
 * Issue 9's growth goals measured side by side: the smallest and the largest registry of the
 * run, timed in alternating blocks (A B B A, repeated) once every size is built, so both sizes
 * meet the same machine and the same bench process.
 *
 * Why: each size's own measurements run ~20 minutes apart, and the bench's process is not the
 * same at each size (at 100,000 packages it holds the corpus and serves the registry and the S3
 * server from a heap of gigabytes). On a shared machine the full run at ff06195 measured every
 * phase of the 100,000 announces, N-independent ones too (parsing the body, verifying the
 * token), ~×1.8 slower than the run before it, while the same code's p50 ratio had been ×1.10:
 * a ratio of two measurements taken far apart is mostly the machine's drift. Alternating blocks
 * cancel a drift that is slow next to a block (seconds), and pooling the blocks gives each size
 * the same conditions. The per-size measurements stay in the report, beside.
 *
 * What is timed is what the per-size measurements time, with the same code:
 * - first queries: fresh clients in a visitor process (`firstQueriesInVisitor`) against the local
 *   server over the size's registry (its full delta, as in the search measurement);
 * - announces: the real handler in a child process (`measureAnnounces`), first on
 *   a hard-link copy of the size's registry, then on S3 with the working set those announces read
 *   (as in `run.ts`); each block's first announce is its warm-up. The compactor runs after every
 *   announce, outside the timed calls, as in `run.ts`; its runs are pooled per size.
 *
 * @module
 */
import { join } from 'node:path';
import { startLocalServer, type LocalServer } from '../src/server/local-server.ts';
import { FsStore } from '../src/store/fs-store.ts';
import { S3RVER_CREDENTIALS, type TestS3Server } from '../test/helpers/s3-server.ts';
import type { PlannedAnnounce } from './announce-plan.ts';
import { measureAnnounces, summariseCompactions, uploadWorkingSet, type AnnounceRun, type CompactorReport } from './announce.ts';
import { firstQueriesInVisitor } from './first-queries.ts';
import type { Workload } from './queries.ts';
import { writeBenchConfig } from './search.ts';
import { hardLinkCopy } from './lib/snapshot.ts';
import { percentiles, round, type Percentiles } from './lib/stats.ts';

/** One of the two registries compared. */
export interface GrowthSide {
  packages: number;
  /** The size's registry folder, as the search measurement saw it (never written to here but for `v1/config.json`). */
  root: string;
  workload: Workload;
  /** The announces to make on it: `blocks × perBlock` of them, all distinct. */
  plan: PlannedAnnounce[];
}

/** Options of {@link measureGrowth}. */
export interface GrowthOptions {
  small: GrowthSide;
  large: GrowthSide;
  /** Where the announce copies go (`growth-<packages>` folders). */
  work: string;
  s3: TestS3Server;
  /** Blocks per size and measurement (even: the order is A B B A …). */
  blocks: number;
  /** First queries per workload class in each block. */
  firstQueriesPerClass: number;
  /** Announces per block (its first is the warm-up, not timed). */
  announcesPerBlock: number;
  log?: (message: string) => void;
}

/** The two sizes' pooled samples, and each block's p50 in the order the blocks ran. */
export interface PairedSamples {
  small: Percentiles;
  large: Percentiles;
  /** `large.p50 / small.p50`. */
  ratio: number;
  blocks: { packages: number; p50: number; n: number }[];
}

/** Announces of one store, paired. */
export interface PairedAnnounces extends PairedSamples {
  /** CPU time per announce, pooled. */
  cpu: { small: Percentiles; large: Percentiles; ratio: number };
  /** Timed announces that rewrote the base trees (compacted the delta inline, past its hard cap), per size. */
  base_updates: { small: number; large: number };
  /** The compactor's runs between the announces (outside their timed calls), pooled per size. */
  compactor: { small: CompactorReport; large: CompactorReport };
  errors: string[];
}

/** What {@link measureGrowth} reports. */
export interface GrowthReport {
  sizes: [number, number];
  blocks: number;
  first_query: PairedSamples | { error: string };
  announce: { fs: PairedAnnounces | { error: string }; s3: PairedAnnounces | { error: string } };
}

const failed = (err: unknown) => ({ error: err instanceof Error ? err.message : String(err) });

/** The order of blocks: A B B A A B B A … (`blocks` of each). */
export function blockOrder<T>(a: T, b: T, blocks: number): T[] {
  if (!Number.isInteger(blocks) || blocks < 2 || blocks % 2 !== 0) throw new TypeError(`"blocks" option must be an even integer ≥ 2, got ${String(blocks)}`);
  const order: T[] = [];
  for (let k = 0; k < blocks; k++) order.push(...(k % 2 === 0 ? [a, b] : [b, a]));
  return order;
}

/** Pools per-block samples of two sizes. */
function pair(runs: { packages: number; samples: number[] }[], small: number, large: number): PairedSamples {
  const pooled = (packages: number) => percentiles(runs.filter((r) => r.packages === packages).flatMap((r) => r.samples));
  const s = pooled(small);
  const l = pooled(large);
  return { small: s, large: l, ratio: round(l.p50 / s.p50), blocks: runs.map((r) => ({ packages: r.packages, p50: percentiles(r.samples).p50, n: r.samples.length })) };
}

/**
 * Measures the first-query and announce growth between two registries in alternating blocks.
 * Each part that fails is reported as `{ error }` and the others still run.
 */
export async function measureGrowth(options: GrowthOptions): Promise<GrowthReport> {
  const { small, large, blocks } = options;
  const log = options.log ?? (() => {});
  const order = blockOrder(small, large, blocks);
  if (small.plan.length < blocks * options.announcesPerBlock || large.plan.length < blocks * options.announcesPerBlock) {
    throw new TypeError(`each side's plan must hold blocks × announcesPerBlock = ${blocks * options.announcesPerBlock} announces`);
  }
  if (options.announcesPerBlock < 2) throw new TypeError(`"announcesPerBlock" option must be ≥ 2 (one warm-up, one timed), got ${options.announcesPerBlock}`);
  const report: GrowthReport = {
    sizes: [small.packages, large.packages],
    blocks,
    first_query: { error: 'not run' },
    announce: { fs: { error: 'not run' }, s3: { error: 'not run' } },
  };

  // 1. First queries: one server per registry, in this process, each visitor a fresh process.
  log(`growth: first queries, ${small.packages} and ${large.packages} packages in alternating blocks`);
  const servers: LocalServer[] = [];
  try {
    const urls = new Map<GrowthSide, string>();
    for (const side of [small, large]) {
      const store = new FsStore(side.root);
      const server = await startLocalServer({ store, port: 0, readsOnly: true });
      servers.push(server);
      await writeBenchConfig(store, server.url);
      urls.set(side, server.url);
    }
    const runs: { packages: number; samples: number[] }[] = [];
    for (const side of order) {
      const r = await firstQueriesInVisitor({ baseUrl: urls.get(side)!, workload: side.workload, perClass: options.firstQueriesPerClass, roundTripMs: 0 });
      runs.push({ packages: side.packages, samples: r.ms_samples });
    }
    report.first_query = pair(runs, small.packages, large.packages);
  } catch (err) {
    report.first_query = failed(err);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }

  // 2. Announces on the filesystem: a fresh hard-link copy of each registry, blocks alternating.
  log('growth: announces on fs, alternating blocks');
  const reads = new Map<GrowthSide, Set<string>>([[small, new Set()], [large, new Set()]]);
  const copies = new Map<GrowthSide, string>();
  const slice = (side: GrowthSide, index: number) => side.plan.slice(index * options.announcesPerBlock, (index + 1) * options.announcesPerBlock);
  const runBlocks = async (store: (side: GrowthSide) => Parameters<typeof measureAnnounces>[0]['store'], onRun?: (side: GrowthSide, run: AnnounceRun) => void): Promise<PairedAnnounces> => {
    const made = new Map<GrowthSide, number>([[small, 0], [large, 0]]);
    const runs: { packages: number; samples: AnnounceRun['samples']; compactions: AnnounceRun['compactions'] }[] = [];
    const errors: string[] = [];
    for (const side of order) {
      const index = made.get(side)!;
      made.set(side, index + 1);
      const run = await measureAnnounces({ store: store(side), plan: slice(side, index), compact: true });
      onRun?.(side, run);
      errors.push(...run.report.errors);
      runs.push({ packages: side.packages, samples: run.samples, compactions: run.compactions });
    }
    const wall = pair(runs.map((r) => ({ packages: r.packages, samples: r.samples.map((x) => x.ms) })), small.packages, large.packages);
    const cpu = pair(runs.map((r) => ({ packages: r.packages, samples: r.samples.map((x) => x.cpu_ms) })), small.packages, large.packages);
    const bases = (packages: number) => runs.filter((r) => r.packages === packages).reduce((a, r) => a + r.samples.filter((x) => x.base_update).length, 0);
    const compactions = (packages: number) => summariseCompactions(runs.filter((r) => r.packages === packages).flatMap((r) => r.compactions));
    return {
      ...wall,
      cpu: { small: cpu.small, large: cpu.large, ratio: cpu.ratio },
      base_updates: { small: bases(small.packages), large: bases(large.packages) },
      compactor: { small: compactions(small.packages), large: compactions(large.packages) },
      errors,
    };
  };
  try {
    for (const side of [small, large]) {
      const copy = join(options.work, `growth-${side.packages}`);
      await hardLinkCopy(side.root, copy);
      copies.set(side, copy);
    }
    report.announce.fs = await runBlocks(
      (side) => ({ type: 'fs', root: copies.get(side)! }),
      (side, run) => run.reads.forEach((k) => reads.get(side)!.add(k)),
    );
  } catch (err) {
    report.announce.fs = failed(err);
    report.announce.s3 = { error: 'not run: the filesystem blocks (whose reads make the S3 working set) failed' };
    return report;
  }

  // 3. The same announces on S3, each bucket prefix given what the filesystem blocks read.
  log('growth: announces on s3, alternating blocks');
  try {
    const prefix = (side: GrowthSide) => `growth-${side.packages}/`;
    for (const side of [small, large]) await uploadWorkingSet(new FsStore(side.root), options.s3.makeStore(prefix(side)), reads.get(side)!);
    report.announce.s3 = await runBlocks((side) => ({ type: 's3', endpoint: options.s3.endpoint, bucket: options.s3.bucket, prefix: prefix(side), ...S3RVER_CREDENTIALS }));
  } catch (err) {
    report.announce.s3 = failed(err);
  }
  return report;
}
