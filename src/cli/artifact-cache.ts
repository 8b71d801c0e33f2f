/**
 * Artifacts in the CLI cache (Node only): downloaded once, verified, reused while they still
 * verify, and unpacked safely for `shelf bundle run`.
 *
 * Layout under the cache directory:
 * ```
 * artifacts/<sha256>.mcpb | .skill     content-addressed, so a file's name is its expected digest
 * unpacked/<sha256>/                   a bundle extracted with extractZipSafely (renamed in whole)
 * ```
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ShelfError, isShelfError } from '../core/errors.ts';
import type { Kind, PackageName } from '../core/names.ts';
import { ARTIFACT_EXTENSION } from '../core/paths.ts';
import { effectiveStatus, type EffectiveStatus } from '../core/lifecycle.ts';
import type { Artifact, PackageDocument, VersionDocument } from '../core/schemas.ts';
import { selectArtifact } from '../client/platform.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { resolveVersion } from '../client/resolve-version.ts';
import type { Verification } from '../client/trust.ts';
import { downloadVerified } from './download.ts';
import { createProgressBar, type ProgressBar } from './progress.ts';
import { extractZipSafely } from './unzip-safe.ts';

/** Bound on what a bundle may unpack to (its .mcpb is at most the registry's artifact limit). */
export const MAX_UNPACKED_BYTES = 1024 * 1024 * 1024;

/** Where the artifact with this digest is cached. */
export function cachedArtifactPath(cacheDir: string, kind: Kind, sha256: string): string {
  return join(cacheDir, 'artifacts', `${sha256}${ARTIFACT_EXTENSION[kind]}`);
}

/** Where the bundle with this digest is unpacked. */
export function unpackedBundleDir(cacheDir: string, sha256: string): string {
  return join(cacheDir, 'unpacked', sha256);
}

/**
 * Whether `file` holds exactly `size` bytes hashing to `sha256`. A cached file is re-hashed
 * before every reuse: a corrupted or tampered cache is never trusted.
 */
export async function fileMatches(file: string, size: number, sha256: string): Promise<boolean> {
  const info = await stat(file).catch(() => null);
  if (!info?.isFile() || info.size !== size) return false;
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch {
    return false;
  }
  return hash.digest('hex') === sha256;
}

/** What {@link obtainArtifact} resolved and where the verified file is. */
export interface ObtainedArtifact {
  pkg: PackageDocument;
  version: VersionDocument;
  artifact: Artifact;
  /** The verified file in the cache. */
  file: string;
  /** True when the cached copy was reused (verified) and nothing was downloaded. */
  reused: boolean;
  /** What was verified before the sha256 was trusted (signatures, attestation). */
  verified: Verification;
  /** The version's status (deprecated, yanked: its package's deprecation too). */
  status: EffectiveStatus;
}

/** Options of {@link obtainArtifact}. */
export interface ObtainOptions {
  client: RegistryClient;
  cacheDir: string;
  kind: Kind;
  name: PackageName;
  /** Version or range (`^1.2`, `latest`); undefined means latest. */
  range: string | undefined;
  /** The platform to pick an artifact for. */
  want: { os: string; arch: string };
  /** Never download: a missing or corrupt cached file fails with `not_cached`. */
  offline: boolean;
  /** Raw stderr writer and whether to draw a progress bar there. */
  progress?: { write: (s: string) => void; enabled: boolean };
}

/**
 * Resolves a package's version and artifact, and returns a verified copy of it in the cache:
 * the cached file when it still matches the registry's size and sha256, else a fresh verified
 * download (which replaces a corrupt copy).
 *
 * A version the registry shows as removed (or of a removed package) is refused, also when a copy
 * is cached: the package document is revalidated first (offline, the cached one is believed).
 *
 * @throws ShelfError from the client (`not_found`, `package_removed`, `version_removed`,
 *   `registry_unreachable`, `not_cached`...),
 *   `no_matching_artifact`, `integrity_mismatch`, `not_cached` (offline, file missing).
 */
export async function obtainArtifact(options: ObtainOptions): Promise<ObtainedArtifact> {
  const { client, cacheDir, kind, name, range, want, offline } = options;
  const pkg = await client.getPackage(kind, name);
  const version = await client.getVersion(kind, name, resolveVersion(pkg, range));
  const artifact = selectArtifact(version.artifacts, want);
  // The client verified the registry's signatures while reading the documents (`client/trust.ts`).
  const verified = client.verification(pkg, version, artifact);
  const status = effectiveStatus(pkg, version.version);
  const file = cachedArtifactPath(cacheDir, kind, artifact.sha256);
  if (await fileMatches(file, artifact.size, artifact.sha256)) {
    return { pkg, version, artifact, file, reused: true, verified, status };
  }
  // Whatever is there does not verify: it is replaced, never used.
  await rm(file, { force: true });
  if (offline) {
    throw new ShelfError('not_cached', `${pkg.name}@${version.version} (${artifact.os}-${artifact.arch}) is not in the cache; run once without --offline.`);
  }
  await mkdir(join(cacheDir, 'artifacts'), { recursive: true });
  const label = `${pkg.name}@${version.version}`;
  await downloadArtifact(client, artifact, file, createProgressBar(options.progress?.write ?? (() => {}), label, options.progress?.enabled ?? false));
  return { pkg, version, artifact, file, reused: false, verified, status };
}

/** Downloads an artifact to `dest`, verified against its recorded size and sha256, drawing `bar`. */
export async function downloadArtifact(client: RegistryClient, artifact: Artifact, dest: string, bar: ProgressBar): Promise<void> {
  try {
    await downloadVerified({ url: client.artifactUrl(artifact), dest, size: artifact.size, sha256: artifact.sha256, bounds: client.bounds, onProgress: (received, total) => bar.update(received, total) });
  } finally {
    bar.finish();
  }
}

/**
 * Unpacks a verified cached bundle (once; later calls reuse the directory, which only ever
 * appears complete because extraction renames it into place in whole).
 *
 * @returns The unpacked directory.
 * @throws ShelfError `invalid_archive`, `unsafe_archive`
 */
export async function unpackBundle(cacheDir: string, file: string, sha256: string): Promise<string> {
  const dir = unpackedBundleDir(cacheDir, sha256);
  if ((await stat(join(dir, 'manifest.json')).catch(() => null))?.isFile()) return dir;
  // A directory without a manifest is not ours to trust (or the bundle lacks one: reported below).
  await rm(dir, { recursive: true, force: true });
  try {
    await extractZipSafely(await readFile(file), dir, { maxTotalBytes: MAX_UNPACKED_BYTES });
  } catch (error) {
    // A concurrent `run` of the same bundle got there first: its result is as good as ours.
    if (!isShelfError(error, 'destination_exists')) throw error;
  }
  return dir;
}
