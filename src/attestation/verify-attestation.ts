/**
 * Verifying a GitHub artifact attestation (a Sigstore bundle, as `actions/attest-build-provenance`
 * makes one) without trusting anyone but Sigstore's trust root: used by the registry at announce
 * and by `shelf bundle verify` on the user's machine. Node only (`@sigstore/verify`).
 *
 * What is checked, in order:
 * 1. The bundle parses and is a DSSE envelope (an in-toto statement) signed by a certificate.
 * 2. Sigstore's checks (`@sigstore/verify`): the certificate chains to a Fulcio CA of the trust
 *    root and was valid when the signature was made (the time a transparency log entry or a
 *    timestamp authority of the root vouches for), it carries a certificate transparency proof,
 *    the signature is by its key, and the log entry is by a log of the root.
 * 3. The statement's subject carries the artifact's sha256 (the attestation is about these bytes).
 * 4. The certificate's identity is the expected one: issued for GitHub Actions' OIDC issuer,
 *    from the source repository (URI and numeric id), at the commit, by the workflow (the job
 *    workflow the signing certificate names, and the calling workflow) the registry recorded.
 *
 * Every refusal is `attestation_invalid` with the reason (`details.reasons`).
 *
 * @module
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer, type TrustMaterial } from '@sigstore/verify';
import { ShelfError } from '../core/errors.ts';
import PUBLIC_GOOD_ROOT from './public-good-trusted-root.json' with { type: 'json' };

/** GitHub Actions' OIDC issuer: the only issuer an attestation's certificate may name. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** Fulcio's certificate extensions for GitHub workflow identities (OID 1.3.6.1.4.1.57264.1.x). */
const OID = {
  issuer: '1.3.6.1.4.1.57264.1.8',
  buildSignerUri: '1.3.6.1.4.1.57264.1.9',
  sourceRepositoryUri: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryId: '1.3.6.1.4.1.57264.1.15',
  buildConfigUri: '1.3.6.1.4.1.57264.1.18',
} as const;

/** Who must have signed: what the registry verified of the announce token. */
export interface ExpectedIdentity {
  /** `owner/repo`. */
  repository: string;
  /** GitHub's numeric repository id, as a string. */
  repository_id: string;
  /** The commit, 40 hex. */
  sha: string;
  /** `owner/repo/.github/workflows/x.yml@ref`: the workflow of the run. */
  workflow_ref?: string | undefined;
  /** The job's workflow (a reusable one, or the same as `workflow_ref`): what the certificate's SAN names. */
  job_workflow_ref?: string | undefined;
}

/** What a verified attestation proves. */
export interface VerifiedAttestation {
  predicate_type: string;
  /** The certificate's subject alternative name: the workflow that signed. */
  certificate_identity: string;
  certificate_issuer: string;
  /** The signing time Sigstore vouched for (ISO 8601). */
  signed_at: string;
}

/**
 * The trust material of Sigstore's public-good instance (Fulcio, Rekor, CT log), as its TUF
 * repository published it (`trusted_root.json`, copied from `@sigstore/tuf`'s seeds; it changes
 * only when Sigstore rotates keys, and then a new version of this package carries the new one).
 */
export function publicGoodTrustMaterial(): TrustMaterial {
  return trustMaterialFrom(PUBLIC_GOOD_ROOT);
}

/** Trust material from a `trusted_root.json` (protobuf JSON), e.g. a test root. */
export function trustMaterialFrom(trustedRootJson: unknown): TrustMaterial {
  return toTrustMaterial(TrustedRoot.fromJSON(trustedRootJson));
}

/** Options of {@link verifyAttestation}. */
export interface VerifyAttestationOptions {
  /** The artifact's sha256 the statement must name. */
  sha256: string;
  expected: ExpectedIdentity;
  /** Default {@link publicGoodTrustMaterial}. */
  trustMaterial?: TrustMaterial;
}

/**
 * Verifies one Sigstore bundle (JSON-parsed).
 *
 * @throws ShelfError `attestation_invalid` naming the reason
 */
export function verifyAttestation(json: unknown, options: VerifyAttestationOptions): VerifiedAttestation {
  const fail = (reason: string): never => {
    throw new ShelfError('attestation_invalid', `The attestation does not verify: ${reason}`, { reasons: [reason] });
  };
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(json);
  } catch (error) {
    return fail(`not a Sigstore bundle (${(error as Error).message})`);
  }
  if (bundle.content.$case !== 'dsseEnvelope') return fail('not an attestation (a DSSE envelope)');
  const envelope = bundle.content.dsseEnvelope;

  // 2. Sigstore: chain, validity at the signing time, transparency, signature.
  let signer: Signer;
  try {
    const verifier = new Verifier(options.trustMaterial ?? publicGoodTrustMaterial(), { tlogThreshold: 1, ctlogThreshold: 1 });
    signer = verifier.verify(toSignedEntity(bundle), { extensions: { issuer: GITHUB_ACTIONS_ISSUER } });
  } catch (error) {
    return fail(`${(error as { code?: string }).code ?? 'error'}: ${(error as Error).message}`);
  }

  // 3. About these bytes.
  let statement: { _type?: unknown; subject?: Array<{ digest?: Record<string, unknown> }>; predicateType?: unknown };
  try {
    statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
  } catch {
    return fail('its statement is not JSON');
  }
  if (envelope.payloadType !== 'application/vnd.in-toto+json' || typeof statement.predicateType !== 'string') return fail('its payload is not an in-toto statement');
  const subjects = Array.isArray(statement.subject) ? statement.subject : [];
  if (!subjects.some((s) => s?.digest?.sha256 === options.sha256)) return fail(`its subject is not the artifact (sha256 ${options.sha256})`);

  // 4. From the expected repository, commit and workflow.
  const identity = signer.identity ?? {};
  const ext = (oid: string): string | undefined => {
    const found = identity.oids?.find((o) => o.oid?.id.join('.') === oid);
    return found ? derString(found.value) : undefined;
  };
  const { expected } = options;
  const checks: Array<[string, string | undefined, string | undefined]> = [
    ['source repository', ext(OID.sourceRepositoryUri), `https://github.com/${expected.repository}`],
    ['source repository id', ext(OID.sourceRepositoryId), expected.repository_id],
    ['commit', ext(OID.sourceRepositoryDigest), expected.sha],
  ];
  if (expected.job_workflow_ref) {
    checks.push(['signing workflow', identity.subjectAlternativeName, `https://github.com/${expected.job_workflow_ref}`]);
    checks.push(['build signer', ext(OID.buildSignerUri), `https://github.com/${expected.job_workflow_ref}`]);
  }
  if (expected.workflow_ref) checks.push(['workflow', ext(OID.buildConfigUri), `https://github.com/${expected.workflow_ref}`]);
  for (const [what, got, want] of checks) {
    if (got !== want) fail(`its certificate names ${what} ${got === undefined ? '(none)' : JSON.stringify(got)}, not ${JSON.stringify(want)}`);
  }
  const signedAt = bundle.verificationMaterial.tlogEntries[0]?.integratedTime;
  return {
    predicate_type: statement.predicateType,
    certificate_identity: identity.subjectAlternativeName ?? '',
    certificate_issuer: identity.extensions?.issuer ?? GITHUB_ACTIONS_ISSUER,
    signed_at: signedAt ? new Date(Number(signedAt) * 1000).toISOString() : new Date(0).toISOString(),
  };
}

/** A Fulcio extension's value: a DER UTF8String (v2 extensions), or raw text (v1). */
function derString(value: Buffer): string {
  if (value[0] === 0x0c && value.length >= 2) {
    let length = value[1]!;
    let at = 2;
    if (length & 0x80) {
      const n = length & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = (length << 8) | value[at++]!;
    }
    return value.subarray(at, at + length).toString('utf8');
  }
  return value.toString('utf8');
}
