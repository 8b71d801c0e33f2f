/**
 * Brings the derived files of one package up to date with its records: the package document,
 * the scope record's package list, the catalog, the search index and the recent list. Each is a
 * compare-and-swap write of a pure function of what is stored, so running this again (after a
 * crash, or concurrently with another announce) converges to the same files.
 *
 * @module
 */
import type { Kind, PackageName } from '../core/names.ts';
import { ShelfError } from '../core/errors.ts';
import { catalogKey, packageKey, recentKey, scopeKey, searchIndexKey, versionsPrefix } from '../core/paths.ts';
import {
  CatalogDocumentSchema,
  PackageDocumentSchema,
  RecentDocumentSchema,
  ScopeDocumentSchema,
  SearchIndexDocumentSchema,
  VersionDocumentSchema,
  type PackageDocument,
  type VersionDocument,
} from '../core/schemas.ts';
import { addScopePackage, buildPackageDocument, summarize, upsertCatalog, upsertRecent } from '../indexer/documents.ts';
import { buildSearchIndex } from '../indexer/search-index.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { readJson, updateJson } from '../store/json-documents.ts';

/** The derived files, in the order an announce writes them (after the records). */
export const DERIVED_STEPS = ['package', 'scope', 'catalog', 'search', 'recent'] as const;
export type DerivedStep = (typeof DERIVED_STEPS)[number];

/** Called after each step; tests use it to simulate a crash between two writes. */
export type StepHook = (step: string) => void | Promise<void>;

/** Reads every version document of a package. */
export async function readVersions(store: ObjectStore, kind: Kind, pkg: PackageName): Promise<VersionDocument[]> {
  const prefix = versionsPrefix(kind, pkg);
  const keys = (await store.list(prefix)).map((o) => o.key).filter((k) => k.endsWith('.json') && !k.slice(prefix.length).includes('/'));
  const docs = await Promise.all(keys.map((k) => readJson(store, k, VersionDocumentSchema)));
  return docs.flatMap((d) => (d ? [d.value] : []));
}

/** Refreshes every derived file of one package. */
export async function refreshPackage(store: ObjectStore, kind: Kind, pkg: PackageName, afterStep?: StepHook): Promise<PackageDocument> {
  const pkgKey = packageKey(kind, pkg);
  const { value: pkgDoc } = await updateJson(store, pkgKey, PackageDocumentSchema, async (current) => {
    const versions = await readVersions(store, kind, pkg);
    const pin = current?.repository ?? pinFromVersions(versions);
    if (!pin) throw new ShelfError('internal_error', `${pkg.full} has neither a package document nor a version record.`);
    return buildPackageDocument(kind, pkg, versions, pin, current?.created_at ?? earliest(versions));
  });
  await afterStep?.('package');

  await updateJson(store, scopeKey(pkg.scope), ScopeDocumentSchema, (current) => {
    if (!current) throw new ShelfError('internal_error', `The scope record of @${pkg.scope} is missing.`);
    return addScopePackage(current, kind, pkg.full);
  });
  await afterStep?.('scope');

  // The catalog entry is computed from the package document as stored now, not from the one this
  // call wrote, so that a slower concurrent announce cannot put back an older summary.
  await updateJson(store, catalogKey(kind), CatalogDocumentSchema, async (current) => {
    const fresh = await readJson(store, pkgKey, PackageDocumentSchema);
    return upsertCatalog(current, kind, pkg.full, fresh ? summarize(fresh.value) : null);
  });
  await afterStep?.('catalog');

  await updateJson(store, searchIndexKey(kind), SearchIndexDocumentSchema, async () => {
    const catalog = await readJson(store, catalogKey(kind), CatalogDocumentSchema);
    return buildSearchIndex(kind, catalog?.value ?? null);
  });
  await afterStep?.('search');

  const versions = await readVersions(store, kind, pkg);
  await updateJson(store, recentKey(), RecentDocumentSchema, (current) =>
    upsertRecent(
      current,
      versions.map((v) => ({ kind, name: pkg.full, version: v.version, published_at: v.published_at })),
    ),
  );
  await afterStep?.('recent');
  return pkgDoc;
}

function pinFromVersions(versions: VersionDocument[]): { name: string; id: string } | null {
  const first = [...versions].sort((a, b) => a.published_at.localeCompare(b.published_at))[0]?.artifacts[0];
  return first ? { name: first.provenance.repository, id: first.provenance.repository_id } : null;
}

function earliest(versions: VersionDocument[]): string {
  return versions.map((v) => v.published_at).sort()[0] ?? new Date().toISOString();
}
