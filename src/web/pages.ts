/**
 * The HTML of the three pages, generated when the assets are built. The static part of each page
 * (header, the home page's search form, a loading state in reserved space) is in the HTML, so the
 * page does not move when the script starts. No inline script or style: the Content-Security-Policy
 * allows only the page's own hashed assets, and network reads only from the registry.
 *
 * Pure module: string building only (used at build time, never in the browser).
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { configKey, shardedRootKey, WEB_PAGES } from '../core/paths.ts';
import { SERVER_TYPES } from '../search/query.ts';
import { REGISTRY_META } from './registry.ts';

/** Options of {@link renderPages}. */
export interface PageOptions {
  /** Key of each page's script, e.g. `assets/home.0123abcd.js` (relative to the pages). */
  scripts: Record<PageName, string>;
  /** Key of the style sheet, e.g. `assets/app.0123abcd.css`. */
  style: string;
  /**
   * Keys of the script chunks a page loads as it starts besides its script, announced with
   * `<link rel="modulepreload">` so they load alongside the script rather than after it. Default
   * none.
   */
  preload?: Partial<Record<PageName, readonly string[]>>;
  /** The registry's base URL when it is not the pages' own folder (another origin). */
  registryUrl?: string;
}

/** Escapes text for HTML text and double-quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The Content-Security-Policy of the pages: own assets only, reads (and badge images) from the registry only. */
export function contentSecurityPolicy(registryUrl?: string): string {
  const connect = registryUrl ? `'self' ${new URL(registryUrl).origin}` : "'self'";
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // Badges come from the registry; README images from anywhere, but over https only.
    `img-src ${connect} https: data:`,
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

/** The three pages, as their `data-page` names them. */
export type PageName = 'home' | 'package' | 'scope';

interface Shell {
  page: PageName;
  title: string;
  description: string;
  main: string;
}

/**
 * The registry's files a page reads as soon as its script starts, fetched alongside the script
 * (`<link rel="preload" as="fetch" crossorigin>`, which the script's own `fetch` then takes over:
 * same URL, mode and credentials, no other headers): the home page's search reads the config and
 * the bundles' search root before its first query. The root is the default kind's; a page opened
 * on skills reads its own root after the script starts, as without the preload.
 */
const READ_AT_START: Record<PageName, readonly string[]> = {
  home: [configKey(), shardedRootKey('bundle')],
  package: [],
  scope: [],
};

function shell(options: PageOptions, { page, title, description, main }: Shell): string {
  const registryMeta = options.registryUrl ? `\n<meta name="${REGISTRY_META}" content="${escapeHtml(options.registryUrl)}">` : '';
  const registryKey = (key: string) => (options.registryUrl ? `${options.registryUrl.replace(/\/+$/, '')}/${key}` : key);
  const configUrl = registryKey(configKey());
  const preload = [
    ...(options.preload?.[page] ?? []).map((key) => `\n<link rel="modulepreload" href="${escapeHtml(key)}">`),
    ...READ_AT_START[page].map((key) => `\n<link rel="preload" as="fetch" crossorigin href="${escapeHtml(registryKey(key))}">`),
  ].join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(contentSecurityPolicy(options.registryUrl))}">
<meta name="referrer" content="strict-origin-when-cross-origin">
<meta name="description" content="${escapeHtml(description)}">
<meta name="color-scheme" content="light dark">${registryMeta}
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${escapeHtml(options.style)}">
<script type="module" src="${escapeHtml(options.scripts[page])}"></script>${preload}
</head>
<body data-page="${page}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header">
<div class="wrap header-inner">
<a class="brand" href="./"><span class="brand-mark" aria-hidden="true">▤</span> Shelf</a>
<nav class="site-nav" aria-label="Main">
<a href="./">Bundles</a>
<a href="./?kind=skill">Skills</a>
</nav>
</div>
</header>
<main id="main" class="wrap" tabindex="-1">
${main}
<noscript><p class="state">These pages need JavaScript. Everything they show is plain JSON, starting at <a href="${escapeHtml(configUrl)}">v1/config.json</a>.</p></noscript>
</main>
<footer class="site-footer">
<div class="wrap">
<p>A registry of MCP server bundles and agent skills. Every page and every file is static; packages are published from GitHub Actions with verified OIDC tokens. Data: <a href="${escapeHtml(configUrl)}">v1/config.json</a>.</p>
</div>
</footer>
</body>
</html>
`;
}

const option = (value: string, label: string, selected = false) =>
  `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`;

function homeMain(): string {
  const types = [option('', 'Any'), ...SERVER_TYPES.map((t) => option(t, t))].join('');
  const oses = [option('', 'Any'), option('linux', 'Linux'), option('darwin', 'macOS'), option('win32', 'Windows')].join('');
  const arches = [option('', 'Any'), option('x64', 'x64'), option('arm64', 'arm64')].join('');
  const sorts = [option('relevance', 'Relevance', true), option('recent', 'Recently updated'), option('name', 'Name')].join('');
  return `<h1 class="home-title">MCP bundles and agent skills</h1>
<form id="search-form" class="search" role="search" action="./" method="get">
<div class="search-row">
<label for="q" class="visually-hidden">Search</label>
<input id="q" name="q" type="search" autocomplete="off" autocapitalize="off" spellcheck="false" maxlength="200" placeholder="Search MCP bundles…" aria-describedby="search-hint" aria-controls="results">
</div>
<p id="search-hint" class="hint">Searches names, descriptions, keywords and tool names as you type. Press <kbd>/</kbd> to come back here.</p>
<div class="filters">
<fieldset class="kind-toggle">
<legend>Kind</legend>
<input type="radio" id="kind-bundle" name="kind" value="bundle" checked><label for="kind-bundle">Bundles</label>
<input type="radio" id="kind-skill" name="kind" value="skill"><label for="kind-skill">Skills</label>
</fieldset>
<div class="field"><label for="type">Server type</label><select id="type" name="type">${types}</select></div>
<div class="field"><label for="os">OS</label><select id="os" name="os">${oses}</select></div>
<div class="field"><label for="arch">Architecture</label><select id="arch" name="arch">${arches}</select></div>
<div class="field"><label for="sort">Sort by</label><select id="sort" name="sort">${sorts}</select></div>
</div>
</form>
<p id="result-count" class="result-count" role="status" aria-live="polite"></p>
<div id="results" class="results-region" aria-busy="true">
<div class="state state-loading" data-state="loading" role="status"><p class="state-title">Loading the index…</p></div>
</div>
${useElsewhere()}`;
}

/**
 * "Use this registry in VS Code / with npx skills": the settings other clients need (the README
 * has the same section). The registry's address is filled in by the script (`[data-registry-url]`).
 */
function useElsewhere(): string {
  const url = '<span data-registry-url>https://this-registry</span>';
  return `<section id="use-elsewhere" class="use-elsewhere" aria-labelledby="use-elsewhere-title">
<h2 id="use-elsewhere-title">Use this registry in VS Code / with npx skills</h2>
<p><strong>VS Code</strong> (its MCP server gallery reads the MCP registry API, v0.1): add to your user <code>settings.json</code>, then run <em>MCP: Browse Servers</em>.</p>
<pre><code>"chat.mcp.gallery.enabled": true,
"chat.mcp.gallery.serviceUrl": "${url}"</code></pre>
<p><strong>Agent skills</strong> (the <code>skills</code> CLI, for Claude Code and ~40 other agents): every skill of a publisher, or one skill.</p>
<pre><code>npx skills add ${url}/@scope
npx skills add ${url}/@scope/name</code></pre>
<p class="hint">Listings ignore <code>search</code> (a static registry answers every server); the registry's root lists no skills, since names are unique only within a scope.</p>
</section>`;
}

const LOADING_APP = `<div id="app" class="app-region" aria-busy="true">
<div class="state state-loading" data-state="loading" role="status"><p class="state-title">Loading…</p></div>
</div>`;

/**
 * The HTML of every page, by key (`index.html`, `package.html`, `scope.html`).
 *
 * @throws ShelfError `invalid_argument` when `registryUrl` is given and is not an http(s) URL.
 */
export function renderPages(options: PageOptions): Record<string, string> {
  if (options.registryUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(options.registryUrl);
    } catch {
      throw new ShelfError('invalid_argument', `The "registryUrl" option "${options.registryUrl}" is not a URL.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:' || url.search !== '' || url.hash !== '') {
      throw new ShelfError('invalid_argument', `The "registryUrl" option "${options.registryUrl}" must be an http(s) URL without query or fragment.`);
    }
  }
  return {
    [WEB_PAGES.home]: shell(options, {
      page: 'home',
      title: 'Shelf — MCP bundles and agent skills',
      description: 'Search MCP server bundles and agent skills published from GitHub Actions.',
      main: homeMain(),
    }),
    [WEB_PAGES.package]: shell(options, {
      page: 'package',
      title: 'Package · Shelf',
      description: 'An MCP bundle or agent skill: versions, files, and where they were built.',
      main: LOADING_APP,
    }),
    [WEB_PAGES.scope]: shell(options, {
      page: 'scope',
      title: 'Publisher · Shelf',
      description: 'The packages of one publisher.',
      main: LOADING_APP,
    }),
  };
}
