/**
 * Turns a synthetic corpus into the registry's files with the real, pure builders of
 * `src/indexer`: version records through `addArtifact` (one call per platform, as announces
 * make them), package documents, scope records and the recent list (the sharded search index is
 * built by `src/search/write`, see `load.ts`). Nothing here re-implements a format.
 *
 * Artifacts of the generated history are described (sha256, size, path, provenance) but their
 * bytes are not written: they are immutable blobs no announce, rebuild or search ever reads, and
 * 100,000 packages' worth would only measure the disk. The announces the benchmark times fetch
 * and store real artifacts.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { parsePackageName, parseVersion, platformId, type Arch, type Os, type PackageName } from '../src/core/names.ts';
import { artifactKey, ARTIFACT_EXTENSION } from '../src/core/paths.ts';
import type { Artifact, PackageDocument, PackageSummary, RecentDocument, ScopeDocument, VersionDocument } from '../src/core/schemas.ts';
import {
  addArtifact,
  addScopePackage,
  buildPackageDocument,
  pinnedScope,
  releaseUrl,
  summarize,
  upsertRecent,
  type RecentEntry,
} from '../src/indexer/documents.ts';
import { manifestFor, type SyntheticPackage } from './corpus.ts';

/** The issuer recorded in generated provenance (GitHub Actions'). */
const ISSUER = 'https://token.actions.githubusercontent.com';

/** The records and package document of one package. */
export interface PackageFiles {
  pkg: PackageName;
  versions: VersionDocument[];
  document: PackageDocument;
  summary: PackageSummary;
}

/** Builds the version records of a package, one `addArtifact` per platform. */
export function versionDocuments(p: SyntheticPackage): VersionDocument[] {
  const pkg = parsePackageName(p.name);
  return p.versions.map((v) => {
    const version = parseVersion(v.version);
    let doc: VersionDocument | null = null;
    p.platforms.forEach((platform, i) => {
      const at = new Date(Date.parse(v.published_at) + i * 1000).toISOString();
      doc = addArtifact(doc, {
        kind: 'bundle',
        pkg,
        version,
        prerelease: v.prerelease,
        metadata: manifestFor(p, v.version),
        release: { tag: `v${v.version}`, url: releaseUrl(p.repository, `v${v.version}`) },
        artifact: syntheticArtifact(p, pkg, v.version, platform, at),
      });
    });
    return doc!;
  });
}

/** Version records, package document and catalog summary of one package. */
export function packageFiles(p: SyntheticPackage): PackageFiles {
  const pkg = parsePackageName(p.name);
  const versions = versionDocuments(p);
  const document = buildPackageDocument('bundle', pkg, versions, { name: p.repository, id: p.repositoryId }, p.versions[0]!.published_at);
  return { pkg, versions, document, summary: summarize(document)! };
}

/** Scope records of a corpus, each pinned to its owner and listing its packages. */
export function scopeDocuments(packages: readonly SyntheticPackage[]): ScopeDocument[] {
  const scopes = new Map<string, ScopeDocument>();
  for (const p of packages) {
    const first = p.versions[0]!.published_at;
    let doc = scopes.get(p.scope) ?? pinnedScope(p.scope, p.scope, p.ownerId, first);
    if (first < doc.pinned_at) doc = { ...doc, pinned_at: first };
    scopes.set(p.scope, addScopePackage(doc, 'bundle', p.name));
  }
  return [...scopes.values()];
}

/** What the shared files need of a package: its summary and when each version was published. */
export interface SummaryWithVersions {
  summary: PackageSummary;
  versions: readonly Pick<VersionDocument, 'name' | 'version' | 'published_at'>[];
}

/** The recent list, from every package's versions. */
export function recentDocument(files: readonly SummaryWithVersions[]): RecentDocument {
  const entries: RecentEntry[] = files.flatMap((f) =>
    f.versions.map((v) => ({ kind: 'bundle' as const, name: v.name, version: v.version, published_at: v.published_at })),
  );
  // upsertRecent sorts everything it is given; pre-select the newest so it sorts hundreds, not 10^5.
  entries.sort((a, b) => (a.published_at < b.published_at ? 1 : a.published_at > b.published_at ? -1 : 0));
  return upsertRecent(null, entries.slice(0, 500));
}

/** A described (not stored) artifact with provenance as an announce would record it. */
export function syntheticArtifact(p: SyntheticPackage, pkg: PackageName, version: string, platform: { os: Os; arch: Arch }, at: string): Artifact {
  const id = platformId(platform);
  const digest = createHash('sha256').update(`${p.name}@${version}/${id}`).digest('hex');
  const filename = `${p.short}-${version}-${id}${ARTIFACT_EXTENSION.bundle}`;
  const tag = `v${version}`;
  return {
    os: platform.os,
    arch: platform.arch,
    filename,
    sha256: digest,
    // 20 kB .. 8 MB, stable per artifact.
    size: 20_000 + (parseInt(digest.slice(0, 8), 16) % 8_000_000),
    path: artifactKey('bundle', pkg, parseVersion(version), platform),
    source_url: `https://github.com/${p.repository}/releases/download/${tag}/${filename}`,
    published_at: at,
    provenance: {
      provider: 'github-actions',
      verified: true,
      issuer: ISSUER,
      repository: p.repository,
      repository_id: p.repositoryId,
      owner: p.scope,
      owner_id: p.ownerId,
      workflow_ref: `${p.repository}/.github/workflows/release.yml@refs/tags/${tag}`,
      job_workflow_ref: `${p.repository}/.github/workflows/release.yml@refs/tags/${tag}`,
      sha: digest.slice(0, 40),
      ref: `refs/tags/${tag}`,
      event_name: 'release',
      run_id: String(parseInt(digest.slice(8, 16), 16)),
      run_attempt: '1',
      issued_at: at,
    },
  };
}
