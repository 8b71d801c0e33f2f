/**
 * Fetches the announced asset from the GitHub release of the token's own repository (trust rule
 * 4): the registry never trusts bytes from the request. Size and sha256 are checked while
 * streaming, and both requests go through the outbound plumbing (`net/outbound-fetch.ts`):
 * bounded in size and time, every hop checked, the API's against the API host alone and the
 * download's against the trusted download hosts.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ShelfError } from '../core/errors.ts';
import { fetchOutbound, outboundDeadline, readOutboundBody } from '../net/outbound-fetch.ts';

/** What to fetch and what it must be. */
export interface ReleaseAssetRequest {
  /** `owner/repo`, from the token (never from the body). */
  repository: string;
  tag: string;
  filename: string;
  size: number;
  sha256: string;
}

/** The verified asset. */
export interface ReleaseAsset {
  bytes: Uint8Array;
  /** The asset's `browser_download_url`. */
  sourceUrl: string;
}

/** Options of {@link createReleaseAssetFetcher}. */
export interface ReleaseAssetFetcherOptions {
  /** GitHub REST API base, e.g. `https://api.github.com`. */
  apiUrl: string;
  /** Optional API token (public repositories need none). */
  token?: string;
  /** Hosts downloads and their redirects may go to. */
  trustedHosts: string[];
  /** Largest asset accepted, bytes. */
  maxBytes: number;
  /** Time limit for the whole fetch, ms. */
  timeoutMs: number;
}

/** Fetches and verifies a release asset. */
export type ReleaseAssetFetcher = (request: ReleaseAssetRequest) => Promise<ReleaseAsset>;

/**
 * Largest release description read from the releases API: GitHub's JSON for a release with
 * hundreds of assets and long notes is well under a megabyte.
 */
export const MAX_RELEASE_JSON_BYTES = 4 * 1024 * 1024;

/** The refusal of an asset larger than the registry accepts. */
export function tooLarge(size: number, maxBytes: number): ShelfError {
  return new ShelfError('asset_too_large', `The asset is ${size} bytes; the registry accepts at most ${maxBytes}.`);
}

/** Builds a fetcher for one GitHub API. */
export function createReleaseAssetFetcher(options: ReleaseAssetFetcherOptions): ReleaseAssetFetcher {
  const apiUrl = options.apiUrl.replace(/\/$/, '');
  // The API request may only ever go to the API's own host, redirects included.
  const apiHosts = [new URL(apiUrl).host];

  return async (req) => {
    if (req.size > options.maxBytes) throw tooLarge(req.size, options.maxBytes);
    const signal = outboundDeadline(options.timeoutMs);
    const where = `release ${req.tag} of ${req.repository}`;
    try {
      const release = await readRelease(apiUrl, apiHosts, req, options.token, signal);
      const asset = Array.isArray(release.assets) ? release.assets.find((a) => a && a.name === req.filename) : undefined;
      if (!asset || typeof asset.browser_download_url !== 'string') {
        throw new ShelfError('asset_not_found', `Asset "${req.filename}" not found in release ${req.tag} of ${req.repository}.`);
      }
      if (typeof asset.size === 'number' && asset.size !== req.size) {
        throw new ShelfError('asset_size_mismatch', `The asset in ${where} is ${asset.size} bytes, the announce says ${req.size}.`, {
          expected: req.size,
          actual: asset.size,
        });
      }
      const bytes = await download(asset.browser_download_url, req, options.trustedHosts, signal);
      return { bytes, sourceUrl: asset.browser_download_url };
    } catch (err) {
      if (!(err instanceof ShelfError)) throw new ShelfError('upstream_unavailable', `Fetching the asset from ${where} failed.`);
      // Every hop of the asset fetch (API, download, redirects) is refused with the asset's own code.
      if (err.code === 'upstream_untrusted_host') throw new ShelfError('asset_untrusted_host', err.message, err.details);
      if (err.code === 'upstream_unavailable' && signal.aborted) throw new ShelfError('upstream_unavailable', `Fetching the asset from ${where} timed out.`);
      throw err;
    }
  };
}

type ReleaseJson = { assets?: Array<{ name?: unknown; size?: unknown; browser_download_url?: unknown }> };

/** `GET {api}/repos/{token.repository}/releases/tags/{tag}`: the release's assets. */
async function readRelease(apiUrl: string, apiHosts: string[], req: ReleaseAssetRequest, token: string | undefined, signal: AbortSignal): Promise<ReleaseJson> {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'user-agent': 'shelf-registry' };
  if (token) headers.authorization = `Bearer ${token}`;
  const what = `the releases API (release ${req.tag} of ${req.repository})`;
  const url = `${apiUrl}/repos/${req.repository}/releases/tags/${encodeURIComponent(req.tag)}`;
  const res = await fetchOutbound(url, { what, allowedHosts: apiHosts, signal, headers });
  if (res.status === 404) {
    await res.body?.cancel().catch(() => {});
    // Publishing actions retry on the phrase "not found in release": the release may not exist yet.
    throw new ShelfError('asset_not_found', `Asset "${req.filename}" not found in release ${req.tag} of ${req.repository} (no such release).`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new ShelfError('upstream_unavailable', `GitHub answered ${res.status} for release ${req.tag} of ${req.repository}.`);
  }
  const body = await readOutboundBody(res, MAX_RELEASE_JSON_BYTES, { what, signal });
  try {
    const release = JSON.parse(new TextDecoder().decode(body)) as unknown;
    return release !== null && typeof release === 'object' ? (release as ReleaseJson) : {};
  } catch {
    throw new ShelfError('upstream_unavailable', `GitHub answered release ${req.tag} of ${req.repository} with something that is not JSON.`);
  }
}

/** Downloads the asset, every hop checked against the trusted download hosts, size and sha256 checked while streaming. */
async function download(url: string, req: ReleaseAssetRequest, trustedHosts: string[], signal: AbortSignal): Promise<Uint8Array> {
  const what = `the asset "${req.filename}"`;
  const res = await fetchOutbound(url, { what, allowedHosts: trustedHosts, signal, headers: { 'user-agent': 'shelf-registry', accept: 'application/octet-stream' } });
  if (res.status === 404) {
    await res.body?.cancel().catch(() => {});
    throw new ShelfError('asset_not_found', `Asset "${req.filename}" not found in release ${req.tag} of ${req.repository} (download 404).`);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => {});
    throw new ShelfError('upstream_unavailable', `The asset download answered ${res.status}.`);
  }
  // The stream stops as soon as it passes the announced size; memory grows with the bytes
  // received, not with the size announced.
  const hash = createHash('sha256');
  let bytes: Uint8Array;
  try {
    bytes = await readOutboundBody(res, req.size, { what, signal }, (chunk) => hash.update(chunk));
  } catch (err) {
    if (err instanceof ShelfError && err.code === 'upstream_too_large') {
      throw new ShelfError('asset_size_mismatch', `The asset is larger than the announced ${req.size} bytes.`, { expected: req.size });
    }
    throw err;
  }
  if (bytes.byteLength !== req.size) {
    throw new ShelfError('asset_size_mismatch', `The asset is ${bytes.byteLength} bytes, the announce says ${req.size}.`, { expected: req.size, actual: bytes.byteLength });
  }
  const digest = hash.digest('hex');
  if (digest !== req.sha256) {
    throw new ShelfError('asset_digest_mismatch', `The asset's sha256 is ${digest}, the announce says ${req.sha256}.`, {
      expected: req.sha256,
      actual: digest,
    });
  }
  return bytes;
}
