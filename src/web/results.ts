/**
 * A package in a list (search results, a scope's packages): title linking to its page, name,
 * description, version, server type, platforms, a deprecation mark, verified mark, last update. Shared by the home
 * and scope pages.
 *
 * Browser module.
 *
 * @module
 */
import type { PackageSummary } from '../core/schemas.ts';
import { h } from './dom.ts';
import { formatDate, platformIdLabel } from './format.ts';
import { packageHref } from './links.ts';

/** A link to a package's page, or null when the name in the data is not a valid package name. */
function hrefOf(kind: PackageSummary['kind'], name: string): string | null {
  try {
    return packageHref(kind, name);
  } catch {
    return null;
  }
}

/** One list item for a package summary. Every string in `summary` is rendered as text. */
export function packageListItem(summary: PackageSummary): HTMLLIElement {
  const href = hrefOf(summary.kind, summary.name);
  const title = summary.display_name && summary.display_name !== summary.name ? summary.display_name : summary.name;
  const heading = h(
    'h3',
    { class: 'result-heading' },
    href
      ? h('a', { class: 'result-link', href }, h('span', { class: 'result-title' }, title))
      : h('span', { class: 'result-title' }, title),
    title !== summary.name ? h('span', { class: 'result-name' }, summary.name) : null,
  );
  const version = summary.latest
    ? h('span', { class: 'badge badge-version', title: 'Latest version' }, `v${summary.latest}`)
    : h('span', { class: 'badge badge-prerelease', title: 'No release yet; newest prerelease' }, `v${summary.newest} prerelease`);
  return h(
    'li',
    { class: 'result', 'data-name': summary.name },
    heading,
    summary.description ? h('p', { class: 'result-desc' }, summary.description) : null,
    h(
      'p',
      { class: 'result-meta' },
      version,
      summary.server_type ? h('span', { class: 'badge' }, summary.server_type) : null,
      ...summary.platforms.map((id) => h('span', { class: 'badge badge-platform' }, platformIdLabel(id))),
      summary.status === 'deprecated'
        ? h('span', { class: 'badge badge-status badge-deprecated', title: summary.status_message ?? 'Deprecated by its publisher' }, 'deprecated')
        : null,
      summary.verified ? h('span', { class: 'badge badge-verified', title: 'Published from GitHub Actions with a verified OIDC token' }, '✓ verified') : null,
      h('span', { class: 'result-date' }, 'updated ', h('time', { datetime: summary.updated_at }, formatDate(summary.updated_at))),
    ),
  );
}
