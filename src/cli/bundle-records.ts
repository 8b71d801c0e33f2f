/**
 * Records of the bundles the CLI keeps in its cache (`shelf bundle run`, `shelf bundle pull
 * --cache`), so `shelf bundle outdated` and `shelf bundle update` know what is installed, from
 * which registry, and with which version range it was asked for (Node only).
 *
 * One record per registry, package and requested platform:
 * ```
 * bundles/<first 16 hex of sha256(registry URL)>/<scope>/<name>/<os>-<arch>.json
 * ```
 * Records are checked with a schema when read; one that does not parse is ignored (and then
 * rewritten by the next `run` or `update`).
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import type { PackageName } from '../core/names.ts';

/** A cached bundle. */
export const BundleRecordSchema = z.object({
  /** The registry's base URL. */
  registry: z.string(),
  /** `@scope/name`. */
  name: z.string(),
  /** The version or range it was requested with (`latest` when none was given). */
  range: z.string(),
  /** The exact version cached. */
  version: z.string(),
  /** The platform it was requested for. */
  want: z.object({ os: z.string(), arch: z.string() }),
  /** The artifact's own platform (may be `any`). */
  os: z.string(),
  arch: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().positive(),
  /** The verified artifact in the cache. */
  file: z.string(),
  /** When it was cached (ISO 8601). */
  cached_at: z.string(),
});
/** A cached bundle. */
export type BundleRecord = z.infer<typeof BundleRecordSchema>;

function registryFolder(cacheDir: string, registry: string): string {
  return join(cacheDir, 'bundles', createHash('sha256').update(registry).digest('hex').slice(0, 16));
}

/** The record file of a package for a requested platform. */
export function bundleRecordPath(cacheDir: string, registry: string, name: PackageName, want: { os: string; arch: string }): string {
  return join(registryFolder(cacheDir, registry), name.scope, name.name, `${want.os}-${want.arch}.json`);
}

/** Writes a record atomically (temp file + rename). */
export async function writeBundleRecord(cacheDir: string, name: PackageName, record: BundleRecord): Promise<void> {
  const file = bundleRecordPath(cacheDir, record.registry, name, record.want);
  await mkdir(join(file, '..'), { recursive: true });
  const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, `${JSON.stringify(BundleRecordSchema.parse(record), null, 2)}\n`);
    await rename(temp, file);
  } finally {
    await rm(temp, { force: true }).catch(() => {});
  }
}

/** Reads one record, or null when absent or unreadable. */
export async function readBundleRecord(file: string): Promise<BundleRecord | null> {
  try {
    const parsed = BundleRecordSchema.safeParse(JSON.parse(await readFile(file, 'utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

/** Every valid record of a registry, sorted by name then platform. */
export async function listBundleRecords(cacheDir: string, registry: string): Promise<BundleRecord[]> {
  const root = registryFolder(cacheDir, registry);
  const records: BundleRecord[] = [];
  for (const scope of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, scope)).catch(() => [] as string[])) {
      for (const file of await readdir(join(root, scope, name)).catch(() => [] as string[])) {
        if (!file.endsWith('.json')) continue;
        const record = await readBundleRecord(join(root, scope, name, file));
        // A record copied under another registry's folder would lie about its origin.
        if (record && record.registry === registry) records.push(record);
      }
    }
  }
  return records.sort((a, b) =>
    a.name === b.name ? `${a.want.os}-${a.want.arch}`.localeCompare(`${b.want.os}-${b.want.arch}`) : a.name < b.name ? -1 : 1,
  );
}
