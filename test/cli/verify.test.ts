/**
 * `shelf bundle verify` and `pull --verify` (issue 30, part 2, client side): the attestation the
 * registry stored is verified on the user's machine against a Sigstore trust root (here the
 * fake's, through `SHELF_SIGSTORE_TRUSTED_ROOT`; Sigstore's public root refuses it), the
 * downloaded bytes' sha256 and the pinned repository and workflow.
 */
import { readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { startFakeSigstore, type FakeSigstore } from '../fakes/fake-sigstore.ts';
import { consumerFolders, shelf as runShelf } from './helpers.ts';

let reg: TestRegistry;
let sigstore: FakeSigstore;
let rootFile: string;
let attested: PreparedArtifact;
let work: string;
let cacheDir: string;

beforeAll(async () => {
  sigstore = await startFakeSigstore();
  rootFile = join(tmpdir(), `shelf-verify-root-${process.pid}-${Date.now()}.json`);
  await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
  reg = await startTestRegistry({ env: { SHELF_SIGSTORE_TRUSTED_ROOT: rootFile } });
  attested = await prepareBundle(reg, { version: '1.0.0' });
  const workflow = `${attested.repository}/.github/workflows/release.yml@refs/tags/v1`;
  const identity = { repository: attested.repository, repository_id: claimsFor(attested.repository).repository_id, sha: 'a'.repeat(40), workflow_ref: workflow, job_workflow_ref: workflow };
  reg.github.addAttestation(attested.repository, attested.sha256, await sigstore.attest(attested.sha256, identity));
  expect((await announcePrepared(reg, attested)).status).toBe(201);
  expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.1.0-unattested.1', prerelease: true }))).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await reg?.close();
  await sigstore?.close();
  await rm(rootFile, { force: true });
});
beforeEach(async (ctx) => ({ work, cacheDir } = await consumerFolders(ctx, 'shelf-verify')));

const shelf = (argv: string[], env: Record<string, string> = { SHELF_SIGSTORE_TRUSTED_ROOT: rootFile }) =>
  runShelf(argv, { cwd: work, env: { SHELF_REGISTRY: reg.url, SHELF_CACHE_DIR: cacheDir, ...env } });

describe('shelf bundle verify', () => {
  it('verifies the attestation on this machine and says what it proves', async () => {
    const r = await shelf(['bundle', 'verify', '@acme/echo@1.0.0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      name: '@acme/echo',
      version: '1.0.0',
      sha256: attested.sha256,
      attestation: { certificate_identity: `https://github.com/${attested.repository}/.github/workflows/release.yml@refs/tags/v1`, predicate_type: 'https://slsa.dev/provenance/v1' },
      expected: { repository: attested.repository, workflow: '.github/workflows/release.yml', pinned: false },
    });
    const pinned = await shelf(['bundle', 'verify', '@acme/echo@1.0.0', '--repository', attested.repository, '--workflow', '.github/workflows/release.yml']);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toMatch(/^Verified the Sigstore attestation of @acme\/echo@1\.0\.0/);
  });

  it('refuses another pinned repository or workflow (attestation_invalid)', async () => {
    const repo = await shelf(['bundle', 'verify', '@acme/echo@1.0.0', '--repository', 'evil/echo-mcp']);
    expect(repo.code).toBe(1);
    expect(repo.stderr).toMatch(/^error\[attestation_invalid\].*source repository/);
    const workflow = await shelf(['bundle', 'verify', '@acme/echo@1.0.0', '--workflow', '.github/workflows/other.yml']);
    expect(workflow.code).toBe(1);
    expect(workflow.stderr).toMatch(/^error\[attestation_invalid\].*other\.yml/);
  });

  it("does not take the registry's word: Sigstore's public root does not vouch for the fake's certificate", async () => {
    const r = await shelf(['bundle', 'verify', '@acme/echo@1.0.0'], {});
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[attestation_invalid\].*CERTIFICATE_ERROR/);
  });

  it('"show" says which level each version has', async () => {
    expect((await shelf(['bundle', 'show', '@acme/echo@1.0.0'])).stdout).toMatch(/Level:\s+Sigstore-attested: GitHub attested these bytes, signed by https:\/\/github\.com\/acme\/echo-mcp\/\.github\/workflows\/release\.yml@refs\/tags\/v1/);
    expect((await shelf(['bundle', 'show', '@acme/echo@1.1.0-unattested.1'])).stdout).toMatch(/Level:\s+registry-verified token only/);
  });

  it('says so for a version without an attestation (attestation_missing)', async () => {
    const r = await shelf(['bundle', 'verify', '@acme/echo@1.1.0-unattested.1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[attestation_missing\]/);
  });

  it('refuses a stored bundle swapped for another (integrity_mismatch)', async () => {
    const key = 'v1/bundles/@acme/echo/versions/1.0.0/any-any.mcpb.sigstore.json';
    const saved = (await reg.store.get(key))!;
    await reg.store.put(key, new TextEncoder().encode(`${new TextDecoder().decode(saved.body).trim()} \n`), { contentType: saved.contentType, cacheControl: saved.cacheControl });
    try {
      const r = await shelf(['bundle', 'verify', '@acme/echo@1.0.0']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error\[integrity_mismatch\]/);
    } finally {
      await reg.store.put(key, saved.body, { contentType: saved.contentType, cacheControl: saved.cacheControl });
    }
  });
});

describe('shelf bundle pull --verify', () => {
  it('pulls an attested bundle and reports the attestation; refuses before downloading when it does not verify', async () => {
    const ok = await shelf(['bundle', 'pull', '@acme/echo@1.0.0', '--verify', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).attestation).toMatchObject({ certificate_issuer: 'https://token.actions.githubusercontent.com' });
    await rm(join(work, JSON.parse(ok.stdout).file.split('/').pop()));
    const bad = await shelf(['bundle', 'pull', '@acme/echo@1.0.0', '--verify', '--repository', 'evil/echo-mcp']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error\[attestation_invalid\]/);
    const missing = await shelf(['bundle', 'pull', '@acme/echo@1.1.0-unattested.1', '--verify']);
    expect(missing.stderr).toMatch(/^error\[attestation_missing\]/);
    expect(await readdir(work)).toEqual([]);
    expect((await shelf(['bundle', 'pull', '@acme/echo@1.0.0', '--workflow', '.github/workflows/release.yml'])).code).toBe(2);
  });
});
