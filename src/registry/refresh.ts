/**
 * Brings the derived files of one package up to date with its records: the package document,
 * its badge, the scope record's package list, the search index and catalog, and the recent list. Each is a
 * compare-and-swap write of a pure function of what is stored, so running this again (after a
 * crash, or concurrently with another announce) converges to the same files.
 *
 * The search index and catalog are one step: the package's summary is applied to the kind's
 * sharded index (a bounded number of small files, then one root swap; `src/search/write/publish.ts`).
 *
 * @module
 */
import type { Kind, PackageName } from '../core/names.ts';
import { ShelfError } from '../core/errors.ts';
import { badgeKey, packageKey, recentKey, scopeKey, versionsPrefix } from '../core/paths.ts';
import { PackageDocumentSchema, RecentDocumentSchema, ScopeDocumentSchema, VersionDocumentSchema, type PackageDocument, type VersionDocument } from '../core/schemas.ts';
import { addScopePackage, buildPackageDocument, summarize, upsertRecent, type RecentEntry } from '../indexer/documents.ts';
import { applyToStore } from '../search/write/publish.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { readJson, updateJson, updateObject, type RetryPolicy } from '../store/json-documents.ts';
import { packageBadge, renderBadge } from '../indexer/badge.ts';
import { signDocument, type Signer } from '../signing/signer.ts';
import { canonicalJson } from '../signing/canonical.ts';

/**
 * The derived files, in the order an announce writes them (after the records); one root swap
 * commits the catalog and the index (`search`).
 */
export const DERIVED_STEPS = ['package', 'badge', 'scope', 'search', 'recent'] as const;
export type DerivedStep = (typeof DERIVED_STEPS)[number];

/** Called after each step; tests use it to simulate a crash between two writes. */
export type StepHook = (step: string) => void | Promise<void>;

/** Version documents already read, by key, with the ETag each was read at. */
export type VersionCache = Map<string, { etag: string; doc: VersionDocument }>;

/**
 * Reads every version document of a package. With a `cache`, a document whose listed ETag is the
 * one it was read at is not read again: compare-and-swap retries under contention re-list the
 * versions, but fetch only those that changed.
 */
export async function readVersions(store: ObjectStore, kind: Kind, pkg: PackageName, cache?: VersionCache): Promise<VersionDocument[]> {
  const prefix = versionsPrefix(kind, pkg);
  const listed = (await store.list(prefix)).filter((o) => o.key.endsWith('.json') && !o.key.slice(prefix.length).includes('/'));
  const docs = await Promise.all(
    listed.map(async ({ key, etag }) => {
      const hit = cache?.get(key);
      if (hit && hit.etag === etag) return hit.doc;
      const read = await readJson(store, key, VersionDocumentSchema);
      if (read) cache?.set(key, { etag: read.etag, doc: read.value });
      return read?.value ?? null;
    }),
  );
  return docs.flatMap((d) => (d ? [d] : []));
}

/** Options of {@link refreshPackage}. */
export interface RefreshOptions {
  /** Called after each step (tests simulate crashes here). */
  afterStep?: StepHook;
  /** Signs the package document. Without one it is written unsigned. */
  signer?: Signer;
}

/** Refreshes every derived file of one package. */
export async function refreshPackage(store: ObjectStore, kind: Kind, pkg: PackageName, options: RefreshOptions = {}): Promise<PackageDocument> {
  const { afterStep, signer } = options;
  const pkgKey = packageKey(kind, pkg);
  const versionCache: VersionCache = new Map();
  const { value: pkgDoc } = await updateJson(store, pkgKey, PackageDocumentSchema, async (current) =>
    signed(signer, derivePackageDocument(kind, pkg, await readVersions(store, kind, pkg, versionCache), current), current),
  );
  await afterStep?.('package');

  await refreshBadge(store, kind, pkg);
  await afterStep?.('badge');

  await updateJson(store, scopeKey(pkg.scope), ScopeDocumentSchema, (current) => {
    if (!current) throw new ShelfError('internal_error', `The scope record of @${pkg.scope} is missing.`);
    return addScopePackage(current, kind, pkg.full);
  });
  await afterStep?.('scope');

  // The summary is computed from the package document as stored now (on every attempt), not from
  // the one this call wrote, so that a slower concurrent announce cannot put back an older summary.
  const freshSummary = async () => {
    const fresh = await readJson(store, pkgKey, PackageDocumentSchema);
    return fresh ? summarize(fresh.value) : null;
  };
  await applyToStore(store, kind, pkg.full, freshSummary);
  await afterStep?.('search');

  // The package document lists every version with its publication time, so the version records
  // need not be read again; versions announced since are added to the list by their own announce.
  await updateJson(store, recentKey(), RecentDocumentSchema, (current) => upsertRecent(current, recentEntriesOf(pkgDoc)));
  await afterStep?.('recent');
  return pkgDoc;
}

/**
 * Brings a package's badge up to date with its package document as stored now, so that a slower
 * concurrent announce cannot put back an older version; rewritten only when its bytes change.
 * Without a package document there is no badge. True when it was written (or deleted).
 */
export async function refreshBadge(store: ObjectStore, kind: Kind, pkg: PackageName, retry?: RetryPolicy): Promise<boolean> {
  const { changed } = await updateObject(
    store,
    badgeKey(kind, pkg),
    async () => {
      const doc = await readJson(store, packageKey(kind, pkg), PackageDocumentSchema);
      return doc ? renderBadge(packageBadge(doc.value)) : null;
    },
    retry,
  );
  return changed;
}

/**
 * The document signed by `signer` (the stored copy when it already is). Without a signer, the
 * stored copy when its content is the same (so its signature is kept), else the document unsigned.
 */
export async function signed(signer: Signer | undefined, doc: PackageDocument, current: PackageDocument | null): Promise<PackageDocument> {
  if (signer) return signDocument(signer, doc, current);
  if (current) {
    const { signature: _stored, ...stored } = current;
    if (canonicalJson(stored) === canonicalJson(doc)) return current;
  }
  return doc;
}

/** The recent-list entries of a package's versions. */
export function recentEntriesOf(doc: PackageDocument): RecentEntry[] {
  return doc.versions.map((v) => ({ kind: doc.kind, name: doc.name, version: v.version, published_at: v.published_at }));
}

/**
 * The package document its records give: the version documents, and the repository pin and
 * creation time kept in the stored package document (`current`; without one, the first
 * artifact's provenance pins it). Shared by the announce's refresh and the full rebuild.
 *
 * @throws ShelfError `internal_error` when there is neither a package document nor a version
 */
export function derivePackageDocument(kind: Kind, pkg: PackageName, versions: VersionDocument[], current: PackageDocument | null): PackageDocument {
  const pin = current?.repository ?? pinFromVersions(versions);
  if (!pin) throw new ShelfError('internal_error', `${pkg.full} has neither a package document nor a version record.`);
  return buildPackageDocument(kind, pkg, versions, pin, current?.created_at ?? earliest(versions));
}

function pinFromVersions(versions: VersionDocument[]): { name: string; id: string } | null {
  const first = [...versions].sort((a, b) => a.published_at.localeCompare(b.published_at))[0]?.artifacts[0];
  return first ? { name: first.provenance.repository, id: first.provenance.repository_id } : null;
}

function earliest(versions: VersionDocument[]): string {
  return versions.map((v) => v.published_at).sort()[0] ?? new Date().toISOString();
}
