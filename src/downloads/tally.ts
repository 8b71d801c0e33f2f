/**
 * The private tallies download counts are made from: one document per UTC day
 * (`private/downloads/days/YYYY-MM-DD.json`), holding complete downloads per artifact key and the
 * sources already counted into it. Every writer adds by compare-and-swap, and a source (a CDN log
 * file) is counted into a day at most once, so a job that runs twice, or two that overlap, count
 * nothing twice.
 *
 * @module
 */
import * as z from 'zod';
import { downloadDayKey } from '../core/paths.ts';
import { updateJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** One day's tally. */
export const DayTallySchema = z.object({
  day: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  /** Complete downloads per artifact key. */
  counts: z.record(z.string(), z.number().int().nonnegative()),
  /** Sources counted into this day (log file keys), so none is counted twice. */
  sources: z.array(z.string()),
});
export type DayTally = z.infer<typeof DayTallySchema>;

/** The UTC day (`YYYY-MM-DD`) of a time. */
export function utcDayOf(time: Date): string {
  return time.toISOString().slice(0, 10);
}

/**
 * Adds downloads to a day's tally. With a `source`, once only: a source already counted into the
 * day adds nothing.
 *
 * @returns Whether anything was added.
 */
export async function addDownloads(store: ObjectStore, day: string, counts: ReadonlyMap<string, number>, source?: string): Promise<boolean> {
  if (counts.size === 0 && source === undefined) return false;
  let added = false;
  await updateJson(
    store,
    downloadDayKey(day),
    DayTallySchema,
    (current) => {
      const tally: DayTally = current ?? { day, counts: {}, sources: [] };
      added = false;
      if (source !== undefined && tally.sources.includes(source)) return tally;
      const next: DayTally = { day, counts: { ...tally.counts }, sources: source === undefined ? tally.sources : [...tally.sources, source] };
      for (const [key, n] of counts) next.counts[key] = (next.counts[key] ?? 0) + n;
      added = true;
      return next;
    },
    { strict: true },
  );
  return added;
}

