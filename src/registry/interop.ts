/**
 * The files of the read APIs other clients speak, as a producer of `derived-files.ts`: a bundle's
 * MCP registry API files and the listings' pages (`src/mcp/`), a skill's agent-skills discovery
 * indexes (`src/skills/`). Both derive from the records as stored when each file is written. Also
 * the records' own migration a rebuild runs first: skills recorded before they had a derived
 * archive for the skills CLI get one.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { parsePackageName, type Kind, type PackageName, type Version } from '../core/names.ts';
import { configKey, packageKey, versionKey } from '../core/paths.ts';
import { PackageDocumentSchema, VersionDocumentSchema, type Artifact } from '../core/schemas.ts';
import { eachLimited } from '../core/concurrency.ts';
import { scopeLists, summarize } from '../indexer/documents.ts';
import { LISTINGS, publishServer, rebuildPages } from '../mcp/publish.ts';
import { publishDiscovery, writeSkillsArchive } from '../skills/publish.ts';
import { readShardedRoot } from '../search/write/publish.ts';
import { readJson, readStoredJson, updateJson, type RetryPolicy } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { Producer, RebuildRun } from './derived-files.ts';
import { readPackageDocuments, readVersions, type VersionCache } from './records.ts';

/**
 * The MCP API's files and the discovery indexes: per package, then (a whole rebuild) the listings'
 * pages. They follow the lifecycle (docs/read-apis.md, "Statuses"): a status change or a takedown
 * refreshes them through this step like an announce does.
 */
export const interopFiles: Producer = {
  step: 'interop',
  // Counted as they come: a server has one file per version.
  count: (run) => run.targets.length,
  async refresh({ store, kind, pkg, versions }) {
    await refreshInterop(store, kind, pkg, { versionCache: versions });
  },
  async rebuild(run) {
    const { store, onePackage, retry, concurrency } = run;
    await eachLimited(run.targets, concurrency, ({ kind, pkg }) => refreshInterop(store, kind, pkg, { retry, onWrite: run.record, listings: !!onePackage }));
    if (!onePackage && run.kinds.includes('bundle')) {
      // Every bundle with a version not taken down, in the geometry an announce uses: the count
      // of the catalog's bundles (a bundle whose every version is yanked is listed, not counted).
      const docs = await readPackageDocuments(store, ['bundle']);
      const servers = docs.filter(scopeLists).map((d) => parsePackageName(d.name));
      const serverCount = docs.filter((d) => summarize(d) !== null).length;
      for (const listing of LISTINGS) await rebuildPages(store, listing, servers, { retry, onWrite: run.record, concurrency, serverCount });
    }
  },
  // Compared whole by the checker (no entries of their own).
  owns: () => false,
  entries: async () => new Map(),
};

/** Brings one package's read-API files up to date with its records as stored now. */
export async function refreshInterop(
  store: ObjectStore,
  kind: Kind,
  pkg: PackageName,
  options: { versionCache?: VersionCache; retry?: RetryPolicy; onWrite?: (key: string, changed: boolean) => void; listings?: boolean } = {},
): Promise<void> {
  const versionCache = options.versionCache ?? new Map();
  const records = async () => ({
    doc: (await readJson(store, packageKey(kind, pkg), PackageDocumentSchema))?.value ?? null,
    versions: await readVersions(store, kind, pkg, versionCache),
  });
  const common = { ...(options.retry ? { retry: options.retry } : {}), ...(options.onWrite ? { onWrite: options.onWrite } : {}) };
  if (kind === 'skill') return publishDiscovery(store, pkg, records, common);
  await publishServer(store, pkg, records, { ...common, ...(options.listings === false ? { listings: false } : {}), publicUrl: await publicUrlOf(store), serverCount: () => bundleCount(store) });
}

/**
 * The registry's base URL on the CDN, as `v1/config.json` names it ("" without one: root-relative
 * URLs). Only `public_url` is read, so that a config a rebuild is about to migrate (one naming
 * the retired search layout) gives the same URLs as the config it migrates to.
 */
export async function publicUrlOf(store: ObjectStore): Promise<string> {
  const stored = await readStoredJson(store, configKey()).catch(() => null);
  const url = (stored?.json as { public_url?: unknown } | undefined)?.public_url;
  return typeof url === 'string' ? url : '';
}

/** How many bundles have a version: the count of the kind's catalog (the MCP listings' geometry). */
async function bundleCount(store: ObjectStore): Promise<number> {
  return (await readShardedRoot(store, 'bundle'))?.root.catalog.count ?? 0;
}

/**
 * Gives every artifact of the rebuilt skills' version records that lacks one its derived archive
 * for the skills CLI (written create-only, recorded by compare-and-swap), reporting each key.
 */
export async function deriveMissingSkillsArchives(run: RebuildRun): Promise<void> {
  await eachLimited(
    run.targets.filter((t) => t.kind === 'skill'),
    run.concurrency,
    async ({ pkg }) => {
      for (const key of await skillsArchivesOf(run.store, pkg, run.retry)) run.record(key, true);
    },
  );
}

async function skillsArchivesOf(store: ObjectStore, pkg: PackageName, retry: RetryPolicy): Promise<string[]> {
  const written: string[] = [];
  for (const doc of await readVersions(store, 'skill', pkg)) {
    if (doc.artifacts.every((a) => a.skills_archive)) continue;
    const derived = new Map<string, NonNullable<Artifact['skills_archive']>>();
    for (const artifact of doc.artifacts) {
      if (artifact.skills_archive) continue;
      const stored = await store.get(artifact.path);
      if (!stored) continue; // a lost artifact is not this rebuild's to restore
      derived.set(artifact.path, await writeSkillsArchive(store, pkg, doc.version as Version, stored.body));
      written.push(derived.get(artifact.path)!.path);
    }
    const key = versionKey('skill', pkg, doc.version as Version);
    await updateJson(
      store,
      key,
      VersionDocumentSchema,
      (current) => {
        if (!current) throw new ShelfError('internal_error', `The record ${key} vanished during the rebuild.`);
        return { ...current, artifacts: current.artifacts.map((a) => (a.skills_archive || !derived.has(a.path) ? a : { ...a, skills_archive: derived.get(a.path)! })) };
      },
      { retry, strict: true },
    );
    written.push(key);
  }
  return written;
}
