/**
 * Chooses the object store from configuration, so the same code runs on a folder or a bucket:
 * `SHELF_STORE` unset, the folder `SHELF_DATA_DIR` (default `./.shelf`); `SHELF_STORE=s3://bucket/prefix`,
 * that bucket, probed for conditional writes. Endpoint, region and credentials come from the AWS
 * SDK's variables and chain; `SHELF_S3_ACCESS_KEY_ID`/`SHELF_S3_SECRET_ACCESS_KEY`
 * (`SHELF_S3_SESSION_TOKEN`) take precedence, for a Lambda storing in R2 or MinIO;
 * `SHELF_S3_FORCE_PATH_STYLE=1` addresses the bucket in the path, as most S3-compatible servers need.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { ConfigError } from '../config.ts';
import { PACKAGE_NAME } from '../core/package.ts';
import { FsStore } from './fs-store.ts';
import type { ObjectStore } from './object-store.ts';
import type { S3Store } from './s3-store.ts';

type Env = Record<string, string | undefined>;

/**
 * The object store the configuration names, ready to use.
 *
 * @param env the environment (default `process.env`)
 * @param options `probe: false` skips the conditional-write probe (its key is written and
 *   deleted): for a function whose role may delete nothing outside the search index (`shelf gc`
 *   on AWS). Default true.
 * @throws ConfigError naming the variable at fault (`SHELF_STORE`, `SHELF_S3_FORCE_PATH_STYLE`,
 *   `AWS_ENDPOINT_URL_S3`...)
 * @throws ShelfError `store_unsupported` when the bucket's server ignores conditional writes,
 *   `store_unavailable` when it cannot be written
 */
export async function storeFromEnv(env: Env = process.env, options: { probe?: boolean } = {}): Promise<ObjectStore> {
  const spec = env.SHELF_STORE?.trim();
  if (!spec) return new FsStore(resolve(env.SHELF_DATA_DIR || '.shelf'));
  if (!spec.startsWith('s3://')) {
    throw new ConfigError(
      `SHELF_STORE must be s3://bucket[/prefix], or unset to use the folder SHELF_DATA_DIR; got ${JSON.stringify(spec)}`,
    );
  }
  const { parseS3Url, S3Store } = await loadS3Store();
  let location: { bucket: string; prefix: string };
  try {
    location = parseS3Url(spec);
  } catch {
    throw new ConfigError(`SHELF_STORE must be s3://bucket[/prefix] with a valid bucket name; got ${JSON.stringify(spec)}`);
  }
  let store: S3Store;
  try {
    store = new S3Store({ ...location, clientConfig: s3ClientConfig(env) });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`SHELF_STORE ${JSON.stringify(spec)} is not usable: ${(err as Error).message}`);
  }
  if (options.probe !== false) await store.probe();
  return store;
}

/**
 * The S3 store, loaded only when a bucket is configured: the installed command line does not
 * bring the AWS SDK along (`npm install -g shelf-cli @aws-sdk/client-s3` adds it).
 *
 * @throws ConfigError naming `SHELF_STORE` when the SDK is not installed
 */
async function loadS3Store(): Promise<typeof import('./s3-store.ts')> {
  try {
    return await import('./s3-store.ts');
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND' || !String((err as Error).message).includes('@aws-sdk/client-s3')) throw err;
    throw new ConfigError(
      `SHELF_STORE names an S3 bucket, which needs the AWS SDK, and @aws-sdk/client-s3 is not installed: install it next to ${PACKAGE_NAME} (npm install -g ${PACKAGE_NAME} @aws-sdk/client-s3).`,
    );
  }
}

/** The client configuration the environment gives; what it leaves out, the SDK resolves itself. */
function s3ClientConfig(env: Env): S3ClientConfig {
  const config: S3ClientConfig = {};
  for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'] as const) {
    const value = env[name]?.trim();
    if (!value) continue;
    if (!/^https?:\/\/[^/]/.test(value) || !URL.canParse(value)) throw new ConfigError(`${name} must be an http(s) URL, got ${JSON.stringify(value)}`);
    config.endpoint = value;
    break;
  }
  const region = env.AWS_REGION?.trim() || env.AWS_DEFAULT_REGION?.trim();
  if (region) config.region = region;
  // S3-compatible servers often ignore regions, but the SDK needs one to sign.
  else if (config.endpoint) config.region = 'us-east-1';
  // SHELF_S3_* first: a Lambda function cannot set AWS_ACCESS_KEY_ID (the runtime reserves it
  // for the function's role), yet may store in R2 or MinIO with keys of their own.
  const shelfKeyId = env.SHELF_S3_ACCESS_KEY_ID?.trim();
  const shelfSecret = env.SHELF_S3_SECRET_ACCESS_KEY?.trim();
  if (Boolean(shelfKeyId) !== Boolean(shelfSecret)) {
    throw new ConfigError('SHELF_S3_ACCESS_KEY_ID and SHELF_S3_SECRET_ACCESS_KEY must be set together');
  }
  const accessKeyId = shelfKeyId || env.AWS_ACCESS_KEY_ID?.trim();
  const secretAccessKey = shelfSecret || env.AWS_SECRET_ACCESS_KEY?.trim();
  if (accessKeyId && secretAccessKey) {
    const sessionToken = shelfKeyId ? env.SHELF_S3_SESSION_TOKEN?.trim() : env.AWS_SESSION_TOKEN?.trim();
    config.credentials = { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  } else if (env.AWS_PROFILE?.trim()) {
    // A named profile given in this environment (e.g. the deploy's --profile), not only process.env's.
    config.profile = env.AWS_PROFILE.trim();
  }
  const pathStyle = env.SHELF_S3_FORCE_PATH_STYLE?.trim().toLowerCase();
  if (pathStyle === '1' || pathStyle === 'true') config.forcePathStyle = true;
  else if (pathStyle && pathStyle !== '0' && pathStyle !== 'false') {
    throw new ConfigError(`SHELF_S3_FORCE_PATH_STYLE must be 1, true, 0 or false, got ${JSON.stringify(env.SHELF_S3_FORCE_PATH_STYLE)}`);
  }
  return config;
}
