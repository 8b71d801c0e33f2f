/**
 * Configuration, from environment variables only, validated once at start-up. Every variable is
 * documented in the README. A deployment without an audience refuses to start: there is no
 * shared default audience, so a token minted for one registry can never be replayed at another.
 *
 * @module
 */
import { DEFAULT_MAX_ENTRIES, DEFAULT_MAX_RATIO, DEFAULT_MAX_TOTAL_BYTES, type ArchiveLimits } from './archive/zip-entries.ts';

/** GitHub Actions' OIDC issuer. */
export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com';
/**
 * Hosts GitHub serves release downloads from (the browser_download_url and its redirects). The
 * default trusted download hosts are these plus the API host; every hop of a download must be on
 * one of them, compared exactly (host and port, never by suffix), over HTTPS (plain HTTP only to
 * loopback), else the announce is refused with `asset_untrusted_host` before connecting.
 */
export const GITHUB_DOWNLOAD_HOSTS = ['github.com', 'objects.githubusercontent.com', 'release-assets.githubusercontent.com'];

/** Everything the announce function needs to know. */
export interface AnnounceConfig {
  /** `SHELF_AUDIENCE`: the `aud` tokens must carry. Required. */
  audience: string;
  /** `SHELF_OIDC_ISSUER`: the `iss` tokens must carry. Default GitHub Actions'. */
  issuer: string;
  /** `SHELF_OIDC_JWKS_URL`: where the issuer's keys are. Default `{issuer}/.well-known/jwks`. */
  jwksUrl: string;
  /** `SHELF_GITHUB_API_URL`: the GitHub REST API releases are read from. Default `https://api.github.com`. */
  githubApiUrl: string;
  /** `SHELF_GITHUB_TOKEN`: optional token for the releases API (raises GitHub's rate limit). */
  githubToken?: string;
  /**
   * `SHELF_TRUSTED_DOWNLOAD_HOSTS` (comma-separated): hosts release assets may be downloaded from,
   * redirects included. Default GitHub's download hosts plus the API host.
   */
  trustedDownloadHosts: string[];
  /** `SHELF_MAX_ARTIFACT_BYTES`: largest accepted artifact. Default 100 MiB. */
  maxArtifactBytes: number;
  /** `SHELF_ASSET_TIMEOUT_MS`: time limit for fetching one release asset. Default 60000. */
  assetTimeoutMs: number;
  /**
   * Bounds on the artifact's archive, which the registry inflates whole to check it (the CLI's
   * defaults, so the registry never publishes what its client refuses):
   * `SHELF_MAX_UNPACKED_BYTES` (default 512 MiB), `SHELF_MAX_ARCHIVE_ENTRIES` (default 50000),
   * `SHELF_MAX_INFLATE_RATIO` (default 100).
   */
  archiveLimits: Required<ArchiveLimits>;
  /** `SHELF_PUBLIC_URL`: base URL of the CDN (written to `v1/config.json`). Optional. */
  publicUrl?: string;
  /** `SHELF_ANNOUNCE_URL`: base URL of the function URL. Default `SHELF_PUBLIC_URL`. */
  announceUrl?: string;
  /**
   * Each scope's daily quotas, unless its scope record says otherwise (`shelf quota`):
   * `SHELF_QUOTA_ANNOUNCES_PER_DAY` (default {@link DEFAULT_QUOTA}'s 100 new artifacts) and
   * `SHELF_QUOTA_BYTES_PER_DAY` (default 1 GiB of new artifacts); `unlimited` lifts one.
   */
  quota: QuotaLimits;
  /** How the registry signs (see {@link SigningSettings}). */
  signing: SigningSettings;
  /**
   * `SHELF_SIGSTORE_TRUSTED_ROOT`: a `trusted_root.json` file to verify artifact attestations
   * against instead of Sigstore's public-good instance (GitHub's own instance for private
   * repositories, GitHub Enterprise, tests).
   */
  sigstoreTrustedRoot?: string;
}

/**
 * Where the registry's signing key is (`signing/`). On AWS a KMS key; embedded a key file,
 * created on first start.
 */
export interface SigningSettings {
  /** `SHELF_SIGNING_KMS_KEY_ID`: sign with this KMS key (id, ARN or alias). Wins over the key file. */
  kmsKeyId?: string;
  /**
   * `SHELF_SIGNING_KEY_FILE`: the PEM key file of the embedded registry. Default
   * `{SHELF_DATA_DIR}/.signing/registry-key.pem` (outside the bucket's key space: never served).
   */
  keyFile: string;
  /**
   * `SHELF_SIGNING_PREVIOUS_KMS_KEY_ID` / `SHELF_SIGNING_PREVIOUS_KEY_FILE`: while rotating, the key
   * being replaced, which endorses the new one in `v1/keys.json`.
   */
  previousKmsKeyId?: string;
  previousKeyFile?: string;
  /** `SHELF_SIGNING_KEY_OVERLAP_DAYS`: how long a replaced key's signatures stay valid. Default 90. */
  overlapMs: number;
  /** The KMS client's endpoint (`AWS_ENDPOINT_URL_KMS`, else `AWS_ENDPOINT_URL`), region and keys, when given. */
  kms: { endpoint?: string; region?: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
}

/** Reads the signing settings (also used by `shelf rebuild`). @throws ConfigError */
export function loadSigningSettings(env: Env = process.env): SigningSettings {
  const dataDir = env.SHELF_DATA_DIR?.trim() || '.shelf';
  const settings: SigningSettings = {
    keyFile: env.SHELF_SIGNING_KEY_FILE?.trim() || `${dataDir.replace(/\/+$/, '')}/.signing/registry-key.pem`,
    overlapMs: int(env, 'SHELF_SIGNING_KEY_OVERLAP_DAYS', 90) * 24 * 3600 * 1000,
    kms: {},
  };
  const kms = env.SHELF_SIGNING_KMS_KEY_ID?.trim();
  if (kms) settings.kmsKeyId = kms;
  const previousKms = env.SHELF_SIGNING_PREVIOUS_KMS_KEY_ID?.trim();
  if (previousKms) settings.previousKmsKeyId = previousKms;
  const previousFile = env.SHELF_SIGNING_PREVIOUS_KEY_FILE?.trim();
  if (previousFile) settings.previousKeyFile = previousFile;
  const endpoint = env.AWS_ENDPOINT_URL_KMS?.trim() || env.AWS_ENDPOINT_URL?.trim();
  if (endpoint) settings.kms.endpoint = url(env, env.AWS_ENDPOINT_URL_KMS?.trim() ? 'AWS_ENDPOINT_URL_KMS' : 'AWS_ENDPOINT_URL', '');
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim() || (endpoint ? 'us-east-1' : undefined);
  if (region) settings.kms.region = region;
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  if (accessKeyId && secretAccessKey) {
    const sessionToken = env.AWS_SESSION_TOKEN?.trim();
    settings.kms.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  return settings;
}

/** Daily limits of one scope; null is no limit. */
export interface QuotaLimits {
  announcesPerDay: number | null;
  bytesPerDay: number | null;
}

/** The registry-wide default quotas of a scope. */
export const DEFAULT_QUOTA: QuotaLimits = { announcesPerDay: 100, bytesPerDay: 1024 * 1024 * 1024 };

/** A configuration variable is missing or invalid. The message names the variable. */
export class ConfigError extends Error {
  readonly code = 'invalid_config';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Reads and validates the announce configuration. @throws ConfigError */
export function loadAnnounceConfig(env: Env = process.env): AnnounceConfig {
  const audience = env.SHELF_AUDIENCE?.trim();
  if (!audience) {
    throw new ConfigError(
      'SHELF_AUDIENCE is required: set it to this registry\'s own audience (for example its public URL). ' +
        'There is no default, so tokens minted for another registry cannot be replayed here.',
    );
  }
  const issuer = url(env, 'SHELF_OIDC_ISSUER', GITHUB_ISSUER).replace(/\/$/, '');
  const jwksUrl = url(env, 'SHELF_OIDC_JWKS_URL', `${issuer}/.well-known/jwks`);
  const githubApiUrl = url(env, 'SHELF_GITHUB_API_URL', 'https://api.github.com').replace(/\/$/, '');
  const trustedDownloadHosts = env.SHELF_TRUSTED_DOWNLOAD_HOSTS
    ? env.SHELF_TRUSTED_DOWNLOAD_HOSTS.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean)
    : [...GITHUB_DOWNLOAD_HOSTS, new URL(githubApiUrl).host];
  retiredSearchLayout(env);
  const config: AnnounceConfig = {
    audience,
    issuer,
    jwksUrl,
    githubApiUrl,
    trustedDownloadHosts,
    maxArtifactBytes: int(env, 'SHELF_MAX_ARTIFACT_BYTES', 100 * 1024 * 1024),
    assetTimeoutMs: int(env, 'SHELF_ASSET_TIMEOUT_MS', 60_000),
    archiveLimits: {
      maxTotalBytes: int(env, 'SHELF_MAX_UNPACKED_BYTES', DEFAULT_MAX_TOTAL_BYTES),
      maxEntries: int(env, 'SHELF_MAX_ARCHIVE_ENTRIES', DEFAULT_MAX_ENTRIES),
      maxRatio: int(env, 'SHELF_MAX_INFLATE_RATIO', DEFAULT_MAX_RATIO),
    },
    signing: loadSigningSettings(env),
    quota: {
      announcesPerDay: limit(env, 'SHELF_QUOTA_ANNOUNCES_PER_DAY', DEFAULT_QUOTA.announcesPerDay),
      bytesPerDay: limit(env, 'SHELF_QUOTA_BYTES_PER_DAY', DEFAULT_QUOTA.bytesPerDay),
    },
  };
  if (env.SHELF_GITHUB_TOKEN) config.githubToken = env.SHELF_GITHUB_TOKEN;
  if (env.SHELF_SIGSTORE_TRUSTED_ROOT?.trim()) config.sigstoreTrustedRoot = env.SHELF_SIGSTORE_TRUSTED_ROOT.trim();
  if (env.SHELF_PUBLIC_URL) config.publicUrl = url(env, 'SHELF_PUBLIC_URL', '').replace(/\/$/, '');
  const announceUrl = env.SHELF_ANNOUNCE_URL ? url(env, 'SHELF_ANNOUNCE_URL', '') : config.publicUrl;
  if (announceUrl) config.announceUrl = announceUrl.replace(/\/$/, '');
  return config;
}

function url(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim() || fallback;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got ${JSON.stringify(value)}`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * `SHELF_SEARCH_LAYOUT` is retired: the sharded layout is the only one. `sharded` is still
 * accepted, so existing deployments keep starting; `single` names the retired layout.
 */
function retiredSearchLayout(env: Env): void {
  const raw = env.SHELF_SEARCH_LAYOUT?.trim() || 'sharded';
  if (raw === 'single') {
    throw new ConfigError(
      'SHELF_SEARCH_LAYOUT=single names the retired whole-index layout: Shelf publishes only the sharded one. ' +
        'Unset SHELF_SEARCH_LAYOUT, then run `shelf rebuild` once to migrate the registry\'s files.',
    );
  }
  if (raw !== 'sharded') throw new ConfigError(`SHELF_SEARCH_LAYOUT is retired (the only layout is sharded); unset it, got ${JSON.stringify(raw)}`);
}

/** A daily limit: a non-negative integer, or `unlimited` (null). */
function limit(env: Env, name: string, fallback: number | null): number | null {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'unlimited') return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n)) throw new ConfigError(`${name} must be a whole number or "unlimited", got ${JSON.stringify(raw)}`);
  return n;
}

function int(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new ConfigError(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
}
