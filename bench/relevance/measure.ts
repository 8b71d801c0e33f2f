/**
 * Relevance of Shelf and Pagefind on the same labelled queries: the bench's existing labelled
 * queries (`queries.ts`, one intended package each) and issue 28's relevance classes
 * (`classes.ts`, a set of relevant packages each). Shelf answers through its real client (the
 * code its web page runs) against its site; Pagefind through its own `pagefind.js` in one page of
 * the browser, loading each result's data for its URL. Both keep their top {@link TOP}.
 *
 * @module
 */
import type { Browser } from 'playwright-core';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { round } from '../lib/stats.ts';
import type { LabelledQuery } from '../queries.ts';
import { nameOfUrl } from '../pagefind/build.ts';
import { judge, type ClassQuery } from './classes.ts';

/** Results kept per query. */
export const TOP = 5;

/** A judged query: its class (`labelled:<type>` for the existing labelled queries) and relevant set. */
export interface JudgedQuery {
  class: string;
  query: string;
  /** How many packages answer it, and the first 20 of them. */
  relevant_count: number;
  relevant: string[];
}

/** Share of queries whose first result is relevant, and the mean share of the top 5 that is (of at most 5 relevant). */
export interface ClassScore {
  n: number;
  top1: number;
  top5: number;
}

/** Both engines on every labelled and class query. */
export interface RelevanceReport {
  queries: JudgedQuery[];
  /** Each engine's top 5, aligned with `queries`. */
  rankings: Record<'shelf' | 'pagefind', string[][]>;
  by_class: Record<string, Record<'shelf' | 'pagefind', ClassScore>>;
}

/** The existing labelled queries and the class queries as one list of queries with relevant sets. */
export function allQueries(labelled: readonly LabelledQuery[], classes: readonly ClassQuery[]): { class: string; query: string; relevant: string[] }[] {
  return [...labelled.map((q) => ({ class: `labelled:${q.type}`, query: q.query, relevant: [q.target] })), ...classes];
}

/** Shelf's top results through its client (one warm client: relevance, not cost). */
export async function shelfRankings(baseUrl: string, queries: readonly { query: string }[]): Promise<string[][]> {
  const client = new RegistryClient({ baseUrl });
  const out: string[][] = [];
  for (const q of queries) out.push((await client.search('bundle', q.query, { limit: TOP })).map((h) => h.name));
  return out;
}

/** The page the Pagefind rankings are read in: Pagefind's script, loaded once. */
export const PAGEFIND_RELEVANCE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Relevance</title><link rel="icon" href="data:,"></head><body>
<script type="module">window.pagefind = await import('./pagefind/pagefind.js'); window.__ready = true;</script></body></html>
`;

/** Pagefind's top results, through its own script in one page of `browser` on the site at `siteUrl` (which serves {@link PAGEFIND_RELEVANCE_PAGE} at `relevance.html`). */
export async function pagefindRankings(browser: Browser, siteUrl: string, queries: readonly { query: string }[]): Promise<string[][]> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(`${siteUrl}/relevance.html`);
    await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true, null, { timeout: 60_000 });
    const urls = await page.evaluate(
      async ({ list, top }) => {
        const pf = (window as unknown as { pagefind: { search(q: string): Promise<{ results: { data(): Promise<{ url: string }> }[] }> } }).pagefind;
        const out: string[][] = [];
        for (const q of list) {
          const search = await pf.search(q);
          out.push(await Promise.all(search.results.slice(0, top).map(async (r) => (await r.data()).url)));
        }
        return out;
      },
      { list: queries.map((q) => q.query), top: TOP },
    );
    return urls.map((list) => list.map(nameOfUrl));
  } finally {
    await context.close();
  }
}

/** Scores both engines' rankings per class. */
export function relevanceReport(queries: readonly { class: string; query: string; relevant: string[] }[], rankings: RelevanceReport['rankings']): RelevanceReport {
  const byClass: RelevanceReport['by_class'] = {};
  const classes = [...new Set(queries.map((q) => q.class))];
  for (const c of classes) {
    const indexes = queries.map((q, i) => (q.class === c ? i : -1)).filter((i) => i >= 0);
    const score = (engine: 'shelf' | 'pagefind'): ClassScore => {
      const judged = indexes.map((i) => judge(rankings[engine][i] ?? [], queries[i]!.relevant));
      const n = judged.length;
      return { n, top1: n ? round(judged.filter((j) => j.top1).length / n) : 0, top5: n ? round(judged.reduce((a, j) => a + j.top5, 0) / n) : 0 };
    };
    byClass[c] = { shelf: score('shelf'), pagefind: score('pagefind') };
  }
  return {
    queries: queries.map((q) => ({ class: q.class, query: q.query, relevant_count: q.relevant.length, relevant: q.relevant.slice(0, 20) })),
    rankings,
    by_class: byClass,
  };
}
