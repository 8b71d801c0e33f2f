/**
 * What every page's script does first: find the registry (the page's own folder, or the one its
 * `<meta name="shelf-registry">` names), make the one client the page reads it with (the shared
 * client library, as the CLI's), and start the page. Each page has a script of its own
 * (`entries/`), so the home page's search loads neither the package page's Markdown renderer nor
 * the documents' zod schemas.
 *
 * Browser module.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { RegistryClient } from '../client/registry-client.ts';
import { byId, replaceChildren } from './dom.ts';
import { REGISTRY_META, registryBaseUrl } from './registry.ts';
import { errorPanel } from './states.ts';

/**
 * Starts a page with the registry's client; a page published with a broken registry URL shows
 * why instead.
 */
export function startPage(start: (client: RegistryClient) => void): void {
  const configured = document.querySelector<HTMLMetaElement>(`meta[name="${REGISTRY_META}"]`)?.content ?? null;
  let client: RegistryClient;
  try {
    client = new RegistryClient({ baseUrl: registryBaseUrl(configured, location.href) });
  } catch (error) {
    // Only a page published with a broken registry URL gets here.
    const target = document.getElementById('results') ?? byId('app');
    const message = error instanceof Error ? error.message : String(error);
    replaceChildren(target, errorPanel(new ShelfError('registry_unreachable', `This page points at no usable registry: ${message}`), { home: false }));
    return;
  }
  // The "use this registry elsewhere" settings name the registry's own address.
  document.querySelectorAll('[data-registry-url]').forEach((el) => void (el.textContent = client.baseUrl));
  start(client);
}
