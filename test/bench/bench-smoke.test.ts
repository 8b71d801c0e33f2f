/**
 * Keeps the benchmark from rotting: runs the generators and every measurement path once on a
 * tiny registry (50 packages). Asserts shapes, determinism and
 * consistency — never speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateManifest } from '../../src/announce/validate-metadata.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { packageKey, recentKey, retiredLayoutKeys, shardedRootKey } from '../../src/core/paths.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { readShardedCatalog, readShardedRoot } from '../../src/search/write/publish.ts';
import { encodeJson } from '../../src/store/json-documents.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { startFakeGitHub, type FakeGitHub } from '../fakes/fake-github.ts';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { planAnnounces } from '../../bench/announce-plan.ts';
import { measureAnnounces, summarise, uploadWorkingSet } from '../../bench/announce.ts';
import { summariseWrites } from '../../bench/announce-worker.ts';
import { measureColdStart } from '../../bench/cold-start.ts';
import { generateCorpus, manifestFor, type Corpus } from '../../bench/corpus.ts';
import { ENGINES } from '../../bench/engines.ts';
import { buildCatalog } from '../../bench/lib/reference.ts';
import { loadRegistry } from '../../bench/load.ts';
import { Random, Zipf } from '../../bench/lib/random.ts';
import { labelledQueries, LABEL_TYPES, misspell, QUERY_CLASSES, workloads } from '../../bench/queries.ts';
import { measureRebuild } from '../../bench/rebuild.ts';
import { goalRows, renderMarkdown, splitRankings, type BenchResult } from '../../bench/report.ts';
import { fillDelta, parseArgs } from '../../bench/run.ts';
import { agreement, measureEngines, measureShelfSearch, MODELLED_ROUND_TRIP_MS } from '../../bench/search.ts';
import { hardLinkCopy } from '../../bench/lib/snapshot.ts';
import { blockOrder, measureGrowth, type GrowthReport } from '../../bench/growth.ts';
import type { SizeResult } from '../../bench/report.ts';

const SIZE = 50;
let dir: string;
let corpus: Corpus;
let root: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-bench-smoke-'));
  corpus = generateCorpus({ packages: SIZE, seed: 3 });
  root = join(dir, 'full');
  await loadRegistry(new FsStore(root, { durable: false }), corpus);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('generators', () => {
  it('the same seed gives the same corpus, another seed another one', () => {
    expect(generateCorpus({ packages: SIZE, seed: 3 })).toEqual(corpus);
    expect(generateCorpus({ packages: SIZE, seed: 4 }).packages.map((p) => p.name)).not.toEqual(corpus.packages.map((p) => p.name));
  });

  it('generates valid, distinct packages with 1–40 tools and valid MCPB manifests for every version', () => {
    expect(new Set(corpus.packages.map((p) => p.name)).size).toBe(SIZE);
    for (const p of corpus.packages) {
      const name = parsePackageName(p.name);
      expect(p.tools.length).toBeGreaterThanOrEqual(1);
      expect(p.tools.length).toBeLessThanOrEqual(40);
      expect(p.versions.length).toBeGreaterThanOrEqual(1);
      expect(corpus.scopes.get(p.scope)).toBe(p.ownerId);
      for (const v of p.versions) expect(() => validateManifest(manifestFor(p, v.version), name, parseVersion(v.version))).not.toThrow();
    }
  });

  it('rejects invalid options by name', () => {
    expect(() => generateCorpus({ packages: 0 })).toThrow(/"packages" option/);
    expect(() => new Zipf(0)).toThrow(/"n"/);
    expect(() => new Random(1.5)).toThrow(/"seed"/);
  });

  it('generates deterministic workloads and labelled queries whose targets exist', () => {
    const w = workloads(corpus, 10);
    expect(workloads(corpus, 10)).toEqual(w);
    for (const c of QUERY_CLASSES) expect(w[c]).toHaveLength(10);
    const labelled = labelledQueries(corpus, 5);
    expect(labelledQueries(corpus, 5)).toEqual(labelled);
    const names = new Set(corpus.packages.map((p) => p.name));
    for (const q of labelled) {
      expect(LABEL_TYPES).toContain(q.type);
      expect(names.has(q.target)).toBe(true);
    }
    expect(labelled.some((q) => q.type === 'name')).toBe(true);
  });

  it('misspells a word by exactly one edit when asked for a single edit', () => {
    const random = new Random(1);
    for (let i = 0; i < 50; i++) {
      const typo = misspell('registry', random, true);
      expect(typo).not.toBe('registry');
      expect(typo[0]).toBe('r');
      expect(Math.abs(typo.length - 'registry'.length)).toBeLessThanOrEqual(1);
    }
  });
});

describe('bulk load', () => {
  it('writes exactly what the real rebuild derives: a rebuild of the loaded registry changes nothing', async () => {
    const result = await rebuild(new FsStore(root));
    expect(result.changed).toEqual([]);
    expect(result.packages).toBe(SIZE);
  });

  it('writes no file of the retired single layout', async () => {
    const keys = (await new FsStore(root).list('v1/')).map((o) => o.key);
    expect(keys.filter((k) => k.startsWith('v1/catalog/'))).toEqual([recentKey()]);
    for (const key of retiredLayoutKeys('bundle')) expect(keys).not.toContain(key);
  });

  it('refuses contradictory options and an invalid durable flag', async () => {
    await expect(loadRegistry(new FsStore(join(dir, 'x')), corpus, { records: false, derived: false })).rejects.toThrow(/"records" and "derived"/);
    expect(() => new FsStore(join(dir, 'y'), { durable: 'no' as never })).toThrow(/"durable" option/);
  });
});

describe('measurements on a tiny registry', () => {
  let s3: TestS3Server;
  let github: FakeGitHub;
  beforeAll(async () => {
    s3 = await startS3Server();
    github = await startFakeGitHub('https://shelf.bench');
  });
  afterAll(async () => {
    await github?.close();
    await s3?.close();
  });

  it('every engine builds, loads from its serialised form and finds a package by its distinctive name word', async () => {
    const store = new FsStore(root);
    const catalog = buildCatalog('bundle', await readShardedCatalog(store, 'bundle', (await readShardedRoot(store, 'bundle'))!.root));
    expect(catalog.packages).toHaveLength(SIZE);
    const catalogJson = new TextDecoder().decode(encodeJson(catalog));
    const obvious = labelledQueries(corpus, 3).find((q) => q.type === 'name')!;
    for (const engine of ENGINES) {
      const loaded = engine.load(engine.build(catalog, catalogJson));
      expect(loaded.search(obvious.query, 5), engine.name).toContain(obvious.target);
    }
  });

  it('measures search through the real client, counting what fresh clients download, and its agreement with the whole-index reference', async () => {
    const labelled = labelledQueries(corpus, 2);
    const report = await measureShelfSearch(new FsStore(root), {
      workload: workloads(corpus, 3),
      firstQueries: 2,
      labelled,
      corpus: corpus.packages,
      shardQueriesPerKind: 2,
      root,
    });
    if ('error' in report.sharded) throw new Error(`sharded: ${report.sharded.error}`);
    if ('error' in report.agreement) throw new Error(`agreement: ${report.agreement.error}`);
    const sharded = report.sharded;
    const shardedPaths = sharded.example.responses.map((r) => r.path);
    expect(shardedPaths).toContain('/v1/config.json');
    expect(shardedPaths).toContain(`/${shardedRootKey('bundle')}`);
    expect(sharded.all.n).toBe(2 * QUERY_CLASSES.length);
    // First queries run in a visitor process apart from the server; the in-process timing is kept beside.
    expect(sharded.pid).not.toBe(process.pid);
    expect(sharded.in_process.all.n).toBe(2 * QUERY_CLASSES.length);
    expect(Object.keys(sharded.in_process.by_class)).toEqual([...QUERY_CLASSES]);
    expect(sharded.all.gzip.max).toBeLessThan(sharded.all.raw.max);
    expect(sharded.generation.files).toBeGreaterThan(1);
    // The folder walk counts what the store lists.
    const listed = await new FsStore(root).list('v1/search/bundles/');
    expect(sharded.generation).toEqual({ files: listed.length, bytes: listed.reduce((a, o) => a + o.size, 0), root_bytes: expect.any(Number) });
    // Only the config and the root are revalidated; every other piece is immutable.
    expect(sharded.mutable.map((m) => m.path).sort()).toEqual(['/v1/config.json', `/${shardedRootKey('bundle')}`]);
    expect(sharded.immutable_responses).toBeGreaterThan(0);
    for (const c of QUERY_CLASSES) expect(sharded.latency_ms[c]!.n).toBe(3);
    // The modelled network delays every request: a first query makes at least two rounds (config, root).
    expect(sharded.modelled_network.round_trip_ms).toBe(MODELLED_ROUND_TRIP_MS);
    expect(sharded.modelled_network.all.n).toBe(2 * QUERY_CLASSES.length);
    expect(sharded.modelled_network.all.p50).toBeGreaterThanOrEqual(2 * MODELLED_ROUND_TRIP_MS);

    expect(report.agreement.labelled.n).toBe(labelled.length);
    expect(report.agreement.shard_queries.n).toBe(8);
    expect(report.agreement.sharded_top5).toHaveLength(labelled.length);
    expect(report.agreement.relevance.sharded.n).toBe(labelled.length);
    expect(report.agreement.relevance.reference.n).toBe(labelled.length);
    // On 50 packages the sharded index must rank as one whole index does.
    expect(report.agreement.labelled.top1).toBeGreaterThanOrEqual(0.9);
    expect(agreement([{ name: 'a' }, { name: 'b' }], [{ name: 'a' }, { name: 'c' }])).toEqual({ top1: true, top5: 0.5 });
  });

  it('runs an engine worker and reports bytes, load, latency and relevance', async () => {
    const labelled = labelledQueries(corpus, 2);
    const [outcome] = await measureEngines({ root, workload: workloads(corpus, 2), labelled, queryBudgetMs: 5000, loadRepeats: 1, timeoutMs: 60_000, engines: ['substring'] });
    if (!outcome || 'error' in outcome) throw new Error(`engine worker failed: ${JSON.stringify(outcome)}`);
    expect(outcome.bytes.total_raw).toBeGreaterThan(0);
    expect(outcome.relevance.n).toBe(labelled.length);
    const { engines, rankings } = splitRankings([outcome]);
    expect(rankings.substring).toHaveLength(labelled.length);
    expect(engines[0]).not.toHaveProperty('top5');
  });

  it('rebuilds a records-only registry in a worker and reports its rate', async () => {
    const recordsOnly = join(dir, 'records');
    await loadRegistry(new FsStore(recordsOnly, { durable: false }), corpus, { derived: false });
    const report = await measureRebuild(recordsOnly, SIZE, 60_000, { concurrency: 16 });
    expect(report.completed).toBe(true);
    expect(report).toMatchObject({ concurrency: 16 });
    expect(report.files_changed).toBeGreaterThanOrEqual(SIZE);
    expect(report.packages_per_s).toBeGreaterThan(0);
    expect(report.package_phase_per_s).toBeGreaterThan(0);
    expect(Object.keys(report.phases_ms)).toEqual(expect.arrayContaining(['packages', 'scopes', 'search', 'recent']));
    expect(await new FsStore(recordsOnly).head(shardedRootKey('bundle'))).not.toBeNull();
  });

  it('times real announces through the handler, on a hard-link copy and on S3 with the working set it read', async () => {
    const plan = planAnnounces(corpus, 3);
    expect(plan.map((p) => p.kind)).toEqual(['new-version', 'new-package', 'new-scope']);
    const copy = join(dir, 'run');
    // A delta two short of delta_max: the warm-up and the first timed announce fill it, and the compactor runs after the latter.
    const delta = (await readShardedRoot(new FsStore(root), 'bundle'))!.root.policy.delta_max! - 2;
    expect(await fillDelta(new FsStore(root, { durable: false }), corpus.packages.map((p) => p.name), delta)).toBe(delta);
    await hardLinkCopy(root, copy);
    const rootBefore = (await new FsStore(root).get(shardedRootKey('bundle')))!.body;
    const fsRun = await measureAnnounces({ store: { type: 'fs', root: copy }, plan, warmup: 1, compact: true });
    // The copy took the writes; the registry it was copied from is untouched.
    expect((await new FsStore(root).get(shardedRootKey('bundle')))!.body).toEqual(rootBefore);
    expect(await new FsStore(root).head(packageKey('bundle', parsePackageName(plan[2]!.name)))).toBeNull();
    expect(await new FsStore(copy).head(packageKey('bundle', parsePackageName(plan[2]!.name)))).not.toBeNull();
    const upload = await uploadWorkingSet(new FsStore(root), s3.makeStore('smoke/'), fsRun.reads);
    expect(upload.objects).toBeGreaterThanOrEqual(3);
    const s3Run = await measureAnnounces({ store: { type: 's3', endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'smoke/', ...S3RVER_CREDENTIALS }, plan, warmup: 1, compact: true });
    expect(s3Run.misses.filter((k) => !fsRun.misses.includes(k))).toEqual([]);
    for (const { report } of [fsRun, s3Run]) {
      expect(report.errors).toEqual([]);
      expect(report.n).toBe(2);
      // The compactor ran once, after the first timed announce and outside it: no announce rewrote the base trees.
      expect(report.compactor).toMatchObject({ n: 1, packages: { p50: delta + 2 }, after_warmup: 0 });
      expect(report.compactor!.ms.p50).toBeGreaterThan(0);
      expect(report.compactor!.files.p50).toBeGreaterThan(2);
      expect(report.base_updates).toBe(0);
      expect(report.phases_p50_ms.search).toBeGreaterThan(0);
      expect(report.memory.max_rss_mib).toBeGreaterThan(0);
      expect(report.writes.files.p50).toBeGreaterThan(3);
      expect(report.writes.max_file_bytes).toBeGreaterThan(0);
      expect(report.writes.max_file_key).not.toMatch(/\.mcpb$/);
      for (const key of retiredLayoutKeys('bundle')) expect(report.writes.rewritten_max_key).not.toBe(key);
      // The MCP API's files: the server's own and its page in each listing.
      expect(report.writes.interop.files.p50).toBeGreaterThanOrEqual(4);
      expect(report.writes.interop.max_file_key).toMatch(/^v0\.1\//);
    }
  });

  it('measures the growth goals side by side: two registries in alternating blocks, first queries from visitor processes, announces on copies and on S3', async () => {
    const smallCorpus = generateCorpus({ packages: 30, seed: 6 });
    const smallRoot = join(dir, 'small');
    await loadRegistry(new FsStore(smallRoot, { durable: false }), smallCorpus);
    const side = (packages: number, at: string, c: Corpus) => ({ packages, root: at, workload: workloads(c, 3), plan: planAnnounces(c, 4, 89) });
    const large = side(SIZE, root, corpus);
    const report = await measureGrowth({ small: side(30, smallRoot, smallCorpus), large, work: dir, s3, blocks: 2, firstQueriesPerClass: 1, announcesPerBlock: 2 });
    expect(report.sizes).toEqual([30, SIZE]);
    const order = [30, SIZE, SIZE, 30];
    const ok = <T extends object>(x: T | { error: string }): T => {
      if ('error' in x) throw new Error(x.error);
      return x;
    };
    const first = ok(report.first_query);
    expect(first.blocks.map((b) => b.packages)).toEqual(order);
    expect([first.small.n, first.large.n]).toEqual([2 * QUERY_CLASSES.length, 2 * QUERY_CLASSES.length]);
    expect(first.ratio).toBeCloseTo(first.large.p50 / first.small.p50, 2);
    for (const store of ['fs', 's3'] as const) {
      const a = ok(report.announce[store]);
      expect(a.errors).toEqual([]);
      expect(a.blocks.map((b) => b.packages)).toEqual(order);
      // Two blocks per size, each one warm-up and one timed announce.
      expect([a.small.n, a.large.n]).toEqual([2, 2]);
      expect(a.cpu.small.p50).toBeGreaterThan(0);
    }
    // The announces went to the copies and the S3 prefixes, never to the registries measured.
    const added = parsePackageName(large.plan[1]!.name);
    expect(await new FsStore(root).head(packageKey('bundle', added))).toBeNull();
    expect(await new FsStore(join(dir, `growth-${SIZE}`)).head(packageKey('bundle', added))).not.toBeNull();
    expect(await s3.makeStore(`growth-${SIZE}/`).head(packageKey('bundle', added))).not.toBeNull();
    expect(() => blockOrder('a', 'b', 3)).toThrow(/"blocks" option/);
    await expect(measureGrowth({ small: side(30, smallRoot, smallCorpus), large, work: dir, s3, blocks: 4, firstQueriesPerClass: 1, announcesPerBlock: 2 })).rejects.toThrow(/blocks × announcesPerBlock = 8/);
  }, 180_000); // two registries, visitor processes and S3: 40–50 s measured on two busy shared cores

  it('measures a cold start of the built Lambda bundle', async () => {
    const plan = planAnnounces(generateCorpus({ packages: 5, seed: 9 }), 3, 5).filter((p) => p.kind === 'new-scope');
    const report = await measureColdStart({ github, s3, announces: plan });
    expect(report.bundle_bytes).toBeGreaterThan(10_000);
    expect(report.statuses).toEqual([201]);
    expect(report.process_to_response_ms.p50).toBeGreaterThan(report.first_event_ms.p50);
  });
});

describe('report', () => {
  it('renders every section, evaluates the goals without judging sizes it lacks, and parses its command line strictly', () => {
    const result: BenchResult = {
      schema_version: 3,
      mode: 'quick',
      started_at: '2025-01-01T00:00:00Z',
      finished_at: '2025-01-01T00:05:00Z',
      duration_s: 300,
      machine: { cpus: 2, cpu_model: 'test', node: 'v20', platform: 'linux-x64', total_memory_gib: 1, load_average_start: [1, 1, 1], load_average_end: [1, 1, 1] },
      settings: {},
      notes: ['a note'],
      cold_start: { error: 'not run' },
      sizes: [],
    };
    const md = renderMarkdown(result);
    for (const heading of ['## Issue 9 goals', '## 1. Announce latency', '### What an announce writes', '## 2. Full rebuild', '## 3. Search', '### Ranking agreement', '## 4. The same corpus', '## 5. Cold start', '## 6. Memory']) {
      expect(md).toContain(heading);
    }
    expect(goalRows(result).every((g) => g.holds === null)).toBe(true);

    // The growth rows are judged on the side-by-side measurement when the run made one.
    const paired = (small: number, large: number) => {
      const p = (p50: number) => ({ n: 4, p50, p95: p50, max: p50, mean: p50 });
      return { small: p(small), large: p(large), ratio: large / small, blocks: [] };
    };
    const compactor = (p50: number) => ({ n: 3, ms: { n: 3, p50, p95: p50, max: 2 * p50, mean: p50 }, cpu_ms: { n: 3, p50, p95: p50, max: p50, mean: p50 }, packages: { n: 3, p50: 8, p95: 8, max: 8, mean: 8 }, files: { n: 3, p50: 40, p95: 40, max: 40, mean: 40 }, after_warmup: 0 });
    const sizes = [1_000, 100_000].map((packages) => ({ packages, announce: {}, search: { error: 'not run' } }) as unknown as SizeResult);
    const growth: GrowthReport = {
      sizes: [1_000, 100_000],
      blocks: 2,
      first_query: { error: 'not run' },
      announce: {
        fs: { ...paired(10, 12), cpu: { ...paired(10, 11), ratio: 1.1 }, base_updates: { small: 0, large: 0 }, compactor: { small: compactor(200), large: compactor(900) }, errors: [] },
        s3: { ...paired(10, 16), cpu: { ...paired(10, 11), ratio: 1.1 }, base_updates: { small: 0, large: 0 }, compactor: { small: compactor(300), large: compactor(1500) }, errors: [] },
      },
    };
    const rows = goalRows({ ...result, sizes, growth });
    const row = (store: string) => rows.find((g) => g.goal.includes('Announce p50') && g.goal.includes(store))!;
    expect(row('filesystem')).toMatchObject({ holds: true, measured: expect.stringContaining('side by side: 10 ms → 12 ms (×1.2') });
    expect(row('S3')).toMatchObject({ holds: false, measured: expect.stringContaining('(×1.6') });
    expect(renderMarkdown({ ...result, growth })).toContain('## Growth, side by side');
    expect(renderMarkdown({ ...result, growth })).toContain('compactor p50 / max 300 ms / 600 ms and 1.5 s / 3 s');

    // Issue 28's compacting announce: judged on S3 at 100,000 only, with the compactor's own time beside.
    // The worker's raw timings through the real summary: 18 announces of 100 ms and two of `p95`; four compactor runs, the first after the warm-up.
    const s3At = (p95: number) =>
      summarise('s3', {
        store: 's3',
        warmup: [],
        timed: Array.from({ length: 20 }, (_, i) => ({ kind: 'new-version' as const, status: 201, total: i >= 18 ? p95 : 100, cpu: 100, phases: { search: 10 }, writes: summariseWrites([]) })),
        max_rss_before: 1,
        max_rss_after: 1,
        heap_used_peak: 1,
        live_heap_peak: null,
        reads: [],
        misses: [],
        compactions: [1200, 1200, 2400].map((ms) => ({ ms, cpu: ms, packages: 8, files: 40, warmup: false })).concat([{ ms: 1000, cpu: 1000, packages: 9, files: 50, warmup: true }]),
      }, true);
    const withS3 = (p95: number) => sizes.map((s) => ({ ...s, announce: { s3: s3At(p95) } }) as unknown as SizeResult);
    const compacting = (rs: typeof rows) => rs.find((g) => g.goal.includes("compacting announce's p95"))!;
    const p95 = (x: number) => s3At(x).latency_ms.p95;
    expect(p95(400)).toBeGreaterThan(100);
    expect(p95(400)).toBeLessThan(1000);
    expect(p95(20_000)).toBeGreaterThan(1000);
    expect(compacting(goalRows({ ...result, sizes: withS3(400) }))).toMatchObject({
      holds: true,
      measured: expect.stringContaining(`100,000: p95 ${p95(400)} ms (p50 100 ms, max 400 ms; 20 announces, 0 rewrote the base trees); the compactor, after the announces: p50 1.2 s, max 2.4 s over 4 runs (1 of them the process's first, after its warm-up announce) of 8 packages p50, 40 files written p50`),
    });
    expect(compacting(goalRows({ ...result, sizes: withS3(20_000) })).holds).toBe(false);
    expect(compacting(goalRows({ ...result, sizes: [withS3(400)[0]!] }))).toMatchObject({ holds: null, measured: expect.stringContaining('(no 100,000 size in this run)') });
    expect(parseArgs(['--quick']).sizes).toEqual([1000, 10000]);
    expect(() => parseArgs(['--sizes', 'abc'])).toThrow(/--sizes/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option "--fast"/);
    expect([...parseArgs(['--skip', 'search, engines,announces-s3']).skip]).toEqual(['search', 'engines', 'announces-s3']);
    expect(() => parseArgs(['--skip', 'search,web'])).toThrow(/--skip names unknown sections \(web\)/);
  });
});
