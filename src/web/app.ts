/**
 * The web pages' one script (bundled by esbuild into `assets/app.<hash>.js`). Each page says which
 * it is with `<body data-page="home|package|scope">`; all three read the registry through the
 * shared client library, as the CLI does.
 *
 * Browser entry point.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { RegistryClient } from '../client/registry-client.ts';
import { byId, replaceChildren } from './dom.ts';
import { startHomePage } from './home.ts';
import { startPackagePage } from './package-page.ts';
import { REGISTRY_META, registryBaseUrl } from './registry.ts';
import { startScopePage } from './scope-page.ts';
import { errorPanel } from './states.ts';

function start(): void {
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
  const page = document.body.dataset.page;
  if (page === 'home') startHomePage(client);
  else if (page === 'package') startPackagePage(client);
  else if (page === 'scope') startScopePage(client);
}

start();
