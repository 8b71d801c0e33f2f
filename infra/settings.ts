/**
 * The deployment's settings, read from CDK context (`-c key=value` on the command line, or
 * `cdk.json`) and validated eagerly: every error names the context key at fault. There is no
 * default audience: a synth without `-c audience=...` fails, so two registries can never share
 * one and accept each other's tokens.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../src/config.ts';

/** What the stack needs to know. Build it with {@link settingsFromContext}. */
export interface ShelfSettings {
  /** `audience`: the `aud` every announce token must carry (e.g. the registry's public URL). Required. */
  audience: string;
  /** `lambdaCode`: the built function, a `.zip` or a folder holding `index.mjs`. Default `dist/lambda/shelf-announce.zip`. */
  lambdaCode: string;
  /** `prefix`: key prefix of the registry inside the bucket, without slashes at the ends. Default none (the whole bucket). */
  prefix: string;
  /** `memory`: the function's memory in MB. Default 512. */
  memoryMb: number;
  /** `timeout`: the function's time limit in seconds. Default 60. */
  timeoutSeconds: number;
  /** `assetTimeout`: time limit for fetching one release asset, in seconds. Default 40 (must leave 10 s for the writes). */
  assetTimeoutSeconds: number;
  /** `maxArtifactBytes`: largest artifact accepted. Default 100 MiB. */
  maxArtifactBytes: number;
  /** `issuer`: the OIDC issuer tokens must come from. Default GitHub Actions'. */
  issuer?: string;
  /** `githubApiUrl`: the GitHub REST API release assets are read from (GitHub Enterprise Server). Default GitHub's. */
  githubApiUrl?: string;
  /** `trustedDownloadHosts`: comma-separated hosts release downloads may come from. Default GitHub's. */
  trustedDownloadHosts?: string;
  /**
   * `githubTokenSecret`: optional name or ARN of a Secrets Manager secret whose value is a token
   * for GitHub's releases API, which otherwise allows 60 requests an hour per IP address (and
   * Lambda's addresses are shared). Use a fine-grained token with no permissions at all: it only
   * raises the limit. The function reads it at start; neither the template nor the function's
   * configuration holds the token. (`githubToken`, the token itself as context, is refused: it
   * would be stored in plain text in the template.)
   */
  githubTokenSecret?: string;
  /** `noncurrentVersionDays`: days an overwritten or deleted object's old version is kept (the rollback window). Default 30. */
  noncurrentVersionDays: number;
  /** `logRetentionDays`: days the function's logs are kept. Default 30. */
  logRetentionDays: number;
  /**
   * `reservedConcurrency`: cap on concurrent announces, which bounds cost under abuse (the
   * function URL also allows at most 10 requests a second per reserved instance). Default 10;
   * `none` leaves the function unreserved (for accounts whose concurrency quota is too small to
   * reserve from).
   */
  reservedConcurrency?: number;
  /**
   * `quotaAnnouncesPerDay`, `quotaBytesPerDay`: each scope's daily quotas of new artifacts and
   * their bytes (`SHELF_QUOTA_*`: a number or `unlimited`). Default the function's own, 100 and 1 GiB.
   */
  quotaAnnouncesPerDay?: string;
  quotaBytesPerDay?: string;
  /** `alarmEmail`: optional address subscribed to the alarm topic (it must confirm the subscription). */
  alarmEmail?: string;
  /** `refusedAlarmThreshold`: refused announces (4xx) in 5 minutes that raise the "refused spike" alarm. Default 50. */
  refusedAlarmThreshold: number;
  /** `accessLogDays`: days the CDN's and the bucket's access logs are kept in the log bucket. Default 90. */
  accessLogDays: number;
  /** `domainName`: optional custom domain of the registry (a CNAME to the distribution); needs `certificateArn`. */
  domainName?: string;
  /** `certificateArn`: the ACM certificate (in us-east-1) for `domainName`; with it, viewers need TLS 1.2 or later. */
  certificateArn?: string;
  /** `priceClass`: CloudFront price class, `100` (North America, Europe), `200` or `All`. Default `100`. */
  priceClass: '100' | '200' | 'All';
  /** `gcIntervalHours`: how often the garbage collector of the search index runs. Default 24. */
  gcIntervalHours: number;
  /**
   * `gcGraceHours`: how long a search file stays after no root reaches it. Default 24; at least 1
   * (clients hold a root for its 60 s max-age, and the collector must outlast them).
   */
  gcGraceHours: number;
  /**
   * `signingKeyGeneration`: which of the stack's KMS signing keys signs. Default 1. Raising it by
   * one rotates: the stack creates the next key, the function signs with it, and the previous
   * generation's key (kept, still allowed to sign) endorses it in `v1/keys.json`; its signatures
   * stay valid for `signingKeyOverlapDays`. Keys are never deleted by the stack (retained).
   */
  signingKeyGeneration: number;
  /** `signingKeyOverlapDays`: how long a replaced key's signatures stay valid. Default 90. */
  signingKeyOverlapDays: number;
  /** `downloadsIntervalHours`: how often the download counts are made from the CDN's logs. Default 1. */
  downloadsIntervalHours: number;
  /**
   * `compactIntervalMinutes`: how often the search index's compactor looks at each kind's delta
   * (merging it into the base trees once it holds `delta_max` packages). Default 1: a run with
   * nothing to do reads two small roots.
   */
  compactIntervalMinutes: number;
}

/** Context keys the app reads (`stackName` in `infra/app.ts`, the rest here). */
export const CONTEXT_KEYS = [
  'stackName',
  'audience',
  'lambdaCode',
  'prefix',
  'memory',
  'timeout',
  'assetTimeout',
  'maxArtifactBytes',
  'gcIntervalHours',
  'gcGraceHours',
  'downloadsIntervalHours',
  'compactIntervalMinutes',
  'issuer',
  'githubApiUrl',
  'trustedDownloadHosts',
  'githubToken',
  'githubTokenSecret',
  'noncurrentVersionDays',
  'logRetentionDays',
  'reservedConcurrency',
  'priceClass',
  'signingKeyGeneration',
  'signingKeyOverlapDays',
  'quotaAnnouncesPerDay',
  'quotaBytesPerDay',
  'alarmEmail',
  'refusedAlarmThreshold',
  'accessLogDays',
  'domainName',
  'certificateArn',
] as const;

/** Default reserved concurrency of the announce function. */
export const DEFAULT_RESERVED_CONCURRENCY = 10;

/** Default location of the built function, relative to the repository root. */
export const DEFAULT_LAMBDA_CODE = 'dist/lambda/shelf-announce.zip';

// Log retention values CloudWatch accepts.
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/**
 * Reads and validates the settings.
 *
 * @param get - Looks a context key up (`(k) => app.node.tryGetContext(k)`); values may be strings
 *   (from `-c`) or numbers (from `cdk.json`).
 * @param root - Folder relative paths are resolved against (the repository root).
 * @throws ConfigError (code `invalid_config`) naming the context key at fault.
 */
export function settingsFromContext(get: (key: string) => unknown, root: string): ShelfSettings {
  const audience = text(get, 'audience');
  if (!audience) {
    throw new ConfigError(
      'Context "audience" is required (cdk deploy -c audience=https://registry.example.com): the aud every announce token must carry. ' +
        'There is no default, so a token minted for another registry can never be replayed at this one.',
    );
  }
  const code = text(get, 'lambdaCode') || DEFAULT_LAMBDA_CODE;
  const lambdaCode = isAbsolute(code) ? code : resolve(root, code);
  if (!existsSync(lambdaCode)) {
    throw new ConfigError(`Context "lambdaCode": ${lambdaCode} does not exist. Run "npm run build:lambda" first, or pass -c lambdaCode=<zip or folder>.`);
  }
  const prefix = text(get, 'prefix') ?? '';
  if (prefix !== '' && !/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/.test(prefix)) {
    throw new ConfigError(`Context "prefix" must be path segments of [A-Za-z0-9._-] without leading or trailing "/", got ${JSON.stringify(prefix)}.`);
  }
  const timeoutSeconds = int(get, 'timeout', 60, 10, 900);
  const assetTimeoutSeconds = int(get, 'assetTimeout', 40, 1, 890);
  if (assetTimeoutSeconds > timeoutSeconds - 10) {
    throw new ConfigError(
      `Context "assetTimeout" (${assetTimeoutSeconds} s) must be at least 10 s below "timeout" (${timeoutSeconds} s), so an announce whose download is slow still has time to answer.`,
    );
  }
  const priceClass = text(get, 'priceClass') ?? '100';
  if (priceClass !== '100' && priceClass !== '200' && priceClass !== 'All') {
    throw new ConfigError(`Context "priceClass" must be 100, 200 or All, got ${JSON.stringify(priceClass)}.`);
  }
  const logRetentionDays = int(get, 'logRetentionDays', 30, 1, 3653);
  if (!RETENTION_DAYS.includes(logRetentionDays)) {
    throw new ConfigError(`Context "logRetentionDays" must be one of ${RETENTION_DAYS.join(', ')}, got ${logRetentionDays}.`);
  }
  const settings: ShelfSettings = {
    audience,
    lambdaCode,
    prefix,
    memoryMb: int(get, 'memory', 512, 128, 10240),
    timeoutSeconds,
    assetTimeoutSeconds,
    maxArtifactBytes: int(get, 'maxArtifactBytes', 100 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    noncurrentVersionDays: int(get, 'noncurrentVersionDays', 30, 1, 36500),
    logRetentionDays,
    priceClass,
    gcIntervalHours: int(get, 'gcIntervalHours', 24, 1, 24 * 7),
    gcGraceHours: int(get, 'gcGraceHours', 24, 1, 24 * 30),
    signingKeyGeneration: int(get, 'signingKeyGeneration', 1, 1, 1000),
    signingKeyOverlapDays: int(get, 'signingKeyOverlapDays', 90, 1, 3650),
    downloadsIntervalHours: int(get, 'downloadsIntervalHours', 1, 1, 24),
    compactIntervalMinutes: int(get, 'compactIntervalMinutes', 1, 1, 60),
    refusedAlarmThreshold: int(get, 'refusedAlarmThreshold', 50, 1, 1_000_000),
    accessLogDays: int(get, 'accessLogDays', 90, 1, 3653),
  };
  const issuer = url(get, 'issuer');
  if (issuer) settings.issuer = issuer;
  const githubApiUrl = url(get, 'githubApiUrl');
  if (githubApiUrl) settings.githubApiUrl = githubApiUrl;
  const hosts = text(get, 'trustedDownloadHosts');
  if (hosts) settings.trustedDownloadHosts = hosts;
  if (text(get, 'githubToken')) {
    throw new ConfigError(
      'Context "githubToken" is refused: it would be stored in plain text in the template and the function\'s configuration. ' +
        'Store the token in Secrets Manager (aws secretsmanager create-secret --name shelf/github-token --secret-string "$TOKEN") and pass -c githubTokenSecret=shelf/github-token. The value is not shown.',
    );
  }
  const secret = text(get, 'githubTokenSecret');
  if (secret) {
    if (!/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$/.test(secret)) {
      throw new ConfigError(`Context "githubTokenSecret" must be a Secrets Manager secret name or ARN, got ${JSON.stringify(secret)}.`);
    }
    settings.githubTokenSecret = secret;
  }
  const reserved = text(get, 'reservedConcurrency');
  if (reserved !== 'none') settings.reservedConcurrency = int(get, 'reservedConcurrency', DEFAULT_RESERVED_CONCURRENCY, 1, 10000);
  for (const key of ['quotaAnnouncesPerDay', 'quotaBytesPerDay'] as const) {
    const value = text(get, key);
    if (!value) continue;
    if (value !== 'unlimited' && !/^[1-9]\d{0,15}$/.test(value)) throw new ConfigError(`Context "${key}" must be a positive integer or "unlimited", got ${JSON.stringify(value)}.`);
    settings[key] = value;
  }
  const email = text(get, 'alarmEmail');
  if (email) {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) throw new ConfigError(`Context "alarmEmail" must be an email address, got ${JSON.stringify(email)}.`);
    settings.alarmEmail = email;
  }
  const domainName = text(get, 'domainName');
  const certificateArn = text(get, 'certificateArn');
  if (Boolean(domainName) !== Boolean(certificateArn)) {
    throw new ConfigError('Contexts "domainName" and "certificateArn" go together: CloudFront serves a custom domain only with an ACM certificate for it (in us-east-1).');
  }
  if (domainName && certificateArn) {
    if (!/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(domainName)) {
      throw new ConfigError(`Context "domainName" must be a lower-case DNS name such as registry.example.com, got ${JSON.stringify(domainName)}.`);
    }
    if (!/^arn:aws[a-z-]*:acm:us-east-1:\d{12}:certificate\/[0-9a-f-]+$/.test(certificateArn)) {
      throw new ConfigError(`Context "certificateArn" must be an ACM certificate ARN in us-east-1 (CloudFront takes certificates from there only), got ${JSON.stringify(certificateArn)}.`);
    }
    settings.domainName = domainName;
    settings.certificateArn = certificateArn;
  }
  return settings;
}

function text(get: (key: string) => unknown, key: string): string | undefined {
  const value = get(key);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new ConfigError(`Context "${key}" must be a string, got ${JSON.stringify(value)}.`);
  }
  return String(value).trim();
}

function int(get: (key: string) => unknown, key: string, fallback: number, min: number, max: number): number {
  const raw = text(get, key);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(`Context "${key}" must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}.`);
  }
  return n;
}

function url(get: (key: string) => unknown, key: string): string | undefined {
  const raw = text(get, key);
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`Context "${key}" must be an absolute https URL, got ${JSON.stringify(raw)}.`);
  }
  if (parsed.protocol !== 'https:') throw new ConfigError(`Context "${key}" must be an https URL, got ${JSON.stringify(raw)}.`);
  return raw.replace(/\/$/, '');
}
