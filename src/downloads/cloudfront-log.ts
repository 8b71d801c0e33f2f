/**
 * Counting downloads from CloudFront's standard logs (the `cdn/` folder of the stack's log
 * bucket). CloudFront writes one line per viewer request, **cache hits included**, so these are
 * the downloads clients made, not the reads that reached the bucket. A download is a `GET` of an
 * artifact key (or of a skill's archive for the skills CLI) answered `200` (whole); `HEAD`,
 * errors, partial (`206`) and `304` answers are not counted, nor anything else.
 *
 * Log files are gzip, tab-separated, with a `#Fields:` header naming the columns. Each file is
 * counted into the days of its lines once (its key is the source; see `tally.ts`), and only files
 * named for the last {@link LATE_DAYS} days are read on each run: CloudFront delivers most within
 * an hour, and a file delivered later than that is not counted.
 *
 * @module
 */
import { gunzipSync } from 'node:zlib';
import { parseDownloadKey } from '../core/paths.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { addDownloads, utcDayOf } from './tally.ts';

/** Days back (by the date in its name) a log file is still read. */
export const LATE_DAYS = 2;
/** Largest log file read, uncompressed. */
export const MAX_LOG_BYTES = 256 * 1024 * 1024;

/**
 * The downloads in one log's text, per UTC day, per artifact key.
 */
export function parseCloudFrontLog(text: string): Map<string, Map<string, number>> {
  const days = new Map<string, Map<string, number>>();
  let fields: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#Fields:')) {
      fields = line.slice('#Fields:'.length).trim().split(/\s+/);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const cols = line.split('\t');
    const get = (name: string) => cols[fields.indexOf(name)];
    if (get('cs-method') !== 'GET' || get('sc-status') !== '200') continue;
    let path: string;
    try {
      path = decodeURIComponent(get('cs-uri-stem') ?? '').replace(/^\//, '');
    } catch {
      continue;
    }
    if (!parseDownloadKey(path)) continue;
    const day = get('date') ?? '';
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) continue;
    const counts = days.get(day) ?? new Map<string, number>();
    counts.set(path, (counts.get(path) ?? 0) + 1);
    days.set(day, counts);
  }
  return days;
}

/** What {@link ingestCloudFrontLogs} counted. */
export interface IngestedLogs {
  /** Log files read and counted (not counted before). */
  files: number;
  /** Downloads added. */
  downloads: number;
}

/**
 * Counts the downloads of every recent log file in `logs` (a store over the log bucket's `cdn/`
 * folder) into the registry's day tallies, each file once.
 */
export async function ingestCloudFrontLogs(store: ObjectStore, logs: ObjectStore, now: Date = new Date()): Promise<IngestedLogs> {
  const cutoff = utcDayOf(new Date(now.getTime() - LATE_DAYS * 86_400_000));
  const result: IngestedLogs = { files: 0, downloads: 0 };
  for (const { key, size } of await logs.list('')) {
    const named = /\.(\d{4}-\d{2}-\d{2})-\d{2}\.[^/]*$/.exec(key)?.[1];
    if (named !== undefined && named < cutoff) continue;
    if (size > MAX_LOG_BYTES) continue;
    const object = await logs.get(key);
    if (!object) continue;
    let text: string;
    try {
      text = (key.endsWith('.gz') ? gunzipSync(object.body, { maxOutputLength: MAX_LOG_BYTES }) : Buffer.from(object.body)).toString('utf8');
    } catch {
      continue; // not a log CloudFront wrote; left alone
    }
    let counted = false;
    for (const [day, counts] of parseCloudFrontLog(text)) {
      if (await addDownloads(store, day, counts, key)) {
        counted = true;
        for (const n of counts.values()) result.downloads += n;
      }
    }
    if (counted) result.files++;
  }
  return result;
}
