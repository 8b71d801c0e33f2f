/**
 * An S3-compatible server for tests: s3rver on loopback on a free port, with a temp folder as
 * its disk, and the test-only conditional-write front (`test/fakes/s3-conditional-proxy.ts`) on
 * another port, through which it honours `If-None-Match` / `If-Match` like AWS S3 does.
 *
 * s3rver's ListObjectsV2 continuation tokens use DES, which Node only offers with
 * `--openssl-legacy-provider`; `vitest.config.ts` passes that flag to the test processes. Other
 * callers (benchmarks, scripts) need `NODE_OPTIONS=--openssl-legacy-provider`.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Store, type S3StoreOptions } from '../../src/store/s3-store.ts';
import { startS3ConditionalProxy } from '../fakes/s3-conditional-proxy.ts';

/** s3rver's default credentials; it checks request signatures against them. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  /** Koa's request handler. */
  callback(): RequestListener;
  /** Koa's middleware list. */
  middleware: Array<{ name?: string }>;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** A running S3-compatible test server. */
export interface TestS3Server {
  /** Endpoint honouring conditional writes (the proxy): what stores should use. */
  endpoint: string;
  /** s3rver itself, which ignores conditional writes: for testing that the probe refuses it. */
  rawEndpoint: string;
  /** The bucket created at start. */
  bucket: string;
  /** An {@link S3Store} on the bucket through the proxy; give each test its own prefix. */
  makeStore(prefix?: string, options?: Partial<S3StoreOptions>): S3Store;
  /** The environment `storeFromEnv` needs to reach this server. */
  env(prefix?: string): Record<string, string>;
  close(): Promise<void>;
}

/** Starts s3rver and the conditional-write proxy in front of it. */
export async function startS3Server(): Promise<TestS3Server> {
  assertLegacyCiphers();
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverClass;
  const directory = await mkdtemp(join(tmpdir(), 'shelf-s3rver-'));
  const bucket = 'shelf-test';
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory, configureBuckets: [{ name: bucket }] });
  // Its request logger colours a line per request even when silent; tests make thousands.
  if (s3rver.middleware[0]?.name === 'logger') s3rver.middleware.shift();
  const { port } = await s3rver.run();
  const rawEndpoint = `http://127.0.0.1:${port}`;
  const proxy = await startS3ConditionalProxy({ s3rver: s3rver.callback(), s3rverUrl: rawEndpoint });
  const clientConfig = (endpoint: string) => ({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  return {
    endpoint: proxy.url,
    rawEndpoint,
    bucket,
    makeStore: (prefix = '', options = {}) => new S3Store({ bucket, prefix, clientConfig: clientConfig(proxy.url), ...options }),
    env: (prefix = '') => ({
      SHELF_STORE: `s3://${bucket}/${prefix}`,
      AWS_ENDPOINT_URL_S3: proxy.url,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      SHELF_S3_FORCE_PATH_STYLE: '1',
    }),
    async close() {
      await proxy.close();
      await s3rver.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

function assertLegacyCiphers(): void {
  try {
    createCipheriv('des', randomBytes(8), randomBytes(8));
  } catch {
    throw new Error('s3rver needs DES for its list continuation tokens: run Node with --openssl-legacy-provider (vitest.config.ts does this for tests).');
  }
}
