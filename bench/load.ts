/**
 * Bulk loading: writes a whole synthetic registry into a store, records and derived files (the
 * MCP registry API's files and listing pages included), with
 * the real builders and the real serialisation (each document parsed by its zod schema and
 * encoded with `encodeJson`, exactly as `updateJson` writes it, so the files are byte-for-byte
 * what announces would have produced).
 *
 * Announcing 100,000 packages one by one would take hours. So the loader derives the shared files
 * once, from every summary, with the same pure functions: the recent list, and the sharded search
 * index's root and content-addressed pieces, written by the real `rebuildToStore` of
 * `src/search/write/publish.ts`.
 *
 * @module
 */
import type { z } from 'zod';
import { badgeKey, contentTypeFor, MUTABLE_CACHE, packageKey, recentKey, scopeKey, versionKey } from '../src/core/paths.ts';
import { parseVersion, type PackageName, type Version } from '../src/core/names.ts';
import { mcpVersionKey, mcpVersionsKey } from '../src/core/paths.ts';
import { LISTINGS, rebuildPages } from '../src/mcp/publish.ts';
import { OFFICIAL_META, serverResponses } from '../src/mcp/server-json.ts';
import { publicUrlOf } from '../src/registry/interop.ts';
import { PackageDocumentSchema, RecentDocumentSchema, ScopeDocumentSchema, VersionDocumentSchema } from '../src/core/schemas.ts';
import { rebuildToStore } from '../src/search/write/publish.ts';
import { encodeJson } from '../src/store/json-documents.ts';
import { packageBadge, renderBadge } from '../src/indexer/badge.ts';
import type { ObjectStore } from '../src/store/object-store.ts';
import type { Corpus } from './corpus.ts';
import { cpuMs, now, pool } from './lib/stats.ts';
import { packageFiles, recentDocument, scopeDocuments, type SummaryWithVersions } from './records.ts';

/** Options of {@link loadRegistry}. */
export interface LoadOptions {
  /** Writes in flight at once. Default 16. */
  concurrency?: number;
  /** Packages built and written per batch (bounds memory). Default 2000. */
  batch?: number;
  /** Called after each batch with the number of packages written so far. */
  progress?: (done: number) => void;
  /**
   * Also write the derived files (package documents, badges, scope records, the sharded search
   * index, the recent list), built here with the pure builders. Default true. `false` writes the version
   * records alone, for the real rebuild (`src/registry/rebuild.ts`) to derive the rest, which
   * reconstructs the pins from the records' provenance.
   */
  derived?: boolean;
  /** Write the version records. Default true; `false` (with `derived`) completes a bucket that has them. */
  records?: boolean;
}

/** What a bulk load wrote and where its time went. */
export interface LoadReport {
  packages: number;
  versions: number;
  scopes: number;
  objects: number;
  bytes: number;
  /** Pure derivation of per-package files (version records, package documents). */
  build_packages_ms: number;
  /** Pure derivation of scope records and the recent list. */
  build_shared_ms: number;
  /** Serialisation (schema parse + encode) of every document. */
  encode_ms: number;
  /** Wall time of the whole load. */
  total_ms: number;
  /** CPU time of this process during the load, ms. */
  cpu_ms: number;
  /** Size of the recent list as written. */
  shared_bytes: { recent: number };
  /** The sharded index (build + create-only writes by `rebuildToStore`), when written. */
  sharded: { files_written: number; ms: number; cpu_ms: number } | null;
}

/** One document to write. */
interface Pending {
  key: string;
  body: Uint8Array;
}

/**
 * Writes every record and derived file of `corpus` into `store`. The store should be empty.
 *
 * @throws TypeError when an option is invalid.
 */
export async function loadRegistry(store: ObjectStore, corpus: Corpus, options: LoadOptions = {}): Promise<LoadReport> {
  const concurrency = options.concurrency ?? 16;
  const batchSize = options.batch ?? 2000;
  const derived = options.derived ?? true;
  if (typeof derived !== 'boolean') throw new TypeError('"derived" option must be a boolean');
  const records = options.records ?? true;
  if (typeof records !== 'boolean') throw new TypeError('"records" option must be a boolean');
  if (!records && !derived) throw new TypeError('"records" and "derived" options cannot both be false');
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new TypeError(`"concurrency" option must be a positive integer, got ${String(concurrency)}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError(`"batch" option must be a positive integer, got ${String(batchSize)}`);

  const start = now();
  const cpuStart = cpuMs();
  const report: LoadReport = {
    packages: corpus.packages.length,
    versions: 0,
    scopes: 0,
    objects: 0,
    bytes: 0,
    build_packages_ms: 0,
    build_shared_ms: 0,
    encode_ms: 0,
    total_ms: 0,
    cpu_ms: 0,
    shared_bytes: { recent: 0 },
    sharded: null,
  };
  const encode = <T>(key: string, schema: z.ZodType<T>, value: T): Pending => {
    const t = now();
    const body = encodeJson(schema.parse(value));
    report.encode_ms += now() - t;
    return { key, body };
  };
  const write = async (items: Pending[]) => {
    await pool(items, concurrency, async ({ key, body }) => {
      await store.put(key, body, { contentType: contentTypeFor(key), cacheControl: MUTABLE_CACHE });
    });
    report.objects += items.length;
    for (const i of items) report.bytes += i.body.byteLength;
  };

  const summaries: SummaryWithVersions[] = [];
  const servers: PackageName[] = [];
  const publicUrl = derived ? await publicUrlOf(store) : '';
  for (let offset = 0; offset < corpus.packages.length; offset += batchSize) {
    const batch = corpus.packages.slice(offset, offset + batchSize);
    const pending: Pending[] = [];
    for (const p of batch) {
      const t = now();
      const files = packageFiles(p);
      report.build_packages_ms += now() - t;
      report.versions += files.versions.length;
      if (records) for (const v of files.versions) pending.push(encode(versionKey('bundle', files.pkg, parseVersion(v.version)), VersionDocumentSchema, v));
      if (derived) {
        pending.push(encode(packageKey('bundle', files.pkg), PackageDocumentSchema, files.document));
        pending.push({ key: badgeKey('bundle', files.pkg), body: renderBadge(packageBadge(files.document)) });
        // The MCP registry API's files of the server, as the announce's refresh writes them.
        const entries = serverResponses(files.pkg, files.document, files.versions, publicUrl);
        pending.push({ key: mcpVersionsKey(files.pkg), body: encodeJson({ servers: entries, metadata: { count: entries.length } }) });
        for (const e of entries) pending.push({ key: mcpVersionKey(files.pkg, e.server.version as Version), body: encodeJson(e) });
        const latest = entries.find((e) => e._meta[OFFICIAL_META].isLatest);
        if (latest) pending.push({ key: mcpVersionKey(files.pkg, 'latest'), body: encodeJson(latest) });
        servers.push(files.pkg);
      }
      summaries.push({ summary: files.summary, versions: files.versions.map((v) => ({ name: v.name, version: v.version, published_at: v.published_at })) });
    }
    await write(pending);
    options.progress?.(Math.min(corpus.packages.length, offset + batchSize));
  }

  if (!derived) {
    report.total_ms = now() - start;
    report.cpu_ms = cpuMs() - cpuStart;
    return report;
  }

  let t = now();
  const scopes = scopeDocuments(corpus.packages);
  report.build_shared_ms += now() - t;
  report.scopes = scopes.length;
  for (let i = 0; i < scopes.length; i += batchSize) {
    await write(scopes.slice(i, i + batchSize).map((s) => encode(scopeKey(s.scope), ScopeDocumentSchema, s)));
  }

  t = now();
  const recentDoc = recentDocument(summaries);
  report.build_shared_ms += now() - t;
  const recent = encode(recentKey(), RecentDocumentSchema, recentDoc);
  await write([recent]);
  report.shared_bytes.recent = recent.body.byteLength;
  // The MCP API's listing pages, by the real rebuild's writer (it reads the servers' files back).
  t = now();
  let pageFiles = 0;
  for (const listing of LISTINGS) await rebuildPages(store, listing, servers, { concurrency, onWrite: () => void pageFiles++ });
  report.objects += pageFiles;
  report.build_shared_ms += now() - t;
  t = now();
  const c = cpuMs();
  const files = await rebuildToStore(store, 'bundle', summaries.map((s) => s.summary));
  report.sharded = { files_written: files, ms: now() - t, cpu_ms: cpuMs() - c };
  report.total_ms = now() - start;
  report.cpu_ms = cpuMs() - cpuStart;
  return report;
}
