/**
 * Validates what a package says about itself: a bundle's manifest.json against the schemas that
 * `@anthropic-ai/mcpb` ships (not a copy of them), a skill's SKILL.md front matter against the
 * skill format; and checks that the name and version in the announce body match it.
 *
 * @module
 */
import { VERSIONED_MANIFEST_SCHEMAS } from '@anthropic-ai/mcpb/schemas';
import { ShelfError } from '../core/errors.ts';
import type { PackageName, Version } from '../core/names.ts';
import { SkillFrontMatterSchema } from '../core/schemas.ts';

type ManifestVersion = keyof typeof VERSIONED_MANIFEST_SCHEMAS;

/**
 * Validates a bundle manifest. `manifest.name` must be the package name, either in full
 * (`@scope/name`, as mpak's bundles do) or without the scope; `manifest.version` must equal the
 * announced version.
 *
 * @throws ShelfError `invalid_manifest` | `manifest_mismatch`
 */
export function validateManifest(manifest: Record<string, unknown>, pkg: PackageName, version: Version): Record<string, unknown> {
  const declared = manifest.manifest_version ?? manifest.dxt_version;
  if (typeof declared !== 'string' || !Object.hasOwn(VERSIONED_MANIFEST_SCHEMAS, declared)) {
    throw new ShelfError(
      'invalid_manifest',
      `manifest_version must be one of ${Object.keys(VERSIONED_MANIFEST_SCHEMAS).join(', ')}, got ${JSON.stringify(declared ?? null)}.`,
    );
  }
  const result = VERSIONED_MANIFEST_SCHEMAS[declared as ManifestVersion].safeParse(manifest);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ShelfError('invalid_manifest', `The manifest is not a valid MCPB ${declared} manifest: ${issues[0]?.path} ${issues[0]?.message}`, { issues });
  }
  const name = typeof manifest.name === 'string' ? manifest.name.toLowerCase() : '';
  if (name !== pkg.full && name !== pkg.name) {
    throw new ShelfError('manifest_mismatch', `The manifest name "${String(manifest.name)}" is not ${pkg.full}.`);
  }
  if (manifest.version !== version) {
    throw new ShelfError('manifest_mismatch', `The manifest version "${String(manifest.version)}" is not ${version}.`);
  }
  return manifest;
}

/**
 * Validates skill front matter. Its `name` must be the package's name without the scope, and its
 * `metadata.version`, when present, the announced version.
 *
 * @throws ShelfError `invalid_skill` | `manifest_mismatch`
 */
export function validateSkill(frontMatter: Record<string, unknown>, pkg: PackageName, version: Version): Record<string, unknown> {
  const result = SkillFrontMatterSchema.safeParse(frontMatter);
  if (!result.success) {
    const issues = result.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new ShelfError('invalid_skill', `The skill front matter is not valid: ${issues[0]?.path} ${issues[0]?.message}`, { issues });
  }
  if (result.data.name !== pkg.name) {
    throw new ShelfError('manifest_mismatch', `The skill name "${result.data.name}" is not ${pkg.name}.`);
  }
  const declared = result.data.metadata?.version;
  if (declared !== undefined && declared !== version) {
    throw new ShelfError('manifest_mismatch', `The skill metadata.version "${declared}" is not ${version}.`);
  }
  return frontMatter;
}
