/**
 * One token, one write (the replay rule). A GitHub Actions token is valid for minutes and names
 * a repository, not an artifact: without this, one token could publish any asset of that
 * repository's releases, under any platform and any version, or yank any version of its
 * packages, until it expires. So the first write a token is used for — an announce, or a status
 * change — is recorded, create-only, in the private area
 * (`private/used-tokens/{exp}-{sha256(iss, jti)}.json`), and the token may then only repeat that
 * same write (an announce's kind, package, version, platform and sha256; a status change's kind,
 * package, version, status and message): an identical retry stays idempotent, anything else is
 * `401 token_replayed`. PyPI's trusted publishing refuses a reused `jti` outright; Shelf allows
 * the identical retry because `shelf announce` and `shelf yank` retry with their one token.
 *
 * Records are kept until their token has expired (plus the verifier's clock tolerance and a
 * margin), then deleted by a sweep after a successful announce (at most once a minute per
 * process): at most one record per announce of the last hour (tokens valid longer are refused).
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ShelfError } from '../core/errors.ts';
import type { Kind, PackageName, Platform, Version } from '../core/names.ts';
import { usedTokenExpiry, usedTokenKey, usedTokensPrefix } from '../core/paths.ts';
import { UsedTokenSchema, type PublisherStatus, type UsedToken } from '../core/schemas.ts';
import { createJson, readJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { TokenClaims } from './verify-token.ts';

/** Seconds a record outlives its token: the verifier's 30 s clock tolerance, and a margin. */
export const USED_TOKEN_GRACE_SECONDS = 120;
/** Least time between two sweeps of one store by one process, ms: a sweep lists every live record. */
export const SWEEP_INTERVAL_MS = 60_000;

/** When each store was last swept by this process (a Lambda container, a server). */
const lastSweep = new WeakMap<ObjectStore, number>();

/** The write a token is bound to: an announce, or a status change. */
export type TokenUse = AnnounceUse | StatusUse;

/** An announce: one artifact of one version. */
export interface AnnounceUse {
  op: 'announce';
  kind: Kind;
  pkg: PackageName;
  version: Version;
  platform: Platform;
  sha256: string;
}

/** A status change of a package (`version` null) or a version. */
export interface StatusUse {
  op: 'status';
  kind: Kind;
  pkg: PackageName;
  version: Version | null;
  status: PublisherStatus;
  message: string | null;
}

/**
 * Read-only check, before any work: refuses a token already bound to another announce.
 *
 * @throws ShelfError `token_replayed`
 */
export async function checkTokenUse(store: ObjectStore, claims: TokenClaims, use: TokenUse): Promise<void> {
  const found = await readJson(store, keyOf(claims), UsedTokenSchema);
  if (found) assertSameUse(found.value, use);
}

/**
 * Binds the token to this announce: creates its record (create-only), or, when one exists (a
 * retry, or a concurrent announce with the same token), checks that it names this announce.
 *
 * @throws ShelfError `token_replayed`
 */
export async function recordTokenUse(store: ObjectStore, claims: TokenClaims, use: TokenUse, now: string): Promise<void> {
  const key = keyOf(claims);
  const record: UsedToken = {
    issuer: claims.issuer,
    jti: claims.jti,
    expires_at: new Date(claims.expires_at * 1000).toISOString(),
    used_at: now,
    ...(use.op === 'announce'
      ? { announce: { kind: use.kind, package: use.pkg.full, version: use.version, os: use.platform.os, arch: use.platform.arch, sha256: use.sha256 } }
      : { status: { kind: use.kind, package: use.pkg.full, version: use.version, status: use.status, message: use.message } }),
  };
  if (await createJson(store, key, record)) return;
  const found = await readJson(store, key, UsedTokenSchema);
  if (found) assertSameUse(found.value, use);
}

/**
 * Deletes the records of tokens that expired more than {@link USED_TOKEN_GRACE_SECONDS} ago. The
 * keys list in expiry order, so it stops at the first live one. Best effort: a failure is left for
 * the next sweep.
 *
 * @returns How many records were deleted.
 */
export async function sweepUsedTokens(store: ObjectStore, now: Date): Promise<number> {
  const cutoff = Math.floor(now.getTime() / 1000) - USED_TOKEN_GRACE_SECONDS;
  let deleted = 0;
  try {
    for (const { key } of await store.list(usedTokensPrefix())) {
      const expiry = usedTokenExpiry(key);
      if (expiry === null) continue;
      if (expiry >= cutoff) break;
      await store.delete(key);
      deleted++;
    }
  } catch {
    // The next successful announce sweeps again.
  }
  return deleted;
}

/**
 * {@link sweepUsedTokens}, at most once per {@link SWEEP_INTERVAL_MS} per store in this process,
 * so a busy registry lists the records once a minute rather than on every announce.
 */
export async function sweepUsedTokensNow(store: ObjectStore, now: Date): Promise<void> {
  const last = lastSweep.get(store);
  if (last !== undefined && Math.abs(now.getTime() - last) < SWEEP_INTERVAL_MS) return;
  lastSweep.set(store, now.getTime());
  await sweepUsedTokens(store, now);
}

function keyOf(claims: TokenClaims): string {
  const hash = createHash('sha256').update(`${claims.issuer}\n${claims.jti}`).digest('hex');
  return usedTokenKey(claims.expires_at, hash);
}

function assertSameUse(record: UsedToken, use: TokenUse): void {
  const a = record.announce;
  const st = record.status;
  const same =
    use.op === 'announce'
      ? a !== undefined && a.kind === use.kind && a.package === use.pkg.full && a.version === use.version && a.os === use.platform.os && a.arch === use.platform.arch && a.sha256 === use.sha256
      : st !== undefined && st.kind === use.kind && st.package === use.pkg.full && st.version === use.version && st.status === use.status && st.message === use.message;
  if (same) return;
  const described = a
    ? `announce ${a.kind} ${a.package}@${a.version} (${a.os}-${a.arch}, sha256 ${a.sha256})`
    : `set ${st!.kind} ${st!.package}${st!.version === null ? '' : `@${st!.version}`} ${st!.status}`;
  throw new ShelfError(
    'token_replayed',
    `This token was already used to ${described}; it may only repeat that. Request a new token for each announce or status change.`,
    { used_for: (a ?? st)! },
  );
}
