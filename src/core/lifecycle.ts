/**
 * What a package's and its versions' statuses mean to a reader: which status applies to a
 * version (its own, or its package's), which versions ranges and `latest` may choose, and the
 * words every reader shows. The CLI, the web pages and the indexer share these.
 *
 * - **deprecated** (a version, or the whole package): resolves as before, with a warning.
 * - **yanked** (a version): never `latest`, never chosen for a range; still downloadable by its
 *   exact version, with a warning, so lockfiles keep working.
 * - **removed** (a version or the whole package, by the registry operator): its bytes are gone
 *   and its name cannot be announced again.
 *
 * Pure module: no Node APIs (the web page imports it too).
 *
 * @module
 */
import type { PackageDocument, VersionStatus, VersionSummary } from './schemas.ts';

/** How a removed package or version is described, followed by the operator's reason. */
export const REMOVED_BY_OPERATOR = 'removed by the registry operator';

/** The status that applies to one version, and where it comes from. */
export interface EffectiveStatus {
  status: VersionStatus;
  /** The publisher's message, or the operator's reason. */
  message?: string;
  /** When it was set. */
  changed_at?: string;
  /** Whether the version's own status applies, or its package's. */
  source: 'version' | 'package';
}

/**
 * The status a reader acts on for `version` of `pkg`: the package's removal, else the version's
 * own status when it is not active, else the package's deprecation, else active. A version the
 * package does not list is `active` (the caller reports it missing).
 */
export function effectiveStatus(pkg: Pick<PackageDocument, 'status' | 'status_message' | 'status_changed_at' | 'versions'>, version: string): EffectiveStatus {
  if (pkg.status === 'removed') return withMessage({ status: 'removed', source: 'package' }, pkg);
  const entry = pkg.versions.find((v) => v.version === version);
  if (entry && entry.status !== 'active') return withMessage({ status: entry.status, source: 'version' }, entry);
  if (pkg.status === 'deprecated') return withMessage({ status: 'deprecated', source: 'package' }, pkg);
  return { status: 'active', source: 'version' };
}

function withMessage(base: EffectiveStatus, from: { status_message?: string | undefined; status_changed_at?: string | undefined }): EffectiveStatus {
  const out = { ...base };
  if (from.status_message !== undefined) out.message = from.status_message;
  if (from.status_changed_at !== undefined) out.changed_at = from.status_changed_at;
  return out;
}

/** Whether `latest` and ranges may choose a version: neither yanked nor removed. */
export function isSelectable(v: Pick<VersionSummary, 'status'>): boolean {
  return v.status !== 'yanked' && v.status !== 'removed';
}

/**
 * The sentence a reader prints about a status that is not active, or null for active:
 * `@acme/echo@1.2.0 is yanked: Corrupts files on Windows; use 1.2.1.`,
 * `@acme/echo is deprecated: moved to @acme/echo-v2`,
 * `@acme/echo@1.2.0 was removed by the registry operator: malware`.
 *
 * @param name - `@scope/name`.
 * @param version - The version the status is about, or null for the package.
 */
export function statusNotice(name: string, version: string | null, s: EffectiveStatus): string | null {
  if (s.status === 'active') return null;
  const subject = s.source === 'package' || version === null ? name : `${name}@${version}`;
  const reason = s.message ? `: ${s.message}` : '';
  if (s.status === 'removed') return `${subject} was ${REMOVED_BY_OPERATOR}${reason || '.'}`;
  return `${subject} is ${s.status}${reason || '.'}`;
}
