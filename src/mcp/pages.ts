/**
 * The pages of `GET /v0.1/servers` (every version) and `?version=latest` (each server's latest),
 * as static files whose cursors stay valid while a client walks and of which an announce
 * rewrites a bounded number.
 *
 * **Linear hashing.** A server belongs to one bucket, a pure function of its name and of the
 * number of buckets `B` ({@link bucketOf}); page `b` (cursor `"b"`, the first page is `0`) holds
 * the entries of the servers of bucket `b`, sorted by name (every version: newest publication
 * first), and names page `b + 1` as `nextCursor` while there is one. `B` grows with the number of
 * servers `n` ({@link bucketCount}: one bucket per {@link SERVERS_PER_BUCKET}), one bucket at a
 * time: growing from `B` to `B + 1` splits one bucket (`B − 2^⌊log₂B⌋`) in two, its servers
 * moving to the new last page or staying. So:
 *
 * - an announce rewrites its server's page in each listing, plus, when `B` grows, the split
 *   page, the new page and the page before it (its `nextCursor`): at most a handful of files,
 *   each of about {@link SERVERS_PER_BUCKET} servers (at most about twice that for a bucket not
 *   yet split), whatever the registry's size;
 * - a cursor is a bucket number, and buckets are never renumbered: one handed out stays valid.
 *   While a client walks, an insertion lands in a page it has read or one it will read; a split
 *   moves servers only to the new last page, so a client that read the split page sees them again
 *   at the end (a repeat, never a gap). A page that falls off the end when servers are removed
 *   (a take-down) is written empty, without `nextCursor`.
 *
 * The order is that of the name hashes, not alphabetical (the spec sets none).
 *
 * Pure module.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from './server-json.ts';

/** Target number of servers per bucket. */
export const SERVERS_PER_BUCKET = 16;

/** A listing page: the spec's `ServerList`. */
export interface ServerListPage {
  servers: ServerResponse[];
  metadata: { count: number; nextCursor?: string };
}

/** The number of buckets for `n` servers (at least one). */
export function bucketCount(n: number): number {
  return Math.max(1, Math.ceil(n / SERVERS_PER_BUCKET));
}

/** 32 bits of the server name's SHA-256. */
export function nameHash(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0);
}

/** The bucket of a server among `buckets` (linear hashing). */
export function bucketOf(name: string, buckets: number): number {
  const level = 2 ** Math.floor(Math.log2(buckets));
  const h = nameHash(name);
  const low = h % level;
  return low < buckets - level ? h % (level * 2) : low;
}

/**
 * The bucket whose servers move out when `buckets` grows by one (to the new bucket `buckets`),
 * or into which the last bucket merges when it shrinks from `buckets + 1`.
 */
export function splitBucket(buckets: number): number {
  return buckets - 2 ** Math.floor(Math.log2(buckets));
}

/** Orders a page's entries: by server name, then newest publication first. */
function compareEntries(a: ServerResponse, b: ServerResponse): number {
  if (a.server.name !== b.server.name) return a.server.name < b.server.name ? -1 : 1;
  const at = (e: ServerResponse) => e._meta['io.modelcontextprotocol.registry/official'].publishedAt;
  return at(b).localeCompare(at(a)) || (a.server.version < b.server.version ? 1 : -1);
}

/** Page `page` of `buckets` holding `entries` (in any order). */
export function buildPage(entries: readonly ServerResponse[], page: number, buckets: number): ServerListPage {
  const servers = [...entries].sort(compareEntries);
  return { servers, metadata: page + 1 < buckets ? { count: servers.length, nextCursor: String(page + 1) } : { count: servers.length } };
}

/** Page `index` of `buckets` with one server's entries replaced (`entries` empty: removed). */
export function withServer(page: ServerListPage | null, name: string, entries: readonly ServerResponse[], index: number, buckets: number): ServerListPage {
  const others = (page?.servers ?? []).filter((e) => e.server.name !== name);
  return buildPage([...others, ...entries], index, buckets);
}
