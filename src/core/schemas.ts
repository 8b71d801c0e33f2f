/**
 * zod schemas for the announce bodies and for every static file the registry writes. They are
 * the single source of the wire formats: the handler parses requests with them, the indexer
 * builds values of their types, clients parse documents with them, and `npm run schemas`
 * turns them into the JSON Schemas under `index-schema/`.
 *
 * Pure module: no Node APIs (the web page imports it too).
 *
 * @module
 */
import * as z from 'zod';
import { ARCHES, OSES } from './names.ts';

/** Largest artifact the registry accepts, in bytes (mpak's upload cap is 50 MB; we allow 100 MiB). */
export const MAX_ARTIFACT_SIZE = 100 * 1024 * 1024;
/** Schema version of every static document. Bumped only on incompatible changes. */
export const SCHEMA_VERSION = 1 as const;

const sha256Hex = z
  .string()
  .regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hexadecimal characters')
  .transform((s) => s.toLowerCase())
  .describe('SHA-256 of the artifact, 64 hex characters');

/** A file name as it appears in a GitHub release: no path separators, no `..`, no control characters. */
const assetFilename = (extension: string) =>
  z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9._+-]+$/, 'may only contain letters, digits, ".", "_", "+" and "-"')
    .refine((s) => !s.includes('..'), 'must not contain ".."')
    .refine((s) => s.endsWith(extension), `must end with ${extension}`)
    .describe(`Name of the asset in the GitHub release, ending in ${extension}`);

const releaseTag = z
  .string()
  .min(1)
  .max(255)
  // Git refuses these in ref names; refusing them here keeps the release URL unambiguous.
  .regex(/^[^\s~^:?*[\\\x00-\x1f\x7f]+$/, 'is not a valid git tag name')
  .refine((s) => !s.includes('..') && !s.startsWith('/') && !s.endsWith('/'), 'is not a valid git tag name')
  .describe('The GitHub release tag that holds the asset');

const artifactSize = z
  .number()
  .int()
  .positive()
  .describe('Size of the artifact in bytes');

/** `POST /v1/bundles/announce` body: one artifact per call (compatible with mpak's mcpb-pack action). */
export const BundleAnnounceSchema = z
  .object({
    name: z.string().describe('@scope/name; the scope must equal the token\'s repository_owner'),
    version: z.string().describe('Strict semver 2.0, equal to manifest.version'),
    manifest: z.record(z.string(), z.unknown()).describe("The bundle's manifest.json"),
    release_tag: releaseTag,
    prerelease: z.boolean().default(false).describe('Marks the GitHub release as a prerelease'),
    artifact: z.object({
      filename: assetFilename('.mcpb'),
      os: z.enum(OSES),
      arch: z.enum(ARCHES),
      sha256: sha256Hex,
      size: artifactSize,
    }),
  })
  .meta({ title: 'Bundle announce request body' });
export type BundleAnnounce = z.infer<typeof BundleAnnounceSchema>;

/** `POST /v1/skills/announce` body: as for bundles, with the SKILL.md front matter and no platform. */
export const SkillAnnounceSchema = z
  .object({
    name: z.string().describe('@scope/name; the scope must equal the token\'s repository_owner'),
    version: z.string().describe('Strict semver 2.0'),
    skill: z.record(z.string(), z.unknown()).describe('The SKILL.md front matter as JSON'),
    release_tag: releaseTag,
    prerelease: z.boolean().default(false),
    artifact: z.object({
      filename: assetFilename('.skill'),
      sha256: sha256Hex,
      size: artifactSize,
    }),
  })
  .meta({ title: 'Skill announce request body' });
export type SkillAnnounce = z.infer<typeof SkillAnnounceSchema>;

/** SKILL.md front matter, as mpak's skill format defines it (unknown keys kept). */
export const SkillFrontMatterSchema = z.looseObject({
  name: z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/).max(64),
  description: z.string().min(1).max(1024),
  license: z.string().optional(),
  compatibility: z.string().max(500).optional(),
  'allowed-tools': z.unknown().optional(),
  metadata: z
    .looseObject({
      tags: z.array(z.string()).max(10).optional(),
      category: z.string().optional(),
      author: z.unknown().optional(),
      version: z.string().optional(),
      keywords: z.array(z.string()).optional(),
    })
    .optional(),
});

const isoDate = z.string().describe('ISO 8601 timestamp (UTC)');
const kind = z.enum(['bundle', 'skill']);

/** What the registry recorded about the GitHub Actions run that announced an artifact. */
export const ProvenanceSchema = z.object({
  provider: z.literal('github-actions').describe('Published from GitHub Actions'),
  verified: z.literal(true).describe('The OIDC token verified against the issuer JWKS'),
  issuer: z.string(),
  repository: z.string().describe('owner/repo'),
  repository_id: z.string(),
  owner: z.string(),
  owner_id: z.string(),
  workflow_ref: z.string().optional(),
  job_workflow_ref: z.string().optional(),
  sha: z.string(),
  ref: z.string().optional(),
  event_name: z.string().optional(),
  run_id: z.string().optional(),
  run_attempt: z.string().optional(),
  issued_at: isoDate.describe('The token iat'),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/**
 * The statuses a package can have. `active` is the default; `deprecated` is set by its publisher
 * (with a message, e.g. "moved to @acme/echo-v2"); `removed` by the registry operator (a
 * takedown, with a reason).
 */
export const PACKAGE_STATUSES = ['active', 'deprecated', 'removed'] as const;
/** A package's status. */
export type PackageStatus = (typeof PACKAGE_STATUSES)[number];
/**
 * The statuses a version can have: as a package's, plus `yanked` (never `latest`, never chosen
 * for a range, still downloadable by its exact version).
 */
export const VERSION_STATUSES = ['active', 'deprecated', 'yanked', 'removed'] as const;
/** A version's status. */
export type VersionStatus = (typeof VERSION_STATUSES)[number];
/** The statuses a publisher sets (`removed` is the operator's). */
export const PUBLISHER_STATUSES = ['active', 'deprecated', 'yanked'] as const;
/** A status a publisher sets. */
export type PublisherStatus = (typeof PUBLISHER_STATUSES)[number];
/** Longest status message (publisher) or takedown reason (operator), in characters. */
export const MAX_STATUS_MESSAGE_LENGTH = 500;
/**
 * Plain text, as status messages and takedown reasons must be: no control characters but tab
 * and newline, and no bidirectional overrides (which could make a message read other than it is).
 */
export const PLAIN_TEXT_RE = /^[^\u0000-\u0008\u000b-\u001f\u007f\u202a-\u202e\u2066-\u2069]*$/;

/**
 * The mutable part of a package or version, shown in every document that names it. It is
 * derived from the package's lifecycle record; everything else about a version is immutable, so
 * a signature over a version's other fields stays valid when its status changes.
 */
function statusFields<S extends readonly [string, ...string[]]>(statuses: S, what: string) {
  return {
    status: z.enum(statuses).default('active' as S[number]).describe(`The ${what}'s status (lifecycle record)`),
    status_message: z
      .string()
      .optional()
      .describe("The publisher's message (deprecated, yanked), or the operator's reason (removed: show as \"removed by the registry operator: <reason>\")"),
    status_changed_at: isoDate.optional().describe('When the status was last set'),
  };
}

const platformSchema = z.object({ os: z.enum(OSES), arch: z.enum(ARCHES) });

/** A registry signature over an artifact statement (see `signing/payloads.ts`). */
export const SignatureSchema = z
  .object({
    keyid: z.string().describe('The signing key, as listed in v1/keys.json'),
    sig: z.string().describe('ECDSA P-256 SHA-256 signature, r||s (64 bytes), base64'),
  })
  .describe("The registry's signature over the artifact statement");
export type Signature = z.infer<typeof SignatureSchema>;

/** A registry signature over a whole document (minus this field), with the time it was made. */
export const DocumentSignatureSchema = z
  .object({
    keyid: z.string(),
    signed_at: isoDate.describe('When it was signed; never earlier than the signature it replaced'),
    sig: z.string().describe('ECDSA P-256 SHA-256 signature, r||s (64 bytes), base64'),
  })
  .describe("The registry's signature over this document (see the README's trust model)");
export type DocumentSignature = z.infer<typeof DocumentSignatureSchema>;

/** The Sigstore attestation the registry verified for an artifact, stored beside it (immutable). */
export const AttestationRefSchema = z
  .object({
    path: z.string().describe("The Sigstore bundle's key, relative to the registry base URL"),
    sha256: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of the stored bundle file'),
    size: z.number().int().positive(),
    predicate_type: z.string().describe('The in-toto predicate type of the attested statement'),
    certificate_identity: z.string().describe("The signing certificate's subject (the workflow that signed)"),
    certificate_issuer: z.string().describe("The certificate's OIDC issuer"),
    verified_at: isoDate.describe('When the registry verified it at announce'),
  })
  .describe('A GitHub artifact attestation (Sigstore bundle) the registry fetched and verified at announce');
export type AttestationRef = z.infer<typeof AttestationRefSchema>;

/** One artifact of a version: a platform's file. */
export const ArtifactSchema = z.object({
  os: z.enum(OSES),
  arch: z.enum(ARCHES),
  filename: z.string().describe('The release asset name'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().positive(),
  path: z.string().describe("The artifact's key, relative to the registry base URL"),
  source_url: z.string().describe('Where the registry fetched it (the GitHub release asset)'),
  published_at: isoDate,
  provenance: ProvenanceSchema,
  attestation: AttestationRefSchema.optional(),
  signature: SignatureSchema.optional(),
  skills_archive: z
    .object({
      path: z.string().describe("The derived archive's key, relative to the registry base URL"),
      sha256: z.string().regex(/^[0-9a-f]{64}$/),
      size: z.number().int().positive(),
    })
    .optional()
    .describe(
      'Skills only: the archive derived by the registry from this artifact for the skills CLI and agent-skills discovery (the same files with SKILL.md at the root; deterministic, content-addressed, immutable)',
    ),
});
export type Artifact = z.infer<typeof ArtifactSchema>;

/** `v1/{kind}s/@scope/name/versions/{version}.json`: the record of one version. */
export const VersionDocumentSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    kind,
    name: z.string(),
    version: z.string(),
    prerelease: z.boolean(),
    published_at: isoDate.describe('When the first artifact of this version was announced'),
    updated_at: isoDate.describe('When the last artifact of this version was announced'),
    manifest: z.record(z.string(), z.unknown()).optional().describe('The bundle manifest (bundles)'),
    skill: z.record(z.string(), z.unknown()).optional().describe('The SKILL.md front matter (skills)'),
    release: z.object({ tag: z.string(), url: z.string() }),
    artifacts: z.array(ArtifactSchema).describe('Sorted by platform'),
    ...statusFields(VERSION_STATUSES, 'version'),
  })
  .meta({ title: 'Version document', description: 'The record of one version. Every field but status, status_message and status_changed_at is immutable once written (artifacts are only added); those three mirror the lifecycle record.' });
export type VersionDocument = z.infer<typeof VersionDocumentSchema>;

const toolSummary = z.object({ name: z.string(), description: z.string().optional() });

/** One entry of a package's version list. */
export const VersionSummarySchema = z.object({
  version: z.string(),
  prerelease: z.boolean(),
  published_at: isoDate,
  platforms: z.array(platformSchema).describe('Empty for a removed version'),
  path: z.string().describe("The version document's key (absent from the bucket for a removed version)"),
  ...statusFields(VERSION_STATUSES, 'version'),
});
export type VersionSummary = z.infer<typeof VersionSummarySchema>;

/** `v1/{kind}s/@scope/name.json`: everything needed to show a package in one request. */
export const PackageDocumentSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    kind,
    name: z.string(),
    scope: z.string(),
    display_name: z.string().optional(),
    description: z.string(),
    author: z.object({ name: z.string(), email: z.string().optional(), url: z.string().optional() }).optional(),
    license: z.string().optional(),
    homepage: z.string().optional(),
    keywords: z.array(z.string()),
    server_type: z.string().optional().describe('node | python | binary | uv (bundles)'),
    tools: z.array(toolSummary),
    prompts: z.array(toolSummary),
    latest: z.string().nullable().describe('Highest non-prerelease version that is neither yanked nor removed, or null when there is none'),
    repository: z
      .object({ name: z.string(), id: z.string() })
      .describe('The GitHub repository this package is pinned to (first publish)'),
    created_at: isoDate,
    updated_at: isoDate,
    versions: z.array(VersionSummarySchema).describe('Highest semver first, yanked and removed versions included (marked by their status)'),
    ...statusFields(PACKAGE_STATUSES, 'package'),
    signature: DocumentSignatureSchema.optional(),
  })
  .meta({ title: 'Package document' });
export type PackageDocument = z.infer<typeof PackageDocumentSchema>;

const dailyLimit = z.number().int().nonnegative().nullable().describe('Per UTC day; null: no limit');

/** A scope's own daily limits, set by the operator; a limit left out is the registry's default. */
export const ScopeQuotaSchema = z.object({
  announces_per_day: dailyLimit.optional().describe('New artifacts announced per UTC day; null: no limit'),
  bytes_per_day: dailyLimit.optional().describe('Bytes of new artifacts per UTC day; null: no limit'),
});
export type ScopeQuota = z.infer<typeof ScopeQuotaSchema>;


/** `v1/scopes/@scope.json`: the owner a scope is pinned to, and its packages. */
export const ScopeDocumentSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    scope: z.string(),
    owner: z.string().describe('GitHub repository_owner at first publish'),
    owner_id: z.string().describe('GitHub repository_owner_id, pinned at first publish'),
    pinned_at: isoDate,
    packages: z.array(z.object({ kind, name: z.string() })).describe('Sorted by kind, then name'),
    quota: ScopeQuotaSchema.optional().describe("The operator's daily limits for this scope, over the registry's defaults (`shelf quota`)"),
  })
  .meta({ title: 'Scope record' });
export type ScopeDocument = z.infer<typeof ScopeDocumentSchema>;

/** One package in a catalog or search result list. */
export const PackageSummarySchema = z.object({
  kind,
  name: z.string(),
  display_name: z.string().optional(),
  description: z.string(),
  latest: z.string().nullable().describe('As in the package document: never a yanked version'),
  newest: z.string().describe('Highest version including prereleases, yanked ones excluded'),
  server_type: z.string().optional(),
  platforms: z.array(z.string()).describe('os-arch of the newest version'),
  status: z
    .literal('deprecated')
    .optional()
    .describe('Present when the package, or the version a result shows (latest, else newest), is deprecated; absent means active'),
  status_message: z.string().optional().describe("The deprecation's message"),
  tools: z.array(z.string()),
  keywords: z.array(z.string()),
  author: z.string().optional(),
  published_at: isoDate.describe('First publish of the package'),
  updated_at: isoDate.describe('Last announce of the package'),
  verified: z.boolean(),
});
export type PackageSummary = z.infer<typeof PackageSummarySchema>;

/** `v1/catalog/recent.json`: the most recently published versions of both kinds, newest first. */
export const RecentDocumentSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    entries: z.array(
      z.object({
        kind,
        name: z.string(),
        version: z.string(),
        published_at: isoDate,
        status: z
          .enum(['deprecated', 'yanked'])
          .optional()
          .describe("The version's status (deprecated also when its package is); absent means active. Removed versions are not listed"),
      }),
    ),
  })
  .meta({ title: 'Recently published versions' });
export type RecentDocument = z.infer<typeof RecentDocumentSchema>;

/**
 * A used announce token (`private/used-tokens/...`, never served): the one announce it may
 * repeat. An identical retry with the same token is idempotent; anything else is `token_replayed`.
 */
export const UsedTokenSchema = z.object({
  issuer: z.string(),
  jti: z.string(),
  expires_at: z.string(),
  used_at: z.string(),
  announce: z
    .object({
      kind: z.enum(['bundle', 'skill']),
      package: z.string(),
      version: z.string(),
      os: z.enum(OSES),
      arch: z.enum(ARCHES),
      sha256: z.string(),
    })
    .optional()
    .describe('The announce the token is bound to'),
  status: z
    .object({
      kind: z.enum(['bundle', 'skill']),
      package: z.string(),
      version: z.string().nullable(),
      status: z.enum(PUBLISHER_STATUSES),
      message: z.string().nullable(),
    })
    .optional()
    .describe('The status change the token is bound to'),
}).refine((r) => (r.announce === undefined) !== (r.status === undefined), 'names exactly one use: an announce or a status change');
/** See {@link UsedTokenSchema}. */
export type UsedToken = z.infer<typeof UsedTokenSchema>;

/**
 * The retired whole-index search layout, which a registry's `v1/config.json` may still name: its
 * operator migrates it with one `shelf rebuild` (README, "Search layout").
 */
export const RETIRED_LAYOUT_MESSAGE =
  'this registry still publishes the retired "single" search layout, which Shelf no longer reads; its operator migrates it with one `shelf rebuild`';

/** `v1/config.json`: what a client needs to discover everything else. */
export const ConfigDocumentSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    registry: z.literal('shelf'),
    public_url: z.string().optional().describe('Base URL of the CDN, when configured'),
    announce: z.object({ bundles: z.string(), skills: z.string() }).describe('Announce URLs'),
    status: z.object({ bundles: z.string(), skills: z.string() }).optional().describe('Status-change URLs (yank, deprecate); the same function as the announce'),
    audience: z.string().describe('The OIDC audience publishers must request'),
    oidc_issuer: z.string(),
    search: z
      .object({
        layout: z.literal('sharded', { error: RETIRED_LAYOUT_MESSAGE }).describe('bundles/skills are the roots of the sharded index (sharded-root schema)'),
        bundles: z.string(),
        skills: z.string(),
      })
      .describe('Keys of the search indexes'),
    catalog: z.object({ recent: z.string() }).describe('Keys of the listings (each kind\'s whole catalog is in its sharded root)'),
    layout: z
      .object({ package: z.string(), version: z.string(), scope: z.string(), lifecycle: z.string().optional() })
      .describe('Key templates: {kind} is bundles|skills; {scope} has no @'),
    keys: z.string().optional().describe("Key of the registry's public signing keys (v1/keys.json); absent on a registry that does not sign"),
  })
  .meta({ title: 'Registry configuration' });
export type ConfigDocument = z.infer<typeof ConfigDocumentSchema>;

/** A public key of the registry, as listed in `v1/keys.json`. */
export const RegistryKeySchema = z.object({
  keyid: z.string().regex(/^[0-9a-f]{64}$/).describe('SHA-256 of the public key (SPKI DER), hex'),
  algorithm: z.literal('ecdsa-p256-sha256'),
  public_key: z.string().describe('The public key, SPKI DER, base64'),
  valid_from: isoDate.describe('When the registry started signing with it'),
  expires: isoDate.optional().describe('After this, signatures by the key are no longer accepted (set when a newer key takes over)'),
  endorsed_by: SignatureSchema.optional().describe('The previous key, vouching for this one: clients that trusted it trust this one'),
});
export type RegistryKey = z.infer<typeof RegistryKeySchema>;

/** `v1/keys.json`: the registry's public signing keys, newest first. */
export const KeysDocumentSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    keys: z.array(RegistryKeySchema).describe('Newest first; the first is the one signing now'),
  })
  .meta({ title: 'Registry signing keys' });
export type KeysDocument = z.infer<typeof KeysDocumentSchema>;
/** A status a publisher set on a package or one of its versions. */
const StatusEntrySchema = z.object({
  status: z.enum(PUBLISHER_STATUSES),
  message: z.string().optional(),
  changed_at: isoDate,
});

/** One change in a package's lifecycle, as its history keeps it. */
export const LifecycleEventSchema = z.object({
  at: isoDate,
  action: z.enum(['status', 'takedown', 'restore']).describe('status: set by the publisher; takedown and restore (its undo): by the operator'),
  version: z.string().nullable().describe('null: the package as a whole'),
  status: z.enum(PUBLISHER_STATUSES).optional().describe('The status set (action status)'),
  message: z.string().optional().describe("The publisher's message, or the operator's reason"),
  provenance: ProvenanceSchema.optional().describe('The verified token of the publishing workflow that made the change (action status)'),
});
export type LifecycleEvent = z.infer<typeof LifecycleEventSchema>;

/** A version the operator took down: what it was, and why it is gone. Its bytes are deleted. */
export const RemovedVersionSchema = z.object({
  version: z.string(),
  prerelease: z.boolean(),
  published_at: isoDate,
  reason: z.string(),
  removed_at: isoDate,
  with_package: z.boolean().describe('Removed by a takedown of the whole package (lifted with it)'),
  artifacts: z.array(z.object({ os: z.enum(OSES), arch: z.enum(ARCHES), sha256: z.string(), size: z.number() })).describe('What was deleted'),
});
export type RemovedVersion = z.infer<typeof RemovedVersionSchema>;

/** Most history entries a lifecycle record keeps (the oldest are dropped). */
export const MAX_LIFECYCLE_HISTORY = 200;

/**
 * `v1/{kind}s/@scope/name/lifecycle.json`: the record of a package's mutable state, written only
 * by a status change (the publisher, through the function) or a takedown (the operator): the
 * statuses set, the tombstones, and the history of both. Every status in the derived files is
 * read from it. Absent: every version active, nothing removed.
 */
export const LifecycleRecordSchema = z
  .object({
    schema_version: z.literal(SCHEMA_VERSION),
    kind,
    name: z.string(),
    package: StatusEntrySchema.optional().describe("The package's own status (active or deprecated)"),
    versions: z.array(StatusEntrySchema.extend({ version: z.string() })).describe('Statuses set on versions, highest semver first'),
    removed: z.object({ reason: z.string(), removed_at: isoDate }).optional().describe('The package is taken down: its name cannot be announced'),
    removed_versions: z.array(RemovedVersionSchema).describe('Versions taken down (tombstones), highest semver first: none can be announced again'),
    history: z.array(LifecycleEventSchema).describe(`Every change, oldest first (the last ${MAX_LIFECYCLE_HISTORY})`),
  })
  .meta({ title: 'Lifecycle record' });
export type LifecycleRecord = z.infer<typeof LifecycleRecordSchema>;

/**
 * `POST /v1/bundles/status`, `POST /v1/skills/status`: a publisher sets the status of a version,
 * or (without `version`, `active` or `deprecated` only) of the package as a whole.
 */
export const StatusRequestSchema = z
  .object({
    name: z.string().describe("@scope/name; the scope must equal the token's repository_owner"),
    version: z.string().nullable().optional().describe('The version; omit (or null) for the package as a whole'),
    status: z.enum(PUBLISHER_STATUSES),
    message: z
      .string()
      .min(1)
      .max(MAX_STATUS_MESSAGE_LENGTH)
      .regex(PLAIN_TEXT_RE, 'must be plain text (no control or bidirectional-override characters)')
      .optional()
      .describe(`Plain text, at most ${MAX_STATUS_MESSAGE_LENGTH} characters: why, and what to use instead`),
  })
  .meta({ title: 'Status change request body' });
export type StatusRequest = z.infer<typeof StatusRequestSchema>;

/** The 200 answer to a status change. */
export const StatusResponseSchema = z
  .object({
    package: z.string(),
    version: z.string().optional(),
    status: z.enum(PUBLISHER_STATUSES),
    message: z.string().optional(),
    changed: z.boolean().describe('False when the package or version already had this status and message'),
  })
  .meta({ title: 'Status change response' });
export type StatusResponse = z.infer<typeof StatusResponseSchema>;

/** The 2xx answer to an announce. */
export const AnnounceResponseSchema = z
  .object({
    package: z.string(),
    version: z.string(),
    artifact: z.object({ os: z.enum(OSES), arch: z.enum(ARCHES), filename: z.string(), sha256: z.string(), size: z.number(), path: z.string() }),
    status: z.enum(['created', 'unchanged']),
    total_artifacts: z.number().int().positive(),
  })
  .meta({ title: 'Announce response' });
export type AnnounceResponse = z.infer<typeof AnnounceResponseSchema>;

/** Every error response. */
export const ErrorResponseSchema = z
  .object({
    error: z.object({ code: z.string().describe('Stable snake_case code'), message: z.string(), details: z.unknown().optional() }),
  })
  .meta({ title: 'Error response' });

/** The schemas written to `index-schema/`, by file name. */
export const PUBLISHED_SCHEMAS = {
  'config.schema.json': ConfigDocumentSchema,
  'package.schema.json': PackageDocumentSchema,
  'version.schema.json': VersionDocumentSchema,
  'scope.schema.json': ScopeDocumentSchema,
  'recent.schema.json': RecentDocumentSchema,
  'keys.schema.json': KeysDocumentSchema,
  'bundle-announce.schema.json': BundleAnnounceSchema,
  'skill-announce.schema.json': SkillAnnounceSchema,
  'announce-response.schema.json': AnnounceResponseSchema,
  'lifecycle.schema.json': LifecycleRecordSchema,
  'status-request.schema.json': StatusRequestSchema,
  'status-response.schema.json': StatusResponseSchema,
  'error.schema.json': ErrorResponseSchema,
} as const;

/** The public download counts of one package. */
export const PackageDownloadsSchema = z.object({
  package: z.string(),
  kind: z.enum(['bundle', 'skill']),
  /** Every complete download ever counted. */
  total: z.number().int().nonnegative(),
  /** Downloads in the last 30 UTC days, today included. */
  last_30_days: z.number().int().nonnegative(),
  /** Total per version. */
  versions: z.record(z.string(), z.number().int().nonnegative()),
  /** One entry per day of the window, oldest first. */
  days: z.array(z.object({ day: z.string(), downloads: z.number().int().nonnegative() })),
  /** The last day counted (today when published). */
  through: z.string(),
});
export type PackageDownloads = z.infer<typeof PackageDownloadsSchema>;

/** A kind's index of totals, for sorting. */
export const DownloadsIndexSchema = z.object({
  through: z.string(),
  packages: z.record(z.string(), z.object({ total: z.number().int().nonnegative(), last_30_days: z.number().int().nonnegative() })),
});
export type DownloadsIndex = z.infer<typeof DownloadsIndexSchema>;
