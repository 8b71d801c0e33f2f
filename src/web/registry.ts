/**
 * Where the web pages read the registry, and the one read the client library does not offer
 * yet (the scope record).
 *
 * Pure module: `fetch` only; the page passes its own `document`/`location` values in.
 *
 * @module
 */
import { ShelfError, isShelfError } from '../core/errors.ts';
import { KIND_PLURAL, type Kind } from '../core/names.ts';
import { scopeKey } from '../core/paths.ts';
import { ScopeDocumentSchema, type ScopeDocument } from '../core/schemas.ts';
import type { RegistryClient } from '../client/registry-client.ts';

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

/**
 * Fetches and validates a scope record, `v1/scopes/@scope.json`.
 *
 * @param scope - A validated scope, without `@`.
 * @throws ShelfError `not_found` when the scope has never published, `registry_unreachable`
 *   when the registry cannot be reached or answers with something that is not a scope record.
 */
export async function fetchScope(client: RegistryClient, scope: string, fetchImpl: typeof fetch = (i, init) => globalThis.fetch(i, init)): Promise<ScopeDocument> {
  const url = client.url(scopeKey(scope));
  let json: unknown;
  try {
    const response = await fetchImpl(url, { headers: { accept: 'application/json' } });
    if (response.status === 404 || response.status === 410) throw new ShelfError('not_found', `The scope @${scope} has not published anything.`);
    if (!response.ok) throw new ShelfError('registry_unreachable', `GET ${url} failed with HTTP ${response.status}.`, { url });
    json = await response.json();
  } catch (error) {
    if (isShelfError(error)) throw error;
    throw new ShelfError('registry_unreachable', `Could not read ${url}: ${error instanceof Error ? error.message : String(error)}.`, { url });
  }
  const parsed = ScopeDocumentSchema.safeParse(json);
  if (!parsed.success || parsed.data.scope !== scope) {
    throw new ShelfError('registry_unreachable', `${url} is not the scope record of @${scope}.`, { url });
  }
  return parsed.data;
}

/**
 * True when the registry answers but has no search index of this kind yet: a registry where
 * nothing of the kind was ever published. The client library reports that as
 * `registry_unreachable` (it cannot tell a missing index from a broken registry); the pages show
 * it as empty instead. Only called after a search failed.
 */
export async function searchIndexMissing(client: RegistryClient, kind: Kind, fetchImpl: typeof fetch = (i, init) => globalThis.fetch(i, init)): Promise<boolean> {
  try {
    const config = await client.config();
    const response = await fetchImpl(client.url(config.search[KIND_PLURAL[kind]]), { method: 'HEAD' });
    return response.status === 404;
  } catch {
    return false;
  }
}
