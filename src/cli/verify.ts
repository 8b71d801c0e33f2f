/**
 * `shelf bundle verify <@scope/name[@version]>` (and `pull --verify`): checks a version's GitHub
 * artifact attestation on this machine, against Sigstore's trust root, without trusting the
 * registry for it: the bundle the registry stored is checked by Sigstore's libraries
 * (`attestation/verify-attestation.ts`), its statement must name the artifact's sha256 (which the
 * downloaded bytes are checked against), and its certificate must name the expected repository,
 * commit and workflow. The expectations are the provenance the registry recorded unless pinned
 * with `--repository owner/repo` and `--workflow .github/workflows/file.yml`: pin them to check
 * the publisher you mean, not the one the registry says.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * { "name", "version", "os", "arch", "sha256", "file",
 *   "attestation": { "path", "predicate_type", "certificate_identity", "certificate_issuer", "signed_at" },
 *   "expected": { "repository", "workflow" | null, "pinned": false } }
 * ```
 *
 * `SHELF_SIGSTORE_TRUSTED_ROOT` names a `trusted_root.json` to use instead of Sigstore's
 * public-good root (GitHub's own instance, GitHub Enterprise, tests).
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { TrustMaterial } from '@sigstore/verify';
import { ShelfError } from '../core/errors.ts';
import type { Artifact } from '../core/schemas.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { publicGoodTrustMaterial, trustMaterialFrom, verifyAttestation, type ExpectedIdentity, type VerifiedAttestation } from '../attestation/verify-attestation.ts';
import { obtainArtifact } from './artifact-cache.ts';
import { COMMON_HELP, COMMON_OPTIONS, formatTable, parseArch, commandArgs, parseOs, parsePackageSpec, requireCacheDir, usageError, type CommandContext } from './common.ts';

/** Help of `shelf bundle verify`. */
export function verifyHelp(host: { os: string; arch: string }): string {
  return `Usage: shelf bundle verify <@scope/name[@version|@range]> [options]

Verifies a bundle's GitHub artifact attestation (a Sigstore bundle) on this machine, without
trusting the registry for it: Sigstore's trust root vouches for the certificate and the signing
time, the attested sha256 must be the downloaded file's, and the certificate must name the
expected repository, commit and workflow. Exits 1 with error[attestation_invalid] when it does not
verify, error[attestation_missing] when the version has none.

Options:
  --os OS            Platform of the artifact (default: ${host.os}, this machine)
  --arch ARCH        Architecture of the artifact (default: ${host.arch}, this machine)
  --repository R     Pin the repository (owner/repo) the attestation must come from
                     (default: the one the registry recorded)
  --workflow PATH    Pin the workflow file (.github/workflows/release.yml) that must have signed
  --json             Print {name, version, os, arch, sha256, file, attestation, expected} as JSON
${COMMON_HELP}

SHELF_SIGSTORE_TRUSTED_ROOT=file uses that trusted_root.json instead of Sigstore's public one.`;
}

/** Pins given on the command line. */
export interface AttestationPins {
  repository?: string | undefined;
  workflow?: string | undefined;
}

/** The trust root: `SHELF_SIGSTORE_TRUSTED_ROOT`, else Sigstore's public-good one. @throws ShelfError `invalid_config` */
export async function trustMaterialOf(env: Record<string, string | undefined>): Promise<TrustMaterial> {
  const file = env.SHELF_SIGSTORE_TRUSTED_ROOT?.trim();
  if (!file) return publicGoodTrustMaterial();
  try {
    return trustMaterialFrom(JSON.parse(await readFile(file, 'utf8')));
  } catch (error) {
    throw new ShelfError('invalid_config', `SHELF_SIGSTORE_TRUSTED_ROOT: ${file} is not a readable Sigstore trusted_root.json (${(error as Error).message}).`);
  }
}

/**
 * Verifies the attestation of `artifact` (whose bytes the caller checks against `artifact.sha256`).
 *
 * @throws ShelfError `attestation_missing`, `attestation_invalid`, and the client's read errors
 */
export async function verifyArtifactAttestation(
  client: RegistryClient,
  artifact: Artifact,
  pins: AttestationPins,
  trustMaterial: TrustMaterial,
): Promise<{ verified: VerifiedAttestation; expected: { repository: string; workflow: string | null; pinned: boolean } }> {
  const bundle = await client.getAttestationBundle(artifact);
  const p = artifact.provenance;
  const repository = pins.repository ?? p.repository;
  const expected: ExpectedIdentity = { repository, repository_id: p.repository_id, sha: p.sha, workflow_ref: p.workflow_ref, job_workflow_ref: p.job_workflow_ref };
  const verified = verifyAttestation(bundle, { sha256: artifact.sha256, expected, trustMaterial });
  const workflowOf = (identity: string) => /^https:\/\/github\.com\/[^/]+\/[^/]+\/(.+?)@/.exec(identity)?.[1] ?? null;
  if (pins.workflow !== undefined && workflowOf(verified.certificate_identity) !== pins.workflow.replace(/^\.?\//, '')) {
    throw new ShelfError('attestation_invalid', `The attestation was signed by ${verified.certificate_identity}, not by the workflow ${pins.workflow} of ${repository}.`, {
      reasons: [`signing workflow ${verified.certificate_identity} is not ${pins.workflow}`],
    });
  }
  return { verified, expected: { repository, workflow: pins.workflow ?? workflowOf(verified.certificate_identity), pinned: pins.repository !== undefined || pins.workflow !== undefined } };
}

/** Validates `--repository` and `--workflow`. @throws ShelfError `invalid_argument` */
export function parsePins(command: string, values: { repository?: string | undefined; workflow?: string | undefined }): AttestationPins {
  if (values.repository !== undefined && !/^[\w.-]+\/[\w.-]+$/.test(values.repository)) throw usageError(command, `--repository takes owner/repo; got "${values.repository}"`);
  if (values.workflow !== undefined && !/^\.?\/?\.github\/workflows\/[\w./-]+\.ya?ml$/.test(values.workflow)) throw usageError(command, `--workflow takes a workflow file such as .github/workflows/release.yml; got "${values.workflow}"`);
  return { repository: values.repository, workflow: values.workflow };
}

/** Runs `shelf bundle verify`. @returns The exit code. */
export async function verifyCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf bundle verify';
  const parsed = commandArgs(command, args, { ...COMMON_OPTIONS, os: { type: 'string' }, arch: { type: 'string' }, repository: { type: 'string' }, workflow: { type: 'string' }, json: { type: 'boolean' } }, ctx, verifyHelp(ctx.host));
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const spec = parsePackageSpec(command, positionals);
  const pins = parsePins(command, values);
  const want = { os: parseOs(command, values.os) ?? ctx.host.os, arch: parseArch(command, values.arch) ?? ctx.host.arch };
  const offline = values.offline === true || ctx.globalOffline;
  const trustMaterial = await trustMaterialOf(ctx.env);
  const client = ctx.client(values.registry, { offline });
  // The bytes, checked against the statement's sha256 (and kept in the cache, as pull --cache does).
  const got = await obtainArtifact({ client, cacheDir: requireCacheDir(ctx), kind: 'bundle', name: spec.name, range: spec.range, want, offline, progress: { write: ctx.writeErr, enabled: ctx.stderrIsTTY } });
  const { verified, expected } = await verifyArtifactAttestation(client, got.artifact, pins, trustMaterial);
  const result = {
    name: got.pkg.name,
    version: got.version.version,
    os: got.artifact.os,
    arch: got.artifact.arch,
    sha256: got.artifact.sha256,
    file: got.file,
    attestation: { path: got.artifact.attestation!.path, ...verified },
    expected,
  };
  if (values.json) {
    ctx.out(JSON.stringify(result, null, 2));
    return 0;
  }
  const s = ctx.style;
  ctx.out(
    [
      `${s.green('Verified')} the Sigstore attestation of ${s.bold(result.name)}@${s.cyan(result.version)} (${result.os}-${result.arch})`,
      formatTable(
        [
          ['SHA-256:', result.sha256],
          ['Signed by:', verified.certificate_identity],
          ['Issuer:', verified.certificate_issuer],
          ['Signed at:', verified.signed_at],
          ['Predicate:', verified.predicate_type],
          ['Expected:', `${expected.repository}${expected.workflow ? ` / ${expected.workflow}` : ''}${expected.pinned ? '' : s.dim(' (as the registry recorded; pin with --repository, --workflow)')}`],
        ],
        '  ',
      ),
    ].join('\n'),
  );
  return 0;
}
