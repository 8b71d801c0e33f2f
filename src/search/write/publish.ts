/**
 * The sharded index on an {@link ObjectStore}: the shell around the pure build and update. An
 * announce is {@link applyToStore}: read the root with its ETag → pure update → write the new
 * immutable files create-only (an existing name already holds those bytes) → swap the root with
 * `If-Match`. The swap is the commit: a crash before it leaves the previous generation intact, and
 * a lost race reruns the update against the winner's root (shared files keep their names).
 *
 * @module
 */
import { isShelfError } from '../../core/errors.ts';
import type { Kind } from '../../core/names.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { eachLimited } from '../../core/concurrency.ts';
import { encodeJson, readJson, readStoredJson, retryOnConflict, type RetryPolicy } from '../../store/json-documents.ts';
import { PreconditionFailedError, type ObjectStore } from '../../store/object-store.ts';
import { buildShardedIndex, compareKeys, type BuildOptions } from './build.ts';
import { contentTypeFor, IMMUTABLE_CACHE, MUTABLE_CACHE, shardedRootKey } from '../../core/paths.ts';
import { catalogByNameSpec } from '../format/catalog-tree.ts';
import { checkShardingPolicy } from '../format/policy.ts';
import { TreeNavigator } from '../format/tree.ts';
import { ShardedRootSchema, type ShardedRoot } from '../format/wire.ts';
import { compactDelta, readDelta, updateDelta } from './delta.ts';
import { generationFiles } from './update.ts';

/** Options of {@link applyToStore}. */
export interface ApplyOptions {
  /** Compare-and-swap retries of the root. Default `DEFAULT_RETRY` of json-documents. */
  retry?: RetryPolicy;
  /** Size bounds used when the kind has no root yet. */
  policy?: BuildOptions['policy'];
  /** Called after the immutable files are written and before the root swap (tests simulate crashes here). */
  beforeCommit?: () => void | Promise<void>;
}

/** What {@link applyToStore} did. */
export interface ApplyResult {
  /** False when the index already held exactly this summary. */
  changed: boolean;
  /** Immutable files written (create-only) in the successful attempt. */
  written: number;
  /** Attempts made (1 without contention). */
  attempts: number;
}

const encoder = new TextEncoder();
/** Reads a stored file's JSON (null when absent), as the pure update wants its reads. */
export const readFrom = (store: ObjectStore) => async (key: string): Promise<unknown> => (await readStoredJson(store, key))?.json ?? null;

/** The root of a kind, or null when it has none yet. */
export async function readShardedRoot(store: ObjectStore, kind: Kind): Promise<{ root: ShardedRoot; etag: string } | null> {
  const stored = await readJson(store, shardedRootKey(kind), ShardedRootSchema);
  return stored && { root: stored.value, etag: stored.etag };
}

/** Writes in flight at once: enough to hide latency, few enough for file handles and sockets. */
const CONCURRENCY = 32;

/** What {@link writeShardFiles} did. */
export interface ShardWrites {
  /** Files created. */
  written: number;
  /** Files that existed already and were written again (with `touch`), by key. */
  touched: string[];
}

/**
 * Writes immutable files create-only, a few at a time. A name that exists already holds the
 * same bytes (names are content hashes); with `touch` (the default) it is written again, so its
 * age tells `shelf gc` that a root may reach it again (`src/registry/gc.ts`). Pass
 * `touch: false` only for files the current root is known to reach.
 */
export async function writeShardFiles(store: ObjectStore, files: Map<string, string>, options: { touch?: boolean } = {}): Promise<ShardWrites> {
  const out: ShardWrites = { written: 0, touched: [] };
  await eachLimited([...files], CONCURRENCY, async ([key, content]) => {
    const put = { contentType: contentTypeFor(key), cacheControl: IMMUTABLE_CACHE };
    try {
      await store.put(key, encoder.encode(content), { ...put, ifNoneMatch: '*' });
      out.written++;
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
      if (options.touch === false) return;
      await store.put(key, encoder.encode(content), put);
      out.touched.push(key);
    }
  });
  return out;
}

/**
 * A commit that took longer than this from its first file write verifies every file of the
 * generation afterwards, not only the ones it touched: `shelf gc` may delete an unreachable file
 * once it is older than its writer window, which must therefore be at least this long (the
 * default is 15 minutes, see `src/registry/gc.ts`).
 */
export const SLOW_COMMIT_MS = 60_000;

/**
 * Commits a generation: writes its files (create-only, touching those that exist), swaps the
 * root by compare-and-swap against `etag`, then puts back any file that a concurrent `shelf gc`
 * deleted before the swap made it reachable (those it touched; after a slow commit, all).
 *
 * @returns The files created.
 * @throws PreconditionFailedError when the root changed since it was read (nothing is lost: the
 *   files written are unreachable, and the caller retries)
 */
export async function commitGeneration(
  store: ObjectStore,
  kind: Kind,
  generation: { root: ShardedRoot; files: Map<string, string> },
  etag: string | null,
  beforeCommit?: () => void | Promise<void>,
): Promise<number> {
  const started = Date.now();
  const { written, touched } = await writeShardFiles(store, generation.files);
  await beforeCommit?.();
  await writeShardedRoot(store, kind, generation.root, etag);
  await restoreTouched(store, Date.now() - started > SLOW_COMMIT_MS ? [...generation.files.keys()] : touched, generation.files);
  return written;
}

async function restoreTouched(store: ObjectStore, touched: string[], files: Map<string, string>): Promise<void> {
  await eachLimited(touched, CONCURRENCY, async (key) => {
    if (await store.head(key)) return;
    try {
      await store.put(key, encoder.encode(files.get(key)!), { contentType: contentTypeFor(key), cacheControl: IMMUTABLE_CACHE, ifNoneMatch: '*' });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  });
}

/**
 * The announce's search step: applies a package's summary (null: removal) to a kind's index on a
 * store. A function `summary` is called on every attempt, after the root is read, so a retry
 * applies the summary as stored now rather than one a concurrent announce has superseded.
 *
 * @throws ShelfError `write_contention` when every attempt lost the root's compare-and-swap; those
 *   of {@link updateDelta} for bad input (nothing is written then)
 */
export async function applyToStore(
  store: ObjectStore,
  kind: Kind,
  name: string,
  summary: PackageSummary | null | (() => Promise<PackageSummary | null>),
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  return retryOnConflict(shardedRootKey(kind), async (attempt) => {
    const current = await readShardedRoot(store, kind);
    const root = current?.root ?? (await buildShardedIndex(kind, [], { policy: options.policy })).root;
    const next = typeof summary === 'function' ? await summary() : summary;
    const update = await updateDelta(root, name, next, readFrom(store));
    if (!update.changed) return { changed: false, written: 0, attempts: attempt };
    const written = await commitGeneration(store, kind, update, current?.etag ?? null, options.beforeCommit);
    return { changed: true, written, attempts: attempt };
  }, options.retry);
}

/** Swaps a kind's root, on the condition it still has `etag` (null: that there is none yet). @throws PreconditionFailedError */
export async function writeShardedRoot(store: ObjectStore, kind: Kind, root: ShardedRoot, etag: string | null): Promise<void> {
  await store.put(shardedRootKey(kind), encodeJson(root), {
    contentType: contentTypeFor(shardedRootKey(kind)),
    cacheControl: MUTABLE_CACHE,
    ...(etag !== null ? { ifMatch: etag } : { ifNoneMatch: '*' as const }),
  });
}

/**
 * Whether a stored root holds the generation `built` (a build from the same summaries): the same
 * root, or a root whose delta compacts to it. Returns the built files the stored root reaches too
 * (so that any that went missing can be restored), or null when the generations differ or the
 * stored one cannot be read.
 */
export async function filesOfSameGeneration(
  store: ObjectStore,
  root: ShardedRoot,
  built: { root: ShardedRoot; files: Map<string, string> },
): Promise<Map<string, string> | null> {
  if (JSON.stringify(root) === JSON.stringify(built.root)) return built.files;
  if (!root.delta) return null;
  try {
    const compacted = await compactDelta(root, readFrom(store));
    if (JSON.stringify(compacted.root) !== JSON.stringify(built.root)) return null;
    // Files the compaction writes are not reachable from the stored root; the rest are the base's.
    return new Map([...built.files].filter(([key]) => !compacted.files.has(key)));
  } catch (error) {
    if (isShelfError(error, 'internal_error')) return null;
    throw error;
  }
}

/**
 * Writes a kind's index built from every summary, the root unconditionally: bulk loading of a
 * registry nothing else writes to (bench, tests). Returns the files written.
 */
export async function rebuildToStore(store: ObjectStore, kind: Kind, summaries: readonly PackageSummary[], options: BuildOptions = {}): Promise<number> {
  const generation = await buildShardedIndex(kind, summaries, options);
  const { written } = await writeShardFiles(store, generation.files);
  await store.put(shardedRootKey(kind), encodeJson(generation.root), { contentType: contentTypeFor(shardedRootKey(kind)), cacheControl: MUTABLE_CACHE });
  return written;
}

/** Every summary of a kind's stored catalog, by name, the delta applied. @throws ShelfError `internal_error` naming a missing or malformed file */
export async function readShardedCatalog(store: ObjectStore, kind: Kind, root: ShardedRoot): Promise<PackageSummary[]> {
  const nav = new TreeNavigator(catalogByNameSpec(checkShardingPolicy(root.policy)), root.catalog.by_name, generationFiles(kind, readFrom(store)));
  const out: PackageSummary[] = [];
  for await (const summary of nav.range('')) out.push(summary as PackageSummary);
  if (!root.delta) return out;
  // The delta replaces the base entries of the packages it names.
  const entries = await readDelta(root, readFrom(store));
  const named = new Set(entries.map((e) => e[0]));
  const merged = [...out.filter((s) => !named.has(s.name)), ...entries.flatMap((e) => (e[2] ? [e[2]] : []))];
  return merged.sort((a, b) => compareKeys(a.name, b.name));
}
