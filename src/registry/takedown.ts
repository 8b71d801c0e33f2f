/**
 * The operator's takedown of a version (every platform) or of a whole package, for a malware
 * report or a legal notice, and its undo. It works on the bucket itself (like `shelf rebuild`),
 * not through the function. Read top to bottom:
 *
 * 1. **validate**: the reason (plain text, 1–500 characters), that the package (and the
 *    version) exists or was already taken down, and that the signer given is the registry's
 *    current key.
 * 2. **tombstone** (compare-and-swap): the lifecycle record gains the tombstone of each version
 *    removed (what it was: platforms, sizes, sha256; why; when) and, for a package, the package's
 *    own. From now on the name is blocked: an announce or status change is `410`.
 * 3. **delete**: each removed version's files — artifacts, README, version document — with
 *    every earlier stored version of them where the bucket keeps those (`purge`).
 * 4. **derived** (compare-and-swap each): the package document (removed versions listed with the
 *    reason, no platforms; a removed package keeps no summary; signed), badge, scope, search (the package
 *    or version leaves it), recent list. Then the deletion is repeated for anything an announce
 *    racing the tombstone wrote.
 * 5. **cdn**: the paths to purge, and, when a CloudFront distribution is known, its invalidation.
 *
 * The undo (`--undo`) lifts the block: it finishes any deletion first, then removes the
 * tombstone (a package's undo also lifts the versions removed with it), then refreshes the derived
 * files. Deleted bytes are not restored: the version can be announced again, that is all.
 *
 * The lifecycle record is written first; a crash after it leaves files that the next run of the
 * same command, or `shelf rebuild`, deletes, and derived files they recompute.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import type { Kind, PackageName, Version } from '../core/names.ts';
import { lifecycleKey, packageKey, versionKey } from '../core/paths.ts';
import { LifecycleRecordSchema, MAX_STATUS_MESSAGE_LENGTH, PLAIN_TEXT_RE, VersionDocumentSchema, type VersionDocument } from '../core/schemas.ts';
import { applyRestore, applyTakedown } from '../indexer/lifecycle.ts';
import { readJson, updateJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { takedownPaths, type Invalidator } from './cdn.ts';
import { refreshPackage, type StepHook } from './refresh.ts';
import { DERIVED_STEPS } from './derived-files.ts';
import { readLifecycle, readVersions } from './records.ts';
import { deleteRemovedFiles } from './removal.ts';
import type { Signer } from '../signing/signer.ts';
import { requireCurrentKey } from '../signing/key-list.ts';

/** The steps that write, in order; a test-only hook can stop the takedown after any of them. */
export const TAKEDOWN_STEPS = ['tombstone', 'delete', ...DERIVED_STEPS] as const;

/** What to take down, or (with `undo`) to restore. */
export interface TakedownOptions {
  kind: Kind;
  pkg: PackageName;
  /** The version, or null for the whole package. */
  version: Version | null;
  /** Why: shown as "removed by the registry operator: <reason>". Required unless `undo`. */
  reason?: string;
  /** Lift an earlier takedown instead. */
  undo?: boolean;
  /** Creates the CDN invalidation; without one, the paths are only returned. */
  invalidate?: Invalidator;
  /** Clock. Default `() => new Date()`. */
  now?: () => Date;
  /** Test-only: called after each write step (throw to simulate a crash). */
  afterStep?: StepHook;
  /**
   * The registry's signer: the package document the takedown rewrites is signed with it (as an
   * announce signs it). Without one it is written unsigned, which clients that pinned the
   * registry's keys refuse.
   */
  signer?: Signer;
}

/** What a takedown (or its undo) did. */
export interface TakedownResult {
  action: 'takedown' | 'restore';
  package: string;
  version: string | null;
  /** False when the record already said this (a repeated run): the rest still converged. */
  changed: boolean;
  /** The keys deleted. */
  deleted: string[];
  /** The CDN paths to purge. */
  cdn_paths: string[];
  /** The invalidation created, when a distribution was known. */
  invalidation: { id: string; status: string } | null;
}

/**
 * Takes a version or a package down, or lifts a takedown.
 *
 * @throws ShelfError `invalid_argument` (no or bad reason), `not_found` (no such package or
 *   version), `write_contention`; `cdn_invalidation_failed` when everything but the CDN's
 *   invalidation is done (its details name the paths)
 */
export async function takedown(store: ObjectStore, options: TakedownOptions): Promise<TakedownResult> {
  const { kind, pkg, version, afterStep } = options;
  const at = (options.now ?? (() => new Date()))().toISOString();
  const label = version === null ? pkg.full : `${pkg.full}@${version}`;

  // 1. validate
  const reason = options.undo ? undefined : checkReason(options.reason);
  const record = await readLifecycle(store, kind, pkg);
  const versions = await readVersions(store, kind, pkg);
  const known = version === null ? (await store.head(packageKey(kind, pkg))) !== null || record !== null : versions.some((v) => v.version === version) || record?.removed_versions.some((r) => r.version === version);
  if (!known) throw new ShelfError('not_found', `${kind} ${label} was not found in ${store.description}.`);
  if (options.signer) await requireCurrentKey(store, options.signer);

  const deleted: string[] = [];
  let changed: boolean;
  if (!options.undo) {
    // 2. tombstone
    changed = (
      await updateJson(
        store,
        lifecycleKey(kind, pkg),
        LifecycleRecordSchema,
        async (current) => applyTakedown(current, kind, pkg.full, { version, reason: reason!, at, versions: await versionsToRemove(store, kind, pkg, version) }).record,
        { strict: true },
      )
    ).changed;
    await afterStep?.('tombstone');

    // 3. delete
    deleted.push(...(await deleteRemovedFiles(store, kind, pkg, await readLifecycle(store, kind, pkg))));
    await afterStep?.('delete');
  } else {
    // What a crashed takedown left goes first, so that no half-deleted version comes back.
    deleted.push(...(await deleteRemovedFiles(store, kind, pkg, record)));
    changed = (
      await updateJson(store, lifecycleKey(kind, pkg), LifecycleRecordSchema, (current) => applyRestore(current, kind, pkg.full, { version, at }).record, { strict: true })
    ).changed;
    await afterStep?.('tombstone');
  }

  // 4. derived
  await refreshPackage(store, kind, pkg, { afterStep, signer: options.signer });
  // An announce that read the record before the tombstone may have written since.
  if (!options.undo) deleted.push(...(await deleteRemovedFiles(store, kind, pkg, await readLifecycle(store, kind, pkg))));

  // 5. cdn
  const paths = takedownPaths(kind, pkg, version);
  let invalidation: TakedownResult['invalidation'] = null;
  try {
    if (options.invalidate) invalidation = await options.invalidate(paths);
  } catch (err) {
    const cause = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new ShelfError(
      'cdn_invalidation_failed',
      `${label} is ${options.undo ? 'restored' : 'taken down'} in the bucket, but the CDN invalidation failed (${cause}). Run the command again, or invalidate these paths yourself: ${paths.join(' ')}`,
      { paths, cause },
    );
  }
  return { action: options.undo ? 'restore' : 'takedown', package: pkg.full, version, changed, deleted: [...new Set(deleted)], cdn_paths: paths, invalidation };
}

/** The version records a takedown removes: the one version's, or every version's of the package. */
async function versionsToRemove(store: ObjectStore, kind: Kind, pkg: PackageName, version: Version | null): Promise<VersionDocument[]> {
  if (version === null) return readVersions(store, kind, pkg);
  const doc = await readJson(store, versionKey(kind, pkg, version), VersionDocumentSchema);
  return doc ? [doc.value] : [];
}

/**
 * A reason is plain text of 1 to {@link MAX_STATUS_MESSAGE_LENGTH} characters.
 *
 * @throws ShelfError `invalid_argument`
 */
function checkReason(reason: string | undefined): string {
  const text = reason?.trim() ?? '';
  if (text === '') throw new ShelfError('invalid_argument', 'A takedown needs a reason (--reason "..."): it is shown as "removed by the registry operator: <reason>".');
  if (text.length > MAX_STATUS_MESSAGE_LENGTH) throw new ShelfError('invalid_argument', `The reason is longer than ${MAX_STATUS_MESSAGE_LENGTH} characters.`);
  if (!PLAIN_TEXT_RE.test(text)) throw new ShelfError('invalid_argument', 'The reason must be plain text (no control or bidirectional-override characters).');
  return text;
}
