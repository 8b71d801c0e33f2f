/**
 * The full rebuild: recomputes every derived file (package documents, badges, scope package lists,
 * the sharded search indexes with their catalogs, the recent list) from the records (version documents and pins), for
 * the whole registry, one kind, or one package. It calls the same builders as the announce's
 * refresh ({@link derivePackageDocument} and the indexer), so a rebuild of a consistent registry
 * writes nothing, and a rebuild after a crash writes exactly what a clean run would have.
 *
 * Every file is written by compare-and-swap, and each compute reads (and lists) the records it
 * needs only after reading its target's ETag, so a rebuild may run while announces do: whichever
 * writes last, writes from the newest records. A file whose content is already right is not
 * written at all.
 *
 * @module
 */
import type { z } from 'zod';
import { ShelfError } from '../core/errors.ts';
import { KINDS, parsePackageName, type Kind, type PackageName, type Scope } from '../core/names.ts';
import { badgeKey, kindPrefix, packageKey, parseVersionKey, recentKey, scopeKey, scopesPrefix, shardedRootKey, versionsPrefix } from '../core/paths.ts';
import { PackageDocumentSchema, RecentDocumentSchema, ScopeDocumentSchema, VersionDocumentSchema, type PackageDocument, type ScopeDocument } from '../core/schemas.ts';
import { addScopePackage, pinnedScope, summarize, upsertRecent } from '../indexer/documents.ts';
import { DEFAULT_RETRY, readJson, retryOnConflict, updateJson, type RetryPolicy } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { buildShardedIndex } from '../search/write/build.ts';
import { applyToStore, commitGeneration, filesOfSameGeneration, readShardedRoot, writeShardFiles } from '../search/write/publish.ts';
import { derivePackageDocument, readVersions, recentEntriesOf, refreshBadge, signed } from './refresh.ts';
import { isSignedBy, signArtifact, type Signer } from '../signing/signer.ts';
import { publishSigningKey, readKeyList } from '../signing/key-list.ts';
import { parseVersion } from '../core/names.ts';
import { eachLimited } from '../core/concurrency.ts';
import { migrateRetiredLayout, namesRetiredLayout } from './config-document.ts';

/** Options of {@link rebuild}. */
export interface RebuildOptions {
  /**
   * Only this package: its package document, its scope's package list, and its entries in the
   * catalog, search index and recent list. Default: every package.
   */
  package?: PackageName;
  /** Only this kind. Default both (with `package`: each kind the package has records in). */
  kind?: Kind;
  /** Called after each file, for a progress display. */
  onProgress?: (progress: RebuildProgress) => void;
  /** Compare-and-swap retry policy. Default {@link DEFAULT_RETRY}. */
  retry?: RetryPolicy;
  /** How many packages or scopes are rebuilt at once. Default 32. */
  concurrency?: number;
  /**
   * The registry's signer: artifacts whose statement it has not validly signed are re-signed (in
   * their version records), and package documents are signed. It must be the key `v1/keys.json`
   * lists first (a registry without a key list gets one naming it). Without a signer nothing is
   * signed, and documents are written unsigned.
   */
  signer?: Signer;
}

/** Progress of a rebuild, reported after each derived file. */
export interface RebuildProgress {
  /** Files done so far. */
  done: number;
  /** Files to do in all. */
  total: number;
  /** The file just done. */
  key: string;
  /** Whether it was written. */
  changed: boolean;
}

/** What a rebuild did. */
export interface RebuildResult {
  /** The derived files written, because they were missing or disagreed with the records. */
  changed: string[];
  /** The derived files that were already right, and were not written. */
  unchanged: string[];
  /** How many packages were rebuilt. */
  packages: number;
}

/** A package with records. */
interface Target {
  kind: Kind;
  pkg: PackageName;
}

/**
 * Rebuilds derived files from the records. Idempotent: a second run changes nothing.
 *
 * @example
 * ```ts
 * const { changed } = await rebuild(store);                             // the whole registry
 * await rebuild(store, { package: parsePackageName('@acme/echo'), kind: 'bundle' });
 * ```
 * @throws TypeError for invalid options (naming the option)
 * @throws ShelfError `not_found` when `package` has no records; `write_contention` when a file
 *   could not be written within the retry policy
 */
export async function rebuild(store: ObjectStore, options: RebuildOptions = {}): Promise<RebuildResult> {
  const { kind, onProgress, retry = DEFAULT_RETRY, concurrency = 32 } = checkOptions(options);
  // A registry of the retired `single` layout is migrated by a whole rebuild (config-document.ts).
  const retired = await namesRetiredLayout(store);
  if (retired && (options.package || kind)) {
    throw new ShelfError('invalid_argument', 'This registry is in the retired "single" search layout: migrate it with a whole `shelf rebuild` (without --package or --kind) first.');
  }
  const kinds = kind ? [kind] : [...KINDS];
  const onePackage = options.package;
  const targets = onePackage ? await packageTargets(store, kinds, onePackage) : await discoverPackages(store, kinds);
  if (onePackage && targets.length === 0) {
    throw new ShelfError('not_found', `${onePackage.full} has no records${kind ? ` as a ${kind}` : ''}: nothing to rebuild.`);
  }
  const scopes = new Set(targets.map((t) => t.pkg.scope));
  if (!onePackage && !kind) for (const s of await discoverScopes(store)) scopes.add(s);
  const targetKinds = [...new Set(targets.map((t) => t.kind))];
  const sharedKinds = onePackage ? targetKinds : kinds;

  const { signer } = options;
  if (signer) await checkSigner(store, signer);

  const result: RebuildResult = { changed: [], unchanged: [], packages: targets.length };
  const total = 2 * targets.length + scopes.size + sharedKinds.length + 1;
  const record = (key: string, changed: boolean) => {
    (changed ? result.changed : result.unchanged).push(key);
    onProgress?.({ done: result.changed.length + result.unchanged.length, total, key, changed });
  };
  const write = async <T>(key: string, schema: z.ZodType<T>, compute: (current: T | null) => Promise<T | null>) =>
    record(key, await writeDerived(store, key, schema, compute, retry));

  // Signatures of the records: every artifact statement signed by the current key.
  if (signer) await eachLimited(targets, concurrency, async ({ kind: k, pkg }) => {
    for (const key of await resignVersions(store, k, pkg, signer, retry)) record(key, true);
  });

  // Package documents first: everything after is derived from them.
  await eachLimited(targets, concurrency, ({ kind: k, pkg }) =>
    write(packageKey(k, pkg), PackageDocumentSchema, async (current) => {
      const versions = await readVersions(store, k, pkg);
      return current || versions.length > 0 ? signed(signer, derivePackageDocument(k, pkg, versions, current), current) : null;
    }),
  );

  await eachLimited(targets, concurrency, async ({ kind: k, pkg }) => record(badgeKey(k, pkg), await refreshBadge(store, k, pkg, retry)));

  await eachLimited([...scopes].sort(), concurrency, (scope) =>
    write(scopeKey(scope), ScopeDocumentSchema, async (current) => {
      const docs = await readPackageDocuments(store, KINDS, scope);
      const base = current ?? (await reconstructScopePin(store, scope, docs));
      if (!base) return null;
      return docs.reduce((acc, doc) => (doc.versions.length > 0 ? addScopePackage(acc, doc.kind, doc.name) : acc), { ...base, packages: [] } as ScopeDocument);
    }),
  );

  for (const k of sharedKinds) {
    const freshSummary = async (pkg: PackageName) => {
      const fresh = await readJson(store, packageKey(k, pkg), PackageDocumentSchema);
      return fresh ? summarize(fresh.value) : null;
    };
    if (onePackage) {
      record(shardedRootKey(k), (await applyToStore(store, k, onePackage.full, () => freshSummary(onePackage), { retry })).changed);
    } else {
      record(shardedRootKey(k), await rebuildSharded(store, k, retry));
    }
  }
  // The recent list spans both kinds, so even a one-kind rebuild recomputes it whole.
  await write(recentKey(), RecentDocumentSchema, async (current) => {
    if (onePackage) {
      const docs = (await Promise.all(targetKinds.map((k) => readJson(store, packageKey(k, onePackage), PackageDocumentSchema)))).flatMap((d) => (d ? [d.value] : []));
      const others = (current?.entries ?? []).filter((e) => !(e.name === onePackage.full && targetKinds.includes(e.kind)));
      const entries = docs.flatMap(recentEntriesOf);
      return current || entries.length > 0 ? upsertRecent(current && { ...current, entries: others }, entries) : null;
    }
    const entries = (await readPackageDocuments(store, KINDS)).flatMap(recentEntriesOf);
    return current || entries.length > 0 ? upsertRecent(null, entries) : null;
  });
  // Last, once the sharded roots exist: the config names them, and the retired files go.
  if (retired) for (const key of await migrateRetiredLayout(store, retry)) record(key, true);
  return result;
}

/**
 * A rebuild signs only with the registry's current key, the first of `v1/keys.json`; a registry
 * that has never signed gets a key list naming the signer.
 *
 * @throws ShelfError `invalid_config` when the signer is not the current key
 */
async function checkSigner(store: ObjectStore, signer: Signer): Promise<void> {
  const keys = await readKeyList(store);
  if (!keys || keys.keys.length === 0) {
    await publishSigningKey(store, signer);
    return;
  }
  if (keys.keys[0]!.keyid !== signer.keyId) {
    throw new ShelfError(
      'invalid_config',
      `The signing key ${signer.keyId.slice(0, 16)} (${signer.description}) is not the registry's current key ${keys.keys[0]!.keyid.slice(0, 16)} (v1/keys.json). Rebuild with the registry's own key: SHELF_SIGNING_KEY_FILE, SHELF_SIGNING_KMS_KEY_ID, or on AWS through the function (see infra/README.md).`,
    );
  }
}

/**
 * Re-signs the artifacts of a package's version records that lack a valid signature by `signer`
 * (a registry from before signing, or a rotated key), by compare-and-swap. The statements are the
 * same facts: only the signature changes.
 *
 * @returns The version documents written.
 */
async function resignVersions(store: ObjectStore, kind: Kind, pkg: PackageName, signer: Signer, retry: RetryPolicy): Promise<string[]> {
  const written: string[] = [];
  for (const { key } of await store.list(versionsPrefix(kind, pkg))) {
    const parsed = parseVersionKey(key);
    if (!parsed) continue;
    const owner = { kind, name: pkg.full, version: parseVersion(parsed.version) };
    const { changed } = await updateJson(
      store,
      key,
      VersionDocumentSchema,
      async (current) => {
        if (!current) throw new NothingToWrite();
        const artifacts = await Promise.all(current.artifacts.map(async (a) => ((await isSignedBy(signer, owner, a)) ? a : signArtifact(signer, owner, a))));
        return { ...current, artifacts };
      },
      { retry, strict: true },
    ).catch((error: unknown) => {
      if (error instanceof NothingToWrite) return { changed: false };
      throw error;
    });
    if (changed) written.push(key);
  }
  return written;
}

/**
 * Regenerates a kind's sharded index from every package document: builds the whole generation,
 * writes its files create-only (files the current generation shares keep their names and are
 * skipped), then swaps the root by compare-and-swap against the root read before the package
 * documents were, so a concurrent announce is never lost (a lost race rebuilds again). A
 * generation equal to the stored one (or to the stored one with its delta compacted) writes
 * nothing (but files of it found missing); a kind
 * without packages and without a root is left without one. True when anything was written.
 */
async function rebuildSharded(store: ObjectStore, kind: Kind, retry: RetryPolicy): Promise<boolean> {
  return retryOnConflict(
    shardedRootKey(kind),
    async () => {
      const current = await readShardedRoot(store, kind);
      const summaries = (await readPackageDocuments(store, [kind])).flatMap((d) => summarize(d) ?? []);
      if (!current && summaries.length === 0) return false;
      const generation = await buildShardedIndex(kind, summaries, current ? { policy: current.root.policy } : {});
      const same = current ? await filesOfSameGeneration(store, current.root, generation) : null;
      // The same generation (perhaps with a delta still to compact): restore any files that were
      // lost (then it was not clean). The root reaches every one of them, so none is touched.
      if (same) return (await writeShardFiles(store, same, { touch: false })).written > 0;
      await commitGeneration(store, kind, generation, current?.etag ?? null);
      return true;
    },
    retry,
    'run the rebuild again',
  );
}

/** Thrown inside a compute to leave an absent file absent. */
class NothingToWrite extends Error {}

/**
 * Compare-and-swap of one derived file; `compute` returns null to leave an absent file absent
 * (a kind without packages has no catalog, as after announces alone). True when it was written.
 */
async function writeDerived<T>(
  store: ObjectStore,
  key: string,
  schema: z.ZodType<T>,
  compute: (current: T | null) => Promise<T | null>,
  retry: RetryPolicy,
): Promise<boolean> {
  try {
    const { changed } = await updateJson(
      store,
      key,
      schema,
      async (current) => {
        const next = await compute(current);
        if (next === null) throw new NothingToWrite();
        return next;
      },
      { retry },
    );
    return changed;
  } catch (err) {
    if (err instanceof NothingToWrite) return false;
    throw err;
  }
}

/** The kinds in which `pkg` has a package document or a version record. */
async function packageTargets(store: ObjectStore, kinds: Kind[], pkg: PackageName): Promise<Target[]> {
  const found = await Promise.all(
    kinds.map(async (kind) => {
      const [doc, versions] = await Promise.all([store.head(packageKey(kind, pkg)), store.list(versionsPrefix(kind, pkg))]);
      return doc || versions.some((o) => parseVersionKey(o.key)) ? [{ kind, pkg }] : [];
    }),
  );
  return found.flat();
}

/** Every package of the kinds with a package document or a version record, sorted by kind and name. */
async function discoverPackages(store: ObjectStore, kinds: Kind[]): Promise<Target[]> {
  const targets = new Map<string, Target>();
  for (const kind of kinds) {
    for (const { key } of await store.list(kindPrefix(kind))) {
      const pkg = packageOfVersionKey(key) ?? packageOfDocumentKey(kind, key);
      if (pkg) targets.set(`${kind}:${pkg.full}`, { kind, pkg });
    }
  }
  return [...targets.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.pkg.full.localeCompare(b.pkg.full));
}

/** Every scope with a scope record. */
async function discoverScopes(store: ObjectStore): Promise<Scope[]> {
  const prefix = scopesPrefix();
  return (await store.list(prefix)).flatMap(({ key }) => {
    const m = /^@([^/]+)\.json$/.exec(key.slice(prefix.length));
    return m && scopeKey(m[1]!) === key ? [m[1]! as Scope] : [];
  });
}

/** Package documents read at once by {@link readPackageDocuments}. */
const READ_CONCURRENCY = 64;

/** Reads the package documents of the kinds (only of `scope`, when given), by name. */
async function readPackageDocuments(store: ObjectStore, kinds: readonly Kind[], scope?: string): Promise<PackageDocument[]> {
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

/**
 * The scope pin, from the records, when the scope record itself is lost: the owner and owner id
 * of the earliest artifact's provenance, pinned when it was published, as its announce did.
 */
async function reconstructScopePin(store: ObjectStore, scope: string, docs: PackageDocument[]): Promise<ScopeDocument | null> {
  const first = docs
    .flatMap((d) => d.versions.map((v) => ({ path: v.path, at: v.published_at })))
    .sort((a, b) => a.at.localeCompare(b.at))[0];
  if (!first) return null;
  const version = await readJson(store, first.path, VersionDocumentSchema);
  const artifact = version?.value.artifacts.slice().sort((a, b) => a.published_at.localeCompare(b.published_at))[0];
  if (!artifact) return null;
  return pinnedScope(scope, artifact.provenance.owner, artifact.provenance.owner_id, first.at);
}

function packageOfVersionKey(key: string): PackageName | null {
  const parsed = parseVersionKey(key);
  return parsed ? safeName(parsed.full) : null;
}

/** The package whose document is at `key`, or null: the key is rebuilt from the name to be sure. */
function packageOfDocumentKey(kind: Kind, key: string): PackageName | null {
  const prefix = kindPrefix(kind);
  if (!key.startsWith(prefix) || !key.endsWith('.json')) return null;
  const pkg = safeName(key.slice(prefix.length, -'.json'.length));
  return pkg && packageKey(kind, pkg) === key ? pkg : null;
}

function safeName(full: string): PackageName | null {
  try {
    return parsePackageName(full);
  } catch {
    return null;
  }
}

function checkOptions(options: RebuildOptions): RebuildOptions {
  if (!options || typeof options !== 'object') throw new TypeError('rebuild options must be an object');
  if (options.kind !== undefined && !KINDS.includes(options.kind)) {
    throw new TypeError(`"kind" option must be one of ${KINDS.join(', ')}, got ${JSON.stringify(options.kind)}`);
  }
  if (options.package !== undefined && (typeof options.package?.full !== 'string' || safeName(options.package.full)?.full !== options.package.full)) {
    throw new TypeError('"package" option must be a PackageName from parsePackageName');
  }
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw new TypeError(`"concurrency" option must be a positive integer, got ${JSON.stringify(options.concurrency)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('"onProgress" option must be a function');
  return options;
}
