/**
 * Opens the fetched artifact and checks that it is what the announce says it is: a bundle's own
 * `manifest.json` (or a skill's `SKILL.md` front matter) must name the announced package and
 * version. Without this, a publisher could file bytes its repository released for another
 * version under this one. Only the one small metadata file is inflated, with a size bound.
 *
 * @module
 */
import { unzipSync } from 'fflate';
import { ShelfError } from '../core/errors.ts';
import type { Kind, PackageName, Version } from '../core/names.ts';
import { readSkillFrontMatter } from '../core/skill-front-matter.ts';

/** Largest metadata file inflated from an artifact. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/** @throws ShelfError `asset_metadata_mismatch` */
export function checkArtifactMetadata(kind: Kind, bytes: Uint8Array, pkg: PackageName, version: Version): void {
  const isMetadata = kind === 'bundle' ? (name: string) => name === 'manifest.json' : (name: string) => /^[^/]+\/SKILL\.md$/.test(name);
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: (f) => isMetadata(f.name) && f.originalSize <= MAX_METADATA_BYTES });
  } catch {
    throw mismatch('The artifact is not a readable zip archive.');
  }
  const entries = Object.entries(files);
  const wanted = kind === 'bundle' ? 'manifest.json' : '<skill-name>/SKILL.md';
  if (entries.length !== 1) throw mismatch(`The artifact must contain exactly one ${wanted} (of at most ${MAX_METADATA_BYTES} bytes).`);
  const text = new TextDecoder().decode(entries[0]![1]);
  let declared: { name: unknown; version: unknown };
  try {
    if (kind === 'bundle') {
      const manifest = JSON.parse(text) as Record<string, unknown>;
      declared = { name: manifest.name, version: manifest.version };
    } else {
      const front = readSkillFrontMatter(text);
      const metadata = (front.metadata ?? {}) as Record<string, unknown>;
      declared = { name: front.name, version: metadata.version ?? version };
    }
  } catch {
    throw mismatch(`The artifact's ${wanted} cannot be read.`);
  }
  const name = typeof declared.name === 'string' ? declared.name.toLowerCase() : '';
  const nameOk = kind === 'bundle' ? name === pkg.full || name === pkg.name : name === pkg.name;
  if (!nameOk || declared.version !== version) {
    throw mismatch(
      `The artifact's ${wanted} declares ${String(declared.name)}@${String(declared.version)}, not ${pkg.full}@${version}.`,
    );
  }
}

function mismatch(message: string): ShelfError {
  return new ShelfError('asset_metadata_mismatch', message);
}
