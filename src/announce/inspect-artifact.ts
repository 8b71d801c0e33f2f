/**
 * Opens the fetched artifact and reads what it says about itself, which is what the registry
 * records (trust rule 4): a bundle's own `manifest.json`, a skill's `SKILL.md` front matter. The
 * announce body's copy is only cross-checked (name and version), never recorded.
 *
 * The whole archive must pass the rules the CLI applies when it unpacks it (`archive/`): plain
 * relative entry names, no links, no duplicates, bounded size, entry count and compression ratio,
 * every entry inflating (bounded, off the event loop) to its declared size and CRC. So the
 * registry never publishes an archive its own client refuses, and a small artifact can never make
 * it inflate gigabytes.
 *
 * @module
 */
import { readArtifactMetadata } from '../archive/artifact-metadata.ts';
import { MAX_SKILL_UNPACKED_BYTES, type ArchiveLimits } from '../archive/zip-entries.ts';
import { isShelfError, ShelfError } from '../core/errors.ts';
import type { Kind, PackageName, Version } from '../core/names.ts';
import { validateManifest, validateSkill } from './validate-metadata.ts';

/**
 * Validates the artifact and returns its own metadata (manifest or front matter), checked like an
 * announce body's: a valid manifest (or front matter) naming the announced package and version.
 *
 * @throws ShelfError `unsafe_archive`, `invalid_archive` (the archive), `asset_metadata_mismatch`
 *   (no, several or an invalid metadata file, or one naming another package or version)
 */
export async function inspectArtifact(kind: Kind, bytes: Uint8Array, pkg: PackageName, version: Version, limits: ArchiveLimits): Promise<Record<string, unknown>> {
  try {
    // A skill must also fit what `shelf skill install` unpacks.
    const bounded = kind === 'skill' ? { ...limits, maxTotalBytes: Math.min(limits.maxTotalBytes ?? MAX_SKILL_UNPACKED_BYTES, MAX_SKILL_UNPACKED_BYTES) } : limits;
    const { metadata } = await readArtifactMetadata(kind, bytes, bounded);
    return kind === 'bundle' ? validateManifest(metadata, pkg, version) : validateSkill(metadata, pkg, version);
  } catch (err) {
    if (isShelfError(err) && (err.code === 'invalid_manifest' || err.code === 'invalid_skill' || err.code === 'manifest_mismatch')) {
      throw new ShelfError('asset_metadata_mismatch', `The artifact's own ${kind === 'bundle' ? 'manifest.json' : 'SKILL.md'}: ${err.message}`, err.details && 'issues' in err.details ? { issues: err.details.issues } : undefined);
    }
    throw err;
  }
}

/**
 * Where the manifests of one version's per-platform artifacts may differ: `compatibility.platforms`
 * (a native build names the OS it was built for). Everything else — tools, description, the server
 * command and its `platform_overrides` (MCPB's one place for per-platform commands) — must be the
 * same, so what the registry shows for a version is what each of its artifacts runs.
 */
export const PER_PLATFORM_FIELDS = ['compatibility.platforms'] as const;

/**
 * Checks that an artifact's metadata agrees with the one already recorded for its version.
 *
 * @throws ShelfError `asset_metadata_mismatch` naming the first field that differs
 */
export function checkSameVersionMetadata(recorded: Record<string, unknown>, metadata: Record<string, unknown>): void {
  const field = firstDifference(withoutPerPlatformFields(recorded), withoutPerPlatformFields(metadata), '');
  if (field !== null) {
    throw new ShelfError(
      'asset_metadata_mismatch',
      `The artifact's own metadata differs from the version's other artifacts at "${field || '(root)'}"; the artifacts of one version may differ only in ${PER_PLATFORM_FIELDS.join(', ')} (put per-platform commands in server.mcp_config.platform_overrides).`,
      { field: field || '(root)' },
    );
  }
}

function withoutPerPlatformFields(metadata: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(metadata);
  for (const path of PER_PLATFORM_FIELDS) {
    const parts = path.split('.');
    let target: unknown = copy;
    for (const part of parts.slice(0, -1)) target = target && typeof target === 'object' ? (target as Record<string, unknown>)[part] : undefined;
    if (target && typeof target === 'object') delete (target as Record<string, unknown>)[parts[parts.length - 1]!];
  }
  return copy;
}

/** The dotted path of the first place two JSON values differ (key order ignored), or null. */
function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (a === b) return null;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return path;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  if (Array.isArray(a) && (a as unknown[]).length !== (b as unknown[]).length) return path;
  for (const key of [...keys].sort()) {
    const inner = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (inner !== null) return inner;
  }
  return null;
}
