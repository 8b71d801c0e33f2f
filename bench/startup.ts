/**
 * Start-up of the installed command line (issue 26): the time from spawning `shelf` to its exit,
 * side by side with a bare `node -e ""` in the same run, for `shelf --help` and for
 * `shelf search <word>` against a local registry with the documents already in the CLI's cache
 * (so the search revalidates the config and the index root with two 304s, and reads the index
 * pieces, immutable, from the cache), and the same search `--offline`.
 *
 * The commands are timed in interleaved rounds (bare, help, search, offline, bare, help, …), one
 * process at a time, so a slow spell of this shared machine hits every command alike; the goals
 * compare medians. Each command runs once before the rounds (Node.js 22 fills its compile cache
 * then). The same rounds are repeated with every extra Node.js binary given, e.g. Node.js 22:
 * `SHELF_BENCH_NODES=/path/to/node22 npm run bench`.
 *
 * Before and after, in one run: given another build's tarball (`--baseline <tarball>` when this
 * section runs alone, `SHELF_BENCH_BASELINE=<tarball>` in the full bench), that build is
 * installed beside this one and its three commands join the same interleaved rounds. The section
 * also reports the code the web search page loads (its script and preloads, brotli) of each
 * installed build (`dist/www/index.html`), for issue 28's goal 2.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { pageCode, type PageCode } from './lib/page-code.ts';
import { percentiles, round, type Percentiles } from './lib/stats.ts';

/** The commands timed, by name. */
export const STARTUP_COMMANDS = ['bare', 'help', 'search', 'offline'] as const;
export type StartupCommand = (typeof STARTUP_COMMANDS)[number];

/** The commands of a baseline build timed in the same rounds (`--baseline`). */
export const BASELINE_COMMANDS = ['help', 'search', 'offline'] as const;
export type BaselineCommand = (typeof BASELINE_COMMANDS)[number];

/** The goals: a command's median may exceed bare Node's by at most this many ms. */
export const STARTUP_GOALS_MS: Partial<Record<StartupCommand, number>> = { help: 80, search: 150 };

/** Timings with one Node.js binary. */
export interface StartupRun {
  node: string;
  /** `process.version` of that binary. */
  version: string;
  rounds: number;
  /** Spawn to exit, ms, per command. */
  ms: Record<StartupCommand, Percentiles>;
  /** Median minus bare Node's median, ms, per command. */
  over_bare_ms: Record<StartupCommand, number>;
  /** The baseline build's commands, timed in the same rounds. */
  baseline?: { ms: Record<BaselineCommand, Percentiles>; over_bare_ms: Record<BaselineCommand, number> };
  load_average: { start: number[]; end: number[] };
}

/** An installed build as the report describes it. */
export interface StartupBuild {
  tarball_bytes: number;
  installed_bytes: number;
  /** The code its web search page loads (`dist/www/index.html`); absent when it has none. */
  page_code?: PageCode;
}

/** The start-up report. */
export interface StartupReport {
  /** The word searched for. */
  query: string;
  /** Bytes of the tarball `npm pack` wrote, and of the installed package (`lib/node_modules`). */
  tarball_bytes: number;
  installed_bytes: number;
  /** Folders `npm install -g` put in `lib/node_modules` (the package alone: it has no dependencies). */
  installed: string[];
  /** The code this build's web search page loads. */
  page_code?: PageCode;
  /** The build compared with (`--baseline`): its tarball's name and sizes. */
  baseline?: StartupBuild & { tarball: string };
  runs: StartupRun[];
}

/** Options of {@link measureStartup}. */
export interface StartupOptions {
  /** The installed command's JavaScript entry (`<prefix>/lib/node_modules/shelf-cli/bin/shelf.js`). */
  bin: string;
  /** The registry searched; its documents are cached before the rounds. */
  registryUrl: string;
  /** A word that finds something in it. */
  query: string;
  tarballBytes: number;
  installedBytes: number;
  installed: string[];
  /** Rounds per Node.js binary. */
  rounds: number;
  /** Node.js binaries; default this process's. */
  nodes?: string[];
  /** Another installed build's JavaScript entry, timed in the same rounds. */
  baselineBin?: string;
  log?: (message: string) => void;
}

/**
 * Times the installed command line against bare Node.js.
 *
 * @throws Error when a command fails (its output is in the message).
 */
export async function measureStartup(options: StartupOptions): Promise<StartupReport> {
  const nodes = options.nodes ?? [process.execPath];
  const cache = mkdtempSync(join(tmpdir(), 'shelf-bench-startup-'));
  try {
    const env = { PATH: process.env.PATH ?? '', HOME: cache, SHELF_CACHE_DIR: join(cache, 'cache'), SHELF_REGISTRY: options.registryUrl };
    const args: Record<StartupCommand, string[]> = {
      bare: ['-e', ''],
      help: [options.bin, '--help'],
      search: [options.bin, 'search', options.query],
      offline: [options.bin, 'search', options.query, '--offline'],
    };
    const base = options.baselineBin;
    const baseArgs: Record<BaselineCommand, string[]> | null = base
      ? { help: [base, '--help'], search: [base, 'search', options.query], offline: [base, 'search', options.query, '--offline'] }
      : null;
    // Every command of a round, this build's and the baseline's interleaved.
    const timedCommands: Array<{ name: string; args: string[] }> = [
      ...STARTUP_COMMANDS.map((c) => ({ name: c, args: args[c] })),
      ...(baseArgs ? BASELINE_COMMANDS.map((c) => ({ name: `baseline ${c}`, args: baseArgs[c] })) : []),
    ];
    const runs: StartupRun[] = [];
    for (const node of nodes) {
      const version = (await timed(node, ['-p', 'process.version'], env)).stdout.trim();
      options.log?.(`start-up with Node.js ${version}: ${options.rounds} rounds${base ? ', this build and the baseline' : ''}`);
      const start = loadavg().map(round);
      for (const command of timedCommands) await timed(node, command.args, env); // warm-up: caches filled
      const samples = new Map(timedCommands.map((c) => [c.name, [] as number[]]));
      for (let i = 0; i < options.rounds; i++) {
        for (const command of timedCommands) samples.get(command.name)!.push((await timed(node, command.args, env)).ms);
      }
      const ms = Object.fromEntries(STARTUP_COMMANDS.map((c) => [c, percentiles(samples.get(c)!)])) as Record<StartupCommand, Percentiles>;
      const over = Object.fromEntries(STARTUP_COMMANDS.map((c) => [c, round(ms[c].p50 - ms.bare.p50)])) as Record<StartupCommand, number>;
      const run: StartupRun = { node, version, rounds: options.rounds, ms, over_bare_ms: over, load_average: { start, end: loadavg().map(round) } };
      if (baseArgs) {
        const baseMs = Object.fromEntries(BASELINE_COMMANDS.map((c) => [c, percentiles(samples.get(`baseline ${c}`)!)])) as Record<BaselineCommand, Percentiles>;
        run.baseline = { ms: baseMs, over_bare_ms: Object.fromEntries(BASELINE_COMMANDS.map((c) => [c, round(baseMs[c].p50 - ms.bare.p50)])) as Record<BaselineCommand, number> };
      }
      runs.push(run);
    }
    return { query: options.query, tarball_bytes: options.tarballBytes, installed_bytes: options.installedBytes, installed: options.installed, runs };
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
}

/** Spawns one process and times it from spawn to exit. @throws Error when it fails. */
function timed(node: string, args: string[], env: Record<string, string>): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(node, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let ms = 0;
    child.on('error', reject);
    // Timed at exit; answered once its output is all read.
    child.on('exit', () => (ms = performance.now() - started));
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`${node} ${args.join(' ')} exited with ${code}: ${stderr.trim().slice(0, 500)}`));
      else resolve({ ms, stdout });
    });
  });
}

/**
 * The start-up section of `npm run bench`: packs and installs the package into a temporary prefix
 * (`scripts/install-package.ts`), starts a registry as `npm start` does (development mode, the
 * examples seeded through the announce path), and times the installed command against it.
 */
export async function benchStartup(options: { quick: boolean; log: (message: string) => void; baseline?: string }): Promise<StartupReport> {
  const { installTarball, packAndInstall } = await import('../scripts/install-package.ts');
  const { startRegistryServer } = await import('../src/server/registry-server.ts');
  const { seedExamples } = await import('../src/dev/seed.ts');
  const { FsStore } = await import('../src/store/fs-store.ts');
  const baselineTarball = options.baseline ?? (process.env.SHELF_BENCH_BASELINE || undefined);
  const work = mkdtempSync(join(tmpdir(), 'shelf-bench-package-'));
  const server = await startRegistryServer({ store: new FsStore(join(work, 'data')), dev: true, port: 0 });
  try {
    options.log('  npm pack, npm install -g into a temporary prefix; a registry seeded as npm start seeds it');
    const [installed] = await Promise.all([packAndInstall(work), seedExamples(server.url, server.dev!, server.config.audience)]);
    const baseline = baselineTarball ? await installTarball(resolve(baselineTarball), join(work, 'baseline')) : null;
    if (baseline) options.log(`  baseline: ${baselineTarball} installed beside it`);
    const extra = (process.env.SHELF_BENCH_NODES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const report = await measureStartup({
      bin: join(installed.packageDir, 'bin', 'shelf.js'),
      ...(baseline ? { baselineBin: join(baseline.packageDir, 'bin', 'shelf.js') } : {}),
      registryUrl: server.url,
      query: 'echo',
      tarballBytes: installed.tarballBytes,
      installedBytes: installed.installedBytes,
      installed: installed.installed,
      rounds: options.quick ? 15 : 41,
      nodes: [process.execPath, ...extra],
      log: (m) => options.log(`  ${m}`),
    });
    const code = await installedPageCode(installed.packageDir);
    if (code) report.page_code = code;
    if (baseline) {
      const baseCode = await installedPageCode(baseline.packageDir);
      report.baseline = { tarball: basename(baselineTarball!), tarball_bytes: baseline.tarballBytes, installed_bytes: baseline.installedBytes, ...(baseCode ? { page_code: baseCode } : {}) };
    }
    return report;
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

/** The code the web search page of an installed package loads (its `dist/www/index.html`), or null when it has none. */
async function installedPageCode(packageDir: string): Promise<PageCode | null> {
  const www = join(packageDir, 'dist', 'www');
  const html = await readFile(join(www, 'index.html'), 'utf8').catch(() => null);
  return html === null ? null : pageCode(html, (key) => readFile(join(www, key)));
}

// `npx tsx bench/startup.ts [--quick] [--baseline <tarball>] [--json <file>]`: this section alone,
// printed as Markdown (the full bench runs it as one of its sections); `--json` also writes the
// report. Not a top-level await: report.ts imports this module.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void (async () => {
    const { parseArgs } = await import('node:util');
    const { values } = parseArgs({ options: { quick: { type: 'boolean' }, baseline: { type: 'string' }, json: { type: 'string' } }, strict: true });
    const { renderStartupSection } = await import('./report.ts');
    const report = await benchStartup({ quick: values.quick === true, log: (m) => console.error(m), ...(values.baseline ? { baseline: values.baseline } : {}) });
    if (values.json) (await import('node:fs')).writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(renderStartupSection(report));
  })();
}
