/**
 * The lifecycle record's transitions, as pure functions: a publisher's status change, the
 * operator's takedown and its undo. Each returns the next record and whether anything changed
 * (an unchanged record is not written, so a repeated request is idempotent), and appends the
 * change to the record's history. No I/O here: the status pipeline and the takedown read the
 * record, call these inside a compare-and-swap, and write the result.
 *
 * Also the statuses the derived files show, read off a record.
 *
 * @module
 */
import { compareVersionsDesc, type Kind } from '../core/names.ts';
import {
  MAX_LIFECYCLE_HISTORY,
  SCHEMA_VERSION,
  type LifecycleEvent,
  type LifecycleRecord,
  type PackageStatus,
  type Provenance,
  type PublisherStatus,
  type RemovedVersion,
  type VersionDocument,
  type VersionStatus,
} from '../core/schemas.ts';

/** The record of a package nothing has happened to yet. */
export function emptyLifecycle(kind: Kind, name: string): LifecycleRecord {
  return { schema_version: SCHEMA_VERSION, kind, name, versions: [], removed_versions: [], history: [] };
}

/** A transition's result. */
export interface Transition {
  record: LifecycleRecord;
  /** False when the record already said this (nothing to write). */
  changed: boolean;
}

/** A publisher's status change. */
export interface StatusChange {
  /** The version, or null for the package as a whole (`active` or `deprecated` only). */
  version: string | null;
  status: PublisherStatus;
  message?: string | undefined;
  at: string;
  provenance: Provenance;
}

/**
 * Sets a package's or a version's status. Setting the status (and message) it already has
 * changes nothing. A version's status is kept while the version exists; `active` is recorded too,
 * so the derived files can say when it was last changed.
 */
export function applyStatus(current: LifecycleRecord | null, kind: Kind, name: string, change: StatusChange): Transition {
  const record = current ?? emptyLifecycle(kind, name);
  const entry = { status: change.status, ...(change.message !== undefined ? { message: change.message } : {}), changed_at: change.at };
  const previous = change.version === null ? record.package : record.versions.find((v) => v.version === change.version);
  const previousStatus = previous?.status ?? 'active';
  if (previousStatus === change.status && previous?.message === change.message) return { record, changed: false };
  const next: LifecycleRecord =
    change.version === null
      ? { ...record, package: entry }
      : { ...record, versions: sortedByVersion([...record.versions.filter((v) => v.version !== change.version), { version: change.version, ...entry }]) };
  const event: LifecycleEvent = { at: change.at, action: 'status', version: change.version, status: change.status, provenance: change.provenance };
  if (change.message !== undefined) event.message = change.message;
  return { record: withEvent(next, event), changed: true };
}

/** The operator's takedown of a version, or of a package with every version it has. */
export interface Takedown {
  /** The version, or null for the whole package. */
  version: string | null;
  reason: string;
  at: string;
  /** The version records being removed (the one version, or every version of the package). */
  versions: readonly VersionDocument[];
}

/**
 * Records a takedown: the tombstone of each version removed (what it was and why it is gone) and,
 * for a package, the package's own. A version already removed keeps its first tombstone; the
 * statuses of removed versions are dropped (the versions are gone). Taking down what is already
 * taken down changes nothing.
 */
export function applyTakedown(current: LifecycleRecord | null, kind: Kind, name: string, takedown: Takedown): Transition {
  const record = current ?? emptyLifecycle(kind, name);
  const withPackage = takedown.version === null;
  const already = new Set(record.removed_versions.map((r) => r.version));
  const added: RemovedVersion[] = takedown.versions
    .filter((v) => !already.has(v.version) && (withPackage || v.version === takedown.version))
    .map((v) => ({
      version: v.version,
      prerelease: v.prerelease,
      published_at: v.published_at,
      reason: takedown.reason,
      removed_at: takedown.at,
      with_package: withPackage,
      artifacts: v.artifacts.map((a) => ({ os: a.os, arch: a.arch, sha256: a.sha256, size: a.size })),
    }));
  const packageNew = withPackage && record.removed === undefined;
  if (!packageNew && added.length === 0) return { record, changed: false };
  const gone = new Set(added.map((r) => r.version));
  const next: LifecycleRecord = {
    ...record,
    versions: record.versions.filter((v) => !gone.has(v.version)),
    removed_versions: sortedByVersion([...record.removed_versions, ...added]),
    ...(packageNew ? { removed: { reason: takedown.reason, removed_at: takedown.at } } : {}),
  };
  return { record: withEvent(next, { at: takedown.at, action: 'takedown', version: takedown.version, message: takedown.reason }), changed: true };
}

/**
 * Lifts a takedown (`shelf takedown --undo`): the name may be announced again. A package's undo
 * also lifts the tombstones of the versions removed with it; versions taken down on their own
 * stay removed. Deleted bytes are not restored: the versions stay gone until announced again.
 */
export function applyRestore(current: LifecycleRecord | null, kind: Kind, name: string, restore: { version: string | null; at: string }): Transition {
  const record = current ?? emptyLifecycle(kind, name);
  let next: LifecycleRecord;
  if (restore.version === null) {
    if (record.removed === undefined) return { record, changed: false };
    const { removed: _removed, ...rest } = record;
    next = { ...rest, removed_versions: record.removed_versions.filter((r) => !r.with_package) };
  } else {
    if (!record.removed_versions.some((r) => r.version === restore.version)) return { record, changed: false };
    next = { ...record, removed_versions: record.removed_versions.filter((r) => r.version !== restore.version) };
  }
  return { record: withEvent(next, { at: restore.at, action: 'restore', version: restore.version }), changed: true };
}

/** The status fields (as every document shows them) of a package, per its record. */
export function packageStatusOf(record: LifecycleRecord | null): StatusFields<PackageStatus> {
  if (record?.removed) return { status: 'removed', status_message: record.removed.reason, status_changed_at: record.removed.removed_at };
  const fields = fieldsOf(record?.package);
  // A package's own status is active or deprecated; yank is per version (refused for a package).
  return fields.status === 'yanked' ? { status: 'active' } : { ...fields, status: fields.status };
}

/** The status fields of a version, per its package's record (its own status, not the package's). */
export function versionStatusOf(record: LifecycleRecord | null, version: string): StatusFields<VersionStatus> {
  const removed = record?.removed_versions.find((r) => r.version === version);
  if (removed) return { status: 'removed', status_message: removed.reason, status_changed_at: removed.removed_at };
  return fieldsOf(record?.versions.find((v) => v.version === version));
}

/**
 * How long a yank's gate stands without its record. A yank first marks its version document
 * `yanked` (the gate: the one object an announce of a new platform writes, so the two meet on
 * it), then writes the lifecycle record. Until the record says so, a refresh of the package's
 * derived files (another writer's, which may have read the record before the yank's) must not
 * mirror the old status back over the gate, or an announce could slip through it: it leaves a
 * gate younger than this alone. An older one is a crashed yank's, and the next refresh mirrors
 * the record back. The yank itself records only within {@link YANK_RECORD_DEADLINE_MS} of its
 * gate, by its own clock; the difference covers a slow write and clock skew between writers.
 */
export const YANK_GATE_LEASE_MS = 5 * 60_000;

/** How long after its gate a yank may still write its record (see {@link YANK_GATE_LEASE_MS}). */
export const YANK_RECORD_DEADLINE_MS = 60_000;

/**
 * True when a version document's `yanked` is a yank's gate still in flight: the record does not
 * say so yet (no status, no history entry of that yank) and it is younger than
 * {@link YANK_GATE_LEASE_MS} at `now` (a gate dated ahead of `now` by less than that is in flight
 * too: clocks differ).
 */
export function yankInFlight(doc: Pick<VersionDocument, 'version' | 'status' | 'status_changed_at'>, record: LifecycleRecord | null, now: Date): boolean {
  if (doc.status !== 'yanked' || doc.status_changed_at === undefined || versionStatusOf(record, doc.version).status === 'yanked') return false;
  const recorded = record?.history.some((e) => e.action === 'status' && e.version === doc.version && e.status === 'yanked' && e.at === doc.status_changed_at);
  const age = now.getTime() - Date.parse(doc.status_changed_at);
  return !recorded && Math.abs(age) < YANK_GATE_LEASE_MS;
}

/** The tombstone of a version, if it was taken down. */
export function removedVersion(record: LifecycleRecord | null, version: string): RemovedVersion | undefined {
  return record?.removed_versions.find((r) => r.version === version);
}

/** `status`, `status_message`, `status_changed_at`, as the documents carry them. */
export interface StatusFields<S extends string> {
  status: S;
  status_message?: string;
  status_changed_at?: string;
}

function fieldsOf(entry: { status: PublisherStatus; message?: string | undefined; changed_at: string } | undefined): StatusFields<PublisherStatus> {
  if (!entry) return { status: 'active' };
  const fields: StatusFields<PublisherStatus> = { status: entry.status, status_changed_at: entry.changed_at };
  if (entry.message !== undefined && entry.status !== 'active') fields.status_message = entry.message;
  return fields;
}

function withEvent(record: LifecycleRecord, event: LifecycleEvent): LifecycleRecord {
  return { ...record, history: [...record.history, event].slice(-MAX_LIFECYCLE_HISTORY) };
}

function sortedByVersion<T extends { version: string }>(items: T[]): T[] {
  return items.sort((a, b) => compareVersionsDesc(a.version, b.version));
}
