/**
 * The CDN side of a takedown. Artifacts are served `immutable` for a year, so an edge keeps
 * serving deleted bytes until told otherwise; documents expire within a minute, but are purged
 * too so that the removal shows at once. This module names the paths a takedown must purge, finds
 * the CloudFront distribution when one is known, and creates the invalidation with
 * `@aws-sdk/client-cloudfront` (loaded only then; the installed command line does not bring it).
 *
 * The distribution is known from, in order: `--distribution`, `SHELF_CLOUDFRONT_DISTRIBUTION_ID`,
 * or the private record `private/cdn.json` that `npm run deploy` writes from the stack's
 * `DistributionId` output. Without one, the paths are printed for whatever CDN is in front.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../config.ts';
import type { Kind, PackageName, Version } from '../core/names.ts';
import {
  badgeKey,
  cdnKey,
  lifecycleKey,
  mcpPagesRoot,
  mcpServerPrefix,
  packageFolder,
  packageKey,
  recentKey,
  shardedRootKey,
  skillsDiscoveryPackageKey,
  skillsDiscoveryScopeKey,
  versionKey,
  versionsPrefix,
} from '../core/paths.ts';
import { readStoredJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';

/**
 * The CDN paths (`/`-prefixed, as CloudFront names them) a takedown or its undo must purge: the
 * removed version's document and folder (`/*`), or the whole package's folder, plus the
 * documents that changed with it (package document, lifecycle record, badge, recent list, search
 * root, and the MCP registry API's server folder and listing pages, or the skill's discovery
 * indexes). At most a handful of paths, at most four of them wildcards: CloudFront's limits are
 * 3,000 paths and 15 wildcards in progress.
 */
export function takedownPaths(kind: Kind, pkg: PackageName, version: string | null): string[] {
  const own =
    version === null
      ? [`${packageFolder(kind, pkg)}*`]
      : [versionKey(kind, pkg, version as Version), `${versionsPrefix(kind, pkg)}${version}/*`, lifecycleKey(kind, pkg)];
  // The read APIs of other clients: the server's MCP files and the listings' pages, or the
  // skill's discovery indexes (as keys: the viewer-request function maps requests to them before
  // the cache).
  const interop = kind === 'bundle' ? [`${mcpServerPrefix(pkg)}*`, `${mcpPagesRoot()}*`] : [skillsDiscoveryScopeKey(pkg.scope), skillsDiscoveryPackageKey(pkg)];
  return [packageKey(kind, pkg), ...own, badgeKey(kind, pkg), recentKey(), shardedRootKey(kind), ...interop].map((key) => `/${key}`);
}

/** Creates an invalidation of `paths`; resolves with its id. */
export type Invalidator = (paths: string[]) => Promise<{ id: string; status: string }>;

/** Where the distribution to invalidate comes from. */
export interface DistributionSource {
  /** `--distribution`. */
  flag?: string | undefined;
  env: Record<string, string | undefined>;
  store: ObjectStore;
}

/**
 * The CloudFront distribution id, or null when none is known.
 *
 * @throws ConfigError naming the flag or variable whose value is not a distribution id
 */
export async function findDistribution({ flag, env, store }: DistributionSource): Promise<string | null> {
  if (flag !== undefined) return checkId('--distribution', flag);
  const fromEnv = env.SHELF_CLOUDFRONT_DISTRIBUTION_ID?.trim();
  if (fromEnv) return checkId('SHELF_CLOUDFRONT_DISTRIBUTION_ID', fromEnv);
  const stored = await readStoredJson(store, cdnKey()).catch(() => null);
  const id = (stored?.json as { cloudfront_distribution_id?: unknown } | undefined)?.cloudfront_distribution_id;
  return typeof id === 'string' ? checkId(cdnKey(), id) : null;
}

function checkId(source: string, value: string): string {
  if (!/^[A-Z0-9]{1,128}$/.test(value)) throw new ConfigError(`${source} must be a CloudFront distribution id (upper-case letters and digits), got ${JSON.stringify(value)}`);
  return value;
}

/**
 * An invalidator of one CloudFront distribution, with the credentials `AWS_ACCESS_KEY_ID` /
 * `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`) of `env`, else the SDK's own chain (shared
 * files, SSO, a role); `AWS_ENDPOINT_URL_CLOUDFRONT` points it elsewhere (tests use a loopback
 * fake of the API).
 *
 * @throws ConfigError when `@aws-sdk/client-cloudfront` is not installed, or the endpoint is not a URL
 */
export async function cloudFrontInvalidator(distributionId: string, env: Record<string, string | undefined>): Promise<Invalidator> {
  let sdk: typeof import('@aws-sdk/client-cloudfront');
  try {
    sdk = await import('@aws-sdk/client-cloudfront');
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    throw new ConfigError(
      'A CloudFront distribution is known, and @aws-sdk/client-cloudfront is not installed: install it next to shelf-cli (npm install -g shelf-cli @aws-sdk/client-cloudfront), or pass --no-invalidate and invalidate the printed paths yourself.',
    );
  }
  const endpoint = env.AWS_ENDPOINT_URL_CLOUDFRONT?.trim();
  if (endpoint && (!/^https?:\/\/[^/]/.test(endpoint) || !URL.canParse(endpoint))) {
    throw new ConfigError(`AWS_ENDPOINT_URL_CLOUDFRONT must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim();
  const sessionToken = env.AWS_SESSION_TOKEN?.trim();
  const credentials = accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined;
  const client = new sdk.CloudFrontClient({ region: 'us-east-1', ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}), maxAttempts: 3 });
  return async (paths) => {
    const out = await client.send(
      new sdk.CreateInvalidationCommand({
        DistributionId: distributionId,
        InvalidationBatch: { CallerReference: `shelf-takedown-${randomUUID()}`, Paths: { Quantity: paths.length, Items: paths } },
      }),
    );
    return { id: out.Invalidation?.Id ?? '', status: out.Invalidation?.Status ?? '' };
  };
}
