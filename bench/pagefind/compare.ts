/**
 * Shelf against Pagefind on Pagefind's own ground (issue 28): a static site's search, first query
 * from a fresh browser page. Both engines index the same documents (Pagefind through its Node API,
 * `build.ts`; Shelf's sharded index as the bench built it), each is served by its own loopback
 * HTTP/1.1 site with brotli (`cdn.ts`), and both are queried in the same headless Chromium
 * (`browser.ts`) with the one-word, two-word and prefix queries of the bench's latency workload:
 *
 * 1. an untimed query of each class on each engine (the CDN compresses each file once, as an
 *    edge keeps it, so the timed pages do not pay for compressing the scripts, the wasm and the
 *    roots; the small index files a timed query meets first are compressed then, ~1 ms each);
 * 2. every query timed on loopback, the engines alternating;
 * 3. every query again with each response {@link ROUND_TRIP_MS} ms late (a modelled network),
 *    from which the sequential rounds are read (`sequentialRounds`).
 *
 * Reported per engine and query class: requests, rounds, bytes sent (brotli) in all and of which
 * code (script + wasm), time on loopback and over the modelled network; per engine, the index
 * build time and the search files stored.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { IMMUTABLE_CACHE, MUTABLE_CACHE, searchPrefix } from '../../src/core/paths.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { publishWebAssets } from '../../src/registry/web-assets.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { RESULTS_PAGE } from '../../src/web/home.ts';
import { launchChromium } from '../../test/web/helpers.ts';
import { pageCode } from '../lib/page-code.ts';
import { percentiles, round, type Percentiles } from '../lib/stats.ts';
import type { LabelledQuery, Workload } from '../queries.ts';
import type { ClassQuery } from '../relevance/classes.ts';
import { allQueries, pagefindRankings, PAGEFIND_RELEVANCE_PAGE, relevanceReport, shelfRankings, type RelevanceReport } from '../relevance/measure.ts';
import { buildPagefindIndex, type Footprint, type PagefindBuild } from './build.ts';
import { firstQueryInBrowser, PAGEFIND_PAGE, PAGEFIND_SHOWN, requestCategory, type BrowserEngine, type PageQuery } from './browser.ts';
import { sequentialRounds, startBenchCdn, type BenchCdn, type SiteSource } from './cdn.ts';

/** Delay of every response in the modelled-network pass, ms (as the bench's other modelled runs). */
export const ROUND_TRIP_MS = 20;

/** The workload classes compared (a misspelling is a relevance question, not a cost one). */
export const COMPARED_CLASSES = ['one-word', 'two-word', 'prefix'] as const;

/** One timed first query of one engine. */
export interface QuerySample {
  class: string;
  query: string;
  requests: number;
  /** Sequential rounds of requests, read from the modelled-network pass. */
  rounds: number;
  /** Bytes sent (brotli), all of them, of which code (script + wasm) and the page (HTML, CSS). */
  bytes: number;
  code_bytes: number;
  page_bytes: number;
  /** Bytes uncompressed. */
  raw_bytes: number;
  ms: number;
  ms_modelled: number;
  /** Results found, and the first ones' package names. */
  results: number;
  top: string[];
}

/** Percentiles of one engine's first queries (one class, or all). */
export interface EngineQueryStats {
  n: number;
  /** Queries that found at least one result. */
  answered: number;
  requests: Percentiles;
  rounds: Percentiles;
  bytes: Percentiles;
  code_bytes: Percentiles;
  ms: Percentiles;
  ms_modelled: Percentiles;
}

/** One engine at one size. */
export interface EngineComparison {
  /** The index build: time, and its search files as stored (`bundle`: Pagefind's whole output folder). */
  build: { ms: number; stored: Footprint; bundle?: Footprint };
  all: EngineQueryStats;
  by_class: Record<string, EngineQueryStats>;
  samples: QuerySample[];
  /** The first query's requests (path, bytes sent), as an example of what a page loads. */
  example: { query: string; requests: { path: string; bytes: number; round_arrived_ms: number }[] };
}

/** The comparison at one size. */
export interface PagefindComparison {
  packages: number;
  round_trip_ms: number;
  /** Results each engine's page shows (and loads the data of). */
  shown: Record<BrowserEngine, number>;
  /** The scripts Shelf's search page loads, and whether zod or semver is among them (issue 28's goal 2 wants neither). */
  shelf_code: { scripts: string[]; has_zod: boolean; has_semver: boolean };
  pagefind: EngineComparison;
  shelf: EngineComparison;
  /** Both engines' relevance on the labelled queries, per class (when asked for). */
  relevance?: RelevanceReport;
}

/** Options of {@link comparePagefind}. */
export interface CompareOptions {
  /** The registry (a bucket holding Shelf's sharded index of `summaries`); its web pages and config are written into it. */
  store: ObjectStore;
  /** Writes the registry's `v1/config.json` for a server at `url` (the bench's own helper). */
  writeConfig: (store: ObjectStore, url: string) => Promise<void>;
  /** Every package the registry holds, as its catalog summary (what both engines index). */
  summaries: readonly PackageSummary[];
  /** How long building Shelf's index took and what it stored (measured where the bench built it). */
  shelfBuild: { ms: number; stored: Footprint };
  workload: Workload;
  perClass: number;
  /** A folder for Pagefind's site. */
  work: string;
  /** Labelled queries to judge both engines' relevance on (the bench's existing ones and issue 28's classes). Default none. */
  relevance?: { labelled: readonly LabelledQuery[]; classes: readonly ClassQuery[] };
  /** The untimed first pass (default true; the smoke test skips it: it times nothing it judges). */
  warmUp?: boolean;
  log?: (message: string) => void;
}

/** Lists the search files of a fresh Shelf build (the bundle kind's index prefix). */
export async function shelfIndexFootprint(store: ObjectStore): Promise<Footprint> {
  const listed = await store.list(searchPrefix('bundle'));
  return { files: listed.length, bytes: listed.reduce((n, o) => n + o.size, 0) };
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

/** Pagefind's site: the search page, and Pagefind's bundle folder as it wrote it. */
function pagefindSite(dir: string): SiteSource {
  return async (path) => {
    const page = path === 'index.html' ? PAGEFIND_PAGE : path === 'relevance.html' ? PAGEFIND_RELEVANCE_PAGE : null;
    if (page !== null) return { body: Buffer.from(page), contentType: CONTENT_TYPES['.html']!, cacheControl: MUTABLE_CACHE };
    const file = normalize(path);
    if (file.startsWith('..') || !file.startsWith('pagefind/')) return null;
    try {
      const body = await readFile(join(dir, file));
      // Pagefind names its index files by content hash; its scripts and entry file keep their names.
      const hashed = /_[0-9a-f]{7,}\.pf_/.test(file) || /\.pf_(fragment|index|filter)$/.test(file);
      return { body, contentType: CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', cacheControl: hashed ? IMMUTABLE_CACHE : MUTABLE_CACHE };
    } catch {
      return null;
    }
  };
}

/** Shelf's registry as its CDN serves it. */
function registrySite(store: ObjectStore): SiteSource {
  return async (path) => {
    const obj = await store.get(path).catch(() => null);
    return obj ? { body: obj.body, contentType: obj.contentType, cacheControl: obj.cacheControl } : null;
  };
}

function stats(samples: readonly QuerySample[]): EngineQueryStats {
  const p = (f: (s: QuerySample) => number) => percentiles(samples.map(f));
  return {
    n: samples.length,
    answered: samples.filter((s) => s.results > 0).length,
    requests: p((s) => s.requests),
    rounds: p((s) => s.rounds),
    bytes: p((s) => s.bytes),
    code_bytes: p((s) => s.code_bytes),
    ms: p((s) => s.ms),
    ms_modelled: p((s) => s.ms_modelled),
  };
}

/** Runs the comparison at one size. The registry's web pages and config are (re)written. */
export async function comparePagefind(options: CompareOptions): Promise<PagefindComparison> {
  const log = options.log ?? (() => {});
  log(`Pagefind: indexing ${options.summaries.length} pages`);
  const siteDir = join(options.work, 'pagefind-site');
  const pfBuild: PagefindBuild = await buildPagefindIndex(options.summaries, join(siteDir, 'pagefind'));
  log(`Pagefind: built in ${Math.round(pfBuild.ms / 1000)} s, ${pfBuild.index.files} index files (${Math.round(pfBuild.index.bytes / 1024)} KiB)`);

  await publishWebAssets(options.store);
  // The code the home page (Shelf's search) loads: its script and preloads, as its HTML names them.
  const homeCode = await pageCode(new TextDecoder().decode((await options.store.get('index.html'))!.body), async (key) => (await options.store.get(key))!.body);
  const sites: Record<BrowserEngine, BenchCdn> = { pagefind: await startBenchCdn(pagefindSite(siteDir)), shelf: await startBenchCdn(registrySite(options.store)) };
  const browser = await launchChromium();
  try {
    await options.writeConfig(options.store, sites.shelf.url);
    const queries = COMPARED_CLASSES.flatMap((c) => options.workload[c].slice(0, options.perClass).map((query) => ({ class: c, query })));
    const engines: BrowserEngine[] = ['pagefind', 'shelf'];
    const pass = async (delayMs: number, label: string, list = queries) => {
      log(`browser: ${list.length} first queries per engine, ${label}`);
      const out: Record<BrowserEngine, PageQuery[]> = { pagefind: [], shelf: [] };
      for (const [i, q] of list.entries()) {
        // Alternate which engine goes first, so neither always meets the other's leftovers.
        for (const engine of i % 2 === 0 ? engines : [...engines].reverse()) {
          sites[engine].delayMs = delayMs;
          out[engine].push(await firstQueryInBrowser(browser, engine, sites[engine], q.query));
        }
      }
      return out;
    };
    // One query per class warms the CDN's cache of the large files (scripts, wasm, the page, the
    // roots); what is left for the timed queries to meet first is small index files.
    if (options.warmUp !== false) await pass(0, 'untimed warm-up', COMPARED_CLASSES.flatMap((c) => queries.filter((q) => q.class === c).slice(0, 1)));
    const loopback = await pass(0, 'loopback');
    const modelled = await pass(ROUND_TRIP_MS, `${ROUND_TRIP_MS} ms per response`);

    const engineResult = (engine: BrowserEngine, build: EngineComparison['build']): EngineComparison => {
      const samples = queries.map((q, i): QuerySample => {
        const a = loopback[engine][i]!;
        const b = modelled[engine][i]!;
        const sum = (f: (r: PageQuery['requests'][number]) => boolean, field: 'bytes' | 'raw' = 'bytes') => a.requests.filter(f).reduce((n, r) => n + r[field], 0);
        return {
          class: q.class,
          query: q.query,
          requests: a.requests.length,
          rounds: sequentialRounds(b.requests),
          bytes: sum(() => true),
          code_bytes: sum((r) => requestCategory(r) === 'code'),
          page_bytes: sum((r) => requestCategory(r) === 'page'),
          raw_bytes: sum(() => true, 'raw'),
          ms: round(a.ms),
          ms_modelled: round(b.ms),
          results: a.count,
          top: a.top,
        };
      });
      const byClass: Record<string, EngineQueryStats> = {};
      for (const c of COMPARED_CLASSES) byClass[c] = stats(samples.filter((s) => s.class === c));
      const first = loopback[engine][0]!;
      const t0 = Math.min(...first.requests.map((r) => r.arrived));
      return {
        build,
        all: stats(samples),
        by_class: byClass,
        samples,
        example: { query: queries[0]!.query, requests: first.requests.map((r) => ({ path: r.path, bytes: r.bytes, round_arrived_ms: round(r.arrived - t0) })) },
      };
    };
    let relevance: RelevanceReport | undefined;
    if (options.relevance) {
      const judged = allQueries(options.relevance.labelled, options.relevance.classes);
      log(`relevance: ${judged.length} labelled queries per engine`);
      for (const site of Object.values(sites)) site.delayMs = 0;
      relevance = relevanceReport(judged, { shelf: await shelfRankings(sites.shelf.url, judged), pagefind: await pagefindRankings(browser, sites.pagefind.url, judged) });
    }
    return {
      ...(relevance ? { relevance } : {}),
      packages: options.summaries.length,
      round_trip_ms: ROUND_TRIP_MS,
      shown: { pagefind: PAGEFIND_SHOWN, shelf: RESULTS_PAGE },
      shelf_code: { scripts: homeCode.scripts, has_zod: homeCode.has_zod, has_semver: homeCode.has_semver },
      pagefind: engineResult('pagefind', { ms: round(pfBuild.ms), stored: pfBuild.index, bundle: pfBuild.bundle }),
      shelf: engineResult('shelf', { ms: round(options.shelfBuild.ms), stored: options.shelfBuild.stored }),
    };
  } finally {
    await browser.close();
    await sites.pagefind.close();
    await sites.shelf.close();
  }
}
