/**
 * `shelf gc`: deletes the immutable files of the sharded search index (under
 * `v1/search/{kind}s/shards/` and `docs/`) that no root reaches and that have been unreachable for
 * a grace period, so the bucket holds about one generation per kind. It never deletes anything
 * reachable, and is safe while announces run and clients hold older roots: the invariants and why
 * they hold are in docs/sharded-search.md, "Garbage collection"; the steps below keep them.
 *
 * @module
 */
import * as z from 'zod';
import { KINDS, type Kind } from '../core/names.ts';
import { contentTypeFor, gcStateKey, MUTABLE_CACHE, searchPrefix } from '../core/paths.ts';
import { reachableKeys, type Reach } from '../search/write/reach.ts';
import { readFrom, readShardedRoot } from '../search/write/publish.ts';
import { encodeJson, safeJson } from '../store/json-documents.ts';
import { PreconditionFailedError, type ObjectInfo, type ObjectStore } from '../store/object-store.ts';
import { rebuild } from './rebuild.ts';
import { eachLimited } from '../core/concurrency.ts';

/** Default {@link GcOptions.graceMs}: one day. */
export const DEFAULT_GC_GRACE_MS = 24 * 60 * 60 * 1000;
/** Default {@link GcOptions.writerWindowMs}: 15 minutes, an AWS Lambda's longest run; safe from `SLOW_COMMIT_MS` (1 minute) up. */
export const DEFAULT_WRITER_WINDOW_MS = 15 * 60 * 1000;
/** The shortest grace period safe for clients: the root's max-age (60 s) plus a margin (shorter: tests, benchmarks). */
export const MIN_SAFE_GC_GRACE_MS = 10 * 60 * 1000;

/** Options of {@link gc}. */
export interface GcOptions {
  /** Only this kind. Default both. */
  kind?: Kind;
  /** How long a file must have been unreachable before it is deleted, in ms. Default {@link DEFAULT_GC_GRACE_MS}. */
  graceMs?: number;
  /** The longest an announce takes from reading a root to committing one, in ms. Default {@link DEFAULT_WRITER_WINDOW_MS}. */
  writerWindowMs?: number;
  /** Report what would be deleted; delete nothing and record nothing. Default false. */
  dryRun?: boolean;
  /** The clock, in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** Files and their bytes. */
export interface FileCount {
  files: number;
  bytes: number;
}

/** What {@link gc} found and did in one kind. */
export interface GcKindReport {
  kind: Kind;
  /** The files the current root reaches (present in the bucket). */
  live: FileCount;
  /** Unreachable files kept, because their grace period has not run out. */
  pending: FileCount;
  /** Unreachable files deleted (with `dryRun`: that would be). */
  deleted: FileCount & { keys: string[] };
  /** Keys the root reaches that are missing or malformed: `shelf rebuild` restores them. */
  broken: string[];
  /** True when a root committed during the run reached a deleted file and a rebuild restored it. */
  restored: boolean;
}

/** What {@link gc} did. */
export interface GcReport {
  kinds: GcKindReport[];
  /** Everything deleted, over the kinds. */
  freed: FileCount;
}

/** `v1/search/{kind}s/gc.json`: when each unreachable file was first seen unreachable. */
export const GcStateSchema = z
  .object({
    schema_version: z.literal(1),
    kind: z.enum(['bundle', 'skill']),
    pending: z.record(z.string(), z.number().int().nonnegative()).describe('Key → epoch ms it was first seen unreachable (and not written since)'),
  })
  .meta({ title: "shelf gc's record of a kind's unreachable search files" });
export type GcState = z.infer<typeof GcStateSchema>;

/** Deletes and age checks in flight at once. */
const CONCURRENCY = 16;

/**
 * Collects the garbage of the sharded index, kind by kind.
 *
 * @throws TypeError for invalid options (naming the option)
 * @throws ShelfError `internal_error` when a root does not parse
 */
export async function gc(store: ObjectStore, options: GcOptions = {}): Promise<GcReport> {
  const o = checkOptions(options);
  const kinds: GcKindReport[] = [];
  for (const kind of o.kind ? [o.kind] : KINDS) kinds.push(await collectKind(store, kind, o));
  return { kinds, freed: { files: kinds.reduce((n, k) => n + k.deleted.files, 0), bytes: kinds.reduce((n, k) => n + k.deleted.bytes, 0) } };
}

type Resolved = Required<Omit<GcOptions, 'kind'>> & Pick<GcOptions, 'kind'>;

async function collectKind(store: ObjectStore, kind: Kind, o: Resolved): Promise<GcKindReport> {
  const now = o.now();
  const children = new Map<string, string[]>();
  const reach = async (root: Awaited<ReturnType<typeof readShardedRoot>>): Promise<Reach> =>
    root ? reachableKeys(kind, root.root, readFrom(store), children) : { keys: new Set(), broken: [] };

  // 1. What the current root reaches, then everything under the kind's file folders.
  const first = await readShardedRoot(store, kind);
  // A lost or unreadable record only delays deletions: every file starts its grace period again.
  const stateObject = await store.get(gcStateKey(kind));
  const state = stateObject ? GcStateSchema.safeParse(safeJson(stateObject.body)) : null;
  const seen: Record<string, number> = state?.success ? state.data.pending : {};
  let live = await reach(first);
  const listed = (await store.list(searchPrefix(kind))).filter((o) => /\/(shards|docs)\//.test(o.key));

  // 2. Unreachable files: when each was first seen so, and which are past their grace period.
  const pending = new Map<string, number>();
  let candidates: ObjectInfo[] = [];
  const report: GcKindReport = { kind, live: { files: 0, bytes: 0 }, pending: { files: 0, bytes: 0 }, deleted: { files: 0, bytes: 0, keys: [] }, broken: live.broken, restored: false };
  for (const obj of listed) {
    if (live.keys.has(obj.key)) continue;
    let since = seen[obj.key];
    // Written since it was first seen unreachable (minus the writer window): a root may reach it again.
    if (since === undefined || obj.lastModified > since - o.writerWindowMs) since = now;
    pending.set(obj.key, since);
    if (since <= now - o.graceMs && obj.lastModified <= since - o.writerWindowMs) candidates.push(obj);
  }

  // 3. The root may have moved meanwhile: what the newest one reaches stays.
  const second = await readShardedRoot(store, kind);
  if (second?.etag !== first?.etag) {
    live = await reach(second);
    candidates = candidates.filter((c) => !live.keys.has(c.key));
  }

  // 4. Delete, each file only if it was not written again since it was listed.
  const deleted: ObjectInfo[] = [];
  if (!o.dryRun) {
    await eachLimited(candidates, CONCURRENCY, async (c) => {
      const info = await store.head(c.key);
      if (info && info.lastModified !== c.lastModified) return;
      if (info) await store.delete(c.key);
      deleted.push(c);
      pending.delete(c.key);
    });
  } else {
    deleted.push(...candidates);
  }

  // 5. A root committed while deleting that reaches a deleted file: the rebuild writes it back.
  if (deleted.length > 0 && !o.dryRun) {
    const third = await readShardedRoot(store, kind);
    if (third?.etag !== second?.etag) {
      const newest = await reach(third);
      if (deleted.some((d) => newest.keys.has(d.key))) {
        await rebuild(store, { kind });
        report.restored = true;
      }
    }
  }

  // 6. Record what stays pending for the next run (a run that loses this race to another only delays deletions).
  if (!o.dryRun) {
    const next: GcState = { schema_version: 1, kind, pending: Object.fromEntries([...pending].sort(([a], [b]) => (a < b ? -1 : 1))) };
    try {
      await store.put(gcStateKey(kind), encodeJson(next), {
        contentType: contentTypeFor(gcStateKey(kind)),
        cacheControl: MUTABLE_CACHE,
        ...(stateObject ? { ifMatch: stateObject.etag } : { ifNoneMatch: '*' as const }),
      });
    } catch (error) {
      if (!(error instanceof PreconditionFailedError)) throw error;
    }
  }

  const deletedKeys = new Set(deleted.map((d) => d.key));
  for (const obj of listed) {
    const bucket = live.keys.has(obj.key) ? report.live : deletedKeys.has(obj.key) ? report.deleted : report.pending;
    bucket.files++;
    bucket.bytes += obj.size;
  }
  report.deleted.keys = [...deletedKeys].sort();
  return report;
}

function checkOptions(options: GcOptions): Resolved {
  if (!options || typeof options !== 'object') throw new TypeError('gc options must be an object');
  const { kind, graceMs = DEFAULT_GC_GRACE_MS, writerWindowMs = DEFAULT_WRITER_WINDOW_MS, dryRun = false, now = Date.now } = options;
  if (kind !== undefined && !KINDS.includes(kind)) throw new TypeError(`"kind" option must be one of ${KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  if (!Number.isInteger(graceMs) || graceMs < 0) throw new TypeError(`"graceMs" option must be a non-negative integer, got ${JSON.stringify(graceMs)}`);
  if (!Number.isInteger(writerWindowMs) || writerWindowMs < 0) throw new TypeError(`"writerWindowMs" option must be a non-negative integer, got ${JSON.stringify(writerWindowMs)}`);
  if (typeof dryRun !== 'boolean') throw new TypeError('"dryRun" option must be a boolean');
  if (typeof now !== 'function') throw new TypeError('"now" option must be a function');
  return { ...(kind ? { kind } : {}), graceMs, writerWindowMs, dryRun, now };
}
