/**
 * Who may write what (trust rules 2 and 3, and what the lifecycle blocks), shared by every write
 * of the function: an announce and a status change are authorised the same way. The token itself
 * (trust rule 1) is verified by `verify-token.ts`; its one use by `token-use.ts`.
 *
 * - Rule 2: the package's scope is the token's `repository_owner`, lower-cased. No exceptions.
 * - Rule 3: the scope's pinned owner id, and the package's pinned repository id, are the token's:
 *   only the repository that publishes a package may announce to it or change its status.
 * - A package or version the operator took down cannot be written to until the takedown is
 *   lifted (`410 package_removed` / `version_removed`).
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import type { Kind, PackageName } from '../core/names.ts';
import { packageKey, scopeKey } from '../core/paths.ts';
import { PackageDocumentSchema, ScopeDocumentSchema, type LifecycleRecord, type PackageDocument, type Provenance } from '../core/schemas.ts';
import { removedVersion } from '../indexer/lifecycle.ts';
import { readJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { TokenClaims } from './verify-token.ts';

/**
 * Extracts the token from `Bearer <token>`.
 *
 * @throws ShelfError `missing_token`
 */
export function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
  if (!match) throw new ShelfError('missing_token');
  return match[1]!;
}

/**
 * Trust rule 2: the scope is the token's repository owner, compared lower-cased.
 *
 * @throws ShelfError `scope_mismatch`
 */
export function checkScope(pkg: PackageName, claims: TokenClaims): void {
  const owner = claims.repository_owner.toLowerCase();
  if (pkg.scope !== owner) {
    throw new ShelfError('scope_mismatch', `The scope @${pkg.scope} does not match the token's repository_owner "${claims.repository_owner}".`);
  }
}

/**
 * Trust rule 3, read side: refuses early when a recorded pin disagrees with the token.
 *
 * @returns The package document, when the package has one (it is written at the first announce).
 * @throws ShelfError `scope_owner_mismatch`, `package_repository_mismatch`
 */
export async function checkPins(store: ObjectStore, kind: Kind, pkg: PackageName, claims: TokenClaims): Promise<PackageDocument | null> {
  const [scope, doc] = await Promise.all([readJson(store, scopeKey(pkg.scope), ScopeDocumentSchema), readJson(store, packageKey(kind, pkg), PackageDocumentSchema)]);
  if (scope && scope.value.owner_id !== claims.repository_owner_id) {
    throw new ShelfError(
      'scope_owner_mismatch',
      `@${pkg.scope} is pinned to GitHub owner id ${scope.value.owner_id}; the token's repository_owner_id is ${claims.repository_owner_id}.`,
    );
  }
  if (doc && doc.value.repository.id !== claims.repository_id) {
    throw new ShelfError(
      'package_repository_mismatch',
      `${pkg.full} is pinned to ${doc.value.repository.name} (id ${doc.value.repository.id}); the token is from ${claims.repository} (id ${claims.repository_id}).`,
    );
  }
  return doc?.value ?? null;
}

/**
 * Refuses a write to a package, or to a version of it, that the operator took down.
 *
 * @param version - The version written to, or null for the package as a whole.
 * @throws ShelfError `package_removed`, `version_removed`
 */
export function checkNotRemoved(record: LifecycleRecord | null, pkg: PackageName, version: string | null): void {
  if (record?.removed) {
    throw new ShelfError('package_removed', `${pkg.full} was removed by the registry operator (${record.removed.reason}); its name cannot be used.`, {
      reason: record.removed.reason,
      removed_at: record.removed.removed_at,
    });
  }
  const tombstone = version === null ? undefined : removedVersion(record, version);
  if (tombstone) {
    throw new ShelfError(
      'version_removed',
      `${pkg.full}@${version} was removed by the registry operator (${tombstone.reason}); the version cannot be published again. Publish a new version.`,
      { reason: tombstone.reason, removed_at: tombstone.removed_at },
    );
  }
}

/**
 * The `400 invalid_body` of a request body its schema refused: the first issue in the message,
 * up to 20 in `details.issues`.
 *
 * @param what - What the body is, for the message: `announce`, `status`.
 */
export function invalidBody(what: string, error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): ShelfError {
  const issues = error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const first = issues[0];
  return new ShelfError('invalid_body', `Invalid ${what} body: ${first?.path || '(root)'}: ${first?.message}`, { issues });
}

/** Trust rule 5: what the registry records about the workflow run behind a verified token. */
export function provenanceOf(claims: TokenClaims): Provenance {
  const p: Provenance = {
    provider: 'github-actions',
    verified: true,
    issuer: claims.issuer,
    repository: claims.repository,
    repository_id: claims.repository_id,
    owner: claims.repository_owner,
    owner_id: claims.repository_owner_id,
    sha: claims.sha,
    issued_at: claims.issued_at,
  };
  for (const key of ['workflow_ref', 'job_workflow_ref', 'ref', 'event_name', 'run_id', 'run_attempt'] as const) {
    if (claims[key] !== undefined) p[key] = claims[key];
  }
  return p;
}
