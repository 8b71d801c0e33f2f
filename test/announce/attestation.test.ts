/**
 * Sigstore attestations at announce (issue 30, part 2), offline: `@sigstore/mock`'s Fulcio and
 * Rekor behind loopback servers (`test/fakes/fake-sigstore.ts`), a trust root naming them
 * (`SHELF_SIGSTORE_TRUSTED_ROOT`), and the fake GitHub's attestations API listing the bundles.
 * A valid attestation is verified, stored beside the artifact and recorded in the signed
 * statement; one for another digest, from another repository or workflow, with an expired or
 * untrusted certificate, or tampered with, refuses the announce (`attestation_invalid`), writing
 * nothing; none at all is accepted; the API failing is a 503, writing nothing.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { versionKey } from '../../src/core/paths.ts';
import { VersionDocumentSchema } from '../../src/core/schemas.ts';
import { trustMaterialFrom, verifyAttestation } from '../../src/attestation/verify-attestation.ts';
import { readKeyList } from '../../src/signing/key-list.ts';
import { listedKeys, verifyArtifact } from '../../src/signing/trust.ts';
import { readJson } from '../../src/store/json-documents.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { startFakeSigstore, type AttestClaims, type FakeSigstore } from '../fakes/fake-sigstore.ts';

const echo = parsePackageName('@acme/echo');
let reg: TestRegistry;
let sigstore: FakeSigstore;
let version = 0;

beforeAll(async () => {
  sigstore = await startFakeSigstore();
  const rootFile = join(process.env.TMPDIR ?? '/tmp', `shelf-trusted-root-${process.pid}-${Date.now()}.json`);
  await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
  reg = await startTestRegistry({ env: { SHELF_SIGSTORE_TRUSTED_ROOT: rootFile } });
}, 60_000);
afterAll(async () => {
  await reg?.close();
  await sigstore?.close();
});

/** The identity the fake GitHub's tokens carry for a repository (`test/fakes/fake-github.ts`). */
function identityOf(repository: string): AttestClaims {
  const claims = claimsFor(repository);
  return {
    repository,
    repository_id: claims.repository_id,
    sha: 'a'.repeat(40),
    workflow_ref: `${repository}/.github/workflows/release.yml@refs/tags/v1`,
    job_workflow_ref: `${repository}/.github/workflows/release.yml@refs/tags/v1`,
  };
}

async function next(): Promise<PreparedArtifact> {
  return prepareBundle(reg, { version: `1.0.${version++}` });
}

async function expectRefused(p: PreparedArtifact, reason: RegExp) {
  const before = await reg.snapshot();
  const res = await announcePrepared(reg, p);
  expect(res.status, JSON.stringify(res.json)).toBe(422);
  expect(res.json.error.code).toBe('attestation_invalid');
  expect(res.json.error.details.reasons.join(' ')).toMatch(reason);
  expect(await reg.snapshot()).toEqual(before);
}

describe('an announce with a GitHub artifact attestation', () => {
  it('verifies it, stores its bundle beside the artifact, and records it in the signed statement', async () => {
    const p = await next();
    const identity = identityOf(p.repository);
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest(p.sha256, identity));
    const res = await announcePrepared(reg, p);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const doc = (await readJson(reg.store, versionKey('bundle', echo, parseVersion(p.body.version)), VersionDocumentSchema))!.value;
    const artifact = doc.artifacts[0]!;
    expect(artifact.attestation).toMatchObject({
      path: `${artifact.path}.sigstore.json`,
      predicate_type: 'https://slsa.dev/provenance/v1',
      certificate_identity: `https://github.com/${identity.job_workflow_ref}`,
      certificate_issuer: 'https://token.actions.githubusercontent.com',
    });
    const stored = (await reg.store.get(artifact.attestation!.path))!;
    expect(stored.cacheControl).toContain('immutable');
    expect(stored.body.byteLength).toBe(artifact.attestation!.size);
    // The stored bundle verifies on its own, and the registry's signature covers the reference to it.
    expect(verifyAttestation(JSON.parse(new TextDecoder().decode(stored.body)), { sha256: p.sha256, expected: identity, trustMaterial: trustMaterialFrom(sigstore.trustedRoot) }).certificate_identity).toContain(p.repository);
    const keys = await listedKeys((await readKeyList(reg.store))!);
    await verifyArtifact(keys, { kind: 'bundle', name: '@acme/echo', version: p.body.version }, artifact);
    await expect(verifyArtifact(keys, { kind: 'bundle', name: '@acme/echo', version: p.body.version }, { ...artifact, attestation: undefined })).rejects.toMatchObject({ code: 'signature_invalid' });
  }, 30_000);

  it('without one is accepted, and records none', async () => {
    const p = await next();
    expect((await announcePrepared(reg, p)).status).toBe(201);
    const doc = (await readJson(reg.store, versionKey('bundle', echo, parseVersion(p.body.version)), VersionDocumentSchema))!.value;
    expect(doc.artifacts[0]!.attestation).toBeUndefined();
  }, 30_000);
});

describe('an attestation that does not verify refuses the announce, writing nothing', () => {
  it('one for another digest', async () => {
    const p = await next();
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest('0'.repeat(64), identityOf(p.repository)));
    await expectRefused(p, /subject is not the artifact/);
  }, 30_000);

  it('one from another repository', async () => {
    const p = await next();
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest(p.sha256, { ...identityOf('evil/echo-mcp'), repository_id: identityOf(p.repository).repository_id }));
    await expectRefused(p, /source repository "https:\/\/github.com\/evil\/echo-mcp"/);
  }, 30_000);

  it('one from another workflow of the same repository', async () => {
    const p = await next();
    const other = `${p.repository}/.github/workflows/other.yml@refs/heads/main`;
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest(p.sha256, { ...identityOf(p.repository), job_workflow_ref: other, workflow_ref: other }));
    await expectRefused(p, /signing workflow/);
  }, 30_000);

  it('one whose certificate had expired when it was logged, and one from a CA the trust root does not name', async () => {
    const p = await next();
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest(p.sha256, identityOf(p.repository), { ca: 'expired' }));
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest(p.sha256, identityOf(p.repository), { ca: 'rogue' }));
    const before = await reg.snapshot();
    const res = await announcePrepared(reg, p);
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe('attestation_invalid');
    expect(res.json.error.details.reasons).toHaveLength(2);
    expect(res.json.error.details.reasons.every((r: string) => /CERTIFICATE_ERROR/.test(r))).toBe(true);
    expect(await reg.snapshot()).toEqual(before);
  }, 30_000);

  it('one tampered with: its statement changed after signing', async () => {
    const p = await next();
    const bundle = (await sigstore.attest(p.sha256, identityOf(p.repository))) as any;
    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8'));
    statement.predicate.runDetails = { builder: { id: 'https://evil.example' } };
    bundle.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    reg.github.addAttestation(p.repository, p.sha256, bundle);
    await expectRefused(p, /TLOG_BODY_ERROR|SIGNATURE_ERROR/);
  }, 30_000);

  it('and GitHub failing to answer is a 503 to retry, writing nothing', async () => {
    const p = await next();
    reg.github.setAttestationStatus(p.repository, 500);
    try {
      const before = await reg.snapshot();
      const res = await announcePrepared(reg, p);
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe('upstream_unavailable');
      expect(await reg.snapshot()).toEqual(before);
    } finally {
      reg.github.setAttestationStatus(p.repository, undefined);
    }
  }, 30_000);
});
