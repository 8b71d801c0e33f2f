/**
 * The README a version's page shows: the artifact's own `README.md` when its archive holds one
 * (at the root of a bundle, in `<name>/` of a skill), else the repository's README at the commit
 * the release was built from, read from GitHub's API through `github-api.ts` (the API host
 * only, every hop checked, bounded in time and size). Stored beside the version's artifacts as
 * `versions/{version}/README.md`, create-only: the first platform announced gives the version its
 * README, and a retried announce writes it if a crash came first.
 *
 * A README is never a reason to refuse an announce: one that is missing, larger than
 * {@link MAX_README_BYTES}, or unreachable is left out. Pages render it (`src/web/readme.ts`).
 *
 * @module
 */
import { readArchiveFile } from '../archive/inflate.ts';
import { readZipEntries, type ArchiveLimits } from '../archive/zip-entries.ts';
import { isShelfError } from '../core/errors.ts';
import type { Kind, PackageName, Version } from '../core/names.ts';
import { MUTABLE_CACHE, contentTypeFor, readmeKey } from '../core/paths.ts';
import { PreconditionFailedError, type ObjectStore } from '../store/object-store.ts';
import { gitHubGet, type GitHubApiOptions } from './github-api.ts';

/** Largest README kept, bytes (GitHub renders up to 512 KiB too). */
export const MAX_README_BYTES = 512 * 1024;

/** Reads a repository's README at a commit; null when it has none (or it cannot be read). */
export type RepositoryReadmeFetcher = (repository: string, sha: string) => Promise<Uint8Array | null>;

/** Options of {@link createRepositoryReadmeFetcher}: where GitHub's API is, its token, the time limit. */
export type RepositoryReadmeOptions = GitHubApiOptions;

/**
 * `GET {api}/repos/{repository}/readme?ref={sha}` with the raw media type, from the API host only.
 * A 404 (no README), any other failure, and a README over {@link MAX_README_BYTES} give null.
 */
export function createRepositoryReadmeFetcher(options: RepositoryReadmeOptions): RepositoryReadmeFetcher {
  const get = gitHubGet(options);
  return async (repository, sha) => {
    try {
      const path = `/readme?ref=${encodeURIComponent(sha)}`;
      return (await get(repository, { path, accept: 'application/vnd.github.raw', maxBytes: MAX_README_BYTES, what: `the README of ${repository}` })).body;
    } catch (error) {
      if (isShelfError(error)) return null;
      throw error;
    }
  };
}

/**
 * The README inside an artifact already inspected: `README.md` (any case) at the root of a
 * bundle, or in the skill's `<name>/` folder. Null when there is none or it is too large.
 */
export async function readmeFromArtifact(kind: Kind, pkg: PackageName, bytes: Uint8Array, limits: ArchiveLimits = {}): Promise<Uint8Array | null> {
  const wanted = kind === 'bundle' ? 'readme.md' : `${pkg.name}/readme.md`;
  const entry = readZipEntries(bytes, limits).find((e) => !e.directory && e.path.toLowerCase() === wanted);
  if (!entry || entry.size > MAX_README_BYTES) return null;
  return readArchiveFile(bytes, entry.path, limits);
}

/** What {@link storeReadme} needs. */
export interface ReadmeSource {
  kind: Kind;
  pkg: PackageName;
  version: Version;
  /** The artifact's bytes (already inspected). */
  artifact: Uint8Array;
  /** The token's repository and commit. */
  repository: string;
  sha: string;
  limits?: ArchiveLimits;
  /** Reads the repository's README; without one, only the artifact's is used. */
  fetchRepositoryReadme?: RepositoryReadmeFetcher | undefined;
}

/**
 * Stores the version's README unless it has one: the artifact's, else the repository's at the
 * commit. Returns where it came from, or null when there is none.
 */
export async function storeReadme(store: ObjectStore, source: ReadmeSource): Promise<'artifact' | 'repository' | 'existing' | null> {
  const key = readmeKey(source.kind, source.pkg, source.version);
  if (await store.head(key)) return 'existing';
  let from: 'artifact' | 'repository' = 'artifact';
  let bytes = await readmeFromArtifact(source.kind, source.pkg, source.artifact, source.limits);
  if (!bytes && source.fetchRepositoryReadme) {
    from = 'repository';
    bytes = await source.fetchRepositoryReadme(source.repository, source.sha);
  }
  if (!bytes) return null;
  // Stored as valid UTF-8 (anything else becomes U+FFFD), so pages can decode it as they fetch it.
  const text = new TextEncoder().encode(new TextDecoder().decode(bytes));
  try {
    await store.put(key, text, { contentType: contentTypeFor(key), cacheControl: MUTABLE_CACHE, ifNoneMatch: '*' });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    return 'existing';
  }
  return from;
}
