/**
 * The derived files, as one list of producers: for each kind of file (the statuses the version
 * documents mirror from the lifecycle record included), how an announce refreshes
 * one package's part of it, how a rebuild recomputes it from every record, and how the checker
 * lists its entries. The announce's refresh (`refresh.ts`), the rebuild (`rebuild.ts`) and the
 * checker (`check.ts`) all walk {@link PRODUCERS}, so a new derived file is one entry here.
 *
 * Every write is a compare-and-swap of a pure function of what is stored, read after the
 * target's ETag, so a refresh and a rebuild may run while announces do, and running either again
 * (after a crash) converges to the same files.
 *
 * @module
 */
import type { z } from 'zod';
import { ShelfError } from '../core/errors.ts';
import { KINDS, type Kind, type PackageName, type Scope, type Version } from '../core/names.ts';
import { badgeKey, packageKey, parseVersionKey, recentKey, scopeKey, scopesPrefix, shardedRootKey, versionKey } from '../core/paths.ts';
import {
  type LifecycleRecord,
  PackageDocumentSchema,
  RecentDocumentSchema,
  ScopeDocumentSchema,
  VersionDocumentSchema,
  type PackageDocument,
  type ScopeDocument,
  type VersionDocument,
} from '../core/schemas.ts';
import { eachLimited } from '../core/concurrency.ts';
import { packageBadge, renderBadge } from '../indexer/badge.ts';
import { addScopePackage, buildPackageDocument, pinnedScope, recentEntriesOf, replaceRecent, scopeLists, setScopePackage, summarize, upsertRecent } from '../indexer/documents.ts';
import { removedVersion, versionStatusOf, yankInFlight, type StatusFields } from '../indexer/lifecycle.ts';
import { buildShardedIndex } from '../search/write/build.ts';
import { applyToStore, commitGeneration, filesOfSameGeneration, readShardedCatalog, readShardedRoot, writeShardFiles } from '../search/write/publish.ts';
import { readJson, retryOnConflict, safeJson, updateDerived, updateJson, updateObject, type RetryPolicy } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { isPackageDocumentKey, readLifecycle, readPackageDocuments, readVersions, type Target, type VersionCache } from './records.ts';
import { deleteRemovedFiles } from './removal.ts';
import { interopFiles } from './interop.ts';
import { signDocument, type Signer } from '../signing/signer.ts';
import { canonicalJson } from '../signing/canonical.ts';

/** The derived files, in the order an announce writes them (after the records). */
export const DERIVED_STEPS = ['statuses', 'package', 'badge', 'scope', 'search', 'recent', 'interop'] as const;
export type DerivedStep = (typeof DERIVED_STEPS)[number];

/** One package's refresh, as each producer sees it. */
export interface PackageRefresh {
  store: ObjectStore;
  kind: Kind;
  pkg: PackageName;
  /** Version documents read so far: a retry reads again only those that changed. */
  versions: VersionCache;
  /** The package document as the `package` step wrote it (set by that step, for the later ones). */
  doc?: PackageDocument;
  /** Signs the package document (`signing/`). Without one it is written unsigned. */
  signer?: Signer | undefined;
}

/** One rebuild, as each producer sees it. */
export interface RebuildRun {
  store: ObjectStore;
  /** The packages rebuilt, sorted by kind and name. */
  targets: readonly Target[];
  /** The scopes whose records are rebuilt, sorted. */
  scopes: readonly Scope[];
  /** The kinds whose shared files (search index and catalog) are rebuilt. */
  kinds: readonly Kind[];
  /** Rebuild only this package's entries in the shared files; null: every package's. */
  onePackage: PackageName | null;
  retry: RetryPolicy;
  /** How many packages or scopes are rebuilt at once. */
  concurrency: number;
  /** Reports one file done: written (`changed`) or already right. */
  record(key: string, changed: boolean): void;
  /** Signs package documents (`signing/`). Without one they are written unsigned. */
  signer?: Signer | undefined;
}

/** One kind of derived file. */
export interface Producer {
  /** The announce's step that writes it (a test hook can stop the pipeline after it). */
  step: DerivedStep;
  /** How many files {@link Producer.rebuild} reports for a run (its share of the progress total). */
  count(run: RebuildRun): number;
  /** Brings one package's part of it up to date. */
  refresh(p: PackageRefresh): Promise<void>;
  /** Recomputes it from the records, reporting each file through `run.record`. */
  rebuild(run: RebuildRun): Promise<void>;
  /** True when `key` is one of its files. */
  owns(key: string): boolean;
  /** The entries of one of its files as stored in `store`, by id, with their content; none when absent. */
  entries(store: ObjectStore, key: string): Promise<Map<string, string>>;
}

/**
 * Version statuses, mirrored from the lifecycle record (a refresh leaves a yank's gate in flight
 * alone; a rebuild mirrors the record over it). A rebuild first deletes what a takedown left (the
 * checker reports it `removed`). Only files written or deleted are reported (none counted ahead).
 */
const versionStatuses: Producer = {
  step: 'statuses',
  count: () => 0,
  async refresh({ store, kind, pkg, versions }) {
    await refreshVersionStatuses(store, kind, pkg, await readVersions(store, kind, pkg, versions), { yanksInFlightAt: new Date() });
  },
  async rebuild(run) {
    await eachLimited(run.targets, run.concurrency, async ({ kind, pkg }) => {
      for (const key of await deleteRemovedFiles(run.store, kind, pkg, await readLifecycle(run.store, kind, pkg))) run.record(key, true);
      for (const key of await refreshVersionStatuses(run.store, kind, pkg, await readVersions(run.store, kind, pkg), { retry: run.retry })) run.record(key, true);
    });
  },
  owns: (key) => parseVersionKey(key) !== null,
  // One entry: its status fields.
  entries: (store, key) =>
    jsonEntries(store, key, (doc) => new Map([['status', JSON.stringify([doc.status ?? 'active', doc.status_message ?? null, doc.status_changed_at ?? null])]])),
};

/** Package documents: a pure function of the package's version records, lifecycle record and pin. */
const packageDocuments: Producer = {
  step: 'package',
  count: (run) => run.targets.length,
  async refresh(p) {
    const { value } = await updateJson(p.store, packageKey(p.kind, p.pkg), PackageDocumentSchema, async (current) =>
      signed(p.signer, derivePackageDocument(p.kind, p.pkg, await readVersions(p.store, p.kind, p.pkg, p.versions), current, await readLifecycle(p.store, p.kind, p.pkg)), current),
    );
    p.doc = value;
  },
  async rebuild(run) {
    await eachLimited(run.targets, run.concurrency, ({ kind, pkg }) =>
      writeDerived(run, packageKey(kind, pkg), PackageDocumentSchema, async (current) => {
        const versions = await readVersions(run.store, kind, pkg);
        const lifecycle = await readLifecycle(run.store, kind, pkg);
        return current || versions.length > 0 ? signed(run.signer, derivePackageDocument(kind, pkg, versions, current, lifecycle), current) : null;
      }),
    );
  },
  owns: isPackageDocumentKey,
  // Its signature is an entry too.
  entries: (store, key) => jsonEntries(store, key, (doc) => listed(doc.versions, (v) => v.version).set('signature', JSON.stringify(doc.signature ?? null))),
};

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

/** Badges: one SVG per package, from its package document. */
const badges: Producer = {
  step: 'badge',
  count: (run) => run.targets.length,
  async refresh(p) {
    await refreshBadge(p.store, p.kind, p.pkg);
  },
  async rebuild(run) {
    await eachLimited(run.targets, run.concurrency, async ({ kind, pkg }) => run.record(badgeKey(kind, pkg), await refreshBadge(run.store, kind, pkg, run.retry)));
  },
  owns: (key) => key.endsWith('.svg'),
  // One entry: what it says.
  async entries(store, key) {
    const stored = await store.get(key);
    const title = stored ? /<title>([^<]*)<\/title>/.exec(new TextDecoder().decode(stored.body))?.[1] : undefined;
    return new Map(title === undefined ? [] : [['badge', title]]);
  },
};

/** Scope records' package lists: every package of the scope with a version not taken down. */
const scopePackageLists: Producer = {
  step: 'scope',
  count: (run) => run.scopes.length,
  async refresh({ store, kind, pkg, doc }) {
    await updateJson(store, scopeKey(pkg.scope), ScopeDocumentSchema, async (current) => {
      if (!current) throw new ShelfError('internal_error', `The scope record of @${pkg.scope} is missing.`);
      // Read as stored now (after the record's ETag): a concurrent takedown or announce may have rewritten it.
      const fresh = (await readJson(store, packageKey(kind, pkg), PackageDocumentSchema))?.value ?? doc!;
      return setScopePackage(current, kind, pkg.full, scopeLists(fresh));
    });
  },
  async rebuild(run) {
    await eachLimited(run.scopes, run.concurrency, (scope) =>
      writeDerived(run, scopeKey(scope), ScopeDocumentSchema, async (current) => {
        const docs = await readPackageDocuments(run.store, KINDS, scope);
        const base = current ?? (await reconstructScopePin(run.store, scope, docs));
        if (!base) return null;
        return docs.reduce((acc, doc) => (scopeLists(doc) ? addScopePackage(acc, doc.kind, doc.name) : acc), { ...base, packages: [] } as ScopeDocument);
      }),
    );
  },
  owns: (key) => key.startsWith(scopesPrefix()),
  entries: (store, key) => jsonEntries(store, key, (doc) => listed(doc.packages, (p) => `${p.kind}:${p.name}`)),
};

/** A kind's sharded index, committed by one root swap; its entries are its catalog's packages (one naming the problem if unreadable). */
const searchIndexes: Producer = {
  step: 'search',
  count: (run) => run.kinds.length,
  async refresh({ store, kind, pkg }) {
    // The summary is computed from the package document as stored now (on every attempt), not from
    // the one this refresh wrote, so that a slower concurrent announce cannot put back an older one.
    await applyToStore(store, kind, pkg.full, () => freshSummary(store, kind, pkg));
  },
  async rebuild(run) {
    const { store, onePackage, retry } = run;
    for (const kind of run.kinds) {
      const changed = onePackage ? (await applyToStore(store, kind, onePackage.full, () => freshSummary(store, kind, onePackage), { retry })).changed : await rebuildSharded(store, kind, retry);
      run.record(shardedRootKey(kind), changed);
    }
  },
  owns: (key) => KINDS.some((k) => shardedRootKey(k) === key),
  async entries(store, key) {
    const kind = KINDS.find((k) => shardedRootKey(k) === key)!;
    try {
      const current = await readShardedRoot(store, kind);
      return new Map(current ? (await readShardedCatalog(store, kind, current.root)).map((s) => [s.name, JSON.stringify(s)]) : []);
    } catch (error) {
      return new Map([[`unreadable: ${error instanceof Error ? error.message : String(error)}`, '']]);
    }
  },
};

/** The recent list: the newest versions of both kinds. */
const recentList: Producer = {
  step: 'recent',
  count: () => 1,
  // From the package document as stored now (after the list's ETag), which lists every version:
  // replacing the package's entries never drops a version a concurrent announce added.
  async refresh({ store, kind, pkg, doc }) {
    await updateJson(store, recentKey(), RecentDocumentSchema, async (current) => {
      const fresh = (await readJson(store, packageKey(kind, pkg), PackageDocumentSchema))?.value ?? doc!;
      return replaceRecent(current, kind, pkg.full, recentEntriesOf(fresh));
    });
  },
  // The list spans both kinds, so even a one-kind rebuild recomputes it whole.
  async rebuild({ store, onePackage, targets, ...run }) {
    const kinds = [...new Set(targets.map((t) => t.kind))];
    await writeDerived({ store, ...run }, recentKey(), RecentDocumentSchema, async (current) => {
      if (onePackage) {
        const docs = (await Promise.all(kinds.map((k) => readJson(store, packageKey(k, onePackage), PackageDocumentSchema)))).flatMap((d) => (d ? [d.value] : []));
        const others = (current?.entries ?? []).filter((e) => !(e.name === onePackage.full && kinds.includes(e.kind)));
        const entries = docs.flatMap(recentEntriesOf);
        return current || entries.length > 0 ? upsertRecent(current && { ...current, entries: others }, entries) : null;
      }
      const entries = (await readPackageDocuments(store, KINDS)).flatMap(recentEntriesOf);
      return current || entries.length > 0 ? upsertRecent(null, entries) : null;
    });
  },
  owns: (key) => key === recentKey(),
  entries: (store, key) => jsonEntries(store, key, (doc) => listed(doc.entries, (e) => `${e.kind}:${e.name}@${e.version}`)),
};

/** Every producer, in the order an announce and a rebuild run them: each reads what those before wrote. */
export const PRODUCERS: readonly Producer[] = [versionStatuses, packageDocuments, badges, scopePackageLists, searchIndexes, recentList, interopFiles];

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

/** Options of {@link refreshVersionStatuses}. */
export interface VersionStatusOptions {
  retry?: RetryPolicy;
  /**
   * Leave alone the gates of yanks in flight at this time (`yankInFlight`, `indexer/lifecycle.ts`):
   * what the refresh after a write does. Without it (a rebuild), every status is mirrored from
   * the record, a crashed yank's gate included.
   */
  yanksInFlightAt?: Date;
}

/**
 * Mirrors the lifecycle record's statuses into the version documents (their only mutable fields),
 * each by compare-and-swap from the record as read after the document's ETag, so a slower change
 * cannot put back an older status. Versions taken down are left to the takedown.
 *
 * @returns The keys written.
 */
export async function refreshVersionStatuses(store: ObjectStore, kind: Kind, pkg: PackageName, versions: VersionDocument[], options: VersionStatusOptions = {}): Promise<string[]> {
  const { retry, yanksInFlightAt: now } = options;
  // Nothing to mirror: taken down (the takedown deletes it), or a yank's gate its record will soon confirm.
  const leftAlone = (doc: VersionDocument, record: LifecycleRecord | null) => removedVersion(record, doc.version) !== undefined || (now !== undefined && yankInFlight(doc, record, now));
  const record = await readLifecycle(store, kind, pkg);
  const stale = versions.filter((v) => !leftAlone(v, record) && !sameStatus(v, versionStatusOf(record, v.version)));
  const written: string[] = [];
  for (const v of stale) {
    const key = versionKey(kind, pkg, v.version as Version);
    const changed = await updateDerived(
      store,
      key,
      VersionDocumentSchema,
      async (current) => {
        const fresh = await readLifecycle(store, kind, pkg);
        // Deleted meanwhile (a takedown), or left alone as above: nothing to write.
        return !current || leftAlone(current, fresh) ? null : withStatus(current, versionStatusOf(fresh, v.version));
      },
      { strict: true, ...(retry ? { retry } : {}) },
    );
    if (changed) written.push(key);
  }
  return written;
}

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
 * one, the first artifact's provenance pins it).
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
  const first = [...versions].sort((a, b) => a.published_at.localeCompare(b.published_at))[0]?.artifacts[0];
  const pin = current?.repository ?? (first ? { name: first.provenance.repository, id: first.provenance.repository_id } : null);
  if (!pin) throw new ShelfError('internal_error', `${pkg.full} has neither a package document nor a version record.`);
  return buildPackageDocument(kind, pkg, versions, pin, current?.created_at ?? (versions.map((v) => v.published_at).sort()[0] ?? new Date().toISOString()), lifecycle);
}

/** A package's summary from its package document as stored now; null without one. */
async function freshSummary(store: ObjectStore, kind: Kind, pkg: PackageName) {
  const fresh = await readJson(store, packageKey(kind, pkg), PackageDocumentSchema);
  return fresh ? summarize(fresh.value) : null;
}

/**
 * Regenerates a kind's sharded index from every package document and commits it against the root
 * read before them, so a concurrent announce is never lost (a lost race rebuilds again). The same
 * generation as stored (its delta compacted or not) writes only files of it found missing; a kind
 * without packages or root is left without one. True when anything was written.
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

/** {@link updateDerived} of one file in a rebuild, reported through `run.record` (null leaves an absent file absent). */
async function writeDerived<T>(
  run: Pick<RebuildRun, 'store' | 'retry' | 'record'>,
  key: string,
  schema: z.ZodType<T>,
  compute: (current: T | null) => Promise<T | null>,
): Promise<void> {
  run.record(key, await updateDerived(run.store, key, schema, compute, { retry: run.retry }));
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

/** The entries of a stored JSON file, as `read` lists them; none when it is absent or not an object. */
async function jsonEntries(store: ObjectStore, key: string, read: (doc: any) => Map<string, string>): Promise<Map<string, string>> {
  const stored = await store.get(key);
  const doc = stored ? safeJson(stored.body) : null;
  return doc && typeof doc === 'object' ? read(doc) : new Map();
}

/** Each item of `items` (when an array) by its id, with its content. */
function listed(items: unknown, id: (item: any) => string): Map<string, string> {
  return new Map(Array.isArray(items) ? items.map((item) => [id(item), JSON.stringify(item)]) : []);
}
