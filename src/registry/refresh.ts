/**
 * Brings the derived files of one package up to date with its records: the statuses its version
 * documents mirror from its lifecycle record, the package document, its badge, the scope record's
 * package list, the search index and catalog, and the recent list. Each is a
 * compare-and-swap write of a pure function of what is stored, so running this again (after a
 * crash, or concurrently with another announce) converges to the same files.
 *
 * The search index and catalog are one step: the package's summary is applied to the kind's
 * sharded index (a bounded number of small files, then one root swap; `src/search/write/publish.ts`).
 *
 * @module
 */
import type { Kind, PackageName, Version } from '../core/names.ts';
import { ShelfError } from '../core/errors.ts';
import { badgeKey, lifecycleKey, packageKey, recentKey, scopeKey, versionKey, versionsPrefix } from '../core/paths.ts';
import {
  LifecycleRecordSchema,
  type LifecycleRecord,
  PackageDocumentSchema,
  RecentDocumentSchema,
  ScopeDocumentSchema,
  VersionDocumentSchema,
  type PackageDocument,
  type VersionDocument,
} from '../core/schemas.ts';
import { buildPackageDocument, recentEntriesOf, replaceRecent, scopeLists, setScopePackage, summarize } from '../indexer/documents.ts';
import { removedVersion, versionStatusOf, type StatusFields } from '../indexer/lifecycle.ts';
import { applyToStore } from '../search/write/publish.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { readJson, updateJson, updateObject, type RetryPolicy } from '../store/json-documents.ts';
import { packageBadge, renderBadge } from '../indexer/badge.ts';

/**
 * The derived files, in the order an announce writes them (after the records); one root swap
 * commits the catalog and the index (`search`).
 */
export const DERIVED_STEPS = ['statuses', 'package', 'badge', 'scope', 'search', 'recent'] as const;
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
}

/** Refreshes every derived file of one package. */
export async function refreshPackage(store: ObjectStore, kind: Kind, pkg: PackageName, options: RefreshOptions = {}): Promise<PackageDocument> {
  const { afterStep } = options;
  const pkgKey = packageKey(kind, pkg);
  const versionCache: VersionCache = new Map();
  await refreshVersionStatuses(store, kind, pkg, await readVersions(store, kind, pkg, versionCache));
  await afterStep?.('statuses');

  const { value: pkgDoc } = await updateJson(store, pkgKey, PackageDocumentSchema, async (current) =>
    derivePackageDocument(kind, pkg, await readVersions(store, kind, pkg, versionCache), current, await readLifecycle(store, kind, pkg)),
  );
  await afterStep?.('package');

  await refreshBadge(store, kind, pkg);
  await afterStep?.('badge');

  await updateJson(store, scopeKey(pkg.scope), ScopeDocumentSchema, async (current) => {
    if (!current) throw new ShelfError('internal_error', `The scope record of @${pkg.scope} is missing.`);
    const fresh = (await readJson(store, pkgKey, PackageDocumentSchema))?.value ?? pkgDoc;
    return setScopePackage(current, kind, pkg.full, scopeLists(fresh));
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

  // The package document lists every version with its publication time and status, so the
  // version records need not be read again. It is read as stored now (after the list's ETag), so
  // that replacing the package's entries never drops a version a concurrent announce added.
  await updateJson(store, recentKey(), RecentDocumentSchema, async (current) => {
    const fresh = (await readJson(store, pkgKey, PackageDocumentSchema))?.value ?? pkgDoc;
    return replaceRecent(current, kind, pkg.full, recentEntriesOf(fresh));
  });
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

/** A package's lifecycle record (statuses, tombstones), or null when nothing happened to it. */
export async function readLifecycle(store: ObjectStore, kind: Kind, pkg: PackageName): Promise<LifecycleRecord | null> {
  return (await readJson(store, lifecycleKey(kind, pkg), LifecycleRecordSchema))?.value ?? null;
}

/**
 * Mirrors the lifecycle record's statuses into the version documents, whose only mutable fields
 * they are: each document whose status differs is rewritten by compare-and-swap, from the record
 * as read after the document's ETag (so a slower concurrent change cannot put back an older
 * status). Documents of versions taken down are left to the takedown, which deletes them.
 *
 * @param versions - The package's version documents, as just read.
 * @returns The keys written.
 */
export async function refreshVersionStatuses(store: ObjectStore, kind: Kind, pkg: PackageName, versions: VersionDocument[], retry?: RetryPolicy): Promise<string[]> {
  const record = await readLifecycle(store, kind, pkg);
  const stale = versions.filter((v) => !removedVersion(record, v.version) && !sameStatus(v, versionStatusOf(record, v.version)));
  const written: string[] = [];
  for (const v of stale) {
    const key = versionKey(kind, pkg, v.version as Version);
    try {
      const { changed } = await updateJson(
        store,
        key,
        VersionDocumentSchema,
        async (current) => {
          const fresh = await readLifecycle(store, kind, pkg);
          // Deleted meanwhile (a takedown), or taken down: nothing to mirror.
          if (!current || removedVersion(fresh, v.version)) throw new LeaveAlone();
          return withStatus(current, versionStatusOf(fresh, v.version));
        },
        { strict: true, ...(retry ? { retry } : {}) },
      );
      if (changed) written.push(key);
    } catch (err) {
      if (!(err instanceof LeaveAlone)) throw err;
    }
  }
  return written;
}

/** Thrown inside a compute to write nothing. */
class LeaveAlone extends Error {}

/** A version document with these status fields (and no others). */
export function withStatus(doc: VersionDocument, fields: StatusFields<VersionDocument['status']>): VersionDocument {
  const { status_message: _m, status_changed_at: _c, ...rest } = doc;
  return { ...rest, ...fields };
}

function sameStatus(doc: VersionDocument, fields: StatusFields<string>): boolean {
  return doc.status === fields.status && doc.status_message === fields.status_message && doc.status_changed_at === fields.status_changed_at;
}

/**
 * The package document its records give: the version documents, its lifecycle record, and the
 * repository pin and creation time kept in the stored package document (`current`; without
 * one, the first artifact's provenance pins it). Shared by the announce's refresh and the full
 * rebuild.
 *
 * @throws ShelfError `internal_error` when there is neither a package document nor a version
 */
export function derivePackageDocument(
  kind: Kind,
  pkg: PackageName,
  versions: VersionDocument[],
  current: PackageDocument | null,
  lifecycle: LifecycleRecord | null,
): PackageDocument {
  const pin = current?.repository ?? pinFromVersions(versions);
  if (!pin) throw new ShelfError('internal_error', `${pkg.full} has neither a package document nor a version record.`);
  return buildPackageDocument(kind, pkg, versions, pin, current?.created_at ?? earliest(versions), lifecycle);
}

function pinFromVersions(versions: VersionDocument[]): { name: string; id: string } | null {
  const first = [...versions].sort((a, b) => a.published_at.localeCompare(b.published_at))[0]?.artifacts[0];
  return first ? { name: first.provenance.repository, id: first.provenance.repository_id } : null;
}

function earliest(versions: VersionDocument[]): string {
  return versions.map((v) => v.published_at).sort()[0] ?? new Date().toISOString();
}
