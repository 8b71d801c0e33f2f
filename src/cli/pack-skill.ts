/**
 * `shelf skill pack [dir] [-o FILE] [--json]`: packs an agent skill folder (one holding
 * `SKILL.md`) into a `.skill` archive: a zip whose only root entry is the folder `<name>/`, the
 * name coming from the front matter. The same folder always gives the same bytes (sorted entries,
 * a fixed timestamp), so re-packing an unchanged skill gives the same sha256, which an announce
 * of an already published version needs.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * { "name": "release-notes", "version": "1.0.0" | null, "file": "/abs/release-notes-1.0.0.skill",
 *   "sha256": "<64 hex>", "size": 1234 }
 * ```
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { parseDocument } from 'yaml';
import { ShelfError } from '../core/errors.ts';
import { readSkillFrontMatter, splitSkillMarkdown } from '../core/skill-front-matter.ts';
import { commandArgs, usageError, type CommandContext } from './common.ts';

const SKILL_NAME_RE = /^[a-z0-9][a-z0-9-]*$/;

/** Timestamp of every `.skill` entry (local time, as zip stores it), for reproducible archives. */
const ZIP_EPOCH = new Date(1980, 0, 1, 0, 0, 0);

/** What {@link packSkill} may change before packing. */
export interface SkillOverrides {
  /** Replaces `metadata.version` in the front matter. */
  version?: string;
}

/** A skill written by {@link packSkill}. */
export interface PackedSkill {
  /** The `.skill` file written (the `outFile` argument). */
  file: string;
  /** The front matter as packed, overrides applied. */
  frontMatter: Record<string, unknown>;
  /** Lower-case hex sha256 of the file. */
  sha256: string;
  /** Size of the file in bytes. */
  size: number;
}

/**
 * Packs the agent skill in `dir` (a folder holding `SKILL.md`) into the `.skill` archive
 * `outFile`: a zip whose only root entry is the folder `<name>/`, `name` coming from the front
 * matter, holding `SKILL.md` and every other file of `dir` (dotfiles excluded). Entries are sorted
 * and carry a fixed timestamp, so the same input always gives the same bytes.
 *
 * @example
 * ```ts
 * const { frontMatter } = await packSkill('examples/skills/release-notes', 'out/rn.skill', { version: '1.1.0' });
 * ```
 * @throws Error when `SKILL.md` is missing, its front matter is invalid, or its `name` is not a
 *   lower-case `[a-z0-9-]` identifier.
 */
export async function packSkill(dir: string, outFile: string, overrides: SkillOverrides = {}): Promise<PackedSkill> {
  const skillPath = join(dir, 'SKILL.md');
  if (!existsSync(skillPath)) throw new Error(`No SKILL.md in ${dir}.`);
  let markdown = readFileSync(skillPath, 'utf8');
  let frontMatter = readSkillFrontMatter(markdown);
  if (overrides.version !== undefined) {
    markdown = setSkillVersion(markdown, overrides.version);
    frontMatter = readSkillFrontMatter(markdown);
  }
  const name = frontMatter.name;
  if (typeof name !== 'string' || !SKILL_NAME_RE.test(name)) {
    throw new Error(`The skill name in ${skillPath} must be a string matching ${SKILL_NAME_RE.source}.`);
  }

  const entries: Zippable = {};
  for (const rel of listFiles(dir)) {
    const data = rel === 'SKILL.md' ? new TextEncoder().encode(markdown) : readFileSync(join(dir, rel));
    const executable = (statSync(join(dir, rel)).mode & 0o111) !== 0;
    entries[`${name}/${rel}`] = [data, { os: 3, attrs: (executable ? 0o100755 : 0o100644) << 16 }];
  }
  const zip = zipSync(entries, { level: 9, mtime: ZIP_EPOCH });
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, zip);
  return { file: outFile, frontMatter, ...digest(outFile) };
}


/** Help text of `shelf skill pack`. */
export function packHelp(): string {
  return `Usage: shelf skill pack [dir] [options]

Packs the agent skill in dir (default: the current folder), which holds SKILL.md, into a .skill
archive: <name>/SKILL.md and every other file of the folder (dotfiles skipped), name from the
front matter. The same folder always gives the same bytes.

Options:
  -o, --output PATH  File to write, or a folder to write it into (default: the current folder).
                     The default name is <name>-<metadata.version>.skill, or <name>.skill
  --json             Print {name, version, file, sha256, size} as JSON
  -h, --help         Show this help`;
}

/**
 * Packs a skill folder.
 *
 * @returns The exit code.
 */
export async function packCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf skill pack';
  const parsed = commandArgs(command, args, { output: { type: 'string', short: 'o' }, json: { type: 'boolean' } }, ctx, packHelp());
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 1) throw usageError(command, 'expected one folder');
  const dir = resolve(ctx.cwd, positionals[0] ?? '.');
  if (!existsSync(join(dir, 'SKILL.md'))) throw new ShelfError('invalid_skill', `${dir} holds no SKILL.md.`);
  const frontMatter = readSkillFrontMatter(readFileSync(join(dir, 'SKILL.md'), 'utf8'));
  const name = typeof frontMatter.name === 'string' ? frontMatter.name : '';
  const meta = frontMatter.metadata;
  const version = typeof meta === 'object' && meta !== null && typeof (meta as Record<string, unknown>).version === 'string' ? String((meta as Record<string, unknown>).version) : null;
  const defaultName = `${name}${version ? `-${version}` : ''}.skill`;
  const output = values.output === undefined ? resolve(ctx.cwd, defaultName) : resolve(ctx.cwd, values.output);
  const file = existsSync(output) && statSync(output).isDirectory() ? join(output, defaultName) : output;
  let packed: PackedSkill;
  try {
    packed = await packSkill(dir, file);
  } catch (error) {
    if (error instanceof ShelfError) throw error;
    throw new ShelfError('invalid_skill', (error as Error).message);
  }
  if (values.json) {
    ctx.out(JSON.stringify({ name, version, file: packed.file, sha256: packed.sha256, size: packed.size }, null, 2));
    return 0;
  }
  ctx.out(`Packed ${ctx.style.bold(name)}${version ? `@${version}` : ''} into ${packed.file} (${packed.size} bytes, sha256 ${packed.sha256}).`);
  return 0;
}
/** Files under `dir`, relative, `/`-separated, in code-point order; dotfiles and dot-folders skipped. */
function listFiles(dir: string, prefix = ''): string[] {
  const names = readdirSync(join(dir, prefix)).filter((n) => !n.startsWith('.'));
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const files: string[] = [];
  for (const n of names) {
    const rel = prefix ? `${prefix}/${n}` : n;
    const stat = statSync(join(dir, rel));
    if (stat.isDirectory()) files.push(...listFiles(dir, rel));
    else if (stat.isFile()) files.push(rel);
  }
  return files;
}

/**
 * Rewrites `metadata.version` in front matter already known to be valid, keeping the rest of the
 * YAML (comments included) and the body.
 */
function setSkillVersion(markdown: string, version: string): string {
  const parts = splitSkillMarkdown(markdown);
  if (!parts) throw new Error('SKILL.md has no front matter.');
  const doc = parseDocument(parts.yaml);
  doc.setIn(['metadata', 'version'], version);
  return `---\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}---\n${parts.body}`;
}

function digest(file: string): { sha256: string; size: number } {
  const data = readFileSync(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}
