/**
 * `shelf bundle show` / `shelf skill show`: a package's details, versions and provenance.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * { "package": PackageDocument, "version": VersionDocument, "downloads": PackageDownloads | null }
 * ```
 * Both as the registry serves them (see core/schemas.ts), statuses included (`status`,
 * `status_message`); `downloads` is null when the registry has counted none for the package.
 * `version` is the shown version: the one named on the command line, else the latest (or newest
 * prerelease when there is no release); it is null for a package without versions, and for a
 * package or version the registry operator removed (the package document then says why). A
 * status that is not active is also printed as a warning on stderr.
 *
 * @module
 */
import semver from 'semver';
import { isShelfError } from '../core/errors.ts';
import { isSelectable, REMOVED_BY_OPERATOR } from '../core/lifecycle.ts';
import type { Kind } from '../core/names.ts';
import type { Artifact, PackageDocument, PackageDownloads, Provenance, VersionDocument } from '../core/schemas.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  day,
  formatTable,
  commandArgs,
  parsePackageSpec,
  type CommandContext,
} from './common.ts';
import { warnStatus } from './status-notice.ts';
import type { Style } from './style.ts';
import { resolveVersion } from '../client/resolve-version.ts';

/** Help text of the show command for a kind. */
export function showHelp(kind: Kind): string {
  return `Usage: shelf ${kind} show <@scope/name[@version|@range]> [options]

Shows a ${kind}: description, latest version, author, license, and every version with
its platforms and date.${kind === 'bundle' ? ' Lists the tools the bundle provides.' : ''}
Then shows the provenance of the version's artifacts: GitHub repository, workflow and
commit. The version is the latest unless one is named (@1.2.0, or a range like @^1).
Deprecated, yanked and removed versions are marked; a warning on stderr says why.

Options:
  --json           Print {package, version} (the registry's documents) as JSON
${COMMON_HELP}`;
}

/**
 * Fetches and prints a package and one of its versions.
 *
 * @returns The exit code.
 */
export async function showCommand(kind: Kind, args: string[], ctx: CommandContext): Promise<number> {
  const command = `shelf ${kind} show`;
  const parsed = commandArgs(command, args, { ...COMMON_OPTIONS, json: { type: 'boolean' } }, ctx, showHelp(kind));
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const spec = parsePackageSpec(command, positionals);
  const client = ctx.client(values.registry, { offline: values.offline });

  const [pkg, downloads] = await Promise.all([client.getPackage(kind, spec.name), client.getDownloads(kind, spec.name)]);
  let version: VersionDocument | null = null;
  try {
    if (pkg.versions.length > 0 || spec.range !== undefined) version = await client.getVersion(kind, spec.name, resolveVersion(pkg, spec.range));
  } catch (error) {
    // A package or version the operator took down is still shown: what it was, and why it went.
    if (!isShelfError(error, 'package_removed') && !isShelfError(error, 'version_removed')) throw error;
  }
  const exact = spec.range !== undefined && semver.valid(spec.range) !== null ? semver.valid(spec.range) : null;
  warnStatus(ctx, pkg, version?.version ?? exact);

  if (values.json) {
    ctx.out(JSON.stringify({ package: pkg, version, downloads }, null, 2));
    return 0;
  }
  ctx.out(renderPackage(pkg, version, downloads, ctx.style));
  return 0;
}

function renderPackage(pkg: PackageDocument, version: VersionDocument | null, downloads: PackageDownloads | null, s: Style): string {
  const sections: string[] = [];
  const title =
    pkg.display_name && pkg.display_name !== pkg.name ? `${s.bold(pkg.display_name)} (${s.cyan(pkg.name)})` : s.bold(s.cyan(pkg.name));
  sections.push(`${title}\n${pkg.description}`);

  const newest = pkg.versions.find(isSelectable)?.version;
  const facts: string[][] = [];
  if (pkg.status !== 'active') facts.push(['Status:', statusText(pkg.status, pkg.status_message, s)]);
  if (pkg.status !== 'removed') {
    facts.push(['Latest:', pkg.latest !== null ? s.green(pkg.latest) : s.yellow(newest ? `none released (newest prerelease ${newest})` : 'none')]);
  }
  if (pkg.author) {
    const contact = pkg.author.email ? ` <${pkg.author.email}>` : pkg.author.url ? ` (${pkg.author.url})` : '';
    facts.push(['Author:', `${pkg.author.name}${contact}`]);
  }
  if (pkg.license) facts.push(['License:', pkg.license]);
  if (pkg.homepage) facts.push(['Homepage:', pkg.homepage]);
  if (pkg.server_type) facts.push(['Server type:', pkg.server_type]);
  if (version && version.status !== 'active') facts.push([`${version.version}:`, statusText(version.status, version.status_message, s)]);
  facts.push(['Repository:', `https://github.com/${pkg.repository.name}`]);
  if (pkg.keywords.length > 0) facts.push(['Keywords:', pkg.keywords.join(', ')]);
  if (downloads) {
    const shown = version ? downloads.versions[version.version] : undefined;
    facts.push(['Downloads:', `${downloads.total} (${downloads.last_30_days} in the last 30 days${shown !== undefined ? `; ${shown} of ${version!.version}` : ''})`]);
  }
  sections.push(formatTable(facts.map(([label, value]) => [s.dim(label!), value!])));

  if (pkg.versions.length > 0) {
    const rows = pkg.versions.map((v) => [
      v.version === version?.version ? `${s.bold(v.version)} *` : v.version,
      [v.prerelease ? s.yellow('prerelease') : '', v.status === 'active' ? '' : v.status === 'deprecated' ? s.yellow('deprecated') : s.red(v.status)].filter(Boolean).join(' '),
      day(v.published_at),
      v.platforms.map((p) => `${p.os}-${p.arch}`).join(', '),
    ]);
    sections.push(`${s.bold('Versions')} (* = shown below):\n${formatTable(rows, '  ')}`);
  }

  const lists: Array<[string, PackageDocument['tools']]> = [
    ['Tools', pkg.tools],
    ['Prompts', pkg.prompts],
  ];
  for (const [label, items] of lists) {
    if (items.length === 0) continue;
    sections.push(`${s.bold(label)}:\n${formatTable(items.map((t) => [s.cyan(t.name), s.dim(t.description ?? '')]), '  ')}`);
  }

  if (version) sections.push(renderProvenance(version, s));
  return sections.join('\n\n');
}

/**
 * Artifacts of one version usually come from one workflow run; identical provenance is printed
 * once with every platform it covers.
 */
function renderProvenance(version: VersionDocument, s: Style): string {
  const groups = new Map<string, { provenance: Provenance; attestation: Artifact['attestation']; platforms: string[] }>();
  for (const artifact of version.artifacts) {
    const p = artifact.provenance;
    const key = JSON.stringify([p.repository, p.workflow_ref, p.sha, p.run_id, p.issuer, artifact.attestation?.certificate_identity ?? null]);
    const group = groups.get(key) ?? { provenance: p, attestation: artifact.attestation, platforms: [] };
    group.platforms.push(platformOf(artifact));
    groups.set(key, group);
  }
  const lines = [`${s.bold('Provenance')} of ${version.version} (release ${version.release.tag}, ${day(version.published_at)}):`];
  for (const { provenance: p, attestation, platforms } of groups.values()) {
    const rows: string[][] = [
      // The registry only records provenance it verified; `verified` is always true.
      ['Verified:', `${s.green('✓')} GitHub Actions OIDC token (${p.issuer})`],
      [
        'Level:',
        attestation
          ? `${s.green('Sigstore-attested')}: GitHub attested these bytes, signed by ${attestation.certificate_identity} (check it yourself: shelf bundle verify)`
          : `registry-verified token only ${s.dim('(no Sigstore attestation)')}`,
      ],
      ['Repository:', `https://github.com/${p.repository}`],
    ];
    if (p.workflow_ref) rows.push(['Workflow:', p.workflow_ref]);
    rows.push(['Commit:', p.ref ? `${p.sha.slice(0, 7)} (${p.ref})` : p.sha.slice(0, 7)]);
    if (p.run_id) rows.push(['Run:', `https://github.com/${p.repository}/actions/runs/${p.run_id}`]);
    lines.push(`  ${platforms.join(', ')}`, formatTable(rows, '    '));
  }
  if (version.artifacts.length === 0) lines.push('  (no artifacts)');
  return lines.join('\n');
}

/** `deprecated: <message>`, `removed by the registry operator: <reason>`, coloured. */
function statusText(status: string, message: string | undefined, s: Style): string {
  const word = status === 'removed' ? REMOVED_BY_OPERATOR : status;
  const text = message ? `${word}: ${message}` : word;
  return status === 'deprecated' ? s.yellow(text) : s.red(text);
}

function platformOf(artifact: Artifact): string {
  return `${artifact.os}-${artifact.arch}`;
}
