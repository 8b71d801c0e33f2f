/**
 * The package page, `package.html?bundle=@scope/name[&version=x.y.z]`: what a package is, how to
 * install it, every version with its platforms and dates, the files of the shown version with
 * size and sha256, and where they came from (the provenance the registry recorded when it
 * verified the publishing workflow's OIDC token), and what this browser verified of it: the
 * registry's signatures over the package document and each file's statement (`client/trust.ts`;
 * a document that does not verify is not shown at all). Two requests: the package document, then
 * the version document (and once, the registry's key list).
 *
 * Everything from the package is untrusted and rendered as text (see `dom.ts`); links are built
 * only from validated values (`format.ts`).
 *
 * Browser module.
 *
 * @module
 */
import { ShelfError, isShelfError } from '../core/errors.ts';
import { parsePackageName, parseVersion, type Kind, type PackageName } from '../core/names.ts';
import { badgeKey, readmeKey } from '../core/paths.ts';
import { effectiveStatus, statusNotice, REMOVED_BY_OPERATOR } from '../core/lifecycle.ts';
import { renderReadme } from './readme.ts';
import type { Artifact, PackageDocument, PackageDownloads, Provenance, VersionDocument } from '../core/schemas.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { short } from '../signing/trust.ts';
import { byId, externalLink, h, replaceChildren, type Child } from './dom.ts';
import {
  externalUrl,
  formatBytes,
  formatDate,
  githubCommitUrl,
  githubRepoUrl,
  githubRunUrl,
  githubWorkflowUrl,
  parseWorkflowRef,
  platformLabel,
  pullCommand,
  shortSha,
} from './format.ts';
import { homeHref, packageHref, parsePackageParams, scopeHref, type PackagePageParams } from './links.ts';
import { actionButton, errorPanel, loadingPanel, statePanel } from './states.ts';

/** Starts the package page: reads the package named in the URL and renders it into `#app`. */
export function startPackagePage(client: RegistryClient, win: Window = window): void {
  const root = byId('app', win.document);
  let params: PackagePageParams;
  try {
    params = parsePackageParams(win.location.search);
  } catch (error) {
    replaceChildren(root, errorPanel(error));
    root.setAttribute('aria-busy', 'false');
    win.document.title = 'No such package · Shelf';
    return;
  }
  const p = params;
  const load = async () => {
    root.setAttribute('aria-busy', 'true');
    replaceChildren(root, loadingPanel(`Loading ${p.name.full}…`));
    try {
      const view = await loadPackage(client, p);
      win.document.title = `${view.pkg.display_name ?? view.pkg.name}${view.version && view.version.version !== view.pkg.latest ? ` ${view.version.version}` : ''} · Shelf`;
      replaceChildren(root, renderPackage(client, view));
    } catch (error) {
      win.document.title = isShelfError(error, 'not_found') ? 'Not found · Shelf' : 'Shelf';
      const versionMissing = isShelfError(error, 'not_found') && p.version !== undefined && (error.details as { packageFound?: boolean } | undefined)?.packageFound;
      replaceChildren(
        root,
        versionMissing
          ? statePanel('not-found', 'Version not found', error instanceof Error ? error.message : '', h('a', { href: packageHref(p.kind, p.name.full), class: 'button' }, `See ${p.name.full}`))
          : errorPanel(error, { notFoundTitle: 'Package not found', retry: () => void load() }),
      );
    } finally {
      root.setAttribute('aria-busy', 'false');
    }
  };
  void load();
}

/** A package, the version shown (null for a package without versions), and that version's README. */
interface PackageView {
  pkg: PackageDocument;
  version: VersionDocument | null;
  readme: string | null;
  /** The package's download counts; null when none were counted (or they cannot be read). */
  downloads: PackageDownloads | null;
  /** The version asked for, when the operator took it (or the package) down. */
  removed?: string | null;
}

async function loadPackage(client: RegistryClient, params: PackagePageParams): Promise<PackageView> {
  // Counts are an extra: a registry that cannot give them still shows the package.
  const counts = client.getDownloads(params.kind, params.name).catch(() => null);
  const pkg = await client.getPackage(params.kind, params.name);
  if (pkg.versions.length === 0 && params.version === undefined) return { pkg, version: null, readme: null, downloads: await counts };
  // A package or version the operator took down has no document left: the page shows its tombstone.
  if (pkg.status === 'removed') return { pkg, version: null, readme: null, downloads: await counts, removed: params.version ?? null };
  if (params.version !== undefined && pkg.versions.some((v) => v.version === params.version && v.status === 'removed')) {
    return { pkg, version: null, readme: null, downloads: await counts, removed: params.version };
  }
  let wanted: string;
  try {
    wanted = params.version ?? client.resolveVersion(pkg);
  } catch (error) {
    // Every version is yanked or removed: nothing is shown first, the versions are still listed.
    if (isShelfError(error, 'not_found')) return { pkg, version: null, readme: null, downloads: await counts };
    throw error;
  }
  try {
    const [version, readme, downloads] = await Promise.all([client.getVersion(params.kind, params.name, wanted), loadReadme(client, params.kind, params.name, wanted), counts]);
    return { pkg, version, readme, downloads };
  } catch (error) {
    if (isShelfError(error, 'not_found')) {
      throw new ShelfError('not_found', `${pkg.name} has no version ${wanted}.`, { packageFound: true });
    }
    throw error;
  }
}

/** The version's README (see `announce/readme.ts`), or null when it has none or it cannot be read. */
async function loadReadme(client: RegistryClient, kind: Kind, name: PackageName, version: string): Promise<string | null> {
  try {
    const response = await fetch(client.url(readmeKey(kind, name, parseVersion(version))));
    return response.ok ? await response.text() : null;
  } catch {
    return null;
  }
}

function renderPackage(client: RegistryClient, { pkg, version, readme, downloads, removed }: PackageView): HTMLElement {
  const title = pkg.display_name && pkg.display_name !== pkg.name ? pkg.display_name : pkg.name;
  const metadata = (version?.manifest ?? version?.skill ?? {}) as Record<string, unknown>;
  const verified = version !== null && version.artifacts.length > 0 && version.artifacts.every((a) => isVerified(a.provenance));

  const header = h(
    'header',
    { class: 'pkg-header' },
    h(
      'nav',
      { class: 'breadcrumbs', 'aria-label': 'Breadcrumbs' },
      h('a', { href: homeHref({ q: '', kind: pkg.kind, sort: 'relevance' }) }, pkg.kind === 'bundle' ? 'Bundles' : 'Skills'),
      ' / ',
      h('a', { href: scopeHref(pkg.scope) }, `@${pkg.scope}`),
      ' / ',
      h('span', { 'aria-current': 'page' }, pkg.name.slice(pkg.scope.length + 2)),
    ),
    h('h1', { class: 'pkg-title' }, title),
    h(
      'p',
      { class: 'pkg-subtitle' },
      h('code', { class: 'pkg-fullname' }, pkg.name),
      h('span', { class: 'badge' }, pkg.kind),
      version ? h('span', { class: 'badge badge-version' }, `v${version.version}`) : null,
      version?.prerelease ? h('span', { class: 'badge badge-prerelease' }, 'prerelease') : null,
    ),
    pkg.description ? h('p', { class: 'pkg-desc' }, pkg.description) : null,
    verified
      ? h(
          'p',
          { class: 'verified-mark', id: 'verified-mark' },
          h('span', { class: 'verified-icon', 'aria-hidden': 'true' }, '✓'),
          ' Published from GitHub Actions with a verified OIDC token',
        )
      : null,
  );

  const notices: Child[] = statusBanners(pkg, version, removed);
  if (version && version.version !== pkg.latest) {
    const latestLink = pkg.latest ? h('a', { href: packageHref(pkg.kind, pkg.name) }, `the latest release, ${pkg.latest}`) : null;
    notices.push(
      h(
        'p',
        { class: 'notice', role: 'note' },
        `You are looking at ${version.version}${version.prerelease ? ', a prerelease' : ''}.`,
        latestLink ? [' See ', latestLink, '.'] : pkg.latest === null ? ' This package has no release yet, only prereleases.' : null,
      ),
    );
  }

  const main = h(
    'div',
    { class: 'pkg-main' },
    notices,
    version
      ? installSection(client, pkg, version)
      : pkg.status === 'removed' || removed
        ? null
        : pkg.versions.length > 0
          ? statePanel('empty', 'No version to install', 'Every version of this package is yanked or removed; a yanked one still downloads by its exact version.')
          : statePanel('empty', 'No versions yet', 'This package has been registered, but no version has been published.'),
    readme !== null && version ? readmeSection(readme, version) : aboutSection(pkg.kind, metadata),
    itemsSection('tools', 'Tools', version ? namedItems(metadata.tools) : pkg.tools, 'tool'),
    itemsSection('prompts', 'Prompts', version ? namedItems(metadata.prompts) : pkg.prompts, 'prompt'),
    versionsSection(pkg, version),
    version ? filesSection(client, version) : null,
    version ? verificationSection(client, pkg, version) : null,
    version ? provenanceSection(version) : null,
    version ? badgeSection(client, pkg) : null,
  );

  return h('article', { class: 'pkg', 'data-kind': pkg.kind, 'data-name': pkg.name }, header, h('div', { class: 'pkg-layout' }, main, factsAside(pkg, version, downloads)));
}

/**
 * The banners a status puts at the top of the page: the package's removal or deprecation, and
 * the shown version's yank, deprecation or removal, each with the publisher's message or the
 * operator's reason. Removals are alerts; the others are notes.
 */
function statusBanners(pkg: PackageDocument, version: VersionDocument | null, removed: string | null | undefined): HTMLElement[] {
  const banner = (status: string, text: string) =>
    h('p', { class: `status-banner status-${status}`, role: status === 'removed' ? 'alert' : 'note', 'data-status': status }, text);
  const out: HTMLElement[] = [];
  if (pkg.status !== 'active') {
    const notice = statusNotice(pkg.name, null, { status: pkg.status, source: 'package', ...(pkg.status_message !== undefined ? { message: pkg.status_message } : {}) });
    out.push(banner(pkg.status, `${notice}${pkg.status === 'removed' ? ' Its files are gone and its name cannot be published again.' : ''}`));
  }
  const shown = version?.version ?? removed ?? null;
  if (shown !== null && pkg.status !== 'removed') {
    const s = effectiveStatus(pkg, shown);
    if (s.source === 'version' && s.status !== 'active') {
      const extra =
        s.status === 'yanked'
          ? ' It is still downloadable by its exact version, so lockfiles keep working; "latest" and ranges skip it.'
          : s.status === 'removed'
            ? ' Its files are gone; only this record of it is kept.'
            : '';
      out.push(banner(s.status, `${statusNotice(pkg.name, shown, s)}${extra}`));
    }
  }
  return out;
}

function isVerified(p: Provenance): boolean {
  return p.provider === 'github-actions' && p.verified === true;
}

function section(id: string, title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'pkg-section', id, 'aria-labelledby': `${id}-heading` }, h('h2', { id: `${id}-heading` }, title), ...children);
}

function installSection(client: RegistryClient, pkg: PackageDocument, version: VersionDocument): HTMLElement {
  const command = pullCommand(pkg.kind, pkg.name, {
    version: version.version === pkg.latest ? null : version.version,
    registry: client.baseUrl,
  });
  return section(
    'install',
    'Install',
    h('p', {}, `Download ${version.version} for this machine with the shelf command line, which checks its sha256:`),
    ...copyable(command, { id: 'pull-command', button: 'copy-command', label: 'Copy the command' }),
  );
}

/** A line of text to copy: the text in a box, a Copy button, and a live status for the result. */
function copyable(text: string, ids: { id: string; button: string; label: string }): HTMLElement[] {
  const code = h('code', { id: ids.id, class: 'command-text' }, text);
  const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
  const copy = actionButton('Copy', () => void copyText(code, text, status));
  copy.setAttribute('aria-label', ids.label);
  copy.id = ids.button;
  return [h('div', { class: 'command' }, h('pre', { class: 'command-box' }, code), copy), status];
}

/**
 * The package's badge (a static SVG the registry keeps up to date) and the Markdown that shows it
 * in a README, linked to this page.
 */
function badgeSection(client: RegistryClient, pkg: PackageDocument): HTMLElement {
  const name = parsePackageName(pkg.name);
  const image = new URL(client.url(badgeKey(pkg.kind, name)), location.href).href;
  const page = new URL(packageHref(pkg.kind, pkg.name), location.href).href;
  const markdown = `[![${pkg.name} on shelf](${image})](${page})`;
  return section(
    'badge',
    'Badge',
    h('p', {}, h('img', { id: 'badge-image', src: image, alt: `${pkg.name} on shelf: its latest version`, height: '20' })),
    h('p', {}, 'Show the latest version in your README:'),
    ...copyable(markdown, { id: 'badge-markdown', button: 'copy-badge', label: 'Copy the badge Markdown' }),
  );
}

/** Copies with the Clipboard API; where it is unavailable, selects the text so Ctrl+C works. */
async function copyText(element: HTMLElement, text: string, status: HTMLElement): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = 'Copied to the clipboard.';
  } catch {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
    status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
}

/** The README, rendered safely (`readme.ts`); relative links point into the repository at the released commit. */
function readmeSection(readme: string, version: VersionDocument): HTMLElement {
  const provenance = version.artifacts[0]?.provenance;
  const base = provenance && /^[\w.-]+\/[\w.-]+$/.test(provenance.repository) && /^[0-9a-f]{40}$/i.test(provenance.sha) ? { repository: provenance.repository, sha: provenance.sha } : null;
  const body = h('div', { class: 'readme', id: 'readme-body' });
  body.append(renderReadme(readme, base));
  return section('readme', 'README', body);
}

/** Without a README, the manifest's long description is the closest thing. */
function aboutSection(kind: Kind, metadata: Record<string, unknown>): HTMLElement | null {
  const long = kind === 'bundle' ? str(metadata.long_description) : undefined;
  const compatibility = kind === 'skill' ? str(metadata.compatibility) : undefined;
  if (!long && !compatibility) return null;
  return section(
    'about',
    'About',
    long ? h('div', { class: 'long-description' }, long) : null,
    compatibility ? h('p', {}, h('strong', {}, 'Compatibility: '), compatibility) : null,
  );
}

function itemsSection(id: string, title: string, items: Array<{ name: string; description?: string }>, noun: string): HTMLElement | null {
  if (items.length === 0) return null;
  return section(
    id,
    `${title} (${items.length})`,
    h(
      'ul',
      { class: 'item-list', 'aria-label': `${noun}s` },
      items.map((item) => h('li', {}, h('code', { class: 'item-name' }, item.name), item.description ? h('span', { class: 'item-desc' }, item.description) : null)),
    ),
  );
}

function versionsSection(pkg: PackageDocument, shown: VersionDocument | null): HTMLElement | null {
  if (pkg.versions.length === 0) return null;
  const rows = pkg.versions.map((v) => {
    const current = v.version === shown?.version;
    return h(
      'tr',
      { 'data-version': v.version, class: current ? 'current' : null },
      h(
        'th',
        { scope: 'row' },
        h('a', { href: packageHref(pkg.kind, pkg.name, v.version), 'aria-current': current ? 'page' : null }, v.version),
        v.version === pkg.latest ? h('span', { class: 'badge badge-latest' }, 'latest') : null,
        v.prerelease ? h('span', { class: 'badge badge-prerelease' }, 'prerelease') : null,
        v.status !== 'active' ? h('span', { class: `badge badge-status badge-${v.status}`, title: v.status_message ?? '' }, v.status === 'removed' ? 'removed' : v.status) : null,
      ),
      h('td', {}, h('time', { datetime: v.published_at }, formatDate(v.published_at))),
      h('td', {}, v.platforms.map((p) => h('span', { class: 'badge badge-platform' }, platformLabel(p.os, p.arch)))),
    );
  });
  return section(
    'versions',
    `Versions (${pkg.versions.length})`,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'versions-table' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Version'), h('th', { scope: 'col' }, 'Published'), h('th', { scope: 'col' }, 'Platforms'))),
        h('tbody', {}, rows),
      ),
    ),
  );
}

function filesSection(client: RegistryClient, version: VersionDocument): HTMLElement {
  const items = version.artifacts.map((a) =>
    h(
      'li',
      { class: 'file', 'data-platform': `${a.os}-${a.arch}` },
      h('p', { class: 'file-head' }, h('strong', {}, platformLabel(a.os, a.arch)), ' ', downloadLink(client, a), ' ', h('span', { class: 'file-size', title: `${a.size} bytes` }, formatBytes(a.size))),
      h('p', { class: 'file-sha' }, h('span', { class: 'label' }, 'sha256 '), h('code', { class: 'sha256' }, a.sha256)),
      fileSignature(client, version, a),
    ),
  );
  return section('files', `Files of ${version.version}`, items.length > 0 ? h('ul', { class: 'file-list' }, items) : h('p', {}, 'No files.'));
}

/** Whether this browser verified the registry's signature over a file's statement. */
function fileSignature(client: RegistryClient, version: VersionDocument, artifact: Artifact): HTMLElement {
  const keyid = client.artifactVerification(version, artifact)?.keyid;
  return keyid
    ? h('p', { class: 'file-signature', 'data-keyid': keyid }, h('span', { class: 'verified-icon', 'aria-hidden': 'true' }, '✓'), ` sha256, size and provenance signed by the registry (key ${short(keyid)}), verified in your browser`)
    : h('p', { class: 'file-signature unsigned' }, 'Not signed: this registry does not sign its documents.');
}

/**
 * What was verified, and what that proves: the registry's signatures (checked here, against the
 * keys the registry lists), and whether GitHub attested the files with Sigstore.
 */
function verificationSection(client: RegistryClient, pkg: PackageDocument, version: VersionDocument): HTMLElement {
  const signature = client.packageSignature(pkg);
  const attested = version.artifacts.filter((a) => a.attestation);
  const rows: Array<[string, Child]> = [];
  rows.push([
    'Registry signature',
    signature
      ? h(
          'span',
          { id: 'signature-status', 'data-verified': 'true' },
          h('span', { class: 'verified-icon', 'aria-hidden': 'true' }, '✓'),
          ` Verified in your browser: this package's document (signed ${signature.signed_at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}) and every file's sha256, size and provenance are signed by the registry's key ${short(signature.keyid)}.`,
        )
      : h('span', { id: 'signature-status', 'data-verified': 'false' }, 'None: this registry does not sign its documents, so only the sha256 the registry serves can be checked.'),
  ]);
  rows.push([
    'Sigstore attestation',
    h(
      'span',
      { id: 'attestation-status', 'data-attested': attested.length > 0 ? 'true' : 'false' },
      attested.length === 0
        ? 'None: the provenance above rests on the registry, which verified the publishing workflow’s token.'
        : `GitHub attested ${attested.length === version.artifacts.length ? 'every file' : `${attested.length} of ${version.artifacts.length} files`} with Sigstore (${attested[0]!.attestation!.certificate_identity}), verified by the registry at publication; "shelf bundle verify" checks it again without trusting the registry.`,
    ),
  ]);
  return section(
    'verification',
    'Verification',
    h('dl', { class: 'facts' }, rows.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
    h('p', { class: 'muted' }, 'A signature proves the registry published these files and facts, unchanged since; it does not prove the code is safe.'),
  );
}

function downloadLink(client: RegistryClient, artifact: Artifact): HTMLElement {
  const url = client.artifactUrl(artifact);
  const link = externalLink(url, artifact.filename);
  if (link) {
    link.setAttribute('download', artifact.filename);
    link.classList.remove('external');
    return link;
  }
  return h('span', {}, artifact.filename);
}

/**
 * Artifacts of one version usually come from one workflow run: identical provenance is shown
 * once, with the platforms it covers.
 */
function provenanceSection(version: VersionDocument): HTMLElement {
  const groups = new Map<string, { provenance: Provenance; platforms: string[] }>();
  for (const a of version.artifacts) {
    const p = a.provenance;
    const key = JSON.stringify([p.repository, p.workflow_ref, p.job_workflow_ref, p.sha, p.ref, p.run_id, p.run_attempt, p.issuer]);
    const group = groups.get(key) ?? { provenance: p, platforms: [] };
    group.platforms.push(platformLabel(a.os, a.arch));
    groups.set(key, group);
  }
  const release = externalUrl(version.release.url);
  return section(
    'provenance',
    'Provenance',
    h(
      'p',
      {},
      'Recorded by the registry when it verified the publishing workflow’s token and fetched the files from ',
      release ? externalLink(release, `release ${version.release.tag}`) : `release ${version.release.tag}`,
      ' itself.',
    ),
    [...groups.values()].map(({ provenance, platforms }) => provenanceBlock(provenance, groups.size > 1 ? platforms : null)),
  );
}

function provenanceBlock(p: Provenance, platforms: string[] | null): HTMLElement {
  const rows: Array<[string, Child]> = [];
  rows.push([
    'Published from',
    isVerified(p)
      ? h('span', { class: 'verified-mark' }, h('span', { class: 'verified-icon', 'aria-hidden': 'true' }, '✓'), ' GitHub Actions, OIDC token verified')
      : 'unverified',
  ]);
  rows.push(['Repository', linkOrText(githubRepoUrl(p.repository), p.repository)]);
  const workflow = parseWorkflowRef(p.job_workflow_ref ?? p.workflow_ref);
  if (workflow) {
    const path = workflow.repository === p.repository ? workflow.path : `${workflow.repository}/${workflow.path}`;
    rows.push(['Workflow', [linkOrText(githubWorkflowUrl(workflow, p.sha), path), h('span', { class: 'muted' }, ` @ ${workflow.ref}`)]]);
  } else if (p.workflow_ref) {
    rows.push(['Workflow', p.workflow_ref]);
  }
  rows.push(['Commit', [linkOrText(githubCommitUrl(p.repository, p.sha), shortSha(p.sha), 'commit-link'), p.ref ? h('span', { class: 'muted' }, ` on ${p.ref}`) : null]]);
  if (p.event_name) rows.push(['Trigger', p.event_name]);
  if (p.run_id) rows.push(['Run', linkOrText(githubRunUrl(p.repository, p.run_id, p.run_attempt), `#${p.run_id}${p.run_attempt && p.run_attempt !== '1' ? ` (attempt ${p.run_attempt})` : ''}`)]);
  rows.push(['Token issued', h('time', { datetime: p.issued_at }, p.issued_at.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'))]);
  rows.push(['Issuer', p.issuer]);
  return h(
    'div',
    { class: 'provenance' },
    platforms ? h('h3', {}, platforms.join(', ')) : null,
    h('dl', { class: 'facts' }, rows.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])),
  );
}

function linkOrText(url: string | null, text: string, className?: string): Child {
  const link = externalLink(url, text);
  if (link && className) link.classList.add(className);
  return link ?? text;
}

function factsAside(pkg: PackageDocument, version: VersionDocument | null, downloads: PackageDownloads | null): HTMLElement {
  const rows: Array<[string, Child]> = [];
  const newest = pkg.versions[0]?.version;
  rows.push(['Latest version', pkg.latest ?? (newest ? `none (newest prerelease: ${newest})` : 'none')]);
  if (downloads) rows.push(['Downloads', h('span', { class: 'downloads' }, `${downloads.total.toLocaleString('en-US')} (${downloads.last_30_days.toLocaleString('en-US')} in the last 30 days)`)]);
  if (pkg.license) rows.push(['License', pkg.license]);
  if (pkg.author) {
    const url = externalUrl(pkg.author.url);
    rows.push(['Author', url ? externalLink(url, pkg.author.name) : pkg.author.name]);
  }
  const homepage = externalUrl(pkg.homepage);
  if (homepage) rows.push(['Homepage', externalLink(homepage, homepage.replace(/^https?:\/\//i, ''))]);
  rows.push(['Repository', linkOrText(githubRepoUrl(pkg.repository.name), pkg.repository.name, 'repo-link')]);
  rows.push(['Publisher', h('a', { href: scopeHref(pkg.scope) }, `@${pkg.scope}`)]);
  if (pkg.server_type) rows.push(['Server type', pkg.server_type]);
  if (version) rows.push(['Release', linkOrText(externalUrl(version.release.url), version.release.tag)]);
  if (pkg.keywords.length > 0) rows.push(['Keywords', h('span', { class: 'keywords' }, pkg.keywords.map((k) => h('span', { class: 'badge' }, k)))]);
  rows.push(['First published', h('time', { datetime: pkg.created_at }, formatDate(pkg.created_at))]);
  rows.push(['Last updated', h('time', { datetime: pkg.updated_at }, formatDate(pkg.updated_at))]);
  return h('aside', { class: 'pkg-aside', 'aria-label': 'Package facts' }, h('dl', { class: 'facts' }, rows.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])));
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** Tools or prompts from a manifest: entries without a string name are skipped, not shown broken. */
function namedItems(value: unknown): Array<{ name: string; description?: string }> {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => {
    if (typeof item !== 'object' || item === null || typeof (item as { name?: unknown }).name !== 'string') return [];
    const { name, description } = item as { name: string; description?: unknown };
    return [typeof description === 'string' ? { name, description } : { name }];
  });
}
