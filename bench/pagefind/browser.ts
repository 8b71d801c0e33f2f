/**
 * First queries in real headless Chromium (Debian's, driven by playwright-core; never a
 * downloaded browser), each from a fresh page in a fresh browser context (empty cache, new
 * connections), the page opened with the query in its URL:
 *
 * - **Shelf**: the registry's own home page (`index.html?q=…`, its one script), which searches
 *   through the web client and renders the result list; done when `#results` stops being busy.
 * - **Pagefind**: a minimal page ({@link PAGEFIND_PAGE}) that imports Pagefind's own
 *   `pagefind.js`, searches, loads the data of the first {@link PAGEFIND_SHOWN} results (as
 *   Pagefind's documentation and its default UI do: fragments are fetched only for shown
 *   results) and renders them.
 *
 * Time is the page's own clock (`performance.now()`, from navigation start) when the results are
 * in the DOM; requests and bytes come from the site's server log (`cdn.ts`).
 *
 * @module
 */
import type { Browser } from 'playwright-core';
import type { BenchCdn, LoggedRequest } from './cdn.ts';
import { nameOfUrl } from './build.ts';

/** Results whose data the Pagefind page loads and shows (Pagefind's default UI shows 5 at first). */
export const PAGEFIND_SHOWN = 5;

/** The Pagefind site's search page: Pagefind's API, as its documentation shows it. */
export const PAGEFIND_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Search</title><link rel="icon" href="data:,"></head>
<body><main><ol id="results"></ol></main>
<script type="module">
const q = new URLSearchParams(location.search).get('q') ?? '';
const pagefind = await import('./pagefind/pagefind.js');
const search = await pagefind.search(q);
const shown = await Promise.all(search.results.slice(0, ${PAGEFIND_SHOWN}).map((r) => r.data()));
const list = document.getElementById('results');
for (const d of shown) {
  const li = document.createElement('li');
  const a = document.createElement('a');
  a.href = d.url;
  a.textContent = d.meta.title ?? d.url;
  const p = document.createElement('p');
  p.textContent = d.excerpt.replace(/<[^>]*>/g, '');
  li.append(a, p);
  list.append(li);
}
window.__bench = { ms: performance.now(), count: search.results.length, urls: shown.map((d) => d.url) };
</script></body></html>
`;

/** Watches Shelf's home page for its first result list (injected before the page's script runs). */
const SHELF_DONE_SCRIPT = `(() => {
  const check = () => {
    const results = document.getElementById('results');
    if (!results || results.getAttribute('aria-busy') !== 'false' || window.__bench) return;
    const items = [...results.querySelectorAll('[data-name]')];
    window.__bench = { ms: performance.now(), count: items.length, urls: items.slice(0, 5).map((e) => e.getAttribute('data-name')) };
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-busy'] });
})();`;

/** The two engines compared. */
export type BrowserEngine = 'shelf' | 'pagefind';

/** One first query from a fresh page. */
export interface PageQuery {
  /** From navigation start to results in the DOM, ms (the page's clock). */
  ms: number;
  /** Results the engine found (Shelf's page: the results it shows, `RESULTS_PAGE` of `src/web/home.ts`). */
  count: number;
  /** The first results' package names. */
  top: string[];
  /** Every request the page made, as the server logged it. */
  requests: LoggedRequest[];
}

/** What a request's bytes were for: the page (HTML, CSS), the search code (script, wasm) or data. */
export function requestCategory(r: Pick<LoggedRequest, 'path' | 'contentType'>): 'page' | 'code' | 'data' {
  if (/\.m?js$/.test(r.path) || /javascript/.test(r.contentType) || /(^|\/)wasm\.[^/]*\.pagefind$/.test(r.path) || /wasm/.test(r.contentType)) return 'code';
  if (/\.(html|css)$/.test(r.path) || /text\/(html|css)/.test(r.contentType)) return 'page';
  return 'data';
}

/**
 * Opens `engine`'s search page for `query` in a fresh context and waits for its results.
 *
 * @throws Error when the page shows no results state within `timeoutMs`, or reports a page error.
 */
export async function firstQueryInBrowser(browser: Browser, engine: BrowserEngine, cdn: BenchCdn, query: string, timeoutMs = 120_000): Promise<PageQuery> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    if (engine === 'shelf') await page.addInitScript(SHELF_DONE_SCRIPT);
    cdn.take();
    await page.goto(`${cdn.url}/index.html?q=${encodeURIComponent(query)}`);
    await page.waitForFunction(() => (window as unknown as { __bench?: unknown }).__bench !== undefined, null, { timeout: timeoutMs, polling: 5 }).catch((err: unknown) => {
      throw new Error(`${engine}: no results for ${JSON.stringify(query)} within ${timeoutMs} ms${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}: ${(err as Error).message.split('\n')[0]}`);
    });
    const done = (await page.evaluate(() => (window as unknown as { __bench: { ms: number; count: number; urls: string[] } }).__bench)) as { ms: number; count: number; urls: string[] };
    if (errors.length > 0) throw new Error(`${engine}: page error for ${JSON.stringify(query)}: ${errors.join('; ')}`);
    await context.close();
    // Responses are logged once written; give the last callbacks a moment.
    await new Promise((r) => setTimeout(r, 5));
    const top = engine === 'pagefind' ? done.urls.map(nameOfUrl) : done.urls;
    return { ms: done.ms, count: done.count, top, requests: cdn.take() };
  } finally {
    await context.close().catch(() => {});
  }
}
