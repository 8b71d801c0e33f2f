/**
 * What `npm run deploy` does after `cdk deploy`: the stack's outputs become the configuration,
 * and `v1/config.json` plus the web pages land in the (S3) bucket. Also the small pure parts of the
 * deploy command (the CDK CLI arguments, `-c` parsing for the offline synth).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cdnKey } from '../../src/core/paths.ts';
import { findDistribution } from '../../src/registry/cdn.ts';
import { cdkDeployArgs, CDK_CLI, parseContextArgs, profileOf } from '../../infra/deploy.ts';
import { envFromOutputs, uploadAssets } from '../../scripts/upload-assets.ts';
import { ConfigError } from '../../src/config.ts';
import { isShelfError } from '../../src/core/errors.ts';
import { ConfigDocumentSchema } from '../../src/core/schemas.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';

const PREFIX = 'deployed/';
let s3: TestS3Server;
let store: S3Store;

/** A `cdk deploy --outputs-file` document, as the stack writes it. */
const outputs = () => ({
  Shelf: {
    CdnUrl: 'https://d111111abcdef8.cloudfront.net',
    AnnounceUrl: 'https://abc123.lambda-url.eu-west-1.on.aws/',
    Audience: 'https://registry.example.test',
    BucketName: s3.bucket,
    StoreUrl: `s3://${s3.bucket}/${PREFIX}`,
    OidcIssuer: 'https://token.actions.githubusercontent.com',
    DistributionId: 'E2EXAMPLE0CDN',
    Region: 'eu-west-1',
  },
});

/** The test server's endpoint and credentials (what an operator's AWS profile provides). */
const operatorEnv = () => {
  const { SHELF_STORE: _ignored, ...rest } = s3.env(PREFIX);
  return rest;
};

beforeAll(async () => {
  s3 = await startS3Server();
  store = s3.makeStore(PREFIX);
});
afterAll(() => s3?.close());

describe('uploading the deployed registry files', () => {
  it('maps the stack outputs to the configuration, keeping the operator region when there is one', () => {
    const env = envFromOutputs(outputs(), undefined, {});
    expect(env).toMatchObject({
      SHELF_STORE: `s3://${s3.bucket}/${PREFIX}`,
      SHELF_ANNOUNCE_URL: 'https://abc123.lambda-url.eu-west-1.on.aws/',
      SHELF_AUDIENCE: 'https://registry.example.test',
      SHELF_PUBLIC_URL: 'https://d111111abcdef8.cloudfront.net',
      AWS_REGION: 'eu-west-1',
    });
    expect(envFromOutputs(outputs(), 'Shelf', { AWS_REGION: 'us-east-1' }).AWS_REGION).toBe('us-east-1');
  });

  it('refuses an outputs file without the stack or an output, naming what is missing', () => {
    const two = { ...outputs(), Other: outputs().Shelf };
    expect(() => envFromOutputs(two, undefined)).toThrow(/2 stacks \(Shelf, Other\); name one with --stack/);
    expect(() => envFromOutputs(outputs(), 'Nope')).toThrow(/no stack "Nope"/);
    const { AnnounceUrl: _gone, ...partial } = outputs().Shelf;
    const err = catchError(() => envFromOutputs({ Shelf: partial }, undefined));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('invalid_config');
    expect((err as Error).message).toContain('AnnounceUrl');
  });

  it('writes v1/config.json naming the function URL routes, the CDN and the audience, and the web pages', async () => {
    const uploaded = await uploadAssets(envFromOutputs(outputs(), undefined, operatorEnv()));
    expect(uploaded.config).toBe('v1/config.json');
    expect(uploaded.web).toContain('index.html');
    const config = ConfigDocumentSchema.parse(JSON.parse(new TextDecoder().decode((await store.get('v1/config.json'))!.body)));
    expect(config.announce).toEqual({
      bundles: 'https://abc123.lambda-url.eu-west-1.on.aws/v1/bundles/announce',
      skills: 'https://abc123.lambda-url.eu-west-1.on.aws/v1/skills/announce',
    });
    expect(config.audience).toBe('https://registry.example.test');
    expect(config.public_url).toBe('https://d111111abcdef8.cloudfront.net');
    const page = await store.get('index.html');
    expect(page!.contentType).toMatch(/^text\/html/);
    // The distribution, for shelf takedown's invalidation: private, never served.
    expect(uploaded.cdn).toBe(cdnKey());
    expect(JSON.parse(new TextDecoder().decode((await store.get(cdnKey()))!.body))).toEqual({ cloudfront_distribution_id: 'E2EXAMPLE0CDN' });
    expect(await findDistribution({ env: {}, store })).toBe('E2EXAMPLE0CDN');
    // Idempotent: a second run changes nothing but may rewrite config.json with the same bytes.
    const before = (await store.list('')).filter((o) => o.key !== 'v1/config.json');
    await uploadAssets(envFromOutputs(outputs(), undefined, operatorEnv()));
    expect((await store.list('')).filter((o) => o.key !== 'v1/config.json')).toEqual(before);
  });

  it('refuses to run without a store, an announce URL or an audience, and writes nothing', async () => {
    const other = s3.makeStore('untouched/');
    const env = { ...envFromOutputs(outputs(), undefined, operatorEnv()), SHELF_STORE: `s3://${s3.bucket}/untouched/` };
    for (const missing of ['SHELF_STORE', 'SHELF_ANNOUNCE_URL', 'SHELF_AUDIENCE']) {
      const err = await uploadAssets({ ...env, [missing]: '' }).catch((e: unknown) => e);
      expect(err, missing).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toContain(missing);
    }
    expect(await other.list('')).toEqual([]);
  });
});

describe('the deploy command', () => {
  it("runs the pinned CDK CLI's deploy on infra/app.ts with the operator's flags last", () => {
    const args = cdkDeployArgs(['-c', 'audience=https://r.example', '--profile', 'prod']);
    expect(args[0]).toBe('deploy');
    // The CLI of the lockfile, installed by npm ci: never fetched by npx at deploy time.
    expect(CDK_CLI).toBe(resolve(import.meta.dirname, '../../node_modules/aws-cdk/bin/cdk'));
    expect(existsSync(CDK_CLI)).toBe(true);
    const lock = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package-lock.json'), 'utf8'));
    expect(lock.packages['node_modules/aws-cdk'].version).toMatch(/^2\./);
    expect(args[args.indexOf('--app') + 1]).toBe('npx tsx infra/app.ts');
    expect(args[args.indexOf('--outputs-file') + 1]).toMatch(/dist\/cdk-outputs\.json$/);
    expect(args.slice(-4)).toEqual(['-c', 'audience=https://r.example', '--profile', 'prod']);
  });

  it('parses -c context for the offline synth and refuses anything else with invalid_argument', () => {
    expect(parseContextArgs(['-c', 'audience=https://r.example/?a=b', '--context', 'memory=1024', '--context=prefix=x'])).toEqual({
      audience: 'https://r.example/?a=b',
      memory: '1024',
      prefix: 'x',
    });
    for (const bad of [['--profile', 'p'], ['-c'], ['-c', 'novalue'], ['-c', '=x'], ['-c', 'audiance=https://typo.example']]) {
      const err = catchError(() => parseContextArgs(bad));
      expect(isShelfError(err, 'invalid_argument'), JSON.stringify(bad)).toBe(true);
    }
    expect(catchError(() => parseContextArgs(['-c', 'audiance=x'])) as Error).toHaveProperty('message', expect.stringContaining('Unknown context key "audiance"'));
  });

  it('passes the other deploy flags through, and lets CDK feature flags by', () => {
    const others: string[] = [];
    const context = parseContextArgs(['--profile', 'prod', '-c', 'stackName=Shelf2', '-c', '@aws-cdk/core:newStyleStackSynthesis=true', '--require-approval', 'never'], others);
    expect(context).toEqual({ stackName: 'Shelf2', '@aws-cdk/core:newStyleStackSynthesis': 'true' });
    expect(others).toEqual(['--profile', 'prod', '--require-approval', 'never']);
  });
});

describe('the deploy uses the operator profile for every AWS call', () => {
  it('finds --profile among the deploy flags', () => {
    expect(profileOf(['-c', 'audience=x', '--profile', 'prod', '--require-approval', 'never'])).toBe('prod');
    expect(profileOf(['--profile=staging'])).toBe('staging');
    expect(profileOf(['-c', 'audience=x'])).toBeUndefined();
  });

  it('uploads with the credentials of AWS_PROFILE given to the upload, not only those of its own process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'shelf-profile-'));
    const { AWS_ACCESS_KEY_ID: id, AWS_SECRET_ACCESS_KEY: secret, ...endpoint } = operatorEnv();
    const saved = { ...process.env };
    try {
      // The profile exists only in a credentials file; nothing else in reach has credentials.
      writeFileSync(join(dir, 'credentials'), `[shelf-deployer]\naws_access_key_id = ${id}\naws_secret_access_key = ${secret}\n`);
      for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE']) delete process.env[k];
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
      process.env.AWS_CONFIG_FILE = join(dir, 'config');
      const env = { ...envFromOutputs(outputs(), undefined, endpoint), SHELF_STORE: `s3://${s3.bucket}/profiled/` };
      const without = await uploadAssets(env).catch((e: unknown) => e);
      expect(without).toBeInstanceOf(Error);
      const uploaded = await uploadAssets({ ...env, AWS_PROFILE: 'shelf-deployer' });
      expect(uploaded.config).toBe('v1/config.json');
      expect(await s3.makeStore('profiled/').head('v1/config.json')).not.toBeNull();
    } finally {
      process.env = saved;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}
