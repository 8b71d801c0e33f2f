/**
 * The MCP registry read API's files on an {@link ObjectStore}: one server's files (every version,
 * `latest`, the version list) and its place in the two listings' pages (`pages.ts`). Every file
 * is written by compare-and-swap, and only when its bytes change.
 *
 * A server's files derive from its records (through `versions.json`, computed from the package
 * and version documents as stored when it is written); the listing pages from the servers'
 * `versions.json`. The announce's refresh calls {@link publishServer}; `shelf rebuild` calls
 * {@link publishServer} for every bundle and then {@link rebuildPages}.
 *
 * @module
 */
import * as z from 'zod';
import type { PackageName, Version } from '../core/names.ts';
import { mcpPageKey, mcpPagesPrefix, mcpServerName, mcpVersionKey, mcpVersionsKey, type McpListing } from '../core/paths.ts';
import type { PackageDocument, VersionDocument } from '../core/schemas.ts';
import { eachLimited } from '../core/concurrency.ts';
import { readStoredJson, updateDerived, type RetryPolicy } from '../store/json-documents.ts';
import { purge, type ObjectStore } from '../store/object-store.ts';
import { bucketCount, bucketOf, buildPage, splitBucket, withServer, type ServerListPage } from './pages.ts';
import { hasServerName, listingEntry, OFFICIAL_META, serverResponses, type ServerResponse } from './server-json.ts';

/** Both listings of `GET /v0.1/servers`. */
export const LISTINGS: readonly McpListing[] = ['latest', 'all'];

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isEntry = (v: unknown): v is ServerResponse => isObject(v) && isObject(v.server) && typeof v.server.name === 'string' && isObject(v._meta) && isObject(v._meta[OFFICIAL_META]);
/** A stored `ServerList` (a page, or a server's versions), checked without reordering its keys. */
export const ServerListSchema = z.custom<ServerListPage>((v) => isObject(v) && Array.isArray(v.servers) && v.servers.every(isEntry) && isObject(v.metadata));
/** A stored `ServerResponse`. */
export const ServerResponseSchema = z.custom<ServerResponse>(isEntry);

/** What one server's files are derived from, read fresh on every attempt. */
export type ServerRecords = () => Promise<{ doc: PackageDocument | null; versions: VersionDocument[] }>;

/** Options of {@link publishServer}. */
export interface PublishServerOptions {
  /** The registry's base URL on the CDN (artifact URLs are absolute). */
  publicUrl: string;
  /** The number of bundles with a version (the listings' geometry), read after this one's catalog entry is. */
  serverCount: () => Promise<number>;
  retry?: RetryPolicy;
  /** Called with every key written. */
  onWrite?: (key: string, changed: boolean) => void;
  /** Place the server in the listings' pages. Default true (false: a full rebuild writes every page after). */
  listings?: boolean;
}

/**
 * Writes one bundle's files of the MCP API and places it in both listings. A bundle without a
 * version, or whose server name the spec refuses, is taken out of the listings.
 */
export async function publishServer(store: ObjectStore, pkg: PackageName, records: ServerRecords, options: PublishServerOptions): Promise<void> {
  const { publicUrl, retry } = options;
  const note = options.onWrite ?? (() => undefined);
  if (hasServerName(pkg)) {
    // A server with no version left (every one taken down) has no files: it answers 404, as an
    // unknown name does.
    const key = mcpVersionsKey(pkg);
    note(
      key,
      await updateDerived(store, key, ServerListSchema, async () => {
        const { doc, versions } = await records();
        const servers = doc ? serverResponses(pkg, doc, versions, publicUrl) : [];
        return servers.length > 0 ? { servers, metadata: { count: servers.length } } : null;
      }, { retry, whenNull: 'delete' }),
    );
    // Each version's file is a copy of the list's entry; `latest` of the one marked `isLatest`,
    // absent when none is (every version yanked or taken down).
    await eachLimited(await readEntries(store, pkg), 8, async (entry) => {
      const k = mcpVersionKey(pkg, entry.server.version as Version);
      note(k, await updateDerived(store, k, ServerResponseSchema, () => entry, { retry }));
    });
    const latestKey = mcpVersionKey(pkg, 'latest');
    note(latestKey, await updateDerived(store, latestKey, ServerResponseSchema, async () => latestOf(await readEntries(store, pkg))[0] ?? null, { retry, whenNull: 'delete' }));
    // A version taken down loses its file (the lifecycle record blocks its announce, so nothing
    // writes it back meanwhile).
    const { doc } = await records();
    for (const { version } of doc?.versions.filter((v) => v.status === 'removed') ?? []) {
      const k = mcpVersionKey(pkg, version as Version);
      if (!(await store.head(k))) continue;
      await purge(store, k);
      note(k, true);
    }
  }
  const name = mcpServerName(pkg);
  for (const listing of options.listings === false ? [] : LISTINGS) {
    await placeServer(store, listing, name, async () => {
      const fresh = hasServerName(pkg) ? await readEntries(store, pkg) : [];
      return listingEntries(listing, fresh);
    }, options);
  }
}

/** A server's entries as its stored `versions.json` lists them. */
async function readEntries(store: ObjectStore, pkg: PackageName): Promise<ServerResponse[]> {
  const stored = await readStoredJson(store, mcpVersionsKey(pkg));
  const parsed = ServerListSchema.safeParse(stored?.json);
  return parsed.success ? parsed.data.servers : [];
}

const latestOf = (entries: readonly ServerResponse[]): ServerResponse[] => entries.filter((e) => e._meta[OFFICIAL_META].isLatest);

/** A server's entries in one listing's pages: every version, or its latest; Shelf's `_meta` reduced. */
const listingEntries = (listing: McpListing, entries: readonly ServerResponse[]): ServerResponse[] => (listing === 'latest' ? latestOf(entries) : entries).map(listingEntry);

async function readPage(store: ObjectStore, listing: McpListing, page: number): Promise<ServerListPage | null> {
  const stored = await readStoredJson(store, mcpPageKey(listing, page));
  const parsed = ServerListSchema.safeParse(stored?.json);
  return parsed.success ? parsed.data : null;
}

/**
 * Puts a server's entries into its page under the current geometry, takes them out of the page it
 * had under a neighbouring one, and completes the last split; then reads the geometry again and
 * starts over if it changed meanwhile. Whichever of two announces changes the geometry, the other's
 * entries end in the right page: either it sees the new geometry on its second read, or its write
 * came before the split that moves it (`pages.ts`).
 */
async function placeServer(store: ObjectStore, listing: McpListing, name: string, entriesOf: () => Promise<ServerResponse[]>, options: PublishServerOptions): Promise<void> {
  const write = pageWriter(store, listing, options);
  let buckets = bucketCount(await options.serverCount());
  for (let round = 0; round < 8; round++) {
    const page = bucketOf(name, buckets);
    await write(page, async (current) => {
      const entries = await entriesOf();
      if (!current && entries.length === 0) return null;
      return withServer(current, name, entries, page, buckets);
    });
    const elsewhere = new Set([buckets - 1, buckets + 1].filter((b) => b >= 1).map((b) => bucketOf(name, b)));
    for (const other of elsewhere) {
      if (other === page) continue;
      await write(other, (current) => (current?.servers.some((e) => e.server.name === name) ? withServer(current, name, [], other, buckets) : null));
    }
    await completeSplit(store, listing, buckets, options);
    const now = bucketCount(await options.serverCount());
    if (now === buckets) return;
    buckets = now;
  }
}

/** Writes one page by compare-and-swap; `compute` returns null to leave it as it is. */
function pageWriter(store: ObjectStore, listing: McpListing, options: Pick<PublishServerOptions, 'retry' | 'onWrite'>) {
  return async (page: number, compute: (current: ServerListPage | null) => ServerListPage | null | Promise<ServerListPage | null>): Promise<void> => {
    const key = mcpPageKey(listing, page);
    const changed = await updateDerived(store, key, ServerListSchema, compute, { retry: options.retry });
    options.onWrite?.(key, changed);
  };
}

/**
 * Completes the geometry of `buckets`: the servers of the last split bucket that belong to the
 * last bucket move there (never over entries a writer already put there), the page before the
 * last names it, and a page past the end (the geometry shrank) gives its servers back and is
 * written empty.
 */
async function completeSplit(store: ObjectStore, listing: McpListing, buckets: number, options: PublishServerOptions): Promise<void> {
  const write = pageWriter(store, listing, options);
  const move = async (from: number, belongs: (name: string) => boolean, to: (name: string) => number) => {
    const source = await readPage(store, listing, from);
    const moving = new Map<string, ServerResponse[]>();
    for (const e of source?.servers ?? []) if (belongs(e.server.name)) moving.set(e.server.name, [...(moving.get(e.server.name) ?? []), e]);
    for (const [name, entries] of moving) {
      const target = to(name);
      await write(target, (current) => (current?.servers.some((e) => e.server.name === name) ? null : withServer(current, name, entries, target, buckets)));
    }
    if (moving.size > 0) await write(from, (current) => (current ? buildPage(current.servers.filter((e) => !belongs(e.server.name)), from, buckets) : null));
  };
  if (buckets >= 2) {
    const last = buckets - 1;
    await move(splitBucket(last), (name) => bucketOf(name, buckets) === last, () => last);
    await write(last, (current) => buildPage(current?.servers ?? [], last, buckets));
    await write(last - 1, (current) => buildPage(current?.servers ?? [], last - 1, buckets));
  }
  const past = await readPage(store, listing, buckets);
  if (past) {
    await move(buckets, () => true, (name) => bucketOf(name, buckets));
    await write(buckets, () => buildPage([], buckets, buckets));
  }
}

/**
 * Regenerates every page of a listing: the servers of `packages` (every bundle with a version not
 * taken down), each page's entries read from the servers' `versions.json` on every attempt, in the
 * geometry of `serverCount` servers (default: as many as `packages`; the announce's count is the
 * catalog's); pages past the last (left by a larger geometry) are written empty.
 */
export async function rebuildPages(
  store: ObjectStore,
  listing: McpListing,
  packages: readonly PackageName[],
  options: Pick<PublishServerOptions, 'retry' | 'onWrite'> & { concurrency?: number; serverCount?: number },
): Promise<void> {
  const buckets = bucketCount(options.serverCount ?? packages.length);
  const members: PackageName[][] = Array.from({ length: buckets }, () => []);
  for (const pkg of packages) if (hasServerName(pkg)) members[bucketOf(mcpServerName(pkg), buckets)]!.push(pkg);
  const write = pageWriter(store, listing, options);
  await eachLimited([...members.keys()], options.concurrency ?? 16, async (page) => {
    await write(page, async () => {
      const entries = (await Promise.all(members[page]!.map((pkg) => readEntries(store, pkg)))).flat();
      return buildPage(listingEntries(listing, entries), page, buckets);
    });
  });
  const stale = (await store.list(mcpPagesPrefix(listing))).flatMap(({ key }) => {
    const m = /\/(\d+)\.json$/.exec(key);
    return m && Number(m[1]) >= buckets && mcpPageKey(listing, Number(m[1])) === key ? [Number(m[1])] : [];
  });
  for (const page of stale) await write(page, () => buildPage([], page, page));
}
