/**
 * The indexer's document builders: pure functions from records (version documents and pins) to
 * the derived static files. No I/O here; the announce pipeline and the rebuild read the records,
 * call these, and write the results.
 *
 * @module
 */
import { compareVersionsDesc, isPrerelease, KIND_PLURAL, platformId, type Kind, type PackageName } from '../core/names.ts';
import { isSelectable } from '../core/lifecycle.ts';
import {
  SCHEMA_VERSION,
  type LifecycleRecord,
  type RemovedVersion,
  type VersionStatus,
  type Artifact,
  type PackageDocument,
  type PackageSummary,
  type RecentDocument,
  type ScopeDocument,
  type VersionDocument,
} from '../core/schemas.ts';
import { versionKey } from '../core/paths.ts';
import type { Version } from '../core/names.ts';
import { packageStatusOf, versionStatusOf } from './lifecycle.ts';

/** How many entries `v1/catalog/recent.json` keeps. */
export const RECENT_LIMIT = 50;

/** What an announce adds to a version. */
export interface VersionAddition {
  kind: Kind;
  pkg: PackageName;
  version: Version;
  prerelease: boolean;
  /** The bundle manifest or the skill front matter. */
  metadata: Record<string, unknown>;
  release: { tag: string; url: string };
  artifact: Artifact;
}

/**
 * Adds an artifact to a version document (creating the document for the first artifact). The
 * version's metadata and release are those of its first announce: versions are immutable.
 */
export function addArtifact(existing: VersionDocument | null, add: VersionAddition): VersionDocument {
  const artifacts = [...(existing?.artifacts ?? []).filter((a) => platformId(a) !== platformId(add.artifact)), add.artifact];
  artifacts.sort((a, b) => platformId(a).localeCompare(platformId(b)));
  const base: VersionDocument = existing ?? {
    schema_version: SCHEMA_VERSION,
    kind: add.kind,
    name: add.pkg.full,
    version: add.version,
    prerelease: add.prerelease || isPrerelease(add.version),
    published_at: add.artifact.published_at,
    updated_at: add.artifact.published_at,
    ...(add.kind === 'bundle' ? { manifest: add.metadata } : { skill: add.metadata }),
    release: add.release,
    artifacts: [],
    status: 'active',
  };
  return { ...base, updated_at: add.artifact.published_at, artifacts };
}

/**
 * The highest non-prerelease version that is neither yanked nor removed, or null (`latest` is
 * semver order, not announce order).
 */
export function latestVersion(versions: readonly { version: string; prerelease: boolean; status?: VersionStatus }[]): string | null {
  const stable = versions.filter((v) => !v.prerelease && isSelectable({ status: v.status ?? 'active' })).map((v) => v.version);
  return stable.sort(compareVersionsDesc)[0] ?? null;
}

/** The repository a package is pinned to. */
export interface RepositoryPin {
  name: string;
  id: string;
}

/** The pin-only package document written create-only at a package's first announce. */
export function pinnedPackage(kind: Kind, pkg: PackageName, pin: RepositoryPin, now: string): PackageDocument {
  return buildPackageDocument(kind, pkg, [], pin, now);
}

/**
 * Builds a package document from all of its version documents and its lifecycle record. Summary
 * fields (description, tools, ...) come from the latest version, else from the highest version
 * that is not yanked, else from the highest. Versions the record says were taken down are listed
 * from their tombstones (status `removed`, no platforms), whether or not their documents are
 * still there; a package taken down lists nothing else and keeps no summary fields.
 */
export function buildPackageDocument(
  kind: Kind,
  pkg: PackageName,
  versions: readonly VersionDocument[],
  pin: RepositoryPin,
  createdAt: string,
  lifecycle: LifecycleRecord | null = null,
): PackageDocument {
  if (lifecycle?.removed) return removedPackageDocument(kind, pkg, pin, createdAt, lifecycle);
  const removed = new Set(lifecycle?.removed_versions.map((r) => r.version));
  const live = versions.filter((v) => !removed.has(v.version));
  const sorted = [...live].sort((a, b) => compareVersionsDesc(a.version, b.version));
  const entries = [
    ...sorted.map((v) => ({
      version: v.version,
      prerelease: v.prerelease,
      published_at: v.published_at,
      platforms: v.artifacts.map((a) => ({ os: a.os, arch: a.arch })),
      path: versionKey(kind, pkg, v.version as Version),
      ...versionStatusOf(lifecycle, v.version),
    })),
    ...(lifecycle?.removed_versions ?? []).map((r) => removedEntry(kind, pkg, r)),
  ].sort((a, b) => compareVersionsDesc(a.version, b.version));
  const latest = latestVersion(entries);
  const selectable = new Set(entries.filter(isSelectable).map((e) => e.version));
  const head = sorted.find((v) => v.version === latest) ?? sorted.find((v) => selectable.has(v.version)) ?? sorted[0];
  const meta = (head?.manifest ?? head?.skill ?? {}) as Record<string, unknown>;
  const skillMeta = (kind === 'skill' ? obj(meta.metadata) : {}) as Record<string, unknown>;
  const firstPublished = sorted.map((v) => v.published_at).sort()[0];
  const lastUpdated = sorted.map((v) => v.updated_at).sort().at(-1);

  const doc: PackageDocument = {
    schema_version: SCHEMA_VERSION,
    kind,
    name: pkg.full,
    scope: pkg.scope,
    description: str(meta.description) ?? '',
    keywords: kind === 'bundle' ? strings(meta.keywords) : [...strings(skillMeta.tags), ...strings(skillMeta.keywords)],
    tools: kind === 'bundle' ? namedItems(meta.tools) : [],
    prompts: kind === 'bundle' ? namedItems(meta.prompts) : [],
    latest,
    repository: pin,
    created_at: firstPublished && firstPublished < createdAt ? firstPublished : createdAt,
    updated_at: lastUpdated ?? createdAt,
    versions: entries,
    ...packageStatusOf(lifecycle),
  };
  const displayName = str(meta.display_name);
  if (displayName) doc.display_name = displayName;
  const author = kind === 'bundle' ? obj(meta.author) : { name: str(skillMeta.author) };
  if (typeof author.name === 'string' && author.name) {
    doc.author = { name: author.name };
    if (typeof author.email === 'string') doc.author.email = author.email;
    if (typeof author.url === 'string') doc.author.url = author.url;
  }
  const license = str(meta.license);
  if (license) doc.license = license;
  const homepage = str(meta.homepage);
  if (homepage) doc.homepage = homepage;
  const server = obj(meta.server);
  if (kind === 'bundle' && typeof server.type === 'string') doc.server_type = server.type;
  return doc;
}

/** A taken-down package: its pin and its tombstones, nothing its versions said. */
function removedPackageDocument(kind: Kind, pkg: PackageName, pin: RepositoryPin, createdAt: string, lifecycle: LifecycleRecord): PackageDocument {
  const versions = lifecycle.removed_versions.map((r) => removedEntry(kind, pkg, r));
  const firstPublished = versions.map((v) => v.published_at).sort()[0];
  return {
    schema_version: SCHEMA_VERSION,
    kind,
    name: pkg.full,
    scope: pkg.scope,
    description: '',
    keywords: [],
    tools: [],
    prompts: [],
    latest: null,
    repository: pin,
    created_at: firstPublished && firstPublished < createdAt ? firstPublished : createdAt,
    updated_at: lifecycle.removed!.removed_at,
    versions,
    ...packageStatusOf(lifecycle),
  };
}

/** A removed version's entry in its package's version list. */
function removedEntry(kind: Kind, pkg: PackageName, r: RemovedVersion): PackageDocument['versions'][number] {
  return {
    version: r.version,
    prerelease: r.prerelease,
    published_at: r.published_at,
    platforms: [],
    path: versionKey(kind, pkg, r.version as Version),
    status: 'removed',
    status_message: r.reason,
    status_changed_at: r.removed_at,
  };
}

/**
 * The summary of a package for catalogs and search results; null for a package with no version
 * a range could choose (none yet, or every one yanked or removed) and for a package taken down:
 * search leaves those out. The version a result shows (`latest`, else `newest`) is never yanked.
 * `status` marks a package deprecated as a whole, or whose shown version is.
 */
export function summarize(doc: PackageDocument): PackageSummary | null {
  if (doc.status === 'removed') return null;
  const newest = doc.versions.find(isSelectable);
  if (!newest) return null;
  const shown = doc.versions.find((v) => v.version === doc.latest) ?? newest;
  const summary: PackageSummary = {
    kind: doc.kind,
    name: doc.name,
    description: doc.description,
    latest: doc.latest,
    newest: newest.version,
    platforms: newest.platforms.map(platformId),
    tools: doc.tools.map((t) => t.name),
    keywords: doc.keywords,
    published_at: doc.created_at,
    updated_at: doc.updated_at,
    verified: true,
  };
  if (doc.display_name) summary.display_name = doc.display_name;
  if (doc.server_type) summary.server_type = doc.server_type;
  if (doc.author) summary.author = doc.author.name;
  const deprecation = doc.status === 'deprecated' ? doc : shown.status === 'deprecated' ? shown : null;
  if (deprecation) {
    summary.status = 'deprecated';
    if (deprecation.status_message !== undefined) summary.status_message = deprecation.status_message;
  }
  return summary;
}

/** The pin-only scope record written create-only at a scope's first announce. */
export function pinnedScope(scope: string, owner: string, ownerId: string, now: string): ScopeDocument {
  return { schema_version: SCHEMA_VERSION, scope, owner, owner_id: ownerId, pinned_at: now, packages: [] };
}

/**
 * Whether a scope record lists a package: it has a version that was not taken down, and was not
 * taken down itself.
 */
export function scopeLists(doc: PackageDocument): boolean {
  return doc.status !== 'removed' && doc.versions.some((v) => v.status !== 'removed');
}

/** Lists a package in its scope record, or (with `listed` false) takes it off (idempotent). */
export function setScopePackage(scope: ScopeDocument, kind: Kind, name: string, listed: boolean): ScopeDocument {
  if (listed) return addScopePackage(scope, kind, name);
  if (!scope.packages.some((p) => p.kind === kind && p.name === name)) return scope;
  return { ...scope, packages: scope.packages.filter((p) => !(p.kind === kind && p.name === name)) };
}

/** Adds a package to a scope record (idempotent). */
export function addScopePackage(scope: ScopeDocument, kind: Kind, name: string): ScopeDocument {
  if (scope.packages.some((p) => p.kind === kind && p.name === name)) return scope;
  const packages = [...scope.packages, { kind, name }].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
  return { ...scope, packages };
}

/** An entry of the recent list. */
export type RecentEntry = RecentDocument['entries'][number];

/**
 * The recent-list entries of a package's versions: every version but the removed ones, with its
 * status (a version's own, or deprecated when its package is).
 */
export function recentEntriesOf(doc: PackageDocument): RecentEntry[] {
  if (doc.status === 'removed') return [];
  return doc.versions.flatMap((v) => {
    if (v.status === 'removed') return [];
    const entry: RecentEntry = { kind: doc.kind, name: doc.name, version: v.version, published_at: v.published_at };
    const status = v.status === 'active' && doc.status === 'deprecated' ? 'deprecated' : v.status;
    if (status !== 'active') entry.status = status;
    return [entry];
  });
}

/**
 * Puts a package's entries in the recent list: replaces every entry it had (so removed versions
 * leave the list and statuses are current), newest first, at most {@link RECENT_LIMIT}.
 */
export function replaceRecent(recent: RecentDocument | null, kind: Kind, name: string, entries: readonly RecentEntry[]): RecentDocument {
  const others = (recent?.entries ?? []).filter((e) => !(e.kind === kind && e.name === name));
  return upsertRecent(recent && { ...recent, entries: others }, entries);
}

/** Adds versions to the recent list, newest first, at most {@link RECENT_LIMIT}, no duplicates. */
export function upsertRecent(recent: RecentDocument | null, entries: readonly RecentEntry[]): RecentDocument {
  const all = new Map<string, RecentEntry>();
  for (const e of [...(recent?.entries ?? []), ...entries]) all.set(`${e.kind}:${e.name}@${e.version}`, e);
  const sorted = [...all.values()].sort(
    (a, b) => b.published_at.localeCompare(a.published_at) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version),
  );
  return { schema_version: SCHEMA_VERSION, entries: sorted.slice(0, RECENT_LIMIT) };
}

/** The release page URL of a tag. */
export function releaseUrl(repository: string, tag: string): string {
  return `https://github.com/${repository}/releases/tag/${encodeURIComponent(tag)}`;
}

function obj(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}
function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}
function namedItems(v: unknown): { name: string; description?: string }[] {
  if (!Array.isArray(v)) return [];
  return v.flatMap((item) => {
    const o = obj(item);
    if (typeof o.name !== 'string') return [];
    return [typeof o.description === 'string' ? { name: o.name, description: o.description } : { name: o.name }];
  });
}
