/**
 * Pagefind's index of the bench corpus, built with Pagefind's own Node indexing API
 * (`pagefind` on npm, which runs its Rust binary as a service) from exactly the text Shelf
 * indexes: for each package, the fields of Shelf's search document (`searchDocument` of the
 * package's catalog summary: name, display name, description, keywords, tool names, scope), laid
 * out as a static site's package page would be — the name in `<h1>` and the display name in `<h2>`
 * (Pagefind weights headings above body text, as Shelf boosts those fields), the rest in body
 * text. Each page's URL is `/packages/<encoded name>/`, so a result names its package.
 *
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { searchDocument } from '../../src/core/search-options.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { now } from '../lib/stats.ts';

/** Files and bytes on disk. */
export interface Footprint {
  files: number;
  bytes: number;
}

/** What building Pagefind's index cost, and what it stored. */
export interface PagefindBuild {
  pages: number;
  /** From starting the indexing service to the files written, ms. */
  ms: number;
  /** Everything Pagefind wrote into its bundle folder (index, fragments, metadata, wasm, scripts, UI). */
  bundle: Footprint;
  /**
   * The search data alone (index chunks, fragments, filters, the metadata file and the entry
   * file), without Pagefind's code and UI files: what compares with Shelf's index files.
   */
  index: Footprint;
}

/** Pagefind's result URL of a package, and back. */
export const pageUrl = (name: string): string => `/packages/${encodeURIComponent(name)}/`;
export const nameOfUrl = (url: string): string => decodeURIComponent(url.replace(/^\/packages\//, '').replace(/\/$/, ''));

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The page Pagefind indexes for one package: the text of Shelf's search document of it. */
export function packagePage(summary: PackageSummary): string {
  const d = searchDocument(summary);
  const p = (text: string) => (text.trim() === '' ? '' : `<p>${escapeHtml(text)}</p>`);
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(d.name)}</title></head><body>` +
    `<h1>${escapeHtml(d.name)}</h1>${d.display_name ? `<h2>${escapeHtml(d.display_name)}</h2>` : ''}` +
    `${p(d.description ?? '')}${p(d.keyword_text)}${p(d.tool_text)}${p(d.scope)}</body></html>`
  );
}

/** Pages sent to the indexing service at once. */
const IN_FLIGHT = 256;

/**
 * Builds Pagefind's index of `summaries` into `outputPath` (the `pagefind/` folder a site serves)
 * and measures the build and what it wrote.
 *
 * @throws Error with Pagefind's own messages when it reports errors.
 */
export async function buildPagefindIndex(summaries: readonly PackageSummary[], outputPath: string): Promise<PagefindBuild> {
  const pagefind = await import('pagefind');
  const started = now();
  try {
    const { index, errors } = await pagefind.createIndex({ forceLanguage: 'en' });
    if (!index) throw new Error(`pagefind createIndex: ${errors.join('; ')}`);
    for (let i = 0; i < summaries.length; i += IN_FLIGHT) {
      const added = await Promise.all(summaries.slice(i, i + IN_FLIGHT).map((s) => index.addHTMLFile({ url: pageUrl(s.name), content: packagePage(s) })));
      const failed = added.find((a) => a.errors.length > 0);
      if (failed) throw new Error(`pagefind addHTMLFile: ${failed.errors.join('; ')}`);
    }
    const written = await index.writeFiles({ outputPath });
    if (written.errors.length > 0) throw new Error(`pagefind writeFiles: ${written.errors.join('; ')}`);
    const ms = now() - started;
    const files = await listFiles(outputPath);
    const isIndex = (path: string) => /^(index|fragment|filter)\//.test(path) || path.endsWith('.pf_meta') || path === 'pagefind-entry.json';
    const sum = (list: typeof files): Footprint => ({ files: list.length, bytes: list.reduce((a, f) => a + f.bytes, 0) });
    return { pages: summaries.length, ms, bundle: sum(files), index: sum(files.filter((f) => isIndex(f.path))) };
  } finally {
    await pagefind.close();
  }
}

/** Every file under `dir`, with its path relative to it and its size. */
export async function listFiles(dir: string): Promise<{ path: string; bytes: number }[]> {
  const out: { path: string; bytes: number }[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath, entry.name);
    out.push({ path: relative(dir, full), bytes: (await stat(full)).size });
  }
  return out;
}
