/**
 * Full-rebuild throughput: runs the real rebuild (`src/registry/rebuild.ts`) in a fresh child
 * process over a bucket that holds only the records (version documents), so it derives and
 * writes every package document, badge, scope record, the sharded search index and the recent
 * list, as after a disaster. The rebuild's own `concurrency` option says
 * how many files it writes at once. A fresh process also means the filesystem store starts with no cached ETags,
 * as a `rebuild` command would.
 *
 * The worker reports its progress as it goes, so a rebuild stopped at the time limit still
 * yields a measured rate (and says it was stopped).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { FsStore } from '../src/store/fs-store.ts';
import { rebuild } from '../src/registry/rebuild.ts';
import { TSX_IMPORT } from './lib/node.ts';
import { peakRss, round } from './lib/stats.ts';

/** Phases of a rebuild, in order, by the key of the file written. */
export const REBUILD_PHASES = ['packages', 'scopes', 'search', 'recent'] as const;

/** The rebuild report. */
export interface RebuildReport {
  /** The rebuild's `concurrency` option. */
  concurrency: number;
  /** True when the rebuild ran to the end within the time limit. */
  completed: boolean;
  packages: number;
  /** Derived files done (written or found right), and how many the rebuild planned. */
  files_done: number;
  files_total: number;
  files_changed: number;
  elapsed_ms: number;
  /** Packages per second over the whole rebuild; null when it was stopped. */
  packages_per_s: number | null;
  /** Package documents per second during the package phase (listing the bucket included): known even when stopped. */
  package_phase_per_s: number;
  /** Duration of each phase that finished, ms. */
  phases_ms: Partial<Record<(typeof REBUILD_PHASES)[number], number>>;
  max_rss_mib: number | null;
  /** CPU time of the rebuild process, ms (completed runs). */
  cpu_ms: number | null;
}

/** Which phase a derived key belongs to. */
export function phaseOf(key: string): (typeof REBUILD_PHASES)[number] {
  if (key.startsWith('v1/scopes/')) return 'scopes';
  if (key.startsWith('v1/catalog/recent')) return 'recent';
  if (key.startsWith('v1/search/')) return 'search';
  return 'packages';
}

/** Options of {@link measureRebuild}. */
export interface MeasureRebuildOptions {
  /** The rebuild's `concurrency` option. Default 32. */
  concurrency?: number;
}

/** Runs the rebuild of the bucket at `root` in a child process, stopping it after `timeoutMs`. */
export function measureRebuild(root: string, packages: number, timeoutMs: number, options: MeasureRebuildOptions = {}): Promise<RebuildReport> {
  const concurrency = options.concurrency ?? 32;
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--max-old-space-size=8192', ...TSX_IMPORT, new URL(import.meta.url).pathname, root, String(concurrency)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const report: RebuildReport = {
      concurrency,
      completed: false,
      packages,
      files_done: 0,
      files_total: 0,
      files_changed: 0,
      elapsed_ms: 0,
      packages_per_s: null,
      package_phase_per_s: 0,
      phases_ms: {},
      max_rss_mib: null,
      cpu_ms: null,
    };
    // Each file's time since the previous one is its phase's: phases may interleave, so durations
    // are summed, not taken from first and last timestamps.
    const phaseTimes = new Map<string, number>();
    let lastAt = 0;
    let packagePhaseEnd = 0;
    let packageDone = 0;
    let buffer = '';
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        const [tag, ...rest] = line.split(' ');
        if (tag === 'progress') {
          const [done, total, changed, ms, key] = rest as [string, string, string, string, string];
          report.files_done = Number(done);
          report.files_total = Number(total);
          report.files_changed += changed === '1' ? 1 : 0;
          const phase = phaseOf(key);
          phaseTimes.set(phase, (phaseTimes.get(phase) ?? 0) + Number(ms) - lastAt);
          lastAt = Number(ms);
          if (phase === 'packages') {
            packageDone++;
            packagePhaseEnd = Number(ms);
          }
        } else if (tag === 'done') {
          report.completed = true;
          report.elapsed_ms = Number(rest[0]);
          report.max_rss_mib = round(Number(rest[1]) / 1048576);
          report.cpu_ms = round(Number(rest[2]));
        }
      }
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!report.completed && code !== null && code !== 0) return reject(new Error(`rebuild worker failed (exit ${code}): ${stderr.trim().slice(-600)}`));
      if (!report.completed) report.elapsed_ms = performance.now() - started;
      for (const phase of REBUILD_PHASES) {
        const time = phaseTimes.get(phase);
        if (time !== undefined) report.phases_ms[phase] = round(time);
      }
      if (report.completed) report.packages_per_s = round(packages / (report.elapsed_ms / 1000));
      if (packagePhaseEnd > 0) report.package_phase_per_s = round(packageDone / (packagePhaseEnd / 1000));
      report.elapsed_ms = round(report.elapsed_ms);
      resolve(report);
    });
  });
}

/**
 * The worker: `rebuild.ts <root> <concurrency>`, printing
 * `progress <done> <total> <changed> <ms> <key>` lines and `done <ms> <maxRSS bytes> <cpu ms>`.
 */
async function worker(root: string, concurrency: number): Promise<void> {
  const t0 = performance.now();
  const write = (line: string) => process.stdout.write(`${line}\n`);
  await rebuild(new FsStore(root), {
    concurrency,
    onProgress: (p) => write(`progress ${p.done} ${p.total} ${p.changed ? 1 : 0} ${Math.round(performance.now() - t0)} ${p.key}`),
  });
  const usage = process.resourceUsage();
  write(`done ${Math.round(performance.now() - t0)} ${peakRss()} ${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)}`);
}

if (process.argv[1] === new URL(import.meta.url).pathname && process.argv[2]) {
  worker(process.argv[2], Number(process.argv[3] ?? 8)).then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
