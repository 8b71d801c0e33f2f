/**
 * The scope page, `scope.html?scope=acme`: a publisher (the GitHub owner the scope is pinned to)
 * and its packages. The list comes from the scope record (`v1/scopes/@scope.json`); each entry is
 * completed with its summary from the search index, which the home page uses too (and the
 * browser has likely cached). A package the index does not know yet is still listed, by name.
 *
 * Browser module.
 *
 * @module
 */
import type { Kind } from '../core/names.ts';
import type { PackageSummary, ScopeDocument } from '../core/schemas.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { byId, externalLink, h, replaceChildren } from './dom.ts';
import { formatDate, githubOwnerUrl } from './format.ts';
import { packageHref, parseScopeParams } from './links.ts';
import { packageListItem } from './results.ts';
import { errorPanel, loadingPanel, statePanel } from './states.ts';

/** Starts the scope page: reads the scope named in the URL and renders it into `#app`. */
export function startScopePage(client: RegistryClient, win: Window = window): void {
  const root = byId('app', win.document);
  let scope: string;
  try {
    scope = parseScopeParams(win.location.search);
  } catch (error) {
    replaceChildren(root, errorPanel(error));
    root.setAttribute('aria-busy', 'false');
    return;
  }
  const s = scope;
  const load = async () => {
    root.setAttribute('aria-busy', 'true');
    replaceChildren(root, loadingPanel(`Loading @${s}…`));
    try {
      const doc = await client.getScope(s);
      const summaries = await loadSummaries(client, doc);
      win.document.title = `@${s} · Shelf`;
      replaceChildren(root, renderScope(doc, summaries));
    } catch (error) {
      win.document.title = 'Shelf';
      replaceChildren(root, errorPanel(error, { notFoundTitle: 'Scope not found', retry: () => void load() }));
    } finally {
      root.setAttribute('aria-busy', 'false');
    }
  };
  void load();
}

/** Summaries of the scope's packages by `kind:name`; a kind whose summaries fail is simply missing. */
async function loadSummaries(client: RegistryClient, doc: ScopeDocument): Promise<Map<string, PackageSummary>> {
  const kinds = [...new Set(doc.packages.map((p) => p.kind))];
  const found = new Map<string, PackageSummary>();
  await Promise.all(
    kinds.map(async (kind) => {
      try {
        const names = doc.packages.filter((p) => p.kind === kind).map((p) => p.name);
        for (const [name, summary] of await client.packageSummaries(kind, names)) found.set(`${kind}:${name}`, summary);
      } catch {
        // Names from the scope record are enough to list the packages.
      }
    }),
  );
  return found;
}

function renderScope(doc: ScopeDocument, summaries: Map<string, PackageSummary>): HTMLElement {
  const owner = externalLink(githubOwnerUrl(doc.owner), doc.owner);
  const sections = (['bundle', 'skill'] as const satisfies readonly Kind[]).map((kind) => {
    const packages = doc.packages.filter((p) => p.kind === kind);
    if (packages.length === 0) return null;
    const title = kind === 'bundle' ? 'Bundles' : 'Skills';
    return h(
      'section',
      { class: 'scope-section', id: `${kind}s`, 'aria-labelledby': `${kind}s-heading` },
      h('h2', { id: `${kind}s-heading` }, `${title} (${packages.length})`),
      h(
        'ol',
        { class: 'results' },
        packages.map((p) => {
          const summary = summaries.get(`${kind}:${p.name}`);
          if (summary) return packageListItem(summary);
          let href: string | null = null;
          try {
            href = packageHref(kind, p.name);
          } catch {
            href = null;
          }
          return h('li', { class: 'result', 'data-name': p.name }, h('h3', { class: 'result-heading' }, href ? h('a', { class: 'result-link', href }, p.name) : p.name));
        }),
      ),
    );
  });
  return h(
    'article',
    { class: 'scope', 'data-scope': doc.scope },
    h('header', { class: 'pkg-header' }, h('h1', { class: 'pkg-title' }, `@${doc.scope}`), h(
      'p',
      { class: 'pkg-desc' },
      'Packages published from GitHub by ',
      owner ?? doc.owner,
      ` (owner id ${doc.owner_id}, pinned ${formatDate(doc.pinned_at)}). Only workflows of this GitHub owner can publish to @${doc.scope}.`,
    )),
    doc.packages.length === 0 ? statePanel('empty', `@${doc.scope} has no packages yet.`) : sections,
  );
}
