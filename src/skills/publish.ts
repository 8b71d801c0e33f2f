/**
 * Skills' derived files on an {@link ObjectStore}: the derived archive of an artifact (written
 * create-only: its key is its digest), and the discovery indexes of a skill and of its scope
 * (compare-and-swap, written only when their bytes change).
 *
 * @module
 */
import * as z from 'zod';
import type { PackageName, Version } from '../core/names.ts';
import { contentTypeFor, IMMUTABLE_CACHE, skillsArchiveKey, skillsDiscoveryPackageKey, skillsDiscoveryScopeKey } from '../core/paths.ts';
import type { Artifact, PackageDocument, VersionDocument } from '../core/schemas.ts';
import type { ArchiveLimits } from '../archive/zip-entries.ts';
import { updateDerived, type RetryPolicy } from '../store/json-documents.ts';
import { PreconditionFailedError, type ObjectStore } from '../store/object-store.ts';
import { discoveryEntry, discoveryIndex, discoveryVersion, PACKAGE_INDEX_DEPTH, SCOPE_INDEX_DEPTH, withSkill, type DiscoveryIndex } from './discovery.ts';
import { deriveSkillsArchive } from './skills-archive.ts';

/**
 * Derives a skill artifact's archive for the skills CLI and stores it create-only (an existing
 * key holds the same bytes: the key is their digest).
 *
 * @returns What the version record keeps of it.
 */
export async function writeSkillsArchive(store: ObjectStore, pkg: PackageName, version: Version, artifact: Uint8Array, limits: ArchiveLimits = {}): Promise<NonNullable<Artifact['skills_archive']>> {
  const derived = await deriveSkillsArchive(artifact, limits);
  const path = skillsArchiveKey(pkg, version, derived.sha256);
  try {
    await store.put(path, derived.bytes, { contentType: contentTypeFor(path), cacheControl: IMMUTABLE_CACHE, ifNoneMatch: '*' });
  } catch (err) {
    if (!(err instanceof PreconditionFailedError)) throw err;
  }
  return { path, sha256: derived.sha256, size: derived.size };
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A stored discovery index, checked without reordering its keys. */
export const DiscoveryIndexSchema = z.custom<DiscoveryIndex>((v) => isObject(v) && Array.isArray(v.skills) && v.skills.every(isObject));

/** What a skill's indexes are derived from, read fresh on every attempt. */
export type SkillRecords = () => Promise<{ doc: PackageDocument | null; versions: VersionDocument[] }>;

/** The version a skill's indexes offer, or null. */
function offered({ doc, versions }: Awaited<ReturnType<SkillRecords>>): VersionDocument | null {
  const version = doc ? discoveryVersion(doc) : null;
  return versions.find((v) => v.version === version) ?? null;
}

/**
 * Writes a skill's own discovery index and its entry in its scope's. A skill without a version to
 * offer (every version yanked, or taken down) has no index of its own (404) and no entry in its
 * scope's.
 */
export async function publishDiscovery(store: ObjectStore, pkg: PackageName, records: SkillRecords, options: { retry?: RetryPolicy; onWrite?: (key: string, changed: boolean) => void } = {}): Promise<void> {
  const note = options.onWrite ?? (() => undefined);
  const own = skillsDiscoveryPackageKey(pkg);
  note(
    own,
    await updateDerived(store, own, DiscoveryIndexSchema, async () => {
      const version = offered(await records());
      const entry = version && discoveryEntry(pkg, version, PACKAGE_INDEX_DEPTH);
      return entry ? discoveryIndex([entry]) : null;
    }, { retry: options.retry, whenNull: 'delete' }),
  );
  const scope = skillsDiscoveryScopeKey(pkg.scope);
  note(
    scope,
    await updateDerived(store, scope, DiscoveryIndexSchema, async (current) => {
      const version = offered(await records());
      const entry = version && discoveryEntry(pkg, version, SCOPE_INDEX_DEPTH);
      return entry || current?.skills.some((e) => e.name === pkg.name) ? withSkill(current, entry, pkg.name) : null;
    }, { retry: options.retry }),
  );
}
