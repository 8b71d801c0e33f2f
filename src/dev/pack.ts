/**
 * Packs the example packages in `examples/` into real artifacts: `.mcpb` bundles through the
 * official `@anthropic-ai/mcpb` packer, `.skill` archives with the command line's `packSkill`. Used by the dev seed and
 * by tests, which publish what these functions produce.
 *
 * Multi-platform bundles: the examples ship one source tree for every platform. To get one
 * distinct artifact per platform, {@link packBundle} with `overrides.os` writes
 * `platform.json` = `{"os": "<os>"}` into a temporary copy and narrows
 * `compatibility.platforms` to that os before packing.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MANIFEST_SCHEMAS, packExtension } from '@anthropic-ai/mcpb';
import type { Arch, Kind, Os } from '../core/names.ts';

export { readSkillFrontMatter } from '../core/skill-front-matter.ts';
// Skills are packed by the command line's own packer (`shelf skill pack`).
export { packSkill, type PackedSkill, type SkillOverrides } from '../cli/pack-skill.ts';

/** What {@link packBundle} may change in the manifest before packing. */
export interface BundleOverrides {
  /** Replaces `version` (e.g. a prerelease such as `2.1.0-beta.1`). */
  version?: string;
  /** Replaces `name` (`@scope/name`). */
  name?: string;
  /**
   * Packs a platform-specific build: writes `platform.json` and sets `compatibility.platforms`
   * to `[os]`. `'any'` (or leaving it out) packs the folder as it is.
   */
  os?: Os;
}

/** A bundle written by {@link packBundle}. */
export interface PackedBundle {
  /** The `.mcpb` file written (the `outFile` argument). */
  file: string;
  /** The manifest as packed, overrides applied. */
  manifest: Record<string, unknown>;
  /** Lower-case hex sha256 of the file. */
  sha256: string;
  /** Size of the file in bytes. */
  size: number;
}

/**
 * Packs the MCP bundle in `dir` into `outFile` with the official `@anthropic-ai/mcpb` packer,
 * after applying `overrides` to a temporary copy (the source folder is never modified).
 *
 * Note that the official packer stamps every zip entry with the current time, so two packs of the
 * same folder a few seconds apart have different sha256s.
 *
 * @example
 * ```ts
 * const { sha256, size } = await packBundle('examples/sysinfo', 'out/linux.mcpb', { os: 'linux' });
 * ```
 * @throws Error when `dir` has no readable `manifest.json`, the manifest is invalid for its
 *   `manifest_version`, or the packer fails.
 */
export async function packBundle(dir: string, outFile: string, overrides: BundleOverrides = {}): Promise<PackedBundle> {
  const manifest = readJsonObject(join(dir, 'manifest.json'));
  if (overrides.name !== undefined) manifest.name = overrides.name;
  if (overrides.version !== undefined) manifest.version = overrides.version;

  const work = mkdtempSync(join(tmpdir(), 'shelf-pack-'));
  try {
    const staged = join(work, basename(dir) || 'bundle');
    cpSync(dir, staged, { recursive: true });
    if (overrides.os !== undefined && overrides.os !== 'any') {
      if (!PACK_OSES.includes(overrides.os)) throw new Error(`Cannot pack for os ${JSON.stringify(overrides.os)}.`);
      writeFileSync(join(staged, 'platform.json'), `${JSON.stringify({ os: overrides.os })}\n`);
      const compatibility = isPlainObject(manifest.compatibility) ? manifest.compatibility : {};
      manifest.compatibility = { ...compatibility, platforms: [overrides.os] };
    }
    writeFileSync(join(staged, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    assertValidManifest(manifest, dir);

    mkdirSync(dirname(outFile), { recursive: true });
    const ok = await withoutConsoleLog(() => packExtension({ extensionPath: staged, outputPath: outFile, silent: true }));
    if (!ok || !existsSync(outFile)) {
      throw new Error(`The mcpb packer failed to pack ${dir} into ${outFile}.`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { file: outFile, manifest, ...digest(outFile) };
}

/** One example package the dev seed publishes. */
export interface ExampleDescriptor {
  /** Bundle (`.mcpb`) or skill (`.skill`). */
  kind: Kind;
  /** Full package name, `@scope/name`. */
  name: string;
  /** Absolute path of the example's folder. */
  dir: string;
  /** The version in the example's manifest or front matter. */
  version: string;
  /** The platforms to pack it for: one artifact each. */
  platforms: Array<{ os: Os; arch: Arch }>;
  /** The GitHub owner that publishes it (the scope without `@`). */
  owner: string;
  /** The GitHub repository that publishes it, `owner/repo`. */
  repository: string;
}

/**
 * The example packages in `examples/`, with the platforms and GitHub repository the dev seed
 * publishes each one as. Pack bundles with {@link packBundle} (passing `os` when it is not
 * `any`) and skills with {@link packSkill}.
 */
export function listExamples(): ExampleDescriptor[] {
  return [
    {
      kind: 'bundle',
      name: '@acme/echo',
      dir: exampleDir('echo'),
      version: '1.2.0',
      platforms: [{ os: 'any', arch: 'any' }],
      owner: 'acme',
      repository: 'acme/echo-mcp',
    },
    {
      kind: 'bundle',
      name: '@acme/sysinfo',
      dir: exampleDir('sysinfo'),
      version: '0.3.0',
      platforms: [
        { os: 'linux', arch: 'x64' },
        { os: 'darwin', arch: 'arm64' },
        { os: 'win32', arch: 'x64' },
      ],
      owner: 'acme',
      repository: 'acme/sysinfo-mcp',
    },
    {
      kind: 'bundle',
      name: '@globex/weather',
      dir: exampleDir('weather'),
      version: '2.0.0',
      platforms: [{ os: 'any', arch: 'any' }],
      owner: 'globex',
      repository: 'globex/weather-mcp',
    },
    {
      kind: 'skill',
      name: '@acme/release-notes',
      dir: exampleDir('skills/release-notes'),
      version: '1.0.0',
      platforms: [{ os: 'any', arch: 'any' }],
      owner: 'acme',
      repository: 'acme/skills',
    },
  ];
}

const PACK_OSES: readonly string[] = ['darwin', 'linux', 'win32'];


function exampleDir(relative: string): string {
  return fileURLToPath(new URL(`../../examples/${relative}`, import.meta.url));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`Cannot read ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(value)) throw new Error(`${path} must hold a JSON object.`);
  return value;
}

/**
 * Validates against the schema of the manifest's own version, as the packer does, but reports
 * why: the packer only returns false (and prints the reasons unless silent).
 */
function assertValidManifest(manifest: Record<string, unknown>, dir: string): void {
  const version = manifest.manifest_version ?? manifest.dxt_version;
  if (typeof version !== 'string' || !Object.hasOwn(MANIFEST_SCHEMAS, version)) {
    const known = Object.keys(MANIFEST_SCHEMAS).join(', ');
    throw new Error(`The manifest in ${dir} has manifest_version ${JSON.stringify(version)}; expected one of ${known}.`);
  }
  const result = MANIFEST_SCHEMAS[version as keyof typeof MANIFEST_SCHEMAS].safeParse(manifest);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new Error(`The manifest in ${dir} is not valid for manifest_version ${version}: ${issues.join('; ')}`);
  }
}

/**
 * Runs `fn` with `console.log` silenced: the packer's manifest validation prints
 * "Manifest schema validation passes!" even with `silent: true`. The packer runs synchronously up
 * to its result once a manifest exists, so log is restored before any other code can run.
 */
function withoutConsoleLog<T>(fn: () => T): T {
  const log = console.log;
  console.log = () => {};
  try {
    return fn();
  } finally {
    console.log = log;
  }
}

function digest(file: string): { sha256: string; size: number } {
  const data = readFileSync(file);
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}
