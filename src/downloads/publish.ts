/**
 * Publishes download counts: the private day tallies become, per package, one small static
 * document (`v1/downloads/{bundles,skills}/@scope/name.json`) and, per kind, one index of every
 * package's totals (`v1/downloads/{bundles,skills}.json`, for sorting). Run after each batch of
 * counting (the embedded server's flush, `shelf downloads`).
 *
 * 1. **fold**: day tallies older than the window ({@link WINDOW_DAYS}) are added to the running
 *    totals (`private/downloads/totals.json`, by compare-and-swap, remembering the last day
 *    folded so none is added twice) and then deleted, so the work stays bounded.
 * 2. **sum**: per package, the total (folded totals and the window), the last 30 days, per
 *    version, and one number per day of the window.
 * 3. **write**: each document only when its bytes change.
 *
 * @module
 */
import * as z from 'zod';
import { KINDS, type Kind } from '../core/names.ts';
import { downloadDayKey, downloadsIndexKey, downloadsKey, downloadTalliesPrefix, downloadTotalsKey, parseDownloadKey } from '../core/paths.ts';
import { parsePackageName } from '../core/names.ts';
import { DownloadsIndexSchema, PackageDownloadsSchema, type DownloadsIndex, type PackageDownloads } from '../core/schemas.ts';
import { encodeJson, readJson, updateJson, updateObject } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { DayTallySchema, utcDayOf, type DayTally } from './tally.ts';

/** Days the public documents show one by one, and sum as `last_30_days`. */
export const WINDOW_DAYS = 30;

const TotalsSchema = z.object({
  /** The last day folded in (`YYYY-MM-DD`), or empty. */
  through: z.string(),
  counts: z.record(z.string(), z.number().int().nonnegative()),
});

/** What {@link publishDownloads} did. */
export interface PublishedDownloads {
  /** Packages with counts. */
  packages: number;
  /** Documents written (changed). */
  written: string[];
  /** Day tallies folded into the totals. */
  folded: string[];
}

/** Publishes the download counts of every package; see the module. */
export async function publishDownloads(store: ObjectStore, now: Date = new Date()): Promise<PublishedDownloads> {
  const today = utcDayOf(now);
  const window = Array.from({ length: WINDOW_DAYS }, (_, i) => utcDayOf(new Date(now.getTime() - (WINDOW_DAYS - 1 - i) * 86_400_000)));
  const days = (await store.list(`${downloadTalliesPrefix()}days/`)).map((o) => /(\d{4}-\d{2}-\d{2})\.json$/.exec(o.key)?.[1]).filter((d): d is string => d !== undefined);

  // 1. fold
  const old = days.filter((d) => d < window[0]!);
  const folded: string[] = [];
  for (const day of old) {
    const tally = (await readJson(store, downloadDayKey(day), DayTallySchema))?.value;
    if (tally) {
      await updateJson(store, downloadTotalsKey(), TotalsSchema, (current) => {
        const totals = current ?? { through: '', counts: {} };
        if (day <= totals.through) return totals;
        const counts = { ...totals.counts };
        for (const [key, n] of Object.entries(tally.counts)) counts[key] = (counts[key] ?? 0) + n;
        return { through: day, counts };
      });
    }
    await store.delete(downloadDayKey(day));
    folded.push(day);
  }

  // 2. sum
  const totals = (await readJson(store, downloadTotalsKey(), TotalsSchema))?.value ?? { through: '', counts: {} };
  const recent = new Map<string, DayTally>();
  for (const day of days.filter((d) => d >= window[0]!)) {
    const tally = (await readJson(store, downloadDayKey(day), DayTallySchema))?.value;
    if (tally) recent.set(day, tally);
  }
  const docs = new Map<string, PackageDownloads>();
  const add = (key: string, n: number, day: string | null) => {
    const artifact = parseDownloadKey(key);
    if (!artifact) return;
    const id = `${artifact.kind}:${artifact.full}`;
    let doc = docs.get(id);
    if (!doc) {
      doc = { package: artifact.full, kind: artifact.kind, total: 0, last_30_days: 0, versions: {}, days: window.map((d) => ({ day: d, downloads: 0 })), through: today };
      docs.set(id, doc);
    }
    doc.total += n;
    doc.versions[artifact.version] = (doc.versions[artifact.version] ?? 0) + n;
    if (day !== null) {
      doc.last_30_days += n;
      doc.days.find((d) => d.day === day)!.downloads += n;
    }
  };
  for (const [key, n] of Object.entries(totals.counts)) add(key, n, null);
  for (const [day, tally] of recent) for (const [key, n] of Object.entries(tally.counts)) add(key, n, window.includes(day) ? day : null);

  // 3. write
  const written: string[] = [];
  const indexes = new Map<Kind, DownloadsIndex>(KINDS.map((k) => [k, { through: today, packages: {} }]));
  for (const doc of [...docs.values()].sort((a, b) => (a.package < b.package ? -1 : 1))) {
    const key = downloadsKey(doc.kind, parsePackageName(doc.package));
    const body = encodeJson(PackageDownloadsSchema.parse(doc));
    if ((await updateObject(store, key, () => body)).changed) written.push(key);
    indexes.get(doc.kind)!.packages[doc.package] = { total: doc.total, last_30_days: doc.last_30_days };
  }
  for (const [kind, index] of indexes) {
    const key = downloadsIndexKey(kind);
    const body = encodeJson(DownloadsIndexSchema.parse(index));
    if ((await updateObject(store, key, () => body)).changed) written.push(key);
  }
  return { packages: docs.size, written, folded };
}
