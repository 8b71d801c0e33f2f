/**
 * The files a takedown deletes: everything a removed version has in the bucket (its version
 * document, its artifacts and whatever else lies in its folder, such as its README). The takedown
 * deletes them after writing the tombstone; a rebuild deletes any it finds left over (after a
 * crash between the two, or an announce that raced the takedown), so the bucket converges on
 * what the lifecycle record says.
 *
 * @module
 */
import type { Kind, PackageName, Version } from '../core/names.ts';
import { versionKey, versionsPrefix } from '../core/paths.ts';
import type { LifecycleRecord } from '../core/schemas.ts';
import { purge, type ObjectStore } from '../store/object-store.ts';

/** Every key a version has in the bucket: its document and the files in its folder. */
export async function versionFiles(store: ObjectStore, kind: Kind, pkg: PackageName, version: string): Promise<string[]> {
  const doc = versionKey(kind, pkg, version as Version);
  const [head, folder] = await Promise.all([store.head(doc), store.list(`${versionsPrefix(kind, pkg)}${version}/`)]);
  return [...(head ? [doc] : []), ...folder.map((o) => o.key)];
}

/**
 * Deletes (with every earlier stored version of each, where the store keeps them) what the
 * versions the record says were taken down still have in the bucket: artifacts first, the
 * version document last, so that a crash in between leaves a document the next run still finds.
 *
 * @returns The keys deleted.
 */
export async function deleteRemovedFiles(store: ObjectStore, kind: Kind, pkg: PackageName, record: LifecycleRecord | null): Promise<string[]> {
  const deleted: string[] = [];
  for (const { version } of record?.removed_versions ?? []) {
    const keys = await versionFiles(store, kind, pkg, version);
    const doc = versionKey(kind, pkg, version as Version);
    for (const key of [...keys.filter((k) => k !== doc), ...keys.filter((k) => k === doc)]) {
      await purge(store, key);
      deleted.push(key);
    }
  }
  return deleted;
}
