/**
 * Keeps the benchmark from rotting: runs the generators and every measurement path once on a
 * tiny registry (50 packages). Asserts shapes, determinism and consistency — never speed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateManifest } from '../../src/announce/validate-metadata.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { catalogKey, searchIndexKey } from '../../src/core/paths.ts';
import { CatalogDocumentSchema } from '../../src/core/schemas.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { startFakeGitHub, type FakeGitHub } from '../fakes/fake-github.ts';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { planAnnounces } from '../../bench/announce-plan.ts';
import { copyWorkingSet, measureAnnounces } from '../../bench/announce.ts';
import { measureColdStart } from '../../bench/cold-start.ts';
import { generateCorpus, manifestFor, type Corpus } from '../../bench/corpus.ts';
import { ENGINES } from '../../bench/engines.ts';
import { loadRegistry } from '../../bench/load.ts';
import { Random, Zipf } from '../../bench/lib/random.ts';
import { labelledQueries, LABEL_TYPES, misspell, QUERY_CLASSES, workloads } from '../../bench/queries.ts';
import { measureRebuild } from '../../bench/rebuild.ts';
import { renderMarkdown, splitRankings, type BenchResult } from '../../bench/report.ts';
import { parseArgs } from '../../bench/run.ts';
import { measureEngines, measureShelfSearch } from '../../bench/search.ts';

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
    const stored = await new FsStore(root).get(catalogKey('bundle'));
    const catalogJson = new TextDecoder().decode(stored!.body);
    const catalog = CatalogDocumentSchema.parse(JSON.parse(catalogJson));
    const obvious = labelledQueries(corpus, 3).find((q) => q.type === 'name')!;
    for (const engine of ENGINES) {
      const loaded = engine.load(engine.build(catalog, catalogJson));
      expect(loaded.search(obvious.query, 5), engine.name).toContain(obvious.target);
    }
  });

  it('measures Shelf search through the real client, counting what it downloads', async () => {
    const report = await measureShelfSearch(new FsStore(root), { workload: workloads(corpus, 3), loadRepeats: 1 });
    expect(report.documents).toBe(SIZE);
    const paths = report.first_query.responses.map((r) => r.path);
    expect(paths).toContain('/v1/config.json');
    expect(paths).toContain(`/${searchIndexKey('bundle')}`);
    expect(report.first_query.total.raw).toBeGreaterThanOrEqual(report.index_bytes.raw);
    expect(report.first_query.total.gzip).toBeLessThan(report.first_query.total.raw);
    for (const c of QUERY_CLASSES) expect(report.latency_ms[c]!.n).toBe(3);
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
    const report = await measureRebuild(recordsOnly, SIZE, 60_000);
    expect(report.completed).toBe(true);
    expect(report.files_changed).toBeGreaterThanOrEqual(SIZE);
    expect(report.packages_per_s).toBeGreaterThan(0);
    expect(report.package_phase_per_s).toBeGreaterThan(0);
    expect(Object.keys(report.phases_ms)).toEqual(['packages', 'scopes', 'catalog', 'search', 'recent']);
  });

  it('times real announces through the handler on the filesystem and on S3', async () => {
    const plan = planAnnounces(corpus, 3);
    expect(plan.map((p) => p.kind)).toEqual(['new-version', 'new-package', 'new-scope']);
    const prefix = 'smoke/';
    expect(await copyWorkingSet(new FsStore(root), s3.makeStore(prefix), plan)).toBeGreaterThanOrEqual(3);
    // Concurrently here only to keep the test short; the benchmark never overlaps them.
    const [fs, onS3] = await Promise.all([
      measureAnnounces({ store: { type: 'fs', root }, plan, warmup: 1 }),
      measureAnnounces({ store: { type: 's3', endpoint: s3.endpoint, bucket: s3.bucket, prefix, ...S3RVER_CREDENTIALS }, plan, warmup: 1 }),
    ]);
    for (const report of [fs, onS3]) {
      expect(report.errors).toEqual([]);
      expect(report.n).toBe(2);
      expect(report.phases_p50_ms.search).toBeGreaterThan(0);
      expect(report.memory.max_rss_mib).toBeGreaterThan(0);
    }
  });

  it('measures a cold start of the built Lambda bundle', async () => {
    const plan = planAnnounces(generateCorpus({ packages: 5, seed: 9 }), 3, 5).filter((p) => p.kind === 'new-scope');
    const report = await measureColdStart({ github, s3, announces: plan });
    expect(report.bundle_bytes).toBeGreaterThan(10_000);
    expect(report.statuses).toEqual([201]);
    expect(report.process_to_response_ms.p50).toBeGreaterThan(report.first_event_ms.p50);
  });
});

describe('report', () => {
  it('renders every section, and parses its command line strictly', () => {
    const result: BenchResult = {
      schema_version: 1,
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
    for (const heading of ['## 1. Announce latency', '## 2. Full rebuild', '## 3. Search', '## 4. The same corpus', '## 5. Cold start', '## 6. Memory']) {
      expect(md).toContain(heading);
    }
    expect(parseArgs(['--quick']).sizes).toEqual([1000, 10000]);
    expect(() => parseArgs(['--sizes', 'abc'])).toThrow(/--sizes/);
    expect(() => parseArgs(['--fast'])).toThrow(/unknown option "--fast"/);
  });
});
