/**
 * The code a web page runs before it can search, as the bench counts it (issue 28, goal 2): the
 * page's module script and the chunks it preloads, in bytes and in brotli bytes as the bench's
 * site serves them (`pagefind/cdn.ts`), and whether zod or semver is among them. Read from the
 * page's HTML, so it measures any build: one being published, or an installed package's
 * `dist/www/`.
 *
 * @module
 */
import { brotliAsServed } from '../pagefind/cdn.ts';

/** What {@link pageCode} measured. */
export interface PageCode {
  /** The page's script and the chunks it preloads, as the HTML names them. */
  scripts: string[];
  raw_bytes: number;
  brotli_bytes: number;
  has_zod: boolean;
  has_semver: boolean;
}

/** Marks of the two libraries in minified code (class names and constants that survive minifying). */
export const ZOD_MARK = /\bZodError\b|\$ZodType/;
export const SEMVER_MARK = /SEMVER_SPEC_VERSION|\bmaxSatisfying\b|\bvalidRange\b|\bSemVer\b/;

/**
 * Measures the scripts `html` loads.
 *
 * @param read - The bytes of a script by the key the HTML names (relative to the page).
 * @throws Error when the page names no script.
 */
export async function pageCode(html: string, read: (key: string) => Promise<Uint8Array>): Promise<PageCode> {
  const scripts = [
    ...[...html.matchAll(/<script type="module" src="([^"]+)"><\/script>/g)].map((m) => m[1]!),
    ...[...html.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]!),
  ];
  if (scripts.length === 0) throw new Error('the page names no module script');
  let raw = 0;
  let brotli = 0;
  let text = '';
  for (const key of scripts) {
    const body = await read(key);
    raw += body.byteLength;
    brotli += brotliAsServed(body).byteLength;
    text += new TextDecoder().decode(body);
  }
  return { scripts, raw_bytes: raw, brotli_bytes: brotli, has_zod: ZOD_MARK.test(text), has_semver: SEMVER_MARK.test(text) };
}
