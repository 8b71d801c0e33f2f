/**
 * Where the web pages read the registry (every read itself goes through `RegistryClient`).
 *
 * Pure module: the page passes its own `document`/`location` values in.
 *
 * @module
 */

/** Name of the `<meta>` that points the pages at a registry on another origin. */
export const REGISTRY_META = 'shelf-registry';

/**
 * The registry's base URL as the pages see it: the `<meta name="shelf-registry">` content when
 * the pages were published with one, else the folder the page itself was served from (the pages
 * live at the bucket root, beside `v1/`).
 *
 * @param configured - The meta tag's content, or null.
 * @param pageUrl - The page's own URL (`location.href`).
 */
export function registryBaseUrl(configured: string | null, pageUrl: string): string {
  if (configured !== null && configured.trim() !== '') return configured.trim().replace(/\/+$/, '');
  const folder = new URL('.', pageUrl);
  return `${folder.origin}${folder.pathname}`.replace(/\/+$/, '');
}
