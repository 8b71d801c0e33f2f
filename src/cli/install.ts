/**
 * `shelf skill install @scope/name[@version] [--dir D] [--force]`: unpacks a skill into a skills
 * directory (default `~/.claude/skills`), as `<dir>/<skill-name>/SKILL.md`.
 *
 * The `.skill` archive is verified (size, sha256) and checked like any archive (no traversal,
 * absolute paths, links, duplicates; bounded size); its root must be the one folder
 * `<skill-name>/` holding `SKILL.md`, named like the package. The new folder is extracted beside
 * the target and swapped in with renames, so the target is never half written.
 *
 * An install writes `<dir>/<skill-name>/.shelf-skill.json` (package, version, sha256 and a hash
 * of every file). An existing folder is replaced without `--force` only when that record says it
 * is the same package and none of its files was changed, added or removed since; anything else (a
 * skill installed by hand, another package's skill, local edits) is refused with `skill_exists`.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * { "name": "@acme/release-notes", "version": "1.0.0", "dir": "/home/me/.claude/skills/release-notes",
 *   "status": "installed" | "updated" | "unchanged" | "replaced", "files": ["SKILL.md", "template.md"],
 *   "version_status": "active",
 *   "verified": { "sha256", "size", "registry_signature": {"keyid", "package_signed_at"} | null, "attestation": {…} | null } }
 * ```
 * `version_status` is the installed version's lifecycle status (`active`, `deprecated`, `yanked`),
 * with `status_message` when the publisher gave one (`status` is the install's outcome).
 * `verified` is what was checked before the sha256 was trusted (see `pull.ts`).
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import { obtainArtifact } from './artifact-cache.ts';
import { statusJson, warnStatus } from './status-notice.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatTable,
  commandArgs,
  parsePackageSpec,
  requireCacheDir,
  usageError,
  type CommandContext,
} from './common.ts';
import { MAX_SKILL_UNPACKED_BYTES, readZipEntries } from '../archive/zip-entries.ts';
import { extractZipSafely } from './unzip-safe.ts';

/** The record an install leaves in the skill's folder. */
export const INSTALL_RECORD = '.shelf-skill.json';

/** Help text of `shelf skill install`. */
export function installHelp(): string {
  return `Usage: shelf skill install <@scope/name[@version|@range]> [options]

Downloads a skill (verified), and unpacks it safely into <dir>/<skill-name>, where agents such
as Claude Code find it. Installing again updates it. A folder that holds something else (a skill
installed by hand, another package, or local changes to the files) is left alone unless --force
is given.

Options:
  --dir D          Skills directory (default: ~/.claude/skills)
  --force          Replace an existing folder even if it holds another or a modified skill
  --json           Print {name, version, dir, status, files, version_status, verified} as JSON
${COMMON_HELP}`;
}

interface InstallRecord {
  name: string;
  version: string;
  sha256: string;
  registry: string;
  installed_at: string;
  files: Record<string, string>;
}

/**
 * Installs a skill.
 *
 * @returns The exit code.
 */
export async function installCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf skill install';
  const parsed = commandArgs(command, args, { ...COMMON_OPTIONS, dir: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } }, ctx, installHelp());
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const spec = parsePackageSpec(command, positionals);
  const home = ctx.env.HOME || ctx.env.USERPROFILE;
  if (values.dir === undefined && !home) throw usageError(command, 'no home directory to find ~/.claude/skills in; pass --dir');
  if (values.dir === '') throw usageError(command, '--dir must not be empty');
  const skillsDir = values.dir !== undefined ? resolve(ctx.cwd, values.dir) : join(home!, '.claude', 'skills');
  const offline = values.offline === true || ctx.globalOffline;

  const got = await obtainArtifact({
    client: ctx.client(values.registry, { offline }),
    cacheDir: requireCacheDir(ctx),
    kind: 'skill',
    name: spec.name,
    range: spec.range,
    want: { os: 'any', arch: 'any' },
    offline,
    progress: { write: ctx.writeErr, enabled: ctx.stderrIsTTY },
  });
  const versionStatus = warnStatus(ctx, got.pkg, got.version.version);
  const zip = await readFile(got.file);
  const root = skillRoot(zip, spec.name.name);
  const target = join(skillsDir, root);

  let status: 'installed' | 'updated' | 'unchanged' | 'replaced' = 'installed';
  if (await exists(target)) {
    const verdict = await inspectExisting(target, got.pkg.name);
    if (verdict.ok && verdict.record.sha256 === got.artifact.sha256) {
      status = 'unchanged';
    } else if (verdict.ok) {
      status = 'updated';
    } else if (values.force) {
      status = 'replaced';
    } else {
      throw new ShelfError('skill_exists', `${target} already exists and ${verdict.why}; pass --force to replace it.`, { dir: target });
    }
  }

  let files: string[];
  if (status === 'unchanged') {
    files = Object.keys((await readRecord(target))!.files).sort();
  } else {
    files = await placeSkill(zip, skillsDir, root, target, {
      name: got.pkg.name,
      version: got.version.version,
      sha256: got.artifact.sha256,
      registry: ctx.registryUrl(values.registry),
    });
  }

  const { status: vs, status_message } = statusJson(versionStatus);
  const result = {
    name: got.pkg.name,
    version: got.version.version,
    dir: target,
    status,
    files,
    version_status: vs,
    ...(status_message !== undefined ? { status_message } : {}),
    verified: got.verified,
  };
  if (values.json) {
    ctx.out(JSON.stringify(result, null, 2));
    return 0;
  }
  const s = ctx.style;
  const verb = { installed: 'Installed', updated: 'Updated', unchanged: 'Already installed:', replaced: 'Replaced with' }[status];
  ctx.out(
    [
      `${s.green(verb)} ${s.bold(result.name)}@${s.cyan(result.version)}`,
      formatTable(
        [
          ['Folder:', target],
          ['Files:', files.join(', ')],
        ],
        '  ',
      ),
    ].join('\n'),
  );
  return 0;
}

/** The archive's one root folder, which must hold SKILL.md and be named like the package. */
function skillRoot(zip: Uint8Array, packageName: string): string {
  const entries = readZipEntries(zip, { maxTotalBytes: MAX_SKILL_UNPACKED_BYTES });
  const roots = new Set(entries.map((e) => e.path.split('/')[0]!));
  const files = entries.filter((e) => !e.directory);
  if (roots.size !== 1 || files.some((e) => !e.path.includes('/'))) {
    throw new ShelfError('invalid_archive', 'A .skill archive must hold exactly one root folder <skill-name>/ with SKILL.md in it.');
  }
  const [root] = roots as Set<string>;
  if (!files.some((e) => e.path === `${root}/SKILL.md`)) {
    throw new ShelfError('invalid_archive', `The .skill archive has no ${root}/SKILL.md.`);
  }
  if (root !== packageName) {
    throw new ShelfError('invalid_archive', `The .skill archive's folder is "${root}", not the package name "${packageName}".`);
  }
  return root!;
}

type Verdict = { ok: true; record: InstallRecord } | { ok: false; why: string };

/** Whether an existing folder is this package, installed by shelf and unmodified. */
async function inspectExisting(target: string, name: string): Promise<Verdict> {
  const info = await stat(target);
  if (!info.isDirectory()) return { ok: false, why: 'is not a directory' };
  const record = await readRecord(target);
  if (!record) return { ok: false, why: 'was not installed by shelf' };
  if (record.name !== name) return { ok: false, why: `holds ${record.name}, another package` };
  const actual = await hashTree(target);
  const changed = [
    ...Object.keys(record.files).filter((f) => actual[f] !== record.files[f]),
    ...Object.keys(actual).filter((f) => !Object.hasOwn(record.files, f)),
  ];
  if (changed.length > 0) {
    const shown = changed.slice(0, 5).join(', ');
    return { ok: false, why: `has local changes (${shown}${changed.length > 5 ? ', ...' : ''})` };
  }
  return { ok: true, record };
}

async function readRecord(dir: string): Promise<InstallRecord | null> {
  try {
    const value = JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8')) as Partial<InstallRecord> | null;
    if (value && typeof value.name === 'string' && typeof value.sha256 === 'string' && typeof value.files === 'object' && value.files) {
      return value as InstallRecord;
    }
  } catch {
    // Absent or unreadable: not a shelf install.
  }
  return null;
}

/** SHA-256 of every file under `dir` (relative `/` paths), the install record excepted. */
async function hashTree(dir: string, prefix = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const entry of await readdir(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (rel === INSTALL_RECORD) continue;
    if (entry.isDirectory()) Object.assign(out, await hashTree(dir, rel));
    else out[rel] = entry.isFile() ? createHash('sha256').update(await readFile(join(dir, rel))).digest('hex') : 'not-a-file';
  }
  return out;
}

/**
 * Extracts into a staging folder beside the target, writes the install record, then swaps the
 * folders with renames; the old folder is restored if the swap fails.
 *
 * @returns The installed files, relative to the skill's folder.
 */
async function placeSkill(
  zip: Uint8Array,
  skillsDir: string,
  root: string,
  target: string,
  about: Omit<InstallRecord, 'files' | 'installed_at'>,
): Promise<string[]> {
  await mkdir(skillsDir, { recursive: true });
  const staging = join(skillsDir, `.shelf-install-${randomBytes(6).toString('hex')}`);
  const old = join(skillsDir, `.${root}.old-${randomBytes(6).toString('hex')}`);
  try {
    const { files } = await extractZipSafely(zip, staging, { maxTotalBytes: MAX_SKILL_UNPACKED_BYTES });
    const skillFiles = files.map((f) => f.slice(root.length + 1));
    const record: InstallRecord = { ...about, installed_at: new Date().toISOString(), files: await hashTree(join(staging, root)) };
    await writeFile(join(staging, root, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`);
    const hadOld = await exists(target);
    if (hadOld) await rename(target, old);
    try {
      await rename(join(staging, root), target);
    } catch (error) {
      // Put the previous folder back; if even that fails it stays at `old`, never deleted.
      if (hadOld) await rename(old, target).catch(() => {});
      throw error;
    }
    if (hadOld) await rm(old, { recursive: true, force: true }).catch(() => {});
    return skillFiles.sort();
  } finally {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
  }
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null)) !== null;
}
