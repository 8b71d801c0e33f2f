/**
 * The artifact's GitHub attestation, at announce: `GET {api}/repos/{repository}/attestations/sha256:{hex}`
 * (GitHub's attestations API, the API host only, every hop checked, bounded in time and size)
 * lists the Sigstore bundles the repository's workflows made for these bytes; the first that
 * verifies (`attestation/verify-attestation.ts`: Sigstore's trust root, this digest, and a
 * certificate naming the token's repository, repository id, commit and workflows) is kept.
 *
 * - None listed (404, or an empty list): the announce goes on without one (publishers adopt
 *   attestations over time; the version's level says "registry-verified token only").
 * - Some listed, none verifying: refused, `attestation_invalid` with each one's reason, nothing
 *   written. An attestation that does not match is a sign of something wrong, never ignored.
 * - The API unreachable or answering an error: refused, `upstream_unavailable` (retry), rather
 *   than silently publishing an immutable version without the attestation it has.
 *
 * @module
 */
import type { TrustMaterial } from '@sigstore/verify';
import { ShelfError } from '../core/errors.ts';
import { gitHubGet, type GitHubApiOptions } from './github-api.ts';
import { verifyAttestation, type ExpectedIdentity, type VerifiedAttestation } from '../attestation/verify-attestation.ts';

/** Largest attestations listing read, bytes (a bundle is a few KiB). */
export const MAX_ATTESTATIONS_BYTES = 4 * 1024 * 1024;

/** Lists the Sigstore bundles (JSON) GitHub holds for a digest in a repository. */
export type AttestationLister = (repository: string, sha256: string) => Promise<unknown[]>;

/** Options of {@link createAttestationLister}: where GitHub's API is, its token, the time limit. */
export type AttestationListerOptions = GitHubApiOptions;

/**
 * The production lister: GitHub's attestations API.
 *
 * @throws (from the lister) ShelfError `upstream_unavailable`, `upstream_untrusted_host`, `upstream_too_large`
 */
export function createAttestationLister(options: AttestationListerOptions): AttestationLister {
  const get = gitHubGet(options);
  return async (repository, sha256) => {
    const what = `the attestations of ${repository} for sha256:${sha256}`;
    const answer = await get(repository, { path: `/attestations/sha256:${sha256}`, accept: 'application/vnd.github+json', maxBytes: MAX_ATTESTATIONS_BYTES, what });
    if (answer.status === 404) return [];
    if (answer.body === null) throw new ShelfError('upstream_unavailable', `GitHub answered ${answer.status} for ${what}; retry later.`);
    let parsed: { attestations?: Array<{ bundle?: unknown }> };
    try {
      parsed = JSON.parse(new TextDecoder().decode(answer.body));
    } catch {
      throw new ShelfError('upstream_unavailable', `GitHub answered ${what} with something that is not JSON.`);
    }
    return Array.isArray(parsed.attestations) ? parsed.attestations.map((a) => a?.bundle).filter((b) => b !== undefined && b !== null) : [];
  };
}

/** An attestation that verified: its bundle as it will be stored, and what it proves. */
export interface FoundAttestation {
  bundle: Uint8Array;
  verified: VerifiedAttestation;
}

/**
 * The first attestation of the digest that verifies, or null when the repository has none.
 *
 * @throws ShelfError `attestation_invalid` when there are some and none verifies
 */
export async function findAttestation(list: AttestationLister, sha256: string, expected: ExpectedIdentity, trustMaterial?: TrustMaterial): Promise<FoundAttestation | null> {
  const bundles = await list(expected.repository, sha256);
  if (bundles.length === 0) return null;
  const reasons: string[] = [];
  for (const bundle of bundles) {
    try {
      const verified = verifyAttestation(bundle, { sha256, expected, ...(trustMaterial ? { trustMaterial } : {}) });
      return { bundle: new TextEncoder().encode(`${JSON.stringify(bundle)}\n`), verified };
    } catch (error) {
      if (!(error instanceof ShelfError) || error.code !== 'attestation_invalid') throw error;
      reasons.push(...((error.details as { reasons?: string[] } | undefined)?.reasons ?? [error.message]));
    }
  }
  throw new ShelfError('attestation_invalid', `None of the ${bundles.length} attestation(s) GitHub holds for sha256:${sha256} in ${expected.repository} verifies: ${reasons.join('; ')}`, { reasons });
}
