/**
 * The archive the `skills` CLI installs from: a skill artifact's files with `SKILL.md` at the
 * root. Shelf's `.skill` artifacts hold `<name>/SKILL.md` (mpak's layout), and the CLI wants the
 * skill's folder to be the archive itself, so the registry derives this second archive from the
 * stored artifact (never from anything in a request): the files under the folder that holds
 * `SKILL.md`, that folder's prefix removed, sorted by path, with fixed timestamps and only the
 * executable bit of each file's mode kept. The same artifact always gives the same bytes, so the
 * archive is content-addressed and immutable, and a rebuild derives exactly what the announce did.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { zipSync, type Zippable } from 'fflate';
import { ShelfError } from '../core/errors.ts';
import { inspectArchive } from '../archive/inflate.ts';
import type { ArchiveLimits } from '../archive/zip-entries.ts';

/** A derived archive. */
export interface SkillsArchive {
  bytes: Uint8Array;
  /** Lower-case hex SHA-256 of `bytes`. */
  sha256: string;
  size: number;
}

/** Timestamp of every entry (local time, as zip stores it): 1980-01-01, zip's epoch. */
const ZIP_EPOCH = new Date(1980, 0, 1, 0, 0, 0);

/**
 * Derives the root-level archive from a skill artifact, validating and inflating it with the
 * archive rules and bounds every artifact passes.
 *
 * @throws ShelfError `invalid_archive`, `unsafe_archive`; `invalid_skill` when the artifact has
 *   not exactly one `SKILL.md` one folder deep
 */
export async function deriveSkillsArchive(artifact: Uint8Array, limits: ArchiveLimits = {}): Promise<SkillsArchive> {
  const { entries, kept } = await inspectArchive(artifact, limits, () => true);
  const skillFiles = entries.filter((e) => !e.directory && /^[^/]+\/SKILL\.md$/.test(e.path));
  if (skillFiles.length !== 1) throw new ShelfError('invalid_skill', `The skill must contain exactly one <skill-name>/SKILL.md; it has ${skillFiles.length}.`);
  const folder = skillFiles[0]!.path.slice(0, -'SKILL.md'.length);
  const files: Zippable = {};
  const paths = entries.filter((e) => !e.directory && e.path.startsWith(folder)).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const entry of paths) {
    const executable = (entry.mode & 0o111) !== 0;
    files[entry.path.slice(folder.length)] = [kept.get(entry.path)!, { os: 3, attrs: (executable ? 0o100755 : 0o100644) << 16 }];
  }
  const bytes = zipSync(files, { level: 9, mtime: ZIP_EPOCH });
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength };
}
