/**
 * Agent-skills discovery (v0.2) indexes, so that `npx skills add https://<registry>/@scope`
 * installs a publisher's skills and `…/@scope/name` one skill: per scope, and per skill, an index
 * naming the latest version's derived archive (`skills-archive.ts`) with its digest. Their keys
 * are `core/paths.ts`'s `skillsDiscovery*Key`; they are served at
 * `/@scope[/name]/.well-known/agent-skills/index.json` (`src/edge/viewer-request.ts`), so their
 * URLs are relative to those addresses, which keeps them right under any base URL.
 *
 * The registry's root serves no index: skill names are unique within a scope only, and the CLI
 * installs a skill into a folder named after it, so a root index could list one skill per name
 * at most, and which one would change as publishers come and go. Install from a scope instead.
 *
 * Pure module.
 *
 * @module
 */
import * as z from 'zod';
import { isSelectable } from '../core/lifecycle.ts';
import { compareVersionsDesc, type PackageName } from '../core/names.ts';
import type { PackageDocument, VersionDocument } from '../core/schemas.ts';

/** The discovery schema the entries follow. */
export const DISCOVERY_SCHEMA = 'https://schemas.agentskills.io/discovery/0.2.0/schema.json';

/** One entry of a discovery index. */
export interface DiscoveryEntry {
  name: string;
  type: 'archive';
  description: string;
  url: string;
  digest: string;
}

/** A discovery index. */
export interface DiscoveryIndex {
  $schema: typeof DISCOVERY_SCHEMA;
  skills: DiscoveryEntry[];
}

/**
 * The version a discovery index offers: `latest`, else the highest version (a skill with
 * prereleases only); never a yanked or removed one (`core/lifecycle.ts`), so a skill whose every
 * version is yanked, or that was taken down, is offered nowhere. A deprecated one is still offered.
 */
export function discoveryVersion(doc: PackageDocument): string | null {
  if (doc.status === 'removed') return null;
  return doc.latest ?? doc.versions.filter(isSelectable).map((v) => v.version).sort(compareVersionsDesc)[0] ?? null;
}

/**
 * A skill's entry, from the version a discovery index offers; null when that version has no
 * derived archive (a record written before there were any: `shelf rebuild` derives it).
 *
 * @param depth - How many folders below the registry's root the index is served
 *   (`@scope/.well-known/agent-skills/`: 3; `@scope/name/.well-known/agent-skills/`: 4).
 */
export function discoveryEntry(pkg: PackageName, version: VersionDocument, depth: number): DiscoveryEntry | null {
  const archive = version.artifacts[0]?.skills_archive;
  if (!archive) return null;
  const skill = (version.skill ?? {}) as Record<string, unknown>;
  return {
    name: pkg.name,
    type: 'archive',
    description: typeof skill.description === 'string' && skill.description ? skill.description : pkg.full,
    url: `${'../'.repeat(depth)}${archive.path}`,
    digest: `sha256:${archive.sha256}`,
  };
}

/** Depth of the folder a scope's index is served from. */
export const SCOPE_INDEX_DEPTH = 3;
/** Depth of the folder a skill's own index is served from. */
export const PACKAGE_INDEX_DEPTH = 4;

/** An index of `entries`, sorted by name. */
export function discoveryIndex(entries: readonly DiscoveryEntry[]): DiscoveryIndex {
  return { $schema: DISCOVERY_SCHEMA, skills: [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
}

/** A scope's index with one skill's entry replaced (null: removed). Entries are re-based to the scope's depth. */
export function withSkill(index: DiscoveryIndex | null, entry: DiscoveryEntry | null, name: string): DiscoveryIndex {
  return discoveryIndex([...(index?.skills ?? []).filter((e) => e.name !== name), ...(entry ? [entry] : [])]);
}

/** The schema of an index, for `index-schema/`. */
export const DiscoveryIndexDocumentSchema = z
  .object({
    $schema: z.literal(DISCOVERY_SCHEMA),
    skills: z.array(
      z.object({
        name: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/).max(64),
        type: z.literal('archive'),
        description: z.string().min(1).max(1024),
        url: z.string().describe("The derived archive, relative to the index's address"),
        digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
      }),
    ),
  })
  .meta({ title: 'Agent-skills discovery index (v0.2)' });
