/**
 * A bundle as the MCP registry read API (v0.1) shows it: one `ServerResponse` per version, built
 * from the records alone (the package document and the version documents), so that the announce
 * and `shelf rebuild` write the same bytes.
 *
 * - `server.name` is `io.github.{scope}/{name}`: Shelf's scope is the verified GitHub owner, the
 *   fact the official registry's `io.github.` namespace asserts. A name longer than the spec's
 *   200 characters has no server (the package is left out of this API).
 * - `server.description` is the version's description cut to the spec's 100 characters (the full
 *   text stays in Shelf's own documents); `title` is the display name.
 * - `packages`: one `registryType: "mcpb"` entry per artifact, its `identifier` the artifact's
 *   absolute URL on the registry's CDN, with `fileSha256` and `transport: stdio`, in platform
 *   order (darwin, linux, win32, then `any`). Which platform each is for is in Shelf's own
 *   `_meta` entry ({@link SHELF_META}), `artifacts`, in the same order, and in the URL itself
 *   (`…/{version}/{os}-{arch}.mcpb`).
 * - `_meta["io.modelcontextprotocol.registry/official"]`: `status`, `statusMessage` and
 *   `statusChangedAt` from Shelf's lifecycle ({@link officialStatus}: yanked is `deprecated`, a
 *   removed version is not served), `publishedAt`, `updatedAt`, `isLatest` (the version `latest`
 *   names, or the highest version neither yanked nor removed when every version is a prerelease).
 *
 * Pure module.
 *
 * @module
 */
import { compareVersionsDesc, type PackageName, type Version } from '../core/names.ts';
import { effectiveStatus, isSelectable, type EffectiveStatus } from '../core/lifecycle.ts';
import { artifactKey, lifecycleKey, mcpServerName, packageKey, versionKey } from '../core/paths.ts';
import type { PackageDocument, VersionDocument } from '../core/schemas.ts';

/** The official registry's `_meta` key (the spec allows no other keys inside it). */
export const OFFICIAL_META = 'io.modelcontextprotocol.registry/official';
/** Shelf's own `_meta` key: provenance, platforms, Shelf's documents. */
export const SHELF_META = 'dev.shelf.registry/package';
/** The spec's bounds. */
export const MAX_SERVER_NAME = 200;
export const MAX_DESCRIPTION = 100;
export const MAX_TITLE = 100;
export const MAX_STATUS_MESSAGE = 500;

/** A server's response, as this registry writes it (the spec's `ServerResponse`). */
export interface ServerResponse {
  server: {
    $schema: string;
    name: string;
    description: string;
    title?: string;
    version: string;
    repository?: { url: string; source: 'github'; id: string };
    websiteUrl?: string;
    icons?: Icon[];
    packages: Array<{ registryType: 'mcpb'; identifier: string; version: string; fileSha256: string; transport: { type: 'stdio' } }>;
  };
  _meta: Record<string, unknown> & {
    [OFFICIAL_META]: OfficialStatus & { publishedAt: string; updatedAt: string; isLatest: boolean };
  };
}

/** An icon as the spec has it: an https URL of at most 255 characters. */
export interface Icon {
  src: string;
  mimeType?: string;
  sizes?: string[];
  theme?: 'light' | 'dark';
}

/** The `server.json` schema the official registry names (2025-12-11, the API spec of 2025-12-01). */
export const SERVER_SCHEMA_URL = 'https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json';

const PLATFORM_ORDER = ['darwin', 'linux', 'win32', 'any'];

/**
 * The version the API marks `isLatest`: `latest`, else the highest version neither yanked nor
 * removed (a server with prereleases only); null when every version is yanked or removed.
 */
export function mcpLatest(doc: PackageDocument): string | null {
  if (doc.status === 'removed') return null;
  return doc.latest ?? doc.versions.filter(isSelectable).map((v) => v.version).sort(compareVersionsDesc)[0] ?? null;
}

/** The official `_meta`'s status fields of one version. */
export interface OfficialStatus {
  status: 'active' | 'deprecated';
  statusMessage?: string;
  statusChangedAt?: string;
}

/**
 * A version's status as the official `_meta` says it, from Shelf's lifecycle (the version's own
 * status, else its package's; `core/lifecycle.ts`), or null for a version that is not served:
 *
 * - `active` → `active`;
 * - `deprecated` (the version, or the whole package) → `deprecated`, the publisher's message as
 *   `statusMessage`;
 * - `yanked` → `deprecated`, `statusMessage` "yanked: <message>" (or "yanked"), and never
 *   `isLatest` (Shelf never calls it latest). It stays listed and installable by its exact
 *   version, as Shelf's own clients keep it for lockfiles;
 * - `removed` (a takedown of the version or the package) → null: its files are deleted and it
 *   is in no listing (the spec's `deleted`, which listings leave out by default, with the bytes
 *   gone).
 *
 * `statusChangedAt` is when the status applying to the version was set (for an active one, when
 * it was last made active again; absent if never).
 */
export function officialStatus(doc: PackageDocument, version: string): OfficialStatus | null {
  const s = statusOf(doc, version);
  if (s.status === 'removed') return null;
  const changed = s.changed_at ? { statusChangedAt: s.changed_at } : {};
  if (s.status !== 'deprecated' && s.status !== 'yanked') return { status: 'active', ...changed };
  const message = s.status === 'yanked' ? (s.message ? `yanked: ${s.message}` : 'yanked') : s.message;
  return { status: 'deprecated', ...(message ? { statusMessage: cut(message, MAX_STATUS_MESSAGE) } : {}), ...changed };
}

/** True when a package has a server name the API accepts. */
export function hasServerName(pkg: PackageName): boolean {
  return mcpServerName(pkg).length <= MAX_SERVER_NAME;
}

/**
 * Every version of a bundle as a `ServerResponse`, newest publication first (the order of
 * `GET /v0.1/servers/{name}/versions`; ties by semver, highest first).
 *
 * @param publicUrl - The registry's base URL on the CDN (artifact URLs are absolute).
 */
export function serverResponses(pkg: PackageName, doc: PackageDocument, versions: readonly VersionDocument[], publicUrl: string): ServerResponse[] {
  const latest = mcpLatest(doc);
  const base = publicUrl.replace(/\/+$/, '');
  return [...versions]
    .filter((v) => v.artifacts.length > 0)
    .sort((a, b) => b.published_at.localeCompare(a.published_at) || compareVersionsDesc(a.version, b.version))
    .flatMap((v) => {
      const status = officialStatus(doc, v.version);
      return status ? [serverResponse(pkg, doc, v, status, v.version === latest, base)] : [];
    });
}

function serverResponse(pkg: PackageName, doc: PackageDocument, v: VersionDocument, status: OfficialStatus, isLatest: boolean, base: string): ServerResponse {
  const manifest = (v.manifest ?? {}) as Record<string, unknown>;
  const artifacts = [...v.artifacts].sort((a, b) => PLATFORM_ORDER.indexOf(a.os) - PLATFORM_ORDER.indexOf(b.os) || a.arch.localeCompare(b.arch));
  const version = v.version as Version;
  const url = (key: string) => `${base}/${key}`;
  const provenance = artifacts[0]!.provenance;
  const server: ServerResponse['server'] = {
    $schema: SERVER_SCHEMA_URL,
    name: mcpServerName(pkg),
    description: cut(text(manifest.description) || text(manifest.display_name) || pkg.full, MAX_DESCRIPTION),
    version,
    repository: { url: `https://github.com/${provenance.repository}`, source: 'github', id: provenance.repository_id },
    packages: artifacts.map((a) => ({
      registryType: 'mcpb' as const,
      identifier: url(artifactKey('bundle', pkg, version, a)),
      version,
      fileSha256: a.sha256,
      transport: { type: 'stdio' as const },
    })),
  };
  const title = text(manifest.display_name);
  if (title) server.title = cut(title, MAX_TITLE);
  const website = text(manifest.homepage);
  if (website && /^https?:\/\/[^\s]+$/.test(website) && URL.canParse(website)) server.websiteUrl = website;
  const icons = iconsOf(manifest);
  if (icons.length > 0) server.icons = icons;
  // Keys in a fixed order: equal content, equal bytes.
  const ordered: ServerResponse['server'] = {
    $schema: server.$schema,
    name: server.name,
    description: server.description,
    ...(server.title ? { title: server.title } : {}),
    version: server.version,
    ...(server.repository ? { repository: server.repository } : {}),
    ...(server.websiteUrl ? { websiteUrl: server.websiteUrl } : {}),
    ...(server.icons ? { icons: server.icons } : {}),
    packages: server.packages,
  };
  return {
    server: ordered,
    _meta: {
      [OFFICIAL_META]: {
        ...status,
        publishedAt: v.published_at,
        // A status change updates the version too.
        updatedAt: status.statusChangedAt && status.statusChangedAt > v.updated_at ? status.statusChangedAt : v.updated_at,
        isLatest,
      },
      [SHELF_META]: {
        name: pkg.full,
        prerelease: v.prerelease,
        ...shelfStatus(doc, v.version),
        document: url(versionKey('bundle', pkg, version)),
        package: url(packageKey('bundle', pkg)),
        ...(hasLifecycle(doc) ? { lifecycle: url(lifecycleKey('bundle', pkg)) } : {}),
        release: v.release,
        artifacts: artifacts.map((a) => ({
          os: a.os,
          arch: a.arch,
          identifier: url(a.path),
          sha256: a.sha256,
          size: a.size,
          published_at: a.published_at,
          provenance: a.provenance,
        })),
      },
    },
  };
}

/**
 * Shelf's own status of a version (`active`, `deprecated`, `yanked`: the official `_meta` cannot
 * say yanked), where it comes from (`version` or `package`), its message and when it was set.
 */
function shelfStatus(doc: PackageDocument, version: string): Record<string, string> {
  const s = statusOf(doc, version);
  return {
    status: s.status,
    ...(s.status === 'active' ? {} : { status_source: s.source }),
    ...(s.message ? { status_message: s.message } : {}),
    ...(s.changed_at ? { status_changed_at: s.changed_at } : {}),
  };
}

/**
 * The status that applies to a version (`core/lifecycle.ts`), with, for an active version whose
 * status or whose package's was changed back to active (unyank, undeprecate), the time of that
 * change: a client that watches `statusChangedAt` or `updatedAt` sees the reactivation too.
 */
function statusOf(doc: PackageDocument, version: string): EffectiveStatus {
  const s = effectiveStatus(doc, version);
  if (s.status !== 'active') return s;
  const changed = [doc.versions.find((v) => v.version === version)?.status_changed_at, doc.status_changed_at].filter((t): t is string => t !== undefined).sort().at(-1);
  return changed ? { ...s, changed_at: changed } : s;
}

/** Whether the package has a lifecycle record (a status was ever set on it or a version). */
const hasLifecycle = (doc: PackageDocument): boolean => doc.status_changed_at !== undefined || doc.versions.some((v) => v.status_changed_at !== undefined);

/**
 * A server version as the listings' pages show it: the same `server` and official `_meta`, and
 * Shelf's `_meta` reduced to what tells the packages apart (`name`, `prerelease`, Shelf's
 * `status`, each artifact's `os`, `arch`, `identifier` and `sha256`). Provenance, sizes and links to Shelf's documents stay
 * in `versions/{version}.json` and `versions.json`: they are most of an entry's bytes, and a page
 * holds every version of about 16 servers.
 */
export function listingEntry(entry: ServerResponse): ServerResponse {
  const shelf = entry._meta[SHELF_META] as { name: string; prerelease?: boolean; status?: string; artifacts: Array<{ os: string; arch: string; identifier: string; sha256: string }> } | undefined;
  if (!shelf) return entry;
  return {
    server: entry.server,
    _meta: {
      [OFFICIAL_META]: entry._meta[OFFICIAL_META],
      [SHELF_META]: {
        name: shelf.name,
        ...(shelf.prerelease === undefined ? {} : { prerelease: shelf.prerelease }),
        ...(shelf.status === undefined ? {} : { status: shelf.status }),
        artifacts: shelf.artifacts.map((a) => ({ os: a.os, arch: a.arch, identifier: a.identifier, sha256: a.sha256 })),
      },
    },
  };
}

const MAX_ICON_URL = 255;
const ICON_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', svg: 'image/svg+xml', webp: 'image/webp' };

/**
 * The manifest's icons the spec accepts: `icons[]` (MCPB 0.3+: `src`, `size`, `theme`) and the
 * single `icon`, kept when `src` is an https URL of at most 255 characters. An icon inside the
 * bundle (a relative path, the usual case) has no URL of its own and is left out. `mimeType` comes
 * from the URL's extension when it names one of the spec's types, `sizes` from `size`
 * (`WIDTHxHEIGHT`), `theme` when it is `light` or `dark`.
 */
export function iconsOf(manifest: Record<string, unknown>): Icon[] {
  const listed = Array.isArray(manifest.icons) ? manifest.icons : [];
  const candidates: Array<Record<string, unknown>> = [
    ...listed.filter((i): i is Record<string, unknown> => typeof i === 'object' && i !== null),
    ...(typeof manifest.icon === 'string' ? [{ src: manifest.icon }] : []),
  ];
  const out: Icon[] = [];
  for (const candidate of candidates) {
    const src = text(candidate.src);
    if (!src || src.length > MAX_ICON_URL || !/^https:\/\/[^\s]+$/.test(src) || !URL.canParse(src)) continue;
    if (out.some((i) => i.src === src)) continue;
    const icon: Icon = { src };
    const type = ICON_TYPES[/\.([a-z0-9]+)$/i.exec(new URL(src).pathname)?.[1]?.toLowerCase() ?? ''];
    if (type) icon.mimeType = type;
    const size = text(candidate.size);
    if (/^\d+x\d+$/.test(size)) icon.sizes = [size];
    if (candidate.theme === 'light' || candidate.theme === 'dark') icon.theme = candidate.theme;
    out.push(icon);
  }
  return out;
}

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

/** Cuts to `max` characters (code points), ending with "…" when it cut. */
export function cut(value: string, max: number): string {
  const chars = [...value.replace(/\s+/g, ' ')];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('').trimEnd()}…`;
}
