/**
 * The announce function's cold start: the size of the bundle Lambda would run (built with the
 * project's own `scripts/build-lambda.ts` into a temporary folder), and the time from a fresh
 * Node process to its first handled event.
 *
 * Each run starts `node` on a small driver that imports the bundle — which, like Lambda's INIT,
 * reads the configuration, opens and probes the S3 store (the local S3-compatible server) and
 * creates the token verifier — and hands it one real announce (real token, real release asset on
 * the loopback fake of GitHub, so the JWKS is fetched cold too). Every run publishes to a fresh
 * empty prefix, so this measures start-up, not registry size (that is the announce table's job).
 * The function signs with a KMS key, here on a loopback fake of KMS: INIT reads its public key,
 * and the announce signs two or three payloads (a real KMS adds a network round trip to each).
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildLambda } from '../scripts/build-lambda.ts';
import type { FakeGitHub } from '../test/fakes/fake-github.ts';
import { startFakeKms } from '../test/fakes/fake-kms.ts';
import type { TestS3Server } from '../test/helpers/s3-server.ts';
import type { PlannedAnnounce } from './announce-plan.ts';
import { prepareAnnounceEvent } from './lib/announce-event.ts';
import { now, percentiles, round, type Percentiles } from './lib/stats.ts';

/** The cold-start report. */
export interface ColdStartReport {
  bundle_bytes: number;
  zip_bytes: number;
  /** Largest contributors to the bundle, bytes. */
  bundle_parts: [string, number][];
  build_ms: number;
  runs: number;
  /** `import()` of the bundle: module evaluation plus INIT (config, store probe, verifier), ms. */
  import_ms: Percentiles;
  /** The first event, from handler call to response (cold JWKS fetch included), ms. */
  first_event_ms: Percentiles;
  /** From process start (Node's time origin) to the first response, ms. */
  process_to_response_ms: Percentiles;
  /** Measured by the parent: spawn to exit, ms. */
  spawn_to_exit_ms: Percentiles;
  max_rss_mib: Percentiles;
  statuses: number[];
}

/** Options of {@link measureColdStart}. */
export interface ColdStartOptions {
  github: FakeGitHub;
  s3: TestS3Server;
  /** Announces to publish, one per run (their names must be distinct). */
  announces: PlannedAnnounce[];
}

// Peak RSS from VmHWM, not getrusage: see peakRss in lib/stats.ts (the driver runs without tsx).
const DRIVER = `
import { readFileSync } from 'node:fs';
const peak = () => { try { return Number(/^VmHWM:\\s+(\\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; } catch { return process.resourceUsage().maxRSS * 1024; } };
const t0 = performance.now();
const { handler } = await import(process.env.SHELF_BENCH_BUNDLE);
const t1 = performance.now();
const res = await handler(JSON.parse(process.env.SHELF_BENCH_EVENT));
const t2 = performance.now();
console.log('BENCH ' + JSON.stringify({ status: res.statusCode, body: res.statusCode >= 300 ? res.body : undefined, import_ms: t1 - t0, first_event_ms: t2 - t1, since_start_ms: t2, max_rss: peak() }));
`;

/** Builds the bundle and times one cold start per planned announce. */
export async function measureColdStart(options: ColdStartOptions): Promise<ColdStartReport> {
  const { github, s3, announces } = options;
  if (announces.length === 0) throw new TypeError('"announces" option must not be empty');
  const outDir = mkdtempSync(join(tmpdir(), 'shelf-bench-lambda-'));
  const kms = await startFakeKms();
  try {
    let t = now();
    const built = await buildLambda({ outDir });
    const buildMs = now() - t;
    const runs: { import_ms: number; first_event_ms: number; since_start_ms: number; max_rss: number; status: number; wall: number }[] = [];
    for (const [i, p] of announces.entries()) {
      const prefix = `cold-${i}-${Date.now()}/`;
      const event = await prepareAnnounceEvent(github, p, `bench-cold-${i}`);
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        ...s3.env(prefix),
        SHELF_AUDIENCE: github.audience,
        SHELF_OIDC_ISSUER: github.issuer,
        SHELF_OIDC_JWKS_URL: github.jwksUrl,
        SHELF_GITHUB_API_URL: github.url,
        SHELF_SIGNING_KMS_KEY_ID: kms.createKey(),
        AWS_ENDPOINT_URL_KMS: kms.url,
        SHELF_BENCH_BUNDLE: pathToFileURL(built.bundleFile).href,
        SHELF_BENCH_EVENT: JSON.stringify(event),
      };
      t = now();
      const out = await runNode(['--input-type=module', '-e', DRIVER], env);
      const wall = now() - t;
      const line = out.split('\n').find((l) => l.startsWith('BENCH '));
      if (!line) throw new Error(`cold-start run ${i} printed no result: ${out.slice(-500)}`);
      const r = JSON.parse(line.slice(6)) as (typeof runs)[number] & { body?: string };
      if (r.status >= 300) throw new Error(`cold-start announce ${p.name} answered ${r.status}: ${r.body}`);
      runs.push({ ...r, wall });
    }
    return {
      bundle_bytes: built.bundleBytes,
      zip_bytes: built.zipBytes,
      bundle_parts: built.contributions.slice(0, 6),
      build_ms: round(buildMs),
      runs: runs.length,
      import_ms: percentiles(runs.map((r) => r.import_ms)),
      first_event_ms: percentiles(runs.map((r) => r.first_event_ms)),
      process_to_response_ms: percentiles(runs.map((r) => r.since_start_ms)),
      spawn_to_exit_ms: percentiles(runs.map((r) => r.wall)),
      max_rss_mib: percentiles(runs.map((r) => r.max_rss / 1048576)),
      statuses: runs.map((r) => r.status),
    };
  } finally {
    await kms.close();
    rmSync(outDir, { recursive: true, force: true });
  }
}

function runNode(args: string[], env: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`cold-start process exited with ${code}: ${err.trim().slice(-600)}`));
    });
  });
}
