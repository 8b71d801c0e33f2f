/**
 * The S3 store: the object-store contract against s3rver behind the test-only conditional-write
 * proxy (AWS S3's documented semantics), listing across pages, the mapping of S3's precondition
 * answers, the start-up probe, and selecting a store by configuration.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ConfigError } from '../../src/config.ts';
import { isShelfError } from '../../src/core/errors.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { storeFromEnv } from '../../src/store/from-env.ts';
import { PreconditionFailedError } from '../../src/store/object-store.ts';
import { parseS3Url, S3Store } from '../../src/store/s3-store.ts';
import { S3RVER_CREDENTIALS, startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { objectStoreContract } from './contract.ts';

const OPTS = { contentType: 'application/json', cacheControl: 'no-cache' };
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.close();
});

// Every test gets its own prefix in the one bucket: as good as a fresh bucket, and much cheaper.
objectStoreContract('S3Store (s3rver + conditional-write proxy)', async () => ({
  store: s3.makeStore(`contract-${randomUUID()}/`),
  cleanup: async () => undefined,
}));


describe('S3Store', () => {
  // Paging is tested on keys whose folder order is their key order: s3rver pages by walking its
  // folders, so across pages it misorders keys like "a-b/1" < "a/1" (real S3 pages in key order).
  it('lists many pages through continuation tokens, in key order, under its prefix only', async () => {
    const prefix = `pages-${randomUUID()}/`;
    const store = s3.makeStore(prefix, { pageSize: 3 });
    const keys = Array.from({ length: 10 }, (_, i) => `k/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => store.put(k, enc(k), OPTS)));
    await s3.makeStore(`other-${randomUUID()}/`).put('k/99', enc('not mine'), OPTS);

    const listed = await store.list('k/');
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(listed[0]).toEqual(await store.head('k/00'));

    // The raw bucket confirms one page holds 3 keys, so the listing above really crossed 4 pages.
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${prefix}k/`, MaxKeys: 3 }));
    expect(page.KeyCount).toBe(3);
    expect(page.IsTruncated).toBe(true);
    expect(page.NextContinuationToken).toBeTruthy();
  });

  it('writes content type and cache control as object metadata', async () => {
    const store = s3.makeStore(`meta-${randomUUID()}/`);
    await store.put('a.mcpb', enc('zip'), { contentType: 'application/zip', cacheControl: 'public, max-age=31536000, immutable' });
    const res = await fetch(`${s3.endpoint}/${s3.bucket}/${store.prefix}a.mcpb`);
    expect(res.headers.get('content-type')).toBe('application/zip');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe((await store.head('a.mcpb'))!.etag);
  });

  it('describes itself as s3://bucket/prefix and normalises the prefix', () => {
    expect(s3.makeStore('reg').description).toBe(`s3://${s3.bucket}/reg/`);
    expect(s3.makeStore('reg/').prefix).toBe('reg/');
    expect(s3.makeStore('').description).toBe(`s3://${s3.bucket}/`);
  });

  it('rejects bad options eagerly, naming the option', () => {
    expect(() => new S3Store({ bucket: 'A_Bucket' })).toThrow(/"bucket"/);
    expect(() => new S3Store({ bucket: 'ok-bucket', prefix: '/abs' })).toThrow(/"prefix"/);
    expect(() => new S3Store({ bucket: 'ok-bucket', prefix: 'a/../b/' })).toThrow(/"prefix"/);
    expect(() => new S3Store({ bucket: 'ok-bucket', pageSize: 0 })).toThrow(/"pageSize"/);
    expect(() => new S3Store({ bucket: 'ok-bucket', pageSize: 1001 })).toThrow(/"pageSize"/);
    expect(() => new S3Store({ bucket: 'ok-bucket', client: new S3Client({}), clientConfig: {} })).toThrow(/"client" and "clientConfig"/);
  });

  it('rejects keys that are not registry keys on reads too', async () => {
    const store = s3.makeStore(`keys-${randomUUID()}/`);
    await expect(store.get('../x')).rejects.toThrow(TypeError);
    await expect(store.head('.shelf-probe/x')).rejects.toThrow(TypeError);
    await expect(store.delete('/abs')).rejects.toThrow(TypeError);
  });

  it('probe passes on a server that honours both preconditions and leaves nothing behind', async () => {
    const store = s3.makeStore(`probe-${randomUUID()}/`);
    await store.probe();
    await store.probe();
    expect(await store.list('')).toEqual([]);
    const client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
    const raw = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: store.prefix }));
    expect(raw.KeyCount).toBe(0);
  });

  it('probe refuses plain s3rver, which ignores If-None-Match, with store_unsupported naming the header', async () => {
    const store = new S3Store({
      bucket: s3.bucket,
      prefix: `raw-${randomUUID()}/`,
      clientConfig: { endpoint: s3.rawEndpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS },
    });
    const err = await store.probe().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isShelfError(err, 'store_unsupported')).toBe(true);
    expect((err as Error).message).toMatch(/does not honour If-None-Match/);
    expect((err as { details?: unknown }).details).toEqual({ missing: 'If-None-Match' });
  });

  it('probe refuses a server that honours If-None-Match but ignores If-Match, naming If-Match', async () => {
    // A proxy of our own that forwards to the conditional proxy with If-Match stripped.
    const stripper = await startStripper(s3.endpoint, 'if-match');
    try {
      const store = new S3Store({
        bucket: s3.bucket,
        prefix: `nomatch-${randomUUID()}/`,
        clientConfig: { endpoint: stripper.url, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS },
      });
      const err = await store.probe().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isShelfError(err, 'store_unsupported')).toBe(true);
      expect((err as Error).message).toMatch(/does not honour If-Match/);
    } finally {
      await stripper.close();
    }
  });

  it('probe reports an unreachable or missing bucket as store_unavailable', async () => {
    const store = new S3Store({
      bucket: 'no-such-bucket',
      clientConfig: { endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 },
    });
    const err = await store.probe().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isShelfError(err, 'store_unavailable')).toBe(true);
    expect((err as Error).message).toContain('s3://no-such-bucket/');
  });

  it('probe refuses a server that rejects conditional headers outright (501), or refuses a fresh create-only write', async () => {
    const answers: Array<{ status: number; code: string }> = [];
    const fake = await startXmlErrorServer(answers);
    try {
      const store = new S3Store({
        bucket: 'any-bucket',
        clientConfig: { endpoint: fake.url, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 },
      });
      answers.push({ status: 501, code: 'NotImplemented' }); // nothing was written, so nothing is deleted
      const notImplemented = await store.probe().catch((e: unknown) => e);
      expect(isShelfError(notImplemented, 'store_unsupported')).toBe(true);
      expect((notImplemented as Error).message).toMatch(/does not honour If-None-Match: the server answered 501/);

      answers.push({ status: 412, code: 'PreconditionFailed' });
      const refused = await store.probe().catch((e: unknown) => e);
      expect(isShelfError(refused, 'store_unsupported')).toBe(true);
      expect((refused as Error).message).toMatch(/create-only write of a fresh random key was refused/);
    } finally {
      await fake.close();
    }
  });

  it('maps 409 ConditionalRequestConflict and 412 to PreconditionFailedError, and other errors through', async () => {
    const answers: Array<{ status: number; code: string }> = [];
    const fake = await startXmlErrorServer(answers);
    try {
      const store = new S3Store({
        bucket: 'any-bucket',
        clientConfig: { endpoint: fake.url, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS, maxAttempts: 1 },
      });
      answers.push({ status: 409, code: 'ConditionalRequestConflict' });
      const conflict = await store.put('k', enc('x'), { ...OPTS, ifMatch: '"abc"' }).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(PreconditionFailedError);
      expect((conflict as PreconditionFailedError).condition).toBe('if-match');

      answers.push({ status: 412, code: 'PreconditionFailed' });
      const failed = await store.put('k', enc('x'), { ...OPTS, ifNoneMatch: '*' }).catch((e: unknown) => e);
      expect(failed).toBeInstanceOf(PreconditionFailedError);
      expect((failed as PreconditionFailedError).condition).toBe('if-none-match');

      // Without a precondition, a 409 is not a lost race: it surfaces as the SDK's error.
      answers.push({ status: 409, code: 'OperationAborted' });
      const other = await store.put('k', enc('x'), OPTS).catch((e: unknown) => e);
      expect(other).not.toBeInstanceOf(PreconditionFailedError);
      expect((other as { name: string }).name).toBe('OperationAborted');
    } finally {
      await fake.close();
    }
  });

  it('parses s3:// URLs', () => {
    expect(parseS3Url('s3://my-bucket/reg/v')).toEqual({ bucket: 'my-bucket', prefix: 'reg/v' });
    expect(parseS3Url('s3://my-bucket')).toEqual({ bucket: 'my-bucket', prefix: '' });
    expect(() => parseS3Url('s3:/my-bucket')).toThrow(TypeError);
    expect(() => parseS3Url('http://x/y')).toThrow(TypeError);
  });
});

describe('storeFromEnv', () => {
  it('uses the folder SHELF_DATA_DIR when SHELF_STORE is unset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelf-from-env-'));
    try {
      const store = await storeFromEnv({ SHELF_DATA_DIR: dir });
      expect(store).toBeInstanceOf(FsStore);
      expect(store.description).toBe(`fs:${dir}`);
      expect((await storeFromEnv({ SHELF_STORE: '', SHELF_DATA_DIR: dir })).description).toBe(`fs:${dir}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('defaults the folder to ./.shelf', async () => {
    expect((await storeFromEnv({})).description).toBe(`fs:${join(process.cwd(), '.shelf')}`);
  });

  it('opens a probed S3 store for s3://bucket/prefix with the endpoint, region and credentials of the environment', async () => {
    const prefix = `env-${randomUUID()}`;
    const store = await storeFromEnv(s3.env(prefix));
    expect(store).toBeInstanceOf(S3Store);
    expect(store.description).toBe(`s3://${s3.bucket}/${prefix}/`);
    await store.put('x.json', enc('{}'), OPTS);
    expect(dec((await s3.makeStore(prefix).get('x.json'))!.body)).toBe('{}');
  });

  it('prefers SHELF_S3_ACCESS_KEY_ID/SECRET over the AWS_* keys (a Lambda cannot set those), and wants both', async () => {
    const prefix = `env-keys-${randomUUID()}`;
    const env = {
      ...s3.env(prefix),
      AWS_ACCESS_KEY_ID: 'WRONGKEY',
      AWS_SECRET_ACCESS_KEY: 'wrong-secret',
      SHELF_S3_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      SHELF_S3_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    };
    const store = await storeFromEnv(env);
    await store.put('k.json', enc('{}'), OPTS);
    expect(dec((await s3.makeStore(prefix).get('k.json'))!.body)).toBe('{}');
    // The wrong AWS_* keys alone are refused by the server: the SHELF_S3_* ones were used above.
    const { SHELF_S3_ACCESS_KEY_ID: _id, SHELF_S3_SECRET_ACCESS_KEY: _secret, ...awsOnly } = env;
    await expect(storeFromEnv(awsOnly)).rejects.toMatchObject({ code: 'store_unavailable' });
    const half = await storeFromEnv({ ...s3.env(prefix), SHELF_S3_ACCESS_KEY_ID: 'x' }).catch((e: unknown) => e);
    expect(half).toBeInstanceOf(ConfigError);
    expect((half as Error).message).toContain('SHELF_S3_SECRET_ACCESS_KEY');
  });

  it('refuses to start on a server without conditional writes (store_unsupported)', async () => {
    const env = { ...s3.env(`env-raw-${randomUUID()}`), AWS_ENDPOINT_URL_S3: s3.rawEndpoint };
    await expect(storeFromEnv(env)).rejects.toMatchObject({ code: 'store_unsupported' });
  });

  it('refuses anything else in SHELF_STORE with a ConfigError naming it', async () => {
    for (const value of ['file:///tmp/x', 's3://', 's3://Bad_Bucket/x', '/var/lib/shelf']) {
      const err = await storeFromEnv({ SHELF_STORE: value }).catch((e: unknown) => e);
      expect(err, value).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain('SHELF_STORE');
    }
  });

  it('refuses a bad SHELF_S3_FORCE_PATH_STYLE or endpoint with a ConfigError naming it', async () => {
    const bad = await storeFromEnv({ ...s3.env('x'), SHELF_S3_FORCE_PATH_STYLE: 'maybe' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConfigError);
    expect((bad as Error).message).toContain('SHELF_S3_FORCE_PATH_STYLE');
    const endpoint = await storeFromEnv({ ...s3.env('x'), AWS_ENDPOINT_URL_S3: 'not a url' }).catch((e: unknown) => e);
    expect(endpoint).toBeInstanceOf(ConfigError);
    expect((endpoint as Error).message).toContain('AWS_ENDPOINT_URL_S3');
  });
});

describe('shelf serve on S3', () => {
  const BIN = fileURLToPath(new URL('../../bin/shelf.js', import.meta.url));

  /** Runs `shelf serve` until it prints its URL (then `onUrl`, then SIGTERM) or exits. */
  function serve(env: Record<string, string>, onUrl: (url: string) => Promise<void>): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      let seen = false;
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(`timed out:\n${output}`))), 60_000);
      const onData = (d: Buffer) => {
        output += d.toString();
        const url = /Shelf registry on (http:\/\/\S+)/.exec(output)?.[1];
        if (url && !seen) {
          seen = true;
          onUrl(url).then(
            () => child.kill('SIGTERM'),
            (err: unknown) => (child.kill('SIGKILL'), reject(err)),
          );
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, output });
      });
    });
  }

  it('serves and writes the bucket named by SHELF_STORE, selected by configuration only', async () => {
    const prefix = `serve-${randomUUID()}`;
    let config: unknown;
    const r = await serve({ ...s3.env(prefix), SHELF_AUDIENCE: 'https://shelf.test' }, async (url) => {
      const res = await fetch(`${url}/v1/config.json`);
      expect(res.status).toBe(200);
      config = await res.json();
    });
    expect(r.output).toContain(`bucket: s3://${s3.bucket}/${prefix}/)`);
    expect(r.code).toBe(0);
    // What the server served is what it wrote to the bucket.
    const stored = await s3.makeStore(prefix).get('v1/config.json');
    expect(JSON.parse(dec(stored!.body))).toEqual(config);
  });

  it('refuses to start on a bucket without conditional writes, naming the missing feature', async () => {
    const env = { ...s3.env(`serve-raw-${randomUUID()}`), AWS_ENDPOINT_URL_S3: s3.rawEndpoint, SHELF_AUDIENCE: 'https://shelf.test' };
    const r = await serve(env, async () => {
      throw new Error('the server started');
    });
    expect(r.code).toBe(1);
    expect(r.output).toContain('error[store_unsupported]');
    expect(r.output).toContain('If-None-Match');
    expect(r.output).not.toContain('Shelf registry on');
  });
});

/** A loopback server answering every request with the next queued S3 XML error. */
async function startXmlErrorServer(answers: Array<{ status: number; code: string }>): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer(async (req, res) => {
    for await (const _ of req);
    const next = answers.shift() ?? { status: 500, code: 'InternalError' };
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${next.code}</Code><Message>test</Message><RequestId>r</RequestId></Error>`;
    res.writeHead(next.status, { 'content-type': 'application/xml' });
    res.end(xml);
  });
  return listen(server);
}

/** A loopback proxy that drops one request header and forwards everything else to `target`. */
async function startStripper(target: string, header: string): Promise<{ url: string; close(): Promise<void> }> {
  const { request } = await import('node:http');
  const up = new URL(target);
  const server = createServer((req, res) => {
    const headers = { ...req.headers };
    delete headers[header];
    const fwd = request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(fwd);
  });
  return listen(server);
}

async function listen(server: Server): Promise<{ url: string; close(): Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
