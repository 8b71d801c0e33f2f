/**
 * What an artifact says about itself: a bundle's own `manifest.json` (at the archive's root), a
 * skill's `<name>/SKILL.md` front matter. Read the same way by the registry, which records it as
 * the truth about a version, and by `shelf announce`, which sends it: the whole archive is
 * validated and inflated, bounded (`inflate.ts`), and exactly one metadata file must be there.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import { readSkillFrontMatter } from '../core/skill-front-matter.ts';
import { inspectArchive } from './inflate.ts';
import type { ArchiveLimits } from './zip-entries.ts';

/** Largest metadata file read from an artifact: manifests and SKILL.md files are a few kilobytes. */
export const MAX_METADATA_BYTES = 1024 * 1024;

/** The metadata file of each kind, by normalised entry path. */
const IS_METADATA: Record<Kind, (path: string) => boolean> = {
  bundle: (path) => path === 'manifest.json',
  skill: (path) => /^[^/]+\/SKILL\.md$/.test(path),
};

const WANTED: Record<Kind, string> = { bundle: 'manifest.json at its root', skill: '<skill-name>/SKILL.md' };

/** An artifact's own metadata. */
export interface ArtifactMetadata {
  /** The manifest object, or the SKILL.md front matter as JSON. */
  metadata: Record<string, unknown>;
  /** Where it was read from (`manifest.json`, `release-notes/SKILL.md`). */
  path: string;
}

/**
 * Validates the whole archive and reads its metadata file.
 *
 * @throws ShelfError `invalid_archive`, `unsafe_archive` (the archive itself);
 *   `invalid_manifest` / `invalid_skill` (no metadata file, more than one, or not readable).
 */
export async function readArtifactMetadata(kind: Kind, bytes: Uint8Array, limits: ArchiveLimits = {}): Promise<ArtifactMetadata> {
  const code = kind === 'bundle' ? 'invalid_manifest' : 'invalid_skill';
  const { kept } = await inspectArchive(bytes, limits, IS_METADATA[kind], MAX_METADATA_BYTES);
  if (kept.size !== 1) throw new ShelfError(code, `The ${kind} must contain exactly one ${WANTED[kind]}; it has ${kept.size}.`);
  const [[path, data]] = [...kept] as [[string, Uint8Array]];
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw new ShelfError(code, `The ${kind}'s ${path} is not UTF-8 text.`);
  }
  if (kind === 'skill') return { metadata: readSkillFrontMatter(text), path };
  let manifest: unknown;
  try {
    manifest = JSON.parse(text);
  } catch {
    throw new ShelfError(code, "The bundle's manifest.json is not valid JSON.");
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) {
    throw new ShelfError(code, "The bundle's manifest.json is not a JSON object.");
  }
  return { metadata: manifest as Record<string, unknown>, path };
}
