/**
 * Every storage key in the bucket, built in this one module. A key is also the file's URL path
 * on the CDN (`{public_url}/{key}`), so the layout here is the public read API. Each file's JSON
 * Schema lives in `index-schema/` (see {@link SCHEMA_FILES}).
 *
 * Keys are only built from validated values ({@link PackageName}, {@link Version},
 * {@link Platform}), which cannot contain `/`, `..` or anything else that escapes a folder.
 *
 * @module
 */
import { KIND_PLURAL, platformId, type Kind, type PackageName, type Platform, type Version } from './names.ts';

/** Longest key, in UTF-8 bytes (S3's limit). */
export const MAX_KEY_BYTES = 1024;
/** Longest segment of a key, in UTF-8 bytes (a file name on common file systems). */
export const MAX_KEY_SEGMENT_BYTES = 255;

/**
 * Why `key` cannot name an object in any store, or null when it can. A key is a relative,
 * `/`-separated path of non-empty segments, none starting with `.` (stores keep their own
 * bookkeeping under such names), without control characters, at most {@link MAX_KEY_BYTES}
 * long with segments of at most {@link MAX_KEY_SEGMENT_BYTES}: so no key can escape a folder,
 * collide with a store's files, or fail in a file system rather than as a refusal.
 */
export function keyProblem(key: string): string | null {
  if (typeof key !== 'string' || key === '') return 'is empty';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'has a control character';
  if (utf8Length(key) > MAX_KEY_BYTES) return `is longer than ${MAX_KEY_BYTES} bytes`;
  if (key.startsWith('/')) return 'is absolute';
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return 'has an empty, "." or ".." segment';
    if (segment.startsWith('.')) return 'has a segment starting with "."';
    if (utf8Length(segment) > MAX_KEY_SEGMENT_BYTES) return `has a segment longer than ${MAX_KEY_SEGMENT_BYTES} bytes`;
  }
  return null;
}

const utf8Length = (text: string): number => new TextEncoder().encode(text).byteLength;

/** The layout's version prefix. */
export const ROOT = 'v1';

/** Registry metadata: where everything else is. */
export const configKey = (): string => `${ROOT}/config.json`;

/** The package document: summary, latest, all versions with their platforms. */
export function packageKey(kind: Kind, pkg: PackageName): string {
  return `${ROOT}/${KIND_PLURAL[kind]}/@${pkg.scope}/${pkg.name}.json`;
}

/** Folder of everything a package has besides its document: its versions and lifecycle record. */
export function packageFolder(kind: Kind, pkg: PackageName): string {
  return `${ROOT}/${KIND_PLURAL[kind]}/@${pkg.scope}/${pkg.name}/`;
}

/** Folder holding one version document per version; listing it finds a package's versions. */
export function versionsPrefix(kind: Kind, pkg: PackageName): string {
  return `${ROOT}/${KIND_PLURAL[kind]}/@${pkg.scope}/${pkg.name}/versions/`;
}

/** The version document: the record of truth for one version (manifest, artifacts, provenance). */
export function versionKey(kind: Kind, pkg: PackageName, version: Version): string {
  return `${versionsPrefix(kind, pkg)}${version}.json`;
}

/**
 * A version's README (Markdown): the artifact's own, else the repository's at the released
 * commit; written create-only by the announce (see `announce/readme.ts`).
 */
export function readmeKey(kind: Kind, pkg: PackageName, version: Version): string {
  return `${versionsPrefix(kind, pkg)}${version}/README.md`;
}

/**
 * The lifecycle record of a package: the statuses its publisher set, the operator's tombstones,
 * and their history (written by a status change or a takedown, never by an announce).
 */
export function lifecycleKey(kind: Kind, pkg: PackageName): string {
  return `${ROOT}/${KIND_PLURAL[kind]}/@${pkg.scope}/${pkg.name}/lifecycle.json`;
}

/** File extension of each kind's artifacts. */
export const ARTIFACT_EXTENSION: Record<Kind, string> = { bundle: '.mcpb', skill: '.skill' };

/** The artifact itself: immutable, written create-only. */
export function artifactKey(kind: Kind, pkg: PackageName, version: Version, platform: Platform): string {
  return `${versionsPrefix(kind, pkg)}${version}/${platformId(platform)}${ARTIFACT_EXTENSION[kind]}`;
}

/**
 * The Sigstore bundle (a GitHub artifact attestation) the registry verified for an artifact at
 * announce, stored beside it: immutable, written create-only, like the artifact.
 */
export function attestationKey(kind: Kind, pkg: PackageName, version: Version, platform: Platform): string {
  return `${artifactKey(kind, pkg, version, platform)}.sigstore.json`;
}

/** The registry's public signing keys (see `signing/`): what clients pin and verify with. */
export const keysKey = (): string => `${ROOT}/keys.json`;

/** The scope record: pinned owner id and the scope's packages. */
export function scopeKey(scope: string): string {
  return `${ROOT}/scopes/@${scope}.json`;
}

/** Prefix under which every scope record lives. */
export const scopesPrefix = (): string => `${ROOT}/scopes/`;

/** Prefix under which every package of a kind lives (package documents are `@scope/name.json`). */
export function kindPrefix(kind: Kind): string {
  return `${ROOT}/${KIND_PLURAL[kind]}/`;
}

/**
 * A package's badge, an SVG of its latest version for READMEs (derived, rewritten only when it
 * changes). Under a root of its own, so listings of package documents never meet it.
 */
export function badgeKey(kind: Kind, pkg: PackageName): string {
  return `${ROOT}/badges/${KIND_PLURAL[kind]}/@${pkg.scope}/${pkg.name}.svg`;
}

/**
 * The sharded search index and catalog of a kind (the default layout, docs/sharded-search.md):
 * its root is the generation pointer, small and mutable; everything it names is immutable.
 */
export function shardedRootKey(kind: Kind): string {
  return `${ROOT}/search/${KIND_PLURAL[kind]}/root.json`;
}

/** A content-addressed tree file of a kind's sharded index (terms, dictionary, pages, catalog pages). */
export function shardKey(kind: Kind, file: string): string {
  return `${ROOT}/search/${KIND_PLURAL[kind]}/shards/${file}.json`;
}

/** A content-addressed display file (one package's summary) of a kind's sharded index. */
export function displayKey(kind: Kind, file: string): string {
  return `${ROOT}/search/${KIND_PLURAL[kind]}/docs/${file}.json`;
}

/** Everything of a kind's sharded index: its root, files and display files (`shelf gc` deletes only below it). */
export function searchPrefix(kind: Kind): string {
  return `${ROOT}/search/${KIND_PLURAL[kind]}/`;
}

/** What `shelf gc` records of a kind between runs: when each unreachable file was first seen so. */
export function gcStateKey(kind: Kind): string {
  return `${ROOT}/search/${KIND_PLURAL[kind]}/gc.json`;
}

/**
 * The files of a kind in the retired `single` layout (its whole catalog and whole MiniSearch
 * index): a whole `shelf rebuild` deletes them when it migrates a registry.
 */
export function retiredLayoutKeys(kind: Kind): string[] {
  return [`${ROOT}/catalog/${KIND_PLURAL[kind]}.json`, `${ROOT}/search/${KIND_PLURAL[kind]}.json`];
}

/** The most recently published versions, both kinds. */
export const recentKey = (): string => `${ROOT}/catalog/recent.json`;

/**
 * The derived archive of a skill version for the `skills` CLI (agent-skills discovery): the
 * artifact's files with `SKILL.md` at the root, content-addressed by its sha256, immutable.
 */
export function skillsArchiveKey(pkg: PackageName, version: Version, sha256: string): string {
  return `${versionsPrefix('skill', pkg)}${version}/skills-cli.${sha256}.zip`;
}

/**
 * The agent-skills discovery index (v0.2) of a scope's skills, served at
 * `/@{scope}/.well-known/agent-skills/index.json` (`src/edge/viewer-request.ts` maps the path:
 * a key cannot hold a `.well-known` segment).
 */
export function skillsDiscoveryScopeKey(scope: string): string {
  return `${ROOT}/agent-skills/@${scope}.json`;
}

/** The discovery index of one skill, served at `/@{scope}/{name}/.well-known/agent-skills/index.json`. */
export function skillsDiscoveryPackageKey(pkg: PackageName): string {
  return `${ROOT}/agent-skills/@${pkg.scope}/${pkg.name}.json`;
}

/** Prefix of every discovery index. */
export const skillsDiscoveryPrefix = (): string => `${ROOT}/agent-skills/`;

/** The MCP registry read API's version prefix (`/v0.1/servers...`, see `src/mcp/`). */
export const MCP_ROOT = 'v0.1';

/** The MCP server name of a bundle: `io.github.{scope}/{name}` (the scope is the verified GitHub owner). */
export function mcpServerName(pkg: PackageName): string {
  return `io.github.${pkg.scope}/${pkg.name}`;
}

/** Folder of one MCP server's files: `v0.1/servers/io.github.{scope}/{name}/`. */
export function mcpServerPrefix(pkg: PackageName): string {
  return `${MCP_ROOT}/servers/${mcpServerName(pkg)}/`;
}

/** `GET /v0.1/servers/{name}/versions`: every version of a server, newest first. */
export function mcpVersionsKey(pkg: PackageName): string {
  return `${mcpServerPrefix(pkg)}versions.json`;
}

/** `GET /v0.1/servers/{name}/versions/{version}` (`latest` included: no semver version is "latest"). */
export function mcpVersionKey(pkg: PackageName, version: Version | 'latest'): string {
  return `${mcpServerPrefix(pkg)}versions/${version}.json`;
}

/** The two listings of `GET /v0.1/servers`: every version, or `?version=latest`. */
export type McpListing = 'all' | 'latest';

/** One page of a listing (`?cursor={page}`; the first page is 0). */
export function mcpPageKey(listing: McpListing, page: number): string {
  return `${MCP_ROOT}/pages/${listing}/${page}.json`;
}

/** Prefix of both listings' pages. */
export const mcpPagesRoot = (): string => `${MCP_ROOT}/pages/`;

/** Prefix of a listing's pages. */
export function mcpPagesPrefix(listing: McpListing): string {
  return `${MCP_ROOT}/pages/${listing}/`;
}

/**
 * The body of the CDN's 404 answers (`{"error": "..."}`, as the MCP registry API's spec has it):
 * CloudFront answers every missing object with it. Outside `v0.1/`, so that the viewer-request
 * mapping never touches it.
 */
export const notFoundKey = (): string => `${ROOT}/not-found.json`;

/**
 * Recognises a version-document key and returns its parts, or null. Used by rebuilds that list
 * the bucket.
 */
export function parseVersionKey(key: string): { kind: Kind; full: string; version: string } | null {
  const m = /^v1\/(bundles|skills)\/(@[^/]+\/[^/]+)\/versions\/([^/]+)\.json$/.exec(key);
  if (!m) return null;
  return { kind: m[1] === 'bundles' ? 'bundle' : 'skill', full: m[2]!, version: m[3]! };
}

/**
 * Recognises an artifact key (`v1/{kind}s/@scope/name/versions/{version}/{os}-{arch}.{mcpb,skill}`)
 * and returns its parts, or null: what download counting counts.
 */
export function parseArtifactKey(key: string): { kind: Kind; full: string; version: string; platform: string } | null {
  const m = /^v1\/(bundles|skills)\/(@[a-z0-9-]+\/[a-z0-9-]+)\/versions\/([^/]+)\/([a-z0-9]+-[a-z0-9]+)\.(mcpb|skill)$/.exec(key);
  if (!m || (m[1] === 'bundles') !== (m[5] === 'mcpb')) return null;
  return { kind: m[1] === 'bundles' ? 'bundle' : 'skill', full: m[2]!, version: m[3]!, platform: m[4]! };
}

/**
 * Recognises a key whose whole GET is a download of a version, or returns null: an artifact, or
 * a skill's derived archive for the skills CLI (what `npx skills add` fetches), which counts as a
 * download of its skill version like the artifact does.
 */
export function parseDownloadKey(key: string): { kind: Kind; full: string; version: string } | null {
  const artifact = parseArtifactKey(key);
  if (artifact) return artifact;
  const m = /^v1\/skills\/(@[a-z0-9-]+\/[a-z0-9-]+)\/versions\/([^/]+)\/skills-cli\.[0-9a-f]{64}\.zip$/.exec(key);
  return m ? { kind: 'skill', full: m[1]!, version: m[2]! } : null;
}

/**
 * A package's download counts (total, last 30 days, per version, per day): written by the counts
 * job (`src/downloads/publish.ts`), read by `shelf show`. Bounded: 30 days and one entry per version.
 */
export function downloadsKey(kind: Kind, pkg: PackageName): string {
  return `${ROOT}/downloads/${KIND_PLURAL[kind]}/@${pkg.scope}/${pkg.name}.json`;
}

/** Prefix of every package's download counts. */
export const downloadsPrefix = (): string => `${ROOT}/downloads/`;

/** Every package of a kind with its total and last-30-days downloads: what `--sort downloads` reads. */
export function downloadsIndexKey(kind: Kind): string {
  return `${ROOT}/downloads/${KIND_PLURAL[kind]}.json`;
}

/**
 * The private area: registry-internal records (used tokens and the like) that readers never
 * see. (The embedded registry's signing key is not kept in the bucket at all: see
 * `signing/local-signer.ts`.) The local server answers 404 for every key under it, and on AWS
 * the CDN refuses it (`infra/shelf-stack.ts`); no public layout key starts with it.
 */
export const PRIVATE_PREFIX = 'private/';

/** True for a key of the private area, which is never served. */
export function isPrivateKey(key: string): boolean {
  return key.startsWith(PRIVATE_PREFIX);
}

/** Folder of the used-token records (see {@link usedTokenKey}). */
export const usedTokensPrefix = (): string => `${PRIVATE_PREFIX}used-tokens/`;

/**
 * The record of one used announce token: its expiry (seconds since the epoch, zero-padded so the
 * folder lists in expiry order, oldest first) and the sha256 of its issuer and `jti`.
 */
export function usedTokenKey(expiresAt: number, tokenHash: string): string {
  return `${usedTokensPrefix()}${String(expiresAt).padStart(12, '0')}-${tokenHash}.json`;
}

/** The expiry (seconds since the epoch) a used-token key names, or null for any other key. */
export function usedTokenExpiry(key: string): number | null {
  const m = /^private\/used-tokens\/(\d{12})-[0-9a-f]{64}\.json$/.exec(key);
  return m ? Number(m[1]) : null;
}

/** Folder of the download tallies (private: per day, per artifact; see `src/downloads/tally.ts`). */
export const downloadTalliesPrefix = (): string => `${PRIVATE_PREFIX}downloads/`;

/** The tally of one UTC day (`YYYY-MM-DD`): downloads per artifact version, and the sources counted into it. */
export function downloadDayKey(day: string): string {
  return `${downloadTalliesPrefix()}days/${day}.json`;
}

/** The day tallies folded into running totals (days older than the tally window). */
export const downloadTotalsKey = (): string => `${downloadTalliesPrefix()}totals.json`;

/** Folder of the quota bookkeeping: one small create-only object per counted announce, by day. */
export const quotaPrefix = (): string => `${PRIVATE_PREFIX}quota/`;

/** The announces a scope has counted on one UTC day (`YYYY-MM-DD`): list this folder to add them up. */
export function quotaScopePrefix(day: string, scope: string): string {
  return `${quotaPrefix()}${day}/@${scope}/`;
}

/**
 * The record that one announce was counted in its scope's quota of a day: its artifact's bytes and
 * a hash of the artifact's identity are the name, so a listing adds the day up without reading
 * anything, and the same artifact can be counted only once (the write is create-only).
 */
export function quotaUseKey(day: string, scope: string, bytes: number, artifactHash: string): string {
  return `${quotaScopePrefix(day, scope)}${bytes}-${artifactHash}.json`;
}

/** The day and bytes a quota record's key names, or null for any other key. */
export function parseQuotaUseKey(key: string): { day: string; scope: string; bytes: number; hash: string } | null {
  const m = /^private\/quota\/(\d{4}-\d{2}-\d{2})\/@([a-z0-9-]+)\/(\d+)-([0-9a-f]{32})\.json$/.exec(key);
  return m ? { day: m[1]!, scope: m[2]!, bytes: Number(m[3]), hash: m[4]! } : null;
}
/**
 * Where the registry's CDN is recorded (`{"cloudfront_distribution_id"}`), for `shelf takedown`
 * to purge it: written by `npm run deploy` from the stack's outputs.
 */
export const cdnKey = (): string => `${PRIVATE_PREFIX}cdn.json`;

/** The static web pages at the bucket root (served for `/` and by name). */
export const WEB_PAGES = { home: 'index.html', package: 'package.html', scope: 'scope.html' } as const;

/** A content-hashed web asset (script, style sheet): immutable, so a new build gets a new key. */
export function webAssetKey(name: string, hash: string, extension: '.js' | '.css'): string {
  return `assets/${name}.${hash}${extension}`;
}

/** Cache-Control for objects that never change (artifacts). */
export const IMMUTABLE_CACHE = 'public, max-age=31536000, immutable';
/** Cache-Control for documents that change on announce: short, and revalidated with ETags. */
export const MUTABLE_CACHE = 'public, max-age=60, must-revalidate';

/** Content-Type by key suffix. */
export function contentTypeFor(key: string): string {
  if (key.endsWith('.sigstore.json')) return 'application/vnd.dev.sigstore.bundle.v0.3+json';
  if (key.endsWith('.json')) return 'application/json; charset=utf-8';
  if (key.endsWith('.mcpb') || key.endsWith('.skill') || key.endsWith('.zip')) return 'application/zip';
  if (key.endsWith('.html')) return 'text/html; charset=utf-8';
  if (key.endsWith('.js')) return 'text/javascript; charset=utf-8';
  if (key.endsWith('.css')) return 'text/css; charset=utf-8';
  if (key.endsWith('.svg')) return 'image/svg+xml';
  if (key.endsWith('.md')) return 'text/markdown; charset=utf-8';
  return 'application/octet-stream';
}

/** The static files and the schema documenting each, for the README and the schema test. */
export const SCHEMA_FILES = {
  'config.schema.json': 'v1/config.json',
  'package.schema.json': 'v1/{bundles,skills}/@scope/name.json',
  'version.schema.json': 'v1/{bundles,skills}/@scope/name/versions/{version}.json',
  'scope.schema.json': 'v1/scopes/@scope.json',
  'recent.schema.json': 'v1/catalog/recent.json',
  'keys.schema.json': 'v1/keys.json',
  'sharded-root.schema.json': 'v1/search/{bundles,skills}/root.json',
  'sharded-file.schema.json': 'v1/search/{bundles,skills}/shards/{hash}.json',
  'sharded-display.schema.json': 'v1/search/{bundles,skills}/docs/{id}-{hash}.json',
  'gc-state.schema.json': 'v1/search/{bundles,skills}/gc.json',
  'bundle-announce.schema.json': 'POST /v1/bundles/announce (request body)',
  'skill-announce.schema.json': 'POST /v1/skills/announce (request body)',
  'announce-response.schema.json': 'announce response (2xx)',
  'lifecycle.schema.json': 'v1/{bundles,skills}/@scope/name/lifecycle.json',
  'status-request.schema.json': 'POST /v1/{bundles,skills}/status (request body)',
  'status-response.schema.json': 'status change response (200)',
  'error.schema.json': 'every error response',
  'mcp-server-list.schema.json': 'v0.1/pages/{all,latest}/{cursor}.json (GET /v0.1/servers[?version=latest][&cursor=N]) and v0.1/servers/io.github.{scope}/{name}/versions.json',
  'mcp-server-response.schema.json': 'v0.1/servers/io.github.{scope}/{name}/versions/{version,latest}.json',
  'agent-skills-index.schema.json': 'v1/agent-skills/@scope.json and v1/agent-skills/@scope/name.json (GET /@scope[/name]/.well-known/agent-skills/index.json)',
} as const;
