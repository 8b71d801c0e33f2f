/**
 * Reading the records the derived files come from (version documents, lifecycle records, package
 * documents) and which packages and scopes have any: for the refresh, the rebuild and the checker.
 *
 * @module
 */
import { KINDS, parsePackageName, type Kind, type PackageName, type Scope } from '../core/names.ts';
import { kindPrefix, lifecycleKey, packageKey, parseVersionKey, scopeKey, scopesPrefix, versionsPrefix } from '../core/paths.ts';
import { LifecycleRecordSchema, PackageDocumentSchema, VersionDocumentSchema, type LifecycleRecord, type PackageDocument, type VersionDocument } from '../core/schemas.ts';
import { eachLimited } from '../core/concurrency.ts';
import { readJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** A package with records. */
export interface Target {
  kind: Kind;
  pkg: PackageName;
}

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

/** A package's lifecycle record (statuses, tombstones), or null when nothing happened to it. */
export async function readLifecycle(store: ObjectStore, kind: Kind, pkg: PackageName): Promise<LifecycleRecord | null> {
  return (await readJson(store, lifecycleKey(kind, pkg), LifecycleRecordSchema))?.value ?? null;
}

/** Package documents read at once by {@link readPackageDocuments}. */
const READ_CONCURRENCY = 64;

/** Reads the package documents of the kinds (only of `scope`, when given), by name. */
export async function readPackageDocuments(store: ObjectStore, kinds: readonly Kind[], scope?: string): Promise<PackageDocument[]> {
  const docs: PackageDocument[] = [];
  for (const kind of kinds) {
    const listed = await store.list(scope ? `${kindPrefix(kind)}@${scope}/` : kindPrefix(kind));
    const keys = listed.flatMap(({ key }) => (packageOfDocumentKey(kind, key) ? [key] : []));
    // Bounded: a registry of 100,000 packages would otherwise open every file at once (EMFILE).
    const read: (PackageDocument | null)[] = new Array(keys.length).fill(null);
    await eachLimited([...keys.keys()], READ_CONCURRENCY, async (i) => {
      read[i] = (await readJson(store, keys[i]!, PackageDocumentSchema))?.value ?? null;
    });
    for (const doc of read) if (doc) docs.push(doc);
  }
  return docs.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

/** The kinds in which `pkg` has a package document, a version record or a lifecycle record. */
export async function packageTargets(store: ObjectStore, kinds: Kind[], pkg: PackageName): Promise<Target[]> {
  const found = await Promise.all(
    kinds.map(async (kind) => {
      const [doc, versions, lifecycle] = await Promise.all([store.head(packageKey(kind, pkg)), store.list(versionsPrefix(kind, pkg)), store.head(lifecycleKey(kind, pkg))]);
      return doc || lifecycle || versions.some((o) => parseVersionKey(o.key)) ? [{ kind, pkg }] : [];
    }),
  );
  return found.flat();
}

/** Every package of the kinds with a package document, a version record or a lifecycle record, sorted by kind and name. */
export async function discoverPackages(store: ObjectStore, kinds: Kind[]): Promise<Target[]> {
  const targets = new Map<string, Target>();
  for (const kind of kinds) {
    for (const { key } of await store.list(kindPrefix(kind))) {
      const pkg = packageOfVersionKey(key) ?? packageOfDocumentKey(kind, key) ?? packageOfLifecycleKey(kind, key);
      if (pkg) targets.set(`${kind}:${pkg.full}`, { kind, pkg });
    }
  }
  return [...targets.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.pkg.full.localeCompare(b.pkg.full));
}

/** Every scope with a scope record. */
export async function discoverScopes(store: ObjectStore): Promise<Scope[]> {
  const prefix = scopesPrefix();
  return (await store.list(prefix)).flatMap(({ key }) => {
    const m = /^@([^/]+)\.json$/.exec(key.slice(prefix.length));
    return m && scopeKey(m[1]!) === key ? [m[1]! as Scope] : [];
  });
}

function packageOfVersionKey(key: string): PackageName | null {
  const parsed = parseVersionKey(key);
  return parsed ? safeName(parsed.full) : null;
}

/** The package whose document is at `key`, or null: the key is rebuilt from the name to be sure. */
export function packageOfDocumentKey(kind: Kind, key: string): PackageName | null {
  return packageOf(kind, key, '.json', packageKey);
}

/** The package whose lifecycle record is at `key`, or null. */
function packageOfLifecycleKey(kind: Kind, key: string): PackageName | null {
  return packageOf(kind, key, '/lifecycle.json', lifecycleKey);
}

function packageOf(kind: Kind, key: string, suffix: string, keyOf: (kind: Kind, pkg: PackageName) => string): PackageName | null {
  const prefix = kindPrefix(kind);
  if (!key.startsWith(prefix) || !key.endsWith(suffix)) return null;
  const pkg = safeName(key.slice(prefix.length, -suffix.length));
  return pkg && keyOf(kind, pkg) === key ? pkg : null;
}

/** True when `key` is a package document of either kind. */
export function isPackageDocumentKey(key: string): boolean {
  return KINDS.some((kind) => packageOfDocumentKey(kind, key) !== null);
}

/** The package name `full` parses to, or null. */
export function safeName(full: string): PackageName | null {
  try {
    return parsePackageName(full);
  } catch {
    return null;
  }
}
