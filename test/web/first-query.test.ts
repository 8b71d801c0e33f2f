/**
 * The home page's first query from a fresh browser (a new context: empty cache, new connections),
 * counted at the server: which files the page fetches, how many times, and which it asks for
 * before its script has run. A registry of generated packages (the sharded index as a fresh build
 * writes it, default policy), served by a small logging server that can hold the page's script
 * back, so a request that arrives while the script is held was made from the HTML.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAnnounceConfig } from '../../src/config.ts';
import { configKey, shardedRootKey } from '../../src/core/paths.ts';
import { buildConfigDocument, writeConfigDocument } from '../../src/registry/config-document.ts';
import { publishWebAssets } from '../../src/registry/web-assets.ts';
import { rebuildToStore } from '../../src/search/write/publish.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { LISTING_PAGE, MORE_RESULTS, RESULTS_PAGE } from '../../src/web/home.ts';
import { makeCorpus } from '../search/corpus.ts';
import { launchChromium } from './helpers.ts';

/** One request as the site saw it. */
interface Seen {
  path: string;
  /** Whether the page's own script had been sent when it arrived. */
  afterScript: boolean;
}

/** A static site over a bucket that logs every request and can hold the page script back. */
interface Site {
  url: string;
  log: Seen[];
  /** Holds the page script's response until every path of `paths` was requested (or 5 s passed). */
  holdScriptUntil(paths: readonly string[] | null): void;
  close(): Promise<void>;
}

async function startSite(store: ObjectStore): Promise<Site> {
  let held: readonly string[] | null = null;
  let scriptSent = false;
  const waiting: Array<() => void> = [];
  const log: Seen[] = [];
  const release = () => waiting.splice(0).forEach((go) => go());
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '') || 'index.html';
    log.push({ path, afterScript: scriptSent });
    if (held && held.every((p) => log.some((s) => s.path === p))) release();
    void (async () => {
      const isScript = /^assets\/home\.[0-9a-f]+\.js$/.test(path);
      if (isScript && held) {
        await new Promise<void>((go) => {
          waiting.push(go);
          setTimeout(go, 5_000);
          if (held!.every((p) => log.some((s) => s.path === p))) release();
        });
      }
      const obj = await store.get(path).catch(() => null);
      if (isScript) scriptSent = true;
      res.writeHead(obj ? 200 : 404, {
        'content-type': obj?.contentType ?? 'text/plain',
        // Nothing from the HTTP cache: a file fetched twice reaches the server twice.
        'cache-control': 'no-store',
        'access-control-allow-origin': '*',
      });
      res.end(obj ? Buffer.from(obj.body) : 'not found');
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    log,
    holdScriptUntil: (paths) => {
      held = paths;
      scriptSent = false;
      log.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let dir: string;
let browser: Browser;
/** The registry, with its own pages. */
let site: Site;
/** The same pages on another origin, pointed at the registry (`registryUrl`). */
let pagesSite: Site;

beforeAll(async () => {
  const launching = launchChromium();
  dir = await mkdtemp(join(tmpdir(), 'shelf-first-query-'));
  const store = new FsStore(join(dir, 'registry'));
  await rebuildToStore(store, 'bundle', makeCorpus({ count: 80, seed: 28 }));
  await publishWebAssets(store);
  site = await startSite(store);
  await writeConfigDocument(store, buildConfigDocument(loadAnnounceConfig({ SHELF_AUDIENCE: 'https://shelf.test' }), site.url));
  const pagesStore = new FsStore(join(dir, 'pages'));
  await publishWebAssets(pagesStore, { registryUrl: site.url });
  pagesSite = await startSite(pagesStore);
  browser = await launching;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await site?.close();
  await pagesSite?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Opens the home page for `query` in a fresh context and waits for its results. */
async function firstQuery(query: string, pages: Site = site): Promise<{ page: Page; names: string[]; close: () => Promise<void> }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${pages.url}/index.html?q=${encodeURIComponent(query)}`);
  await page.locator('#results[aria-busy="false"]').waitFor();
  const names = await page.locator('#results .result').evaluateAll((items) => items.map((li) => li.getAttribute('data-name') ?? ''));
  expect(errors).toEqual([]);
  return { page, names, close: () => context.close() };
}

const count = (log: Seen[], path: string) => log.filter((s) => s.path === path).length;
const displays = (log: Seen[]) => log.filter((s) => s.path.startsWith('v1/search/bundles/docs/')).map((s) => s.path);

describe('home page, first query from a fresh browser', () => {
  it('asks for its chunks, the config and the search root from the HTML, before its script runs, and fetches each once', async () => {
    site.holdScriptUntil([configKey(), shardedRootKey('bundle')]);
    const { names, close } = await firstQuery('server');
    await close();
    expect(names.length).toBeGreaterThan(0);
    const early = site.log.filter((s) => !s.afterScript).map((s) => s.path);
    // Everything the script needs before its first index file, asked for while the script was held
    // back: the page, its style sheet, its one script (no chunk), the config and the search root.
    expect(early.map((p) => p.replace(/\.[0-9a-f]{16}\./, '.*.')).sort()).toEqual(['assets/home.*.js', 'assets/style.*.css', 'index.html', configKey(), shardedRootKey('bundle')].sort());
    expect(site.log.filter((s) => s.path.startsWith('assets/chunk.'))).toEqual([]);
    // Each once: the script's own reads took over the preloads instead of fetching again.
    for (const path of [configKey(), shardedRootKey('bundle'), 'index.html']) expect(count(site.log, path), path).toBe(1);
    expect(site.log.filter((s) => s.path.startsWith('assets/')).every((s) => count(site.log, s.path) === 1)).toBe(true);
  });

  it('pages on another origin preload the registry\'s config and root from the registry, and fetch each once', async () => {
    site.holdScriptUntil(null);
    pagesSite.holdScriptUntil(null);
    const { names, close } = await firstQuery('server', pagesSite);
    await close();
    expect(names.length).toBeGreaterThan(0);
    expect(pagesSite.log.map((s) => s.path).filter((p) => p.startsWith('v1/'))).toEqual([]);
    for (const path of [configKey(), shardedRootKey('bundle')]) expect(count(site.log, path), path).toBe(1);
  });

  it('a page opened on skills reads the skills root it needs (the bundles root is the one preloaded)', async () => {
    site.holdScriptUntil(null);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/index.html?kind=skill`);
    await page.locator('#results[aria-busy="false"]').waitFor();
    // No skill index in this registry: the page says nothing is published, rather than failing.
    await page.getByText('No skills have been published yet.').waitFor();
    await context.close();
    expect(count(site.log, shardedRootKey('skill'))).toBe(1);
    expect(count(site.log, configKey())).toBe(1);
  });
});

describe('home page, results shown and display files downloaded', () => {
  it(`a query shows its first ${RESULTS_PAGE} results and downloads the display files of those alone`, async () => {
    site.holdScriptUntil(null);
    const { page, names, close } = await firstQuery('server');
    expect(names).toHaveLength(RESULTS_PAGE);
    expect(displays(site.log)).toHaveLength(RESULTS_PAGE);
    expect(await page.locator('#result-count').textContent()).toBe(`${RESULTS_PAGE}+ bundles matching “server”`);
    await page.getByRole('button', { name: 'Show more' }).waitFor();
    await close();
  });

  it(`"Show more", from the keyboard, adds the next ${MORE_RESULTS} results below the same first ones, downloads their display files alone, and focuses the first new one`, async () => {
    site.holdScriptUntil(null);
    const { page, names, close } = await firstQuery('server');
    const before = new Set(displays(site.log));
    await page.getByRole('button', { name: 'Show more' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(async () => page.locator('#results .result').count()).toBe(RESULTS_PAGE + MORE_RESULTS);
    const after = await page.locator('#results .result').evaluateAll((items) => items.map((li) => li.getAttribute('data-name') ?? ''));
    expect(after.slice(0, RESULTS_PAGE)).toEqual(names);
    const added = displays(site.log).filter((p) => !before.has(p));
    expect(added).toHaveLength(MORE_RESULTS);
    expect(new Set(displays(site.log)).size).toBe(displays(site.log).length);
    const focused = await page.evaluate(() => document.activeElement?.closest('.result')?.getAttribute('data-name'));
    expect(focused).toBe(after[RESULTS_PAGE]);
    await close();
  });

  it(`the page without a query lists ${LISTING_PAGE} packages from the catalog, without a display file each`, async () => {
    site.holdScriptUntil(null);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${site.url}/index.html`);
    await page.locator('#results[aria-busy="false"]').waitFor();
    expect(await page.locator('#results .result').count()).toBe(LISTING_PAGE);
    expect(displays(site.log)).toEqual([]);
    await context.close();
  });
});
