/**
 * Fetches the announced asset from the GitHub release of the token's own repository (trust rule
 * 4): the registry never trusts bytes from the request. Size and sha256 are checked while
 * streaming, the download is bounded in size and time, and redirects are followed only to
 * trusted hosts.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { ShelfError } from '../core/errors.ts';

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

const MAX_REDIRECTS = 5;

/** Builds a fetcher for one GitHub API. */
export function createReleaseAssetFetcher(options: ReleaseAssetFetcherOptions): ReleaseAssetFetcher {
  const apiUrl = options.apiUrl.replace(/\/$/, '');
  const trusted = new Set(options.trustedHosts.map((h) => h.toLowerCase()));

  return async (req) => {
    if (req.size > options.maxBytes) {
      throw new ShelfError('asset_too_large', `The asset is ${req.size} bytes; the registry accepts at most ${options.maxBytes}.`);
    }
    const signal = AbortSignal.timeout(options.timeoutMs);
    const where = `release ${req.tag} of ${req.repository}`;
    try {
      const headers: Record<string, string> = { accept: 'application/vnd.github+json', 'user-agent': 'shelf-registry' };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const releaseUrl = `${apiUrl}/repos/${req.repository}/releases/tags/${encodeURIComponent(req.tag)}`;
      const res = await fetch(releaseUrl, { headers, signal });
      if (res.status === 404) {
        await res.body?.cancel();
        // Publishing actions retry on the phrase "not found in release": the release may not exist yet.
        throw new ShelfError('asset_not_found', `Asset "${req.filename}" not found in release ${req.tag} of ${req.repository} (no such release).`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new ShelfError('upstream_unavailable', `GitHub answered ${res.status} for ${where}.`);
      }
      const release = (await res.json()) as { assets?: Array<{ name?: unknown; size?: unknown; browser_download_url?: unknown }> };
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
      const bytes = await download(asset.browser_download_url, req, trusted, signal);
      return { bytes, sourceUrl: asset.browser_download_url };
    } catch (err) {
      if (err instanceof ShelfError) throw err;
      if (signal.aborted) throw new ShelfError('upstream_unavailable', `Fetching the asset from ${where} timed out.`);
      throw new ShelfError('upstream_unavailable', `Fetching the asset from ${where} failed.`);
    }
  };
}

/** Follows redirects by hand so that every hop is checked against the trusted hosts. */
async function download(startUrl: string, req: ReleaseAssetRequest, trusted: Set<string>, signal: AbortSignal): Promise<Uint8Array> {
  let url = startUrl;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const parsed = new URL(url);
    const loopback = parsed.hostname === '127.0.0.1' || parsed.hostname === 'localhost' || parsed.hostname === '[::1]';
    if (!trusted.has(parsed.host.toLowerCase()) || (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && loopback))) {
      throw new ShelfError('asset_untrusted_host', `The asset is served from ${parsed.protocol}//${parsed.host}, which is not a trusted download host.`);
    }
    const res = await fetch(url, { redirect: 'manual', signal, headers: { 'user-agent': 'shelf-registry', accept: 'application/octet-stream' } });
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      await res.body?.cancel();
      url = new URL(res.headers.get('location')!, url).toString();
      continue;
    }
    if (res.status === 404) {
      await res.body?.cancel();
      throw new ShelfError('asset_not_found', `Asset "${req.filename}" not found in release ${req.tag} of ${req.repository} (download 404).`);
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new ShelfError('upstream_unavailable', `The asset download answered ${res.status}.`);
    }
    return readVerified(res.body, req);
  }
  throw new ShelfError('upstream_unavailable', 'The asset download redirected too many times.');
}

/** Reads the stream, stopping as soon as it exceeds the announced size; then checks the hash. */
async function readVerified(body: ReadableStream<Uint8Array>, req: ReleaseAssetRequest): Promise<Uint8Array> {
  const hash = createHash('sha256');
  // Grown as bytes arrive rather than allocated at the announced size, so a request costs memory
  // only for what the release really serves.
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.byteLength > req.size) {
      await reader.cancel();
      throw new ShelfError('asset_size_mismatch', `The asset is larger than the announced ${req.size} bytes.`, { expected: req.size });
    }
    chunks.push(value);
    received += value.byteLength;
    hash.update(value);
  }
  if (received !== req.size) {
    throw new ShelfError('asset_size_mismatch', `The asset is ${received} bytes, the announce says ${req.size}.`, { expected: req.size, actual: received });
  }
  const digest = hash.digest('hex');
  if (digest !== req.sha256) {
    throw new ShelfError('asset_digest_mismatch', `The asset's sha256 is ${digest}, the announce says ${req.sha256}.`, {
      expected: req.sha256,
      actual: digest,
    });
  }
  const out = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
