/**
 * The announce pipeline, from a verified request to the files it writes. Read top to bottom:
 *
 * 1. **verify**: the bearer token (issuer, audience, RS256, expiry, lifetime, required claims).
 * 2. **validate**: the body, the name and version, the scope against the token's owner, the
 *    body's manifest or skill front matter (cross-checked only), the pins already recorded (trust
 *    rules 2 and 3, `authorize.ts`), the package's lifecycle (a name the operator took down is
 *    `410`), and the token's earlier use: one token, one write.
 * 3. **idempotency**: the same platform with the same sha256 is `unchanged`; another sha256 is 409,
 *    and so is a new platform for a yanked version (by its record, or by its document, which a
 *    yank closes first: `status.ts`). A new artifact must fit its scope's daily quota
 *    (`quota.ts`), else 429.
 * 4. **fetch**: the asset from the GitHub release of the token's repository, size and sha256 checked.
 * 5. **inspect**: the whole archive checked as the CLI would unpack it (bounded inflation), and its
 *    own manifest.json / SKILL.md read: that, not the body's copy, is what the version records. It
 *    must name the announced package and version, and agree with the version's other artifacts.
 *    **attestation**: GitHub's artifact attestation of these bytes, if the repository made one,
 *    verified against Sigstore's trust root and the token's identity (`attestation.ts`).
 * 6. **token** (create-only): the token's use, so it can repeat this announce and nothing else.
 * 7. **pins** (create-only): the scope's owner id and the package's repository id; then the
 *    announce is counted in the scope's quota of the day (checked before the fetch, in step 3).
 * 8. **artifact** (create-only): the registry's own copy of the bytes, and the attestation's
 *    bundle; for a skill, also the archive derived from them for the skills CLI (`SKILL.md` at
 *    its root, content-addressed).
 * 9. **version** (compare-and-swap): the version record gains the artifact, its provenance and
 *    the registry's signature over its statement (the lifecycle is checked again, read after the
 *    record's ETag, and so is the document's own status: a yank marks it before its record, so
 *    an announce cannot add a platform after it; and so is step 5's agreement, against the
 *    record read for the swap: of two first announces of one version, whose manifests disagree,
 *    the one recorded second is refused as it would be sequentially).
 * 10. **derived** (compare-and-swap each): version statuses, package (signed), badge, scope,
 *    search index and catalog (one root swap), recent list, and the files of the read APIs of
 *    other clients (the MCP registry API for a bundle, agent-skills discovery for a skill). Then
 *    expired token and quota records are swept.
 *
 * Nothing is written before step 6, so every rejected request writes nothing. The records
 * (steps 6–9) are the source of truth; a crash after them leaves derived files stale, and the
 * next announce of the package (or a rebuild) recomputes them.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ShelfError } from '../core/errors.ts';
import { parsePackageName, parseVersion, platformId, type Kind, type PackageName, type Platform, type Version } from '../core/names.ts';
import { artifactKey, attestationKey, contentTypeFor, IMMUTABLE_CACHE, packageKey, scopeKey, versionKey } from '../core/paths.ts';
import {
  BundleAnnounceSchema,
  SkillAnnounceSchema,
  VersionDocumentSchema,
  type AnnounceResponse,
  type Artifact,
  type AttestationRef,
  type LifecycleRecord,
  type VersionDocument,
} from '../core/schemas.ts';
import { addArtifact, pinnedPackage, pinnedScope, releaseUrl } from '../indexer/documents.ts';
import { refreshPackage, type StepHook } from '../registry/refresh.ts';
import { DERIVED_STEPS } from '../registry/derived-files.ts';
import { readLifecycle } from '../registry/records.ts';
import { versionStatusOf } from '../indexer/lifecycle.ts';
import { bearerToken, checkNotRemoved, checkPins, checkScope, invalidBody, provenanceOf } from './authorize.ts';
import { createJson, readJson, updateJson } from '../store/json-documents.ts';
import { PreconditionFailedError, type ObjectStore } from '../store/object-store.ts';
import { tooLarge, type ReleaseAssetFetcher } from './release-asset.ts';
import type { TokenClaims, TokenVerifier } from './verify-token.ts';
import type { ArchiveLimits } from '../archive/zip-entries.ts';
import type { TrustMaterial } from '@sigstore/verify';
import { findAttestation, type AttestationLister, type FoundAttestation } from './attestation.ts';
import { verifyAttestation } from '../attestation/verify-attestation.ts';
import { validateManifest, validateSkill } from './validate-metadata.ts';
import { checkSameVersionMetadata, inspectArtifact } from './inspect-artifact.ts';
import { storeReadme, type RepositoryReadmeFetcher } from './readme.ts';
import { checkTokenUse, recordTokenUse, sweepUsedTokensNow, type TokenUse } from './token-use.ts';
import { checkQuota, countQuota, sweepQuotaNow, type QuotaUse } from './quota.ts';
import type { QuotaLimits } from '../config.ts';
import { writeSkillsArchive } from '../skills/publish.ts';
import { signArtifact, signDocument, type Signer } from '../signing/signer.ts';

/** The steps that write, in order; a test-only hook can stop the pipeline after any of them. */
export const ANNOUNCE_STEPS = ['token', 'pins', 'quota', 'artifact', 'readme', 'version', ...DERIVED_STEPS] as const;
export type AnnounceStep = (typeof ANNOUNCE_STEPS)[number];

/** What the pipeline needs from the outside world. */
export interface AnnounceDeps {
  store: ObjectStore;
  verifyToken: TokenVerifier;
  fetchAsset: ReleaseAssetFetcher;
  /** Reads a repository's README at a commit, for versions whose artifact has none. Optional. */
  fetchReadme?: RepositoryReadmeFetcher;
  /** Bounds on the artifact's archive. Default the CLI's (`archive/zip-entries.ts`). */
  archiveLimits?: ArchiveLimits;
  /** Each scope's daily quotas (`announce/quota.ts`), unless its scope record says otherwise. Default: none. */
  quota?: QuotaLimits;
  /**
   * Largest artifact accepted, bytes: a larger one is `asset_too_large` before the quota is
   * consulted (the fetcher refuses it too). Default: the fetcher's limit alone.
   */
  maxArtifactBytes?: number;
  /** Clock, for `published_at`. Default `() => new Date()`. */
  now?: () => Date;
  /** Test-only fault injection: called after each write step (throw to simulate a crash). */
  afterStep?: StepHook;
  /** GitHub's attestations of a digest (`attestation.ts`). Without one, no attestation is looked for. */
  listAttestations?: AttestationLister;
  /** The Sigstore trust root attestations are verified against. Default: Sigstore's public-good instance. */
  attestationTrust?: TrustMaterial;
  /**
   * The registry's signer: signs each artifact's statement and the package document. Always
   * given by the server and the function; a registry without one publishes unsigned documents,
   * which clients that pinned its keys refuse.
   */
  signer?: Signer;
}

/** A successful announce. */
export interface AnnounceResult {
  statusCode: 200 | 201;
  body: AnnounceResponse;
}

/** A request, validated and authorised: everything later steps need. */
interface Accepted {
  kind: Kind;
  pkg: PackageName;
  version: Version;
  platform: Platform;
  claims: TokenClaims;
  prerelease: boolean;
  releaseTag: string;
  artifact: { filename: string; sha256: string; size: number };
}

/**
 * Runs one announce.
 *
 * @param authorization the `Authorization` header value
 * @param body the parsed JSON body
 * @throws ShelfError with the status and stable code of the refusal
 */
export async function announce(kind: Kind, authorization: string | undefined, body: unknown, deps: AnnounceDeps): Promise<AnnounceResult> {
  const { store } = deps;
  const clock = deps.now ?? (() => new Date());
  const now = clock().toISOString();

  // 1. verify
  const claims = await deps.verifyToken(bearerToken(authorization));

  // 2. validate
  const req = accept(kind, body, claims);
  await checkPins(store, kind, req.pkg, claims);
  const lifecycle = await readLifecycle(store, kind, req.pkg);
  checkNotRemoved(lifecycle, req.pkg, req.version);
  const use: TokenUse = { op: 'announce', kind, pkg: req.pkg, version: req.version, platform: req.platform, sha256: req.artifact.sha256 };
  await checkTokenUse(store, claims, use);

  // 3. idempotency: a retried announce of the same bytes is answered from the record.
  const vKey = versionKey(kind, req.pkg, req.version);
  const existing = (await readJson(store, vKey, VersionDocumentSchema))?.value;
  const recorded = existing?.artifacts.find((a) => platformId(a) === platformId(req.platform));
  if (recorded && recorded.sha256 !== req.artifact.sha256) throw immutable(req, recorded.sha256);
  // Same bytes, but a size that cannot be theirs: a contradictory announce is refused, not waved through.
  if (recorded && recorded.size !== req.artifact.size) {
    throw new ShelfError('asset_size_mismatch', `The artifact with sha256 ${recorded.sha256} is ${recorded.size} bytes, the announce says ${req.artifact.size}.`, {
      expected: recorded.size,
      actual: req.artifact.size,
    });
  }
  // A yanked version keeps its platforms (an identical retry stays idempotent) but gains none.
  if (!recorded) checkNotYanked(lifecycle, existing, req);
  if (recorded) {
    await recordTokenUse(store, claims, use, now);
    // Also repairs derived files a crashed earlier attempt may have left stale.
    await refreshPackage(store, kind, req.pkg, { signer: deps.signer });
    await sweepUsedTokensNow(store, clock());
    return respond(req, recorded, 'unchanged', existing!.artifacts.length);
  }

  // 3b. quota: a new artifact must fit its scope's day (checked before anything is fetched). An
  // artifact no day could hold is too large, not over quota.
  if (deps.maxArtifactBytes !== undefined && req.artifact.size > deps.maxArtifactBytes) throw tooLarge(req.artifact.size, deps.maxArtifactBytes);
  const quotaUse: QuotaUse = { scope: req.pkg.scope, artifact: `${kind}:${req.pkg.full}@${req.version}:${platformId(req.platform)}`, bytes: req.artifact.size };
  if (deps.quota) await checkQuota(store, quotaUse, deps.quota, clock());

  // 4. fetch
  const asset = await deps.fetchAsset({
    repository: claims.repository,
    tag: req.releaseTag,
    filename: req.artifact.filename,
    size: req.artifact.size,
    sha256: req.artifact.sha256,
  });

  // 5. inspect: the artifact's own metadata is the record.
  const metadata = await inspectArtifact(kind, asset.bytes, req.pkg, req.version, deps.archiveLimits ?? {});
  const recordedMetadata = existing && recordedMetadataOf(existing);
  if (recordedMetadata) checkSameVersionMetadata(recordedMetadata, metadata);

  // 5b. attestation: none is fine; one that does not verify refuses the announce (nothing written yet).
  const expected = { repository: claims.repository, repository_id: claims.repository_id, sha: claims.sha, workflow_ref: claims.workflow_ref, job_workflow_ref: claims.job_workflow_ref };
  const attestation = deps.listAttestations ? await findAttestation(deps.listAttestations, req.artifact.sha256, expected, deps.attestationTrust) : null;

  // 6. token
  await recordTokenUse(store, claims, use, now);
  await deps.afterStep?.('token');

  // 7. pins
  await pin(store, req, now, deps.signer);
  await deps.afterStep?.('pins');

  // 7b. quota: this announce is counted in its scope's usage of the day (once, never refused here).
  if (deps.quota) await countQuota(store, quotaUse, clock());
  await deps.afterStep?.('quota');

  // 8. artifact
  const aKey = artifactKey(kind, req.pkg, req.version, req.platform);
  try {
    await store.put(aKey, asset.bytes, { contentType: contentTypeFor(aKey), cacheControl: IMMUTABLE_CACHE, ifNoneMatch: '*' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    // Another announce (or a crashed earlier attempt) stored this platform first: same bytes are fine.
    const stored = await store.get(aKey);
    const storedSha = stored ? createHash('sha256').update(stored.body).digest('hex') : '';
    if (storedSha !== req.artifact.sha256) throw immutable(req, storedSha);
  }
  const attestationRef = attestation ? await storeAttestation(store, attestationKey(kind, req.pkg, req.version, req.platform), attestation, req.artifact.sha256, expected, deps.attestationTrust, now) : undefined;
  // A skill's archive for the skills CLI, derived from the bytes just stored (content-addressed, create-only).
  const skillsArchive = kind === 'skill' ? await writeSkillsArchive(store, req.pkg, req.version, asset.bytes, deps.archiveLimits ?? {}) : undefined;
  await deps.afterStep?.('artifact');

  // 8b. readme: the artifact's own, else the repository's at the released commit (create-only,
  // before the record, so a retry after a crash still writes it; never a reason to refuse).
  await storeReadme(store, {
    kind,
    pkg: req.pkg,
    version: req.version,
    artifact: asset.bytes,
    repository: claims.repository,
    sha: claims.sha,
    limits: deps.archiveLimits ?? {},
    fetchRepositoryReadme: deps.fetchReadme,
  });
  await deps.afterStep?.('readme');

  // 9. version record, with the artifact's statement signed (its immutable facts only)
  const facts: Artifact = {
    os: req.platform.os,
    arch: req.platform.arch,
    filename: req.artifact.filename,
    sha256: req.artifact.sha256,
    size: req.artifact.size,
    path: aKey,
    source_url: asset.sourceUrl,
    published_at: now,
    provenance: provenanceOf(claims),
    ...(attestationRef ? { attestation: attestationRef } : {}),
    ...(skillsArchive ? { skills_archive: skillsArchive } : {}),
  };
  const artifact = deps.signer ? await signArtifact(deps.signer, { kind, name: req.pkg.full, version: req.version }, facts) : facts;
  let status: 'created' | 'unchanged' = 'created';
  let recordArtifact = artifact;
  const { value: versionDoc } = await updateJson(store, vKey, VersionDocumentSchema, async (current) => {
    status = 'created';
    recordArtifact = artifact;
    const same = current?.artifacts.find((a) => platformId(a) === platformId(req.platform));
    if (same && same.sha256 !== artifact.sha256) throw immutable(req, same.sha256);
    if (same) {
      status = 'unchanged';
      recordArtifact = same;
      return current!;
    }
    // A takedown or a yank may have happened since step 2 (the record is read after this
    // document's ETag): the version is not recreated, nor does it gain a platform. A yank marks
    // this document before its record: a swap that read it earlier fails, and its retry sees it.
    const fresh = await readLifecycle(store, kind, req.pkg);
    checkNotRemoved(fresh, req.pkg, req.version);
    checkNotYanked(fresh, current, req);
    // A concurrent first announce of another platform may have recorded the version meanwhile.
    const alreadyRecorded = current && recordedMetadataOf(current);
    if (alreadyRecorded) checkSameVersionMetadata(alreadyRecorded, metadata);
    return addArtifact(current, {
      kind,
      pkg: req.pkg,
      version: req.version,
      prerelease: req.prerelease,
      metadata,
      release: { tag: req.releaseTag, url: releaseUrl(claims.repository, req.releaseTag) },
      artifact,
    });
  }, { strict: true });
  await deps.afterStep?.('version');

  // 10. derived files
  await refreshPackage(store, kind, req.pkg, { afterStep: deps.afterStep, signer: deps.signer });
  await sweepUsedTokensNow(store, clock());
  await sweepQuotaNow(store, clock());
  return respond(req, recordArtifact, status, versionDoc.artifacts.length);
}

/** The manifest or skill front matter a version records, if it records any artifact yet. */
function recordedMetadataOf(doc: VersionDocument): Record<string, unknown> | undefined {
  if (doc.artifacts.length === 0) return undefined;
  return (doc.manifest ?? doc.skill) as Record<string, unknown> | undefined;
}

/** Step 2, without I/O: the body, names, scope and metadata. */
function accept(kind: Kind, body: unknown, claims: TokenClaims): Accepted {
  const schema = kind === 'bundle' ? BundleAnnounceSchema : SkillAnnounceSchema;
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidBody('announce', parsed.error);
  const data = parsed.data;
  const pkg = parsePackageName(data.name);
  const version = parseVersion(data.version);
  checkScope(pkg, claims);
  // The body's manifest (or front matter) is only cross-checked: what is recorded is the artifact's own (step 5).
  let platform: Platform;
  if ('manifest' in data) {
    validateManifest(data.manifest, pkg, version);
    platform = { os: data.artifact.os, arch: data.artifact.arch };
  } else {
    validateSkill(data.skill, pkg, version);
    platform = { os: 'any', arch: 'any' };
  }
  return {
    kind,
    pkg,
    version,
    platform,
    claims,
    prerelease: data.prerelease,
    releaseTag: data.release_tag,
    artifact: { filename: data.artifact.filename, sha256: data.artifact.sha256, size: data.artifact.size },
  };
}

/** Trust rule 3, write side: the first announce pins; a concurrent first announce that loses re-checks. */
async function pin(store: ObjectStore, req: Accepted, now: string, signer: Signer | undefined): Promise<void> {
  const { claims } = req;
  const scopeCreated = await createJson(store, scopeKey(req.pkg.scope), pinnedScope(req.pkg.scope, claims.repository_owner, claims.repository_owner_id, now));
  const pinned = pinnedPackage(req.kind, req.pkg, { name: claims.repository, id: claims.repository_id }, now);
  const pkgCreated = await createJson(store, packageKey(req.kind, req.pkg), signer ? await signDocument(signer, pinned, null) : pinned);
  if (!scopeCreated || !pkgCreated) await checkPins(store, req.kind, req.pkg, claims);
}

/**
 * A yanked version gains no platform: yanked by its record, or by its document (a yank's gate, or
 * an unyank not yet mirrored). @throws ShelfError `version_yanked`
 */
function checkNotYanked(record: LifecycleRecord | null, doc: VersionDocument | null | undefined, req: Accepted): void {
  if (versionStatusOf(record, req.version).status !== 'yanked' && doc?.status !== 'yanked') return;
  throw new ShelfError(
    'version_yanked',
    `${req.pkg.full}@${req.version} is yanked: no ${platformId(req.platform)} artifact can be added to it. Publish a new version (or unyank this one first).`,
  );
}

/**
 * Step 8, the attestation: its bundle stored beside the artifact, create-only. A crashed earlier
 * attempt may have stored one already (the same digest, the same workflow run): it is kept if it
 * still verifies, so the record always describes the file that is there.
 */
async function storeAttestation(
  store: ObjectStore,
  key: string,
  found: FoundAttestation,
  sha256: string,
  expected: Parameters<typeof verifyAttestation>[1]['expected'],
  trustMaterial: TrustMaterial | undefined,
  now: string,
): Promise<AttestationRef> {
  let bytes = found.bundle;
  let verified = found.verified;
  try {
    await store.put(key, bytes, { contentType: contentTypeFor(key), cacheControl: IMMUTABLE_CACHE, ifNoneMatch: '*' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
    const stored = await store.get(key);
    if (!stored) throw err;
    bytes = stored.body;
    verified = verifyAttestation(JSON.parse(new TextDecoder().decode(bytes)), { sha256, expected, ...(trustMaterial ? { trustMaterial } : {}) });
  }
  return {
    path: key,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.byteLength,
    predicate_type: verified.predicate_type,
    certificate_identity: verified.certificate_identity,
    certificate_issuer: verified.certificate_issuer,
    verified_at: now,
  };
}

function immutable(req: Accepted, storedSha: string): ShelfError {
  return new ShelfError(
    'artifact_exists',
    `${req.pkg.full}@${req.version} already has a ${platformId(req.platform)} artifact with sha256 ${storedSha}; versions are immutable, publish a new version.`,
  );
}

function respond(req: Accepted, artifact: Artifact, status: 'created' | 'unchanged', total: number): AnnounceResult {
  return {
    statusCode: status === 'created' ? 201 : 200,
    body: {
      package: req.pkg.full,
      version: req.version,
      artifact: { os: artifact.os, arch: artifact.arch, filename: artifact.filename, sha256: artifact.sha256, size: artifact.size, path: artifact.path },
      status,
      total_artifacts: total,
    },
  };
}
