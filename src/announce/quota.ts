/**
 * Per-scope daily quotas: how many new artifacts a scope may announce in one UTC day, and how many
 * bytes they may hold together. A public write path that stores 100 MiB artifacts for any GitHub
 * account needs a bound; the registry's defaults (`SHELF_QUOTA_*`) apply to every scope, and the
 * operator may set a scope's own in its scope record (`quota`, written by `shelf quota`).
 *
 * What a scope used is bookkeeping in the private area: one small create-only object per counted
 * announce, `private/quota/{day}/@scope/{bytes}-{hash}.json`. A listing of the scope's day adds
 * them up without reading one, concurrent announces never contend for one counter, and the same
 * artifact is counted at most once (its key is fixed, the write create-only).
 *
 * Two halves, placed in the pipeline so that a refused announce still writes nothing:
 * - {@link checkQuota}, before the asset is fetched, refuses an announce that would pass a limit:
 *   `429 quota_exceeded`, with the seconds until the next UTC day (the `Retry-After` header).
 * - {@link countQuota}, once the announce is certain to store its artifact (after the pins),
 *   records it. It never refuses: announces of one scope that run at the same moment may pass a
 *   limit by at most their number.
 *
 * Only announces that store a new artifact count; an idempotent retry (`unchanged`) is free. Days
 * before yesterday are swept with the used tokens (at most once a minute), and on AWS a lifecycle
 * rule expires them too.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { QuotaLimits } from '../config.ts';
import { ShelfError } from '../core/errors.ts';
import { parseQuotaUseKey, quotaPrefix, quotaScopePrefix, quotaUseKey, scopeKey } from '../core/paths.ts';
import { ScopeDocumentSchema, type ScopeDocument } from '../core/schemas.ts';
import { createJson, readJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** One announce, as a quota sees it. */
export interface QuotaUse {
  scope: string;
  /** `kind:@scope/name@version:os-arch`: counted once. */
  artifact: string;
  bytes: number;
}

/** What a scope's announces used on one day. */
export interface QuotaUsage {
  day: string;
  announces: number;
  bytes: number;
}

/** The UTC day of an instant, `YYYY-MM-DD`. */
export const utcDay = (at: Date): string => at.toISOString().slice(0, 10);

/** Seconds from `at` to the next UTC midnight (at least 1). */
export function secondsToNextDay(at: Date): number {
  const next = Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - at.getTime()) / 1000));
}

/** A scope's limits: its own where the record sets them, else the registry's. */
export function scopeLimits(doc: Pick<ScopeDocument, 'quota'> | null, defaults: QuotaLimits): QuotaLimits {
  const own = doc?.quota;
  return {
    announcesPerDay: own?.announces_per_day !== undefined ? own.announces_per_day : defaults.announcesPerDay,
    bytesPerDay: own?.bytes_per_day !== undefined ? own.bytes_per_day : defaults.bytesPerDay,
  };
}

/** What a scope's announces used on `day` (one listing), and whether `artifact` is among them. */
export async function readUsage(store: ObjectStore, scope: string, day: string, artifact?: string): Promise<QuotaUsage & { counted: boolean }> {
  const hash = artifact === undefined ? undefined : artifactHash(artifact);
  const usage = { day, announces: 0, bytes: 0, counted: false };
  for (const { key } of await store.list(quotaScopePrefix(day, scope))) {
    const parsed = parseQuotaUseKey(key);
    if (!parsed) continue;
    usage.announces++;
    usage.bytes += parsed.bytes;
    if (parsed.hash === hash) usage.counted = true;
  }
  return usage;
}

/**
 * Refuses an announce that would pass one of its scope's daily limits. Reads only.
 *
 * @throws ShelfError `quota_exceeded` (429) naming the quota, its limit and today's usage
 */
export async function checkQuota(store: ObjectStore, use: QuotaUse, defaults: QuotaLimits, now: Date): Promise<void> {
  const [doc, usage] = await Promise.all([readJson(store, scopeKey(use.scope), ScopeDocumentSchema), readUsage(store, use.scope, utcDay(now), use.artifact)]);
  if (usage.counted) return; // a retry after a crash: counted already
  const limits = scopeLimits(doc?.value ?? null, defaults);
  const retry = secondsToNextDay(now);
  if (limits.announcesPerDay !== null && usage.announces + 1 > limits.announcesPerDay) {
    throw new ShelfError(
      'quota_exceeded',
      `@${use.scope} has announced ${usage.announces} new artifacts today, its limit of ${limits.announcesPerDay} a day; retry after ${retry} s (the next UTC day), or ask the registry's operator for more.`,
      { quota: 'announces_per_day', limit: limits.announcesPerDay, used: usage.announces, retry_after_seconds: retry },
    );
  }
  if (limits.bytesPerDay !== null && usage.bytes + use.bytes > limits.bytesPerDay) {
    throw new ShelfError(
      'quota_exceeded',
      `@${use.scope} has stored ${usage.bytes} bytes of new artifacts today; ${use.bytes} more would pass its limit of ${limits.bytesPerDay} bytes a day. Retry after ${retry} s (the next UTC day), or ask the registry's operator for more.`,
      { quota: 'bytes_per_day', limit: limits.bytesPerDay, used: usage.bytes, retry_after_seconds: retry },
    );
  }
}

/** Counts an announce in its scope's day: one create-only record (a second count of it is a no-op). */
export async function countQuota(store: ObjectStore, use: QuotaUse, now: Date): Promise<void> {
  await createJson(store, quotaUseKey(utcDay(now), use.scope, use.bytes, artifactHash(use.artifact)), { artifact: use.artifact, bytes: use.bytes, at: now.toISOString() });
}

/**
 * Deletes the quota records of days before yesterday (the keys list in day order, so it stops at
 * the first kept one). Best effort: a failure is left for the next sweep.
 */
export async function sweepQuota(store: ObjectStore, now: Date): Promise<number> {
  const keep = utcDay(new Date(now.getTime() - 86_400_000));
  let deleted = 0;
  try {
    for (const { key } of await store.list(quotaPrefix())) {
      const parsed = parseQuotaUseKey(key);
      if (!parsed) continue;
      if (parsed.day >= keep) break;
      await store.delete(key);
      deleted++;
    }
  } catch {
    // The next sweep tries again.
  }
  return deleted;
}

const lastSweep = new WeakMap<ObjectStore, number>();

/** {@link sweepQuota}, at most once a minute per store in this process. */
export async function sweepQuotaNow(store: ObjectStore, now: Date): Promise<void> {
  const last = lastSweep.get(store);
  if (last !== undefined && Math.abs(now.getTime() - last) < 60_000) return;
  lastSweep.set(store, now.getTime());
  await sweepQuota(store, now);
}

function artifactHash(artifact: string): string {
  return createHash('sha256').update(artifact).digest('hex').slice(0, 32);
}
