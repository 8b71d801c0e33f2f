/**
 * Wires the announce pipeline's dependencies from configuration: the token verifier (remote JWKS)
 * and the release-asset fetcher. Used by the local server and by the Lambda entry point alike.
 *
 * @module
 */
import type { AnnounceConfig } from '../config.ts';
import type { ObjectStore } from '../store/object-store.ts';
import type { AnnounceDeps } from './announce.ts';
import { createRepositoryReadmeFetcher } from './readme.ts';
import { createReleaseAssetFetcher } from './release-asset.ts';
import { createTokenVerifier } from './verify-token.ts';
import type { Signer } from '../signing/signer.ts';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config.ts';
import { trustMaterialFrom } from '../attestation/verify-attestation.ts';
import { createAttestationLister } from './attestation.ts';

/** The production dependencies of {@link announce} for a store, a configuration and the registry's signer. */
export function announceDepsFromConfig(config: AnnounceConfig, store: ObjectStore, signer?: Signer): AnnounceDeps {
  return {
    store,
    ...(signer ? { signer } : {}),
    archiveLimits: config.archiveLimits,
    quota: config.quota,
    maxArtifactBytes: config.maxArtifactBytes,
    verifyToken: createTokenVerifier({ issuer: config.issuer, audience: config.audience, jwksUrl: config.jwksUrl }),
    fetchAsset: createReleaseAssetFetcher({
      apiUrl: config.githubApiUrl,
      ...(config.githubToken ? { token: config.githubToken } : {}),
      trustedHosts: config.trustedDownloadHosts,
      maxBytes: config.maxArtifactBytes,
      timeoutMs: config.assetTimeoutMs,
    }),
    fetchReadme: createRepositoryReadmeFetcher({
      apiUrl: config.githubApiUrl,
      ...(config.githubToken ? { token: config.githubToken } : {}),
      timeoutMs: Math.min(config.assetTimeoutMs, 10_000),
    }),
    listAttestations: createAttestationLister({
      apiUrl: config.githubApiUrl,
      ...(config.githubToken ? { token: config.githubToken } : {}),
      timeoutMs: Math.min(config.assetTimeoutMs, 10_000),
    }),
    ...(config.sigstoreTrustedRoot ? { attestationTrust: sigstoreTrust(config.sigstoreTrustedRoot) } : {}),
  };
}

/** The trust material of a `trusted_root.json` file. @throws ConfigError naming the variable */
export function sigstoreTrust(file: string): ReturnType<typeof trustMaterialFrom> {
  try {
    return trustMaterialFrom(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new ConfigError(`SHELF_SIGSTORE_TRUSTED_ROOT: ${file} is not a readable Sigstore trusted_root.json (${(error as Error).message}).`);
  }
}
