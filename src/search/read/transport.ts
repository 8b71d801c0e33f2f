/**
 * How the reader gets its files: the root (revalidated with its ETag), and immutable files by
 * name, each fetched once through the shared JSON fetch and kept for the reader's life. Counts
 * what it downloads (for benchmarks and tests).
 *
 * Pure module: `fetch` only, no Node APIs.
 *
 * @module
 */
import { fetchJson, type FetchLike } from '../../core/fetch-json.ts';
import type { ReadBounds } from '../../core/read-bounds.ts';
import { ShelfError } from '../../core/errors.ts';
import type { Kind } from '../../core/names.ts';
import { displayKey, shardedRootKey, shardKey } from '../../core/paths.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { SEARCH_FIELDS } from '../../core/search-options.ts';
import { checkRoot, checkSummary, describeIssue, type Checked } from '../format/validate.ts';
import type { ShardedRoot } from '../format/wire.ts';

/** What a client has downloaded so far. */
export interface TransferStats {
  /** Requests made. */
  requests: number;
  /** Body bytes received (as decoded by fetch). */
  bytes: number;
  /** Every key fetched, in order. */
  keys: string[];
}

/** Whether an error's details say the server answered 404 or 410 (the file is gone). */
export function isGone(details: unknown): boolean {
  const status = (details as { status?: unknown } | undefined)?.status;
  return status === 404 || status === 410;
}

/** A missing root: the kind has no generation yet (refresh() of a client that had one reports it). */
export const NO_ROOT = (url: string): ShelfError => new ShelfError('not_found', `${url} was not found: no index of this kind yet.`, { url });

/** `check(json)`'s value, or its issue as `registry_unreachable` naming the file. */
export function parseWith<T>(check: (json: unknown) => Checked<T>, json: unknown, what: string): T {
  const checked = check(json);
  if (!checked.ok) throw new ShelfError('registry_unreachable', `The index file ${what} is malformed (${describeIssue(checked.issue)}).`);
  return checked.value;
}

/** The files of one kind's index at one base URL. */
export class Transport {
  /** Transfer counters. */
  readonly stats: TransferStats = { requests: 0, bytes: 0, keys: [] };
  /** Summaries that came with a delta, by display file name (content-addressed, so never stale). */
  readonly inline = new Map<string, PackageSummary>();
  /** Immutable files by key: never refetched, never invalidated. */
  private readonly cache = new Map<string, Promise<unknown>>();

  constructor(
    private readonly fetchFn: FetchLike,
    private readonly base: string,
    private readonly kind: Kind,
    private readonly bounds: ReadBounds,
  ) {}

  /** An immutable file by name (cached for the life of the client). */
  file(name: string): Promise<unknown> {
    return this.getJson(shardKey(this.kind, name));
  }

  /** The summary of a display file (a package of the delta's came inline with it). */
  async display(file: string): Promise<PackageSummary> {
    // A package of the delta: its summary came with the delta file.
    const inline = this.inline.get(file);
    if (inline) return inline;
    return parseWith(checkSummary, await this.getJson(displayKey(this.kind, file)), file);
  }

  private getJson(key: string): Promise<unknown> {
    let p = this.cache.get(key);
    if (!p) {
      p = this.fetchJson(key, null).then((r) => r.json);
      // A failed read is not cached: the next query tries again.
      p.catch(() => this.cache.delete(key));
      this.cache.set(key, p);
    }
    return p;
  }

  /** The kind's root, checked; `root` null when it answered 304 to `etag`. */
  async fetchRoot(etag: string | null): Promise<{ root: ShardedRoot | null; etag: string | null }> {
    const key = shardedRootKey(this.kind);
    const { json, etag: newEtag } = await this.fetchJson(key, etag, true);
    if (json === undefined) return { root: null, etag };
    const root = parseWith(checkRoot, json, key);
    if (root.kind !== this.kind) throw new ShelfError('registry_unreachable', `${key} is the root of ${root.kind}s, not ${this.kind}s.`);
    if (root.search.fields.join() !== SEARCH_FIELDS.join()) {
      throw new ShelfError('registry_unreachable', `${key} indexes fields ${root.search.fields.join(', ')}; this client searches ${SEARCH_FIELDS.join(', ')}.`);
    }
    return { root, etag: newEtag };
  }

  /** One file through the shared JSON fetch, counted in {@link Transport.stats}. */
  private async fetchJson(key: string, etag: string | null, isRoot = false): Promise<{ json: unknown; etag: string | null }> {
    const url = `${this.base}/${key}`;
    const result = await fetchJson(url, { fetch: this.fetchFn, etag, bounds: this.bounds, ...(isRoot ? { notFound: NO_ROOT } : {}) });
    this.stats.requests++;
    if (result.notModified) return { json: undefined, etag: result.etag };
    this.stats.bytes += result.bytes;
    this.stats.keys.push(key);
    return { json: result.value, etag: result.etag };
  }
}
