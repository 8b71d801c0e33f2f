/**
 * The AWS stack, synthesized offline (no account, no Docker): the resources and policies an
 * operator is promised in infra/README.md are asserted on the CloudFormation template. In
 * particular the bucket is not public, CloudFront reads it only through its own origin access
 * control, and the function's role can write nowhere but the registry's objects.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Annotations, App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { synthMessages } from '../../infra/deploy.ts';
import { settingsFromContext } from '../../infra/settings.ts';
import { ACCESS_LOG_PREFIX, ANNOUNCE_WRITES, CREATE_ONLY_KEYS, LIVE_ALIAS, METRIC_NAMESPACE, PROBE_PREFIX, READ_API_DELETES, RECORD_KEYS, SEARCH_PREFIX, ShelfStack } from '../../infra/shelf-stack.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import {
  artifactKey,
  attestationKey,
  configKey,
  downloadDayKey,
  downloadsIndexKey,
  downloadsKey,
  downloadsPrefix,
  downloadTalliesPrefix,
  downloadTotalsKey,
  lifecycleKey,
  MCP_ROOT,
  mcpPageKey,
  mcpVersionKey,
  notFoundKey,
  packageKey,
  PRIVATE_PREFIX,
  quotaPrefix,
  readmeKey,
  scopeKey,
  shardedRootKey,
  skillsArchiveKey,
  skillsDiscoveryPackageKey,
  skillsDiscoveryScopeKey,
  usedTokensPrefix,
  versionKey,
} from '../../src/core/paths.ts';
import { viewerRequestFunctionCode } from '../../infra/edge-function.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const AUDIENCE = 'https://registry.example.test';
let work: string;
let code: string;

/** Synthesizes the stack with the given context and returns its template. */
function synth(context: Record<string, unknown>): Template {
  const app = new App({ outdir: mkdtempSync(join(work, 'cdk.out-')) });
  const settings = settingsFromContext((k) => context[k], ROOT);
  return Template.fromStack(new ShelfStack(app, 'Shelf', { settings }));
}

type Json = any;
const resources = (t: Template, type: string): Array<[string, Json]> => Object.entries(t.findResources(type));
const only = (t: Template, type: string): [string, Json] => {
  const found = resources(t, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const asArray = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
/** The registry bucket (versioned) or the log bucket, and its policy. */
const bucketOf = (t: Template, which: 'registry' | 'logs'): [string, Json] => {
  const found = resources(t, 'AWS::S3::Bucket').filter(([, b]) => (b.Properties.VersioningConfiguration !== undefined) === (which === 'registry'));
  expect(found, which).toHaveLength(1);
  return found[0]!;
};
const policyOf = (t: Template, which: 'registry' | 'logs'): Json[] => {
  const [id] = bucketOf(t, which);
  const found = resources(t, 'AWS::S3::BucketPolicy').filter(([, p]) => p.Properties.Bucket.Ref === id);
  expect(found).toHaveLength(1);
  return found[0]![1].Properties.PolicyDocument.Statement as Json[];
};
/** The key an object ARN pattern (`{"Fn::Join": ["", [bucketArn, "/key*"]]}`) names, as a RegExp over keys. */
const keyPattern = (arn: Json): RegExp => {
  const suffix = (arn['Fn::Join'][1][1] as string).slice(1);
  return new RegExp(`^${suffix.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
};
const grantsKey = (arns: Json[], key: string): boolean => arns.some((a) => keyPattern(a).test(key));
const alpha = parsePackageName('@acme/alpha');
const v1 = parseVersion('1.0.0');
/**
 * The announce function, the scheduled collector (`SHELF_FUNCTION=gc`), the scheduled compactor
 * (`SHELF_FUNCTION=compact`) or the scheduled download counts (`SHELF_FUNCTION=downloads`): four
 * functions of one bundle.
 */
const fnOf = (t: Template, which: 'announce' | 'gc' | 'compact' | 'downloads'): [string, Json] => {
  const found = resources(t, 'AWS::Lambda::Function').filter(([, f]) => (f.Properties.Environment.Variables.SHELF_FUNCTION ?? 'announce') === which);
  expect(found, which).toHaveLength(1);
  return found[0]!;
};
/** The schedule that invokes a function. */
const ruleOf = (t: Template, fnId: string): Json => {
  const found = resources(t, 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.Targets).includes(`"${fnId}"`));
  expect(found).toHaveLength(1);
  return found[0]![1];
};
/** A function's role, log group and every statement its role's policies grant. */
function grantsOf(t: Template, fn: Json): { roleId: string; role: Json; logId: string; statements: Json[]; granted: Map<string, Json[]> } {
  const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
  const role = t.findResources('AWS::IAM::Role')[roleId];
  const logId = fn.Properties.LoggingConfig.LogGroup.Ref as string;
  const statements = resources(t, 'AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  const granted = new Map<string, Json[]>();
  for (const s of statements) {
    expect(s.Effect).toBe('Allow');
    expect(s.Resource).not.toBe('*');
    for (const action of asArray<string>(s.Action)) {
      expect(action, 'no wildcard actions').not.toContain('*');
      granted.set(action, [...(granted.get(action) ?? []), ...asArray(s.Resource)]);
    }
  }
  return { roleId, role, logId, statements, granted };
}

let template: Template;
let prefixed: Template;
let bucketId: string;
const bucketArn = () => ({ 'Fn::GetAtt': [bucketId, 'Arn'] });
const objectsArn = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, suffix]] });

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'shelf-stack-'));
  // A stand-in for the built function: synthesis only hashes and copies it.
  code = join(work, 'lambda');
  mkdirSync(code);
  writeFileSync(join(code, 'index.mjs'), 'export const handler = async () => ({ statusCode: 200 });\n');
  template = synth({ audience: AUDIENCE, lambdaCode: code });
  prefixed = synth({
    audience: AUDIENCE,
    lambdaCode: code,
    prefix: 'registry/v',
    memory: '1024',
    timeout: '90',
    assetTimeout: '60',
    githubTokenSecret: 'shelf/github-token',
    issuer: 'https://ghes.example.test/_services/token',
  });
  bucketId = bucketOf(template, 'registry')[0];
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the bucket', () => {
  it('is private, encrypted, versioned, TLS-only and kept when the stack is deleted', () => {
    const [, bucket] = bucketOf(template, 'registry');
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.Properties.OwnershipControls.Rules[0].ObjectOwnership).toBe('BucketOwnerEnforced');
    expect(bucket.Properties.LifecycleConfiguration.Rules[0]).toMatchObject({
      NoncurrentVersionExpiration: { NoncurrentDays: 30 },
      ExpiredObjectDeleteMarker: true,
      Status: 'Enabled',
    });
    // A backstop for used-token records the function did not get to delete.
    expect(bucket.Properties.LifecycleConfiguration.Rules[1]).toMatchObject({ Prefix: usedTokensPrefix(), ExpirationInDays: 1, Status: 'Enabled' });
    expect(bucket.DeletionPolicy).toBe('Retain');
    expect(bucket.UpdateReplacePolicy).toBe('Retain');
  });

  it('grants reads to nobody but this CloudFront distribution, and refuses plain HTTP', () => {
    const [distributionId] = only(template, 'AWS::CloudFront::Distribution');
    const statements = policyOf(template, 'registry');
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows.length).toBeGreaterThan(0);
    for (const s of allows) {
      expect(s.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
      for (const action of asArray(s.Action)) expect(['s3:GetObject', 's3:ListBucket']).toContain(action);
      const sourceArn = s.Condition.StringEquals['AWS:SourceArn'];
      expect(JSON.stringify(sourceArn)).toContain(`{"Ref":"${distributionId}"}`);
      expect(JSON.stringify(sourceArn)).toContain(':distribution/');
    }
    // The private area is refused to the CDN itself, whatever path reaches the bucket.
    const denyPrivate = statements.find((s) => s.Effect === 'Deny' && s.Principal?.Service === 'cloudfront.amazonaws.com');
    expect(denyPrivate).toMatchObject({ Action: 's3:GetObject', Resource: objectsArn(`/${PRIVATE_PREFIX}*`) });
    const denyHttp = statements.find((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
    expect(denyHttp).toMatchObject({ Action: 's3:*', Principal: { AWS: '*' } });
    // Nothing public: no Allow to "*" anywhere.
    expect(allows.some((s) => JSON.stringify(s.Principal).includes('"*"'))).toBe(false);
  });
});

describe('the CDN', () => {
  it('reads the bucket through origin access control, HTTPS only, compressed, GET/HEAD/OPTIONS only', () => {
    const [, dist] = only(template, 'AWS::CloudFront::Distribution');
    const [oacId, oac] = only(template, 'AWS::CloudFront::OriginAccessControl');
    const config = dist.Properties.DistributionConfig;
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' });
    expect(config.Origins).toHaveLength(1);
    expect(config.Origins[0].OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(config.Origins[0].S3OriginConfig.OriginAccessIdentity).toBe('');
    expect(config.Origins[0].DomainName).toEqual({ 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    expect(config.Origins[0].OriginPath).toBeUndefined();
    const behavior = config.DefaultCacheBehavior;
    expect(behavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(behavior.Compress).toBe(true);
    expect(behavior.AllowedMethods).toEqual(['GET', 'HEAD', 'OPTIONS']);
    // One more behavior: the private area, answered 404 at the edge by a function, never fetched.
    expect(config.CacheBehaviors).toHaveLength(1);
    const [fnId, fn] = only(template, 'AWS::CloudFront::Function');
    expect(config.CacheBehaviors[0]).toMatchObject({
      PathPattern: `${PRIVATE_PREFIX}*`,
      FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } }],
    });
    const handler = new Function(`${fn.Properties.FunctionCode}; return handler;`)() as (event: unknown) => { statusCode: number; uri: string };
    expect(handler({ request: { uri: `/${usedTokensPrefix()}x.json` } }).statusCode).toBe(404);
    // The same function maps the MCP registry API and agent-skills discovery on every other path
    // (test/edge/viewer-request.test.ts runs it over the mapping's whole table of cases).
    expect(fn.Properties.FunctionCode).toBe(viewerRequestFunctionCode());
    expect(fn.Properties.FunctionConfig.Runtime).toBe('cloudfront-js-2.0');
    expect(behavior.FunctionAssociations).toEqual([{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [fnId, 'FunctionARN'] } }]);
    expect(handler({ request: { uri: '/v0.1/servers', querystring: { version: { value: 'latest' } } } }).uri).toBe('/v0.1/pages/latest/0.json');
    // A missing object answers {"error": ...}, as the MCP registry API's spec has it.
    expect(config.CustomErrorResponses).toEqual([{ ErrorCode: 404, ResponseCode: 404, ResponsePagePath: `/${notFoundKey()}`, ErrorCachingMinTTL: 10 }]);
    expect(config.DefaultRootObject).toBe('index.html');
  });

  it("honours the objects' Cache-Control: min TTL 0, default 60 s, max one year, compressed variants cached", () => {
    const [policyId, policy] = only(template, 'AWS::CloudFront::CachePolicy');
    const [, dist] = only(template, 'AWS::CloudFront::Distribution');
    expect(dist.Properties.DistributionConfig.DefaultCacheBehavior.CachePolicyId).toEqual({ Ref: policyId });
    const c = policy.Properties.CachePolicyConfig;
    expect([c.MinTTL, c.DefaultTTL, c.MaxTTL]).toEqual([0, 60, 31536000]);
    expect(c.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({
      EnableAcceptEncodingGzip: true,
      EnableAcceptEncodingBrotli: true,
      QueryStringsConfig: { QueryStringBehavior: 'none' },
      CookiesConfig: { CookieBehavior: 'none' },
    });
  });

  it('lets pages on any origin read the registry, exposing ETag', () => {
    const [, headers] = only(template, 'AWS::CloudFront::ResponseHeadersPolicy');
    const cors = headers.Properties.ResponseHeadersPolicyConfig.CorsConfig;
    expect(cors.AccessControlAllowOrigins.Items).toEqual(['*']);
    expect(cors.AccessControlAllowMethods.Items).toEqual(['GET', 'HEAD', 'OPTIONS']);
    expect(cors.AccessControlExposeHeaders.Items).toEqual(['ETag']);
    expect(cors.AccessControlAllowCredentials).toBe(false);
  });
});

describe('the announce function', () => {
  it('is one arm64 Node.js 22 function with the chosen memory and timeout and its own configuration', () => {
    const [, fn] = fnOf(template, 'announce');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', MemorySize: 512, Timeout: 60 });
    const env = fn.Properties.Environment.Variables;
    expect(env.SHELF_AUDIENCE).toBe(AUDIENCE);
    expect(env.SHELF_ASSET_TIMEOUT_MS).toBe('40000');
    expect(env.SHELF_MAX_ARTIFACT_BYTES).toBe(String(100 * 1024 * 1024));
    // Only what was asked for: no token, no issuer override, by default.
    expect(Object.keys(env).sort()).toEqual(['SHELF_ASSET_TIMEOUT_MS', 'SHELF_AUDIENCE', 'SHELF_MAX_ARTIFACT_BYTES', 'SHELF_SIGNING_KEY_OVERLAP_DAYS', 'SHELF_SIGNING_KMS_KEY_ID', 'SHELF_STORE']);
    const [keyId] = only(template, 'AWS::KMS::Key');
    expect(env.SHELF_SIGNING_KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(env.SHELF_SIGNING_KEY_OVERLAP_DAYS).toBe('90');
    expect(env.SHELF_STORE).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] });
    // The asset timeout leaves time for the writes before the function's own limit.
    expect(Number(env.SHELF_ASSET_TIMEOUT_MS) / 1000).toBeLessThanOrEqual(fn.Properties.Timeout - 10);
  });

  it('has a public function URL (the token is the authentication) on the live alias, with CORS for POST announces', () => {
    const [, url] = only(template, 'AWS::Lambda::Url');
    const [fnId] = fnOf(template, 'announce');
    const [versionId] = only(template, 'AWS::Lambda::Version');
    const [aliasId, alias] = only(template, 'AWS::Lambda::Alias');
    expect(url.Properties.AuthType).toBe('NONE');
    expect(url.Properties.TargetFunctionArn).toEqual({ 'Fn::GetAtt': [fnId, 'Arn'] });
    expect(url.Properties.Qualifier).toBe(LIVE_ALIAS);
    expect(alias.Properties).toMatchObject({ Name: LIVE_ALIAS, FunctionName: { Ref: fnId }, FunctionVersion: { 'Fn::GetAtt': [versionId, 'Version'] } });
    expect(url.Properties.Cors).toMatchObject({ AllowMethods: ['POST'], AllowHeaders: ['authorization', 'content-type'], AllowOrigins: ['*'], AllowCredentials: false });
    // Anyone may call the URL, but only through the URL: no other public invoke path (the
    // scheduled functions' one permission each, for EventBridge, is checked below).
    const scheduled = [fnOf(template, 'gc')[0], fnOf(template, 'compact')[0], fnOf(template, 'downloads')[0]];
    const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, p]) => !scheduled.some((id) => JSON.stringify(p.Properties.FunctionName).includes(id)));
    expect(permissions.length).toBeGreaterThan(0);
    for (const [, p] of permissions) {
      expect(p.Properties.Principal).toBe('*');
      expect(p.Properties.FunctionName).toEqual({ Ref: aliasId });
      expect(p.Properties.FunctionUrlAuthType === 'NONE' || p.Properties.InvokedViaFunctionUrl === true).toBe(true);
    }
  });

  it("has a role that writes only under v1/, v0.1/ and its bookkeeping, never the web pages (and deletes only its probe, expired bookkeeping and the read APIs' retired files)", () => {
    const [, fn] = fnOf(template, 'announce');
    const { role, statements, logId, granted } = grantsOf(template, fn);
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(role.Properties.Policies).toBeUndefined();
    expect(statements.length).toBeGreaterThan(0);
    expect([...granted.keys()].sort()).toEqual([
      'kms:GetPublicKey',
      'kms:Sign',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObject',
      's3:ListBucket',
      's3:ListBucketVersions',
      's3:PutObject',
    ]);
    // The registry's signing key, and nothing else of KMS.
    const [keyId] = only(template, 'AWS::KMS::Key');
    expect(granted.get('kms:Sign')).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
    expect(granted.get('kms:GetPublicKey')).toEqual([{ 'Fn::GetAtt': [keyId, 'Arn'] }]);
    const puts = granted.get('s3:PutObject')!;
    expect(puts).toEqual(ANNOUNCE_WRITES.map((k) => objectsArn(`/${k}`)));
    // The records and derived files of every format the registry publishes: lifecycle records, the
    // MCP registry API (v0.1/), agent-skills discovery and the skills CLI's archives included.
    const published = [
      artifactKey('bundle', alpha, v1, { os: 'any', arch: 'any' }),
      versionKey('skill', alpha, v1),
      lifecycleKey('bundle', alpha),
      scopeKey('acme'),
      shardedRootKey('bundle'),
      configKey(),
      mcpVersionKey(alpha, v1),
      mcpPageKey('latest', 1),
      skillsDiscoveryScopeKey('acme'),
      skillsArchiveKey(alpha, v1, 'a'.repeat(64)),
    ];
    for (const key of [...published, `${usedTokensPrefix()}x.json`, `${quotaPrefix()}2026-01-01/@acme/1-x.json`]) {
      expect(grantsKey(puts, key), key).toBe(true);
    }
    // The site is the deploy's: a compromised function can neither deface nor script it.
    for (const key of ['index.html', 'package.html', 'assets/app-0123abcd.js', 'private/signing/key.json']) expect(grantsKey(puts, key), key).toBe(false);
    expect(granted.get('s3:GetObject')).toEqual([objectsArn('/v1/*'), objectsArn(`/${MCP_ROOT}/*`), objectsArn(`/${PRIVATE_PREFIX}*`), objectsArn(`/${PROBE_PREFIX}*`)]);
    for (const key of published) expect(grantsKey(granted.get('s3:GetObject')!, key), key).toBe(true);
    expect(granted.get('s3:ListBucket')).toEqual([bucketArn()]);
    const readApi = READ_API_DELETES.map((k) => objectsArn(`/${k}`));
    expect(granted.get('s3:DeleteObject')).toEqual([objectsArn(`/${PROBE_PREFIX}*`), objectsArn(`/${usedTokensPrefix()}*`), objectsArn(`/${quotaPrefix()}*`), ...readApi]);
    // The read APIs' files a yank or takedown retires (a server's latest, a skill's discovery
    // index) go with their stored versions, so it lists and deletes those there, and only there.
    expect(granted.get('s3:DeleteObjectVersion')).toEqual(readApi);
    for (const key of [mcpVersionKey(alpha, 'latest'), mcpVersionKey(alpha, v1), skillsDiscoveryPackageKey(alpha), skillsDiscoveryScopeKey('acme')]) {
      expect(grantsKey(granted.get('s3:DeleteObjectVersion')!, key), key).toBe(true);
    }
    for (const key of [artifactKey('bundle', alpha, v1, { os: 'any', arch: 'any' }), versionKey('bundle', alpha, v1), lifecycleKey('bundle', alpha), packageKey('skill', alpha), 'index.html']) {
      expect(grantsKey(granted.get('s3:DeleteObject')!, key), key).toBe(false);
    }
    expect(granted.get('s3:ListBucketVersions')).toEqual([bucketArn()]);
    const listVersions = statements.find((st) => asArray(st.Action).includes('s3:ListBucketVersions'));
    expect(listVersions.Condition).toEqual({ StringLike: { 's3:prefix': [...READ_API_DELETES] } });
    // Every grant says why.
    expect(statements.filter((st) => JSON.stringify(st.Action).includes('s3:')).every((st) => typeof st.Sid === 'string')).toBe(true);
    expect(granted.get('logs:PutLogEvents')).toEqual([{ 'Fn::GetAtt': [logId, 'Arn'] }]);
  });

  it('exports the CDN URL and the announce URL', () => {
    const outputs = template.findOutputs('*');
    const [distributionId] = only(template, 'AWS::CloudFront::Distribution');
    const [urlId] = only(template, 'AWS::Lambda::Url');
    expect(outputs.CdnUrl!.Value).toEqual({ 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [distributionId, 'DomainName'] }]] });
    expect(outputs.AnnounceUrl!.Value).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    expect(outputs.Audience!.Value).toBe(AUDIENCE);
    expect(outputs.OidcIssuer!.Value).toBe('https://token.actions.githubusercontent.com');
    expect(Object.keys(outputs).sort()).toEqual([
      'AlarmTopicArn', 'AnnounceUrl', 'Audience', 'BucketName', 'CdnUrl', 'DistributionId', 'FunctionName', 'LiveVersion', 'LogBucketName', 'OidcIssuer', 'Region', 'SigningKeyArn', 'StoreUrl', 'TakedownOperatorPolicy',
    ]);
  });

  it("documents the takedown operator's permission: the registry's objects, signing with the registry's key and an invalidation of this distribution only", () => {
    const [distributionId] = only(template, 'AWS::CloudFront::Distribution');
    const [policyId, policy] = only(template, 'AWS::IAM::ManagedPolicy');
    expect(template.findOutputs('*').TakedownOperatorPolicy!.Value).toEqual({ Ref: policyId });
    const statements = policy.Properties.PolicyDocument.Statement as Json[];
    const bySid = new Map(statements.map((s) => [s.Sid as string, s]));
    expect([...bySid.keys()].sort()).toEqual(['InvalidateTheCdn', 'ListRegistryKeys', 'RegistryObjects', 'SignWithRegistryKey']);
    for (const s of statements) {
      expect(s.Effect).toBe('Allow');
      expect(s.Resource).not.toBe('*');
      for (const action of asArray<string>(s.Action)) expect(action).not.toContain('*');
    }
    expect(asArray(bySid.get('InvalidateTheCdn')!.Action).sort()).toEqual(['cloudfront:CreateInvalidation', 'cloudfront:GetInvalidation']);
    expect(JSON.stringify(bySid.get('InvalidateTheCdn')!.Resource)).toContain(`{"Ref":"${distributionId}"}`);
    expect(asArray(bySid.get('RegistryObjects')!.Action)).toContain('s3:DeleteObjectVersion');
    expect(bySid.get('RegistryObjects')!.Resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] });
    expect(bySid.get('ListRegistryKeys')!.Resource).toEqual({ 'Fn::GetAtt': [bucketId, 'Arn'] });
    // A takedown rewrites package documents, signed with the registry's current key (and nothing else of KMS).
    const [keyId] = only(template, 'AWS::KMS::Key');
    expect(asArray(bySid.get('SignWithRegistryKey')!.Action).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    expect(bySid.get('SignWithRegistryKey')!.Resource).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });
});

describe('the signing key', () => {
  it('is an asymmetric ECC P-256 signing key in KMS, kept when the stack is deleted; only the announce function may sign with it', () => {
    const [keyId, key] = only(template, 'AWS::KMS::Key');
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('Retain');
    expect(key.UpdateReplacePolicy).toBe('Retain');
    // The key policy delegates to IAM (the account); no other principal is named in it.
    for (const statement of key.Properties.KeyPolicy.Statement as Json[]) expect(JSON.stringify(statement.Principal)).toContain(':root');
    const [, gc] = fnOf(template, 'gc');
    expect([...grantsOf(template, gc).granted.keys()].some((a) => a.startsWith('kms:'))).toBe(false);
    expect(template.findOutputs('*').SigningKeyArn!.Value).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  });

  it('rotates by generation: the next key signs, the previous one (still allowed to sign) endorses it', () => {
    const t = synth({ audience: AUDIENCE, lambdaCode: code, signingKeyGeneration: '2', signingKeyOverlapDays: '30' });
    const keys = resources(t, 'AWS::KMS::Key');
    expect(keys).toHaveLength(2);
    const byGeneration = (n: number) => keys.find(([id]) => (n === 1 ? /^SigningKey[0-9A-F]{8}$/ : /^SigningKey2[0-9A-F]{8}$/).test(id))![0];
    const env = fnOf(t, 'announce')[1].Properties.Environment.Variables;
    expect(env.SHELF_SIGNING_KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [byGeneration(2), 'Arn'] });
    expect(env.SHELF_SIGNING_PREVIOUS_KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [byGeneration(1), 'Arn'] });
    expect(env.SHELF_SIGNING_KEY_OVERLAP_DAYS).toBe('30');
    const { granted } = grantsOf(t, fnOf(t, 'announce')[1]);
    expect(granted.get('kms:Sign')).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [byGeneration(1), 'Arn'] }, { 'Fn::GetAtt': [byGeneration(2), 'Arn'] }]));
    expect(() => settingsFromContext((k) => ({ audience: AUDIENCE, lambdaCode: code, signingKeyGeneration: '0' })[k], ROOT)).toThrow(/signingKeyGeneration/);
  });
});

describe('the search garbage collector', () => {
  it('runs shelf gc from the same bundle once a day, one run at a time, with a day of grace and the announce timeout as writer window', () => {
    const [gcId, fn] = fnOf(template, 'gc');
    const [, announce] = fnOf(template, 'announce');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: 900, ReservedConcurrentExecutions: 1 });
    expect(fn.Properties.Code).toEqual(announce.Properties.Code);
    expect(fn.Properties.Environment.Variables).toEqual({
      SHELF_FUNCTION: 'gc',
      SHELF_STORE: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] },
      SHELF_GC_GRACE_MS: String(24 * 3_600_000),
      SHELF_GC_WRITER_WINDOW_MS: '60000',
    });
    const rule = ruleOf(template, gcId);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [gcId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })]);
    // EventBridge may invoke it; nothing else gets a permission on it.
    const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(gcId));
    expect(permissions.map(([, p]) => p.Properties.Principal)).toEqual(['events.amazonaws.com']);
  });

  it("has a role of its own that may delete nothing outside the search index and the read APIs' derived files", () => {
    const [, fn] = fnOf(template, 'gc');
    const [, announce] = fnOf(template, 'announce');
    const { roleId, role, logId, granted } = grantsOf(template, fn);
    expect(roleId).not.toBe(grantsOf(template, announce).roleId);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect([...granted.keys()].sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:DeleteObject',
      's3:DeleteObjectVersion',
      's3:GetObject',
      's3:ListBucket',
      's3:ListBucketVersions',
      's3:PutObject',
    ]);
    // Its own deletes in the search index; its restoring rebuild's, of the read APIs' retired files.
    expect(granted.get('s3:DeleteObject')).toEqual([objectsArn(`/${SEARCH_PREFIX}*`), ...READ_API_DELETES.map((k) => objectsArn(`/${k}`))]);
    expect(granted.get('s3:DeleteObjectVersion')).toEqual(READ_API_DELETES.map((k) => objectsArn(`/${k}`)));
    expect(SEARCH_PREFIX).toBe('v1/search/');
    // A rebuild that restores a file writes every derived file of the kind: the MCP API's too.
    expect(granted.get('s3:PutObject')).toEqual([objectsArn('/v1/*'), objectsArn(`/${MCP_ROOT}/*`)]);
    expect(granted.get('s3:GetObject')).toEqual([objectsArn('/v1/*'), objectsArn(`/${MCP_ROOT}/*`)]);
    expect(granted.get('logs:PutLogEvents')).toEqual([{ 'Fn::GetAtt': [logId, 'Arn'] }]);
  });

  it('takes its interval and grace period from context, within bounds', () => {
    const t = synth({ audience: AUDIENCE, lambdaCode: code, gcIntervalHours: '6', gcGraceHours: '48' });
    expect(ruleOf(t, fnOf(t, 'gc')[0]).Properties.ScheduleExpression).toBe('rate(6 hours)');
    expect(fnOf(t, 'gc')[1].Properties.Environment.Variables.SHELF_GC_GRACE_MS).toBe(String(48 * 3_600_000));
    expect(() => settingsFromContext((k) => ({ audience: AUDIENCE, lambdaCode: code, gcGraceHours: '0' })[k], ROOT)).toThrow(/gcGraceHours/);
  });
});

describe('the search compactor', () => {
  it('runs shelf compact from the same bundle every minute, one run at a time, within the announce timeout (the collector\'s writer window)', () => {
    const [id, fn] = fnOf(template, 'compact');
    const [, announce] = fnOf(template, 'announce');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', ReservedConcurrentExecutions: 1 });
    expect(fn.Properties.Timeout).toBe(announce.Properties.Timeout);
    expect(fn.Properties.Code).toEqual(announce.Properties.Code);
    expect(fn.Properties.Environment.Variables).toEqual({ SHELF_FUNCTION: 'compact', SHELF_STORE: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] } });
    const rule = ruleOf(template, id);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })]);
    const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(id));
    expect(permissions.map(([, p]) => p.Properties.Principal)).toEqual(['events.amazonaws.com']);
    const alarm = resources(template, 'AWS::CloudWatch::Alarm').find(([alarmId]) => alarmId.startsWith('CompactFailed'))![1];
    expect(alarm.Properties).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1, Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }] });
    const t = synth({ audience: AUDIENCE, lambdaCode: code, compactIntervalMinutes: '5' });
    expect(ruleOf(t, fnOf(t, 'compact')[0]).Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(() => settingsFromContext((k) => ({ audience: AUDIENCE, lambdaCode: code, compactIntervalMinutes: '0' })[k], ROOT)).toThrow(/compactIntervalMinutes/);
  });

  it('has a role of its own that reads and writes the search index only, and deletes nothing', () => {
    const [, fn] = fnOf(template, 'compact');
    const { roleId, role, logId, granted } = grantsOf(template, fn);
    for (const other of ['announce', 'gc', 'downloads'] as const) expect(roleId).not.toBe(grantsOf(template, fnOf(template, other)[1]).roleId);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect([...granted.keys()].sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    expect(granted.get('s3:GetObject')).toEqual([objectsArn(`/${SEARCH_PREFIX}*`)]);
    const puts = granted.get('s3:PutObject')!;
    expect(puts).toEqual([objectsArn(`/${SEARCH_PREFIX}*`)]);
    expect(grantsKey(puts, shardedRootKey('bundle'))).toBe(true);
    expect(grantsKey(puts, 'v1/search/skills/shards/0123456789abcdef0123.json')).toBe(true);
    // Nothing else of the registry: not its records, other derived files, pages or bookkeeping.
    for (const key of [versionKey('bundle', alpha, v1), packageKey('bundle', alpha), scopeKey('acme'), configKey(), 'index.html', `${usedTokensPrefix()}x.json`, downloadsIndexKey('bundle')]) {
      expect(grantsKey(puts, key), key).toBe(false);
    }
    expect(granted.get('logs:PutLogEvents')).toEqual([{ 'Fn::GetAtt': [logId, 'Arn'] }]);
    // Nor a key to sign with.
    expect([...granted.keys()].some((a) => a.startsWith('kms:'))).toBe(false);
  });

  it('under a prefix, reads and writes that prefix\'s search index', () => {
    const [, fn] = fnOf(prefixed, 'compact');
    const id = bucketOf(prefixed, 'registry')[0];
    expect(fn.Properties.Environment.Variables.SHELF_STORE).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: id }, '/registry/v']] });
    const objects = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, suffix]] });
    expect(grantsOf(prefixed, fn).granted.get('s3:PutObject')).toEqual([objects(`/registry/v/${SEARCH_PREFIX}*`)]);
  });
});

describe('the download counts', () => {
  it('counts the CDN logs hourly from the same bundle, one run at a time, in a function of its own', () => {
    const [id, fn] = fnOf(template, 'downloads');
    const [, announce] = fnOf(template, 'announce');
    const [logBucketId] = bucketOf(template, 'logs');
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', Timeout: 900, ReservedConcurrentExecutions: 1 });
    expect(fn.Properties.Code).toEqual(announce.Properties.Code);
    expect(fn.Properties.Environment.Variables).toEqual({
      SHELF_FUNCTION: 'downloads',
      SHELF_STORE: { 'Fn::Join': ['', ['s3://', { Ref: bucketId }]] },
      // Where CloudFront writes its standard logs.
      SHELF_DOWNLOAD_LOGS: { 'Fn::Join': ['', ['s3://', { Ref: logBucketId }, `/${ACCESS_LOG_PREFIX.cdn.replace(/\/$/, '')}`]] },
    });
    expect(only(template, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig.Logging.Prefix).toBe(ACCESS_LOG_PREFIX.cdn);
    const rule = ruleOf(template, id);
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 hour)');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } })]);
    const permissions = resources(template, 'AWS::Lambda::Permission').filter(([, p]) => JSON.stringify(p.Properties.FunctionName).includes(id));
    expect(permissions.map(([, p]) => p.Properties.Principal)).toEqual(['events.amazonaws.com']);
    expect(ruleOf(synth({ audience: AUDIENCE, lambdaCode: code, downloadsIntervalHours: '6' }), fnOf(template, 'downloads')[0]).Properties.ScheduleExpression).toBe('rate(6 hours)');
    expect(() => settingsFromContext((k) => ({ audience: AUDIENCE, lambdaCode: code, downloadsIntervalHours: '0' })[k], ROOT)).toThrow(/downloadsIntervalHours/);
    const alarm = resources(template, 'AWS::CloudWatch::Alarm').find(([alarmId]) => alarmId.startsWith('DownloadsFailed'))![1];
    expect(alarm.Properties).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1, Dimensions: [{ Name: 'FunctionName', Value: { Ref: id } }] });
  });

  it('reads the CDN logs and writes only the tallies and the published counts, deleting only folded day tallies', () => {
    const [, fn] = fnOf(template, 'downloads');
    const { roleId, role, logId, granted } = grantsOf(template, fn);
    expect(roleId).not.toBe(grantsOf(template, fnOf(template, 'announce')[1]).roleId);
    expect(roleId).not.toBe(grantsOf(template, fnOf(template, 'gc')[1]).roleId);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect([...granted.keys()].sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const [logBucketId] = bucketOf(template, 'logs');
    const logObjects = { 'Fn::Join': ['', [{ 'Fn::GetAtt': [logBucketId, 'Arn'] }, `/${ACCESS_LOG_PREFIX.cdn}*`]] };
    const puts = granted.get('s3:PutObject')!;
    expect(puts).toEqual([objectsArn(`/${downloadTalliesPrefix()}*`), objectsArn(`/${downloadsPrefix()}*`)]);
    for (const key of [downloadDayKey('2026-12-05'), downloadTotalsKey(), downloadsKey('bundle', alpha), downloadsIndexKey('skill')]) expect(grantsKey(puts, key), key).toBe(true);
    // Nothing else of the registry: not its records, derived files, pages or bookkeeping.
    for (const key of [versionKey('bundle', alpha, v1), packageKey('bundle', alpha), shardedRootKey('bundle'), configKey(), 'index.html', `${usedTokensPrefix()}x.json`]) {
      expect(grantsKey(puts, key), key).toBe(false);
    }
    expect(granted.get('s3:DeleteObject')).toEqual([objectsArn(`/${downloadTalliesPrefix()}days/*`)]);
    expect(granted.get('s3:GetObject')).toEqual([objectsArn(`/${downloadTalliesPrefix()}*`), objectsArn(`/${downloadsPrefix()}*`), logObjects]);
    expect(granted.get('s3:ListBucket')).toEqual([bucketArn(), { 'Fn::GetAtt': [logBucketId, 'Arn'] }]);
    expect(granted.get('logs:PutLogEvents')).toEqual([{ 'Fn::GetAtt': [logId, 'Arn'] }]);
  });
});

describe('conditional writes enforced by the bucket', () => {
  it('refuses, from anyone, a write of an artifact or a README without If-None-Match', () => {
    const deny = policyOf(template, 'registry').find((st) => st.Sid === 'ArtifactsAreCreateOnly');
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { AWS: '*' }, Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true' } } });
    const arns = asArray<Json>(deny.Resource);
    expect(arns).toEqual(CREATE_ONLY_KEYS.map((k) => objectsArn(`/${k}`)));
    for (const key of [
      artifactKey('bundle', alpha, v1, { os: 'linux', arch: 'x64' }),
      artifactKey('skill', alpha, v1, { os: 'any', arch: 'any' }),
      readmeKey('bundle', alpha, v1),
      readmeKey('skill', alpha, v1),
      skillsArchiveKey(alpha, v1, 'a'.repeat(64)),
      attestationKey('bundle', alpha, v1, { os: 'linux', arch: 'x64' }),
      attestationKey('skill', alpha, v1, { os: 'any', arch: 'any' }),
    ]) {
      expect(grantsKey(arns, key), key).toBe(true);
    }
    // Documents are rewritten (by compare-and-swap): not create-only.
    for (const key of [packageKey('bundle', alpha), versionKey('bundle', alpha, v1), lifecycleKey('skill', alpha), scopeKey('acme'), shardedRootKey('skill'), mcpVersionKey(alpha, v1), 'index.html']) {
      expect(grantsKey(arns, key), key).toBe(false);
    }
  });

  it("refuses the functions' blind overwrites of records and pins: create-only or compare-and-swap only", () => {
    const announceRole = grantsOf(template, fnOf(template, 'announce')[1]).roleId;
    const gcRole = grantsOf(template, fnOf(template, 'gc')[1]).roleId;
    const denies = policyOf(template, 'registry').filter((st) => /RecordWritesAreConditional$/.test(st.Sid ?? ''));
    expect(denies.map((st) => st.Principal.AWS)).toEqual([{ 'Fn::GetAtt': [announceRole, 'Arn'] }, { 'Fn::GetAtt': [gcRole, 'Arn'] }]);
    for (const deny of denies) {
      // Both headers absent: the write is refused. Either one present: allowed.
      expect(deny).toMatchObject({ Effect: 'Deny', Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true', 's3:if-match': 'true' } } });
      const arns = asArray<Json>(deny.Resource);
      expect(arns).toEqual(RECORD_KEYS.map((k) => objectsArn(`/${k}`)));
      // A status change writes the lifecycle record by compare-and-swap too.
      for (const key of [scopeKey('acme'), packageKey('bundle', alpha), packageKey('skill', alpha), versionKey('bundle', alpha, v1), lifecycleKey('bundle', alpha)]) expect(grantsKey(arns, key), key).toBe(true);
    }
  });
});

describe('logs and alarms', () => {
  it('sends CloudFront standard logs and the bucket access logs to a private log bucket that expires them', () => {
    const [logId, logs] = bucketOf(template, 'logs');
    expect(logs.Properties.PublicAccessBlockConfiguration).toMatchObject({ BlockPublicAcls: true, RestrictPublicBuckets: true });
    expect(logs.Properties.LifecycleConfiguration.Rules).toEqual([expect.objectContaining({ ExpirationInDays: 90, Status: 'Enabled' })]);
    const [, dist] = only(template, 'AWS::CloudFront::Distribution');
    expect(dist.Properties.DistributionConfig.Logging).toEqual({ Bucket: { 'Fn::GetAtt': [logId, 'RegionalDomainName'] }, Prefix: ACCESS_LOG_PREFIX.cdn, IncludeCookies: false });
    expect(bucketOf(template, 'registry')[1].Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logId }, LogFilePrefix: ACCESS_LOG_PREFIX.bucket });
    expect(policyOf(template, 'logs').some((st) => st.Effect === 'Allow' && JSON.stringify(st.Principal).includes('"*"'))).toBe(false);
    const days = synth({ audience: AUDIENCE, lambdaCode: code, accessLogDays: '7' });
    expect(bucketOf(days, 'logs')[1].Properties.LifecycleConfiguration.Rules[0].ExpirationInDays).toBe(7);
  });

  it('counts failed, internal_error and refused announces from the request log, and alarms on them, on crashes, throttles and a duration near the timeout', () => {
    const [topicId] = only(template, 'AWS::SNS::Topic');
    const filters = Object.fromEntries(resources(template, 'AWS::Logs::MetricFilter').map(([, f]) => [f.Properties.MetricTransformations[0].MetricName, f.Properties]));
    const [, announce] = fnOf(template, 'announce');
    const announceLog = announce.Properties.LoggingConfig.LogGroup;
    expect(Object.keys(filters).sort()).toEqual(['AnnounceFailed', 'AnnounceInternalError', 'AnnounceRefusedSpike']);
    for (const f of Object.values<Json>(filters)) {
      expect(f.LogGroupName).toEqual(announceLog);
      expect(f.MetricTransformations[0]).toMatchObject({ MetricNamespace: METRIC_NAMESPACE, MetricValue: '1', DefaultValue: 0 });
    }
    // The fields of the one JSON line per request (src/announce/request-log.ts).
    expect(filters.AnnounceFailed.FilterPattern).toBe('{ $.type = "request" && $.status >= 500 }');
    expect(filters.AnnounceInternalError.FilterPattern).toBe('{ $.type = "request" && $.code = "internal_error" }');
    expect(filters.AnnounceRefusedSpike.FilterPattern).toBe('{ $.type = "request" && $.outcome = "refused" }');
    const alarms = Object.fromEntries(resources(template, 'AWS::CloudWatch::Alarm').map(([id, a]) => [id.replace(/Alarm[0-9A-F]{8}$/, ''), a.Properties]));
    expect(Object.keys(alarms).sort()).toEqual(['AnnounceCrashed', 'AnnounceFailed', 'AnnounceInternalError', 'AnnounceNearTimeout', 'AnnounceRefusedSpike', 'AnnounceThrottled', 'CompactFailed', 'DownloadsFailed', 'GcFailed']);
    for (const a of Object.values<Json>(alarms)) {
      expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(a.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(a.TreatMissingData).toBe('notBreaching');
    }
    expect(alarms.AnnounceFailed).toMatchObject({ Namespace: METRIC_NAMESPACE, MetricName: 'AnnounceFailed', Threshold: 1, Statistic: 'Sum', Period: 300 });
    expect(alarms.AnnounceRefusedSpike).toMatchObject({ Threshold: 50 });
    expect(alarms.AnnounceThrottled).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles', Threshold: 1 });
    expect(alarms.AnnounceCrashed).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Threshold: 1 });
    // 80% of the 60 s timeout.
    expect(alarms.AnnounceNearTimeout).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Duration', Statistic: 'Maximum', Threshold: 48_000 });
    expect(alarms.AnnounceNearTimeout.Dimensions).toEqual([{ Name: 'FunctionName', Value: { Ref: fnOf(template, 'announce')[0] } }]);
    // No subscription unless asked; with alarmEmail, one email subscription to the topic.
    expect(resources(template, 'AWS::SNS::Subscription')).toEqual([]);
    const mailed = synth({ audience: AUDIENCE, lambdaCode: code, alarmEmail: 'ops@example.test', refusedAlarmThreshold: '5' });
    expect(only(mailed, 'AWS::SNS::Subscription')[1].Properties).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.test' });
    expect(resources(mailed, 'AWS::CloudWatch::Alarm').find(([id]) => id.startsWith('AnnounceRefusedSpike'))![1].Properties.Threshold).toBe(5);
  });
});

describe('abuse limits and secrets', () => {
  it("passes each scope's daily quotas to the function (its defaults otherwise)", () => {
    expect(fnOf(template, 'announce')[1].Properties.Environment.Variables.SHELF_QUOTA_ANNOUNCES_PER_DAY).toBeUndefined();
    const t = synth({ audience: AUDIENCE, lambdaCode: code, quotaAnnouncesPerDay: '20', quotaBytesPerDay: 'unlimited' });
    expect(fnOf(t, 'announce')[1].Properties.Environment.Variables).toMatchObject({ SHELF_QUOTA_ANNOUNCES_PER_DAY: '20', SHELF_QUOTA_BYTES_PER_DAY: 'unlimited' });
    expect(() => settingsFromContext((k) => ({ audience: AUDIENCE, lambdaCode: code, quotaBytesPerDay: '1 GiB' })[k], ROOT)).toThrow(/"quotaBytesPerDay"/);
  });

  it('reserves 10 concurrent announces by default; configurable, or none', () => {
    expect(fnOf(template, 'announce')[1].Properties.ReservedConcurrentExecutions).toBe(10);
    expect(fnOf(synth({ audience: AUDIENCE, lambdaCode: code, reservedConcurrency: '3' }), 'announce')[1].Properties.ReservedConcurrentExecutions).toBe(3);
    expect(fnOf(synth({ audience: AUDIENCE, lambdaCode: code, reservedConcurrency: 'none' }), 'announce')[1].Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('takes the GitHub token from Secrets Manager: the template names the secret, never the token', () => {
    const err = catchError(() => settingsFromContext((k) => ({ audience: AUDIENCE, lambdaCode: code, githubToken: 'github_pat_SECRETVALUE' })[k], ROOT));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('githubTokenSecret');
    expect((err as Error).message).not.toContain('SECRETVALUE');
    const [, fn] = fnOf(prefixed, 'announce');
    const { granted } = grantsOf(prefixed, fn);
    expect(granted.get('secretsmanager:GetSecretValue')).toEqual([
      { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:shelf/github-token-??????']] },
    ]);
    const byArn = synth({ audience: AUDIENCE, lambdaCode: code, githubTokenSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:shelf/gh-AbCdEf' });
    expect(fnOf(byArn, 'announce')[1].Properties.Environment.Variables.SHELF_GITHUB_TOKEN_SECRET).toBe('arn:aws:secretsmanager:eu-west-1:123456789012:secret:shelf/gh-AbCdEf');
    // Only the announce may read it.
    expect(grantsOf(template, fnOf(template, 'announce')[1]).granted.has('secretsmanager:GetSecretValue')).toBe(false);
    expect(grantsOf(prefixed, fnOf(prefixed, 'gc')[1]).granted.has('secretsmanager:GetSecretValue')).toBe(false);
  });
});

describe('a custom domain', () => {
  it('serves the registry on it with the ACM certificate, SNI, and TLS 1.2 at least; CdnUrl names it', () => {
    const cert = 'arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-000000000000';
    const t = synth({ audience: AUDIENCE, lambdaCode: code, domainName: 'registry.example.test', certificateArn: cert });
    const config = only(t, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig;
    expect(config.Aliases).toEqual(['registry.example.test']);
    expect(config.ViewerCertificate).toEqual({ AcmCertificateArn: cert, MinimumProtocolVersion: 'TLSv1.2_2021', SslSupportMethod: 'sni-only' });
    const outputs = t.findOutputs('*');
    expect(outputs.CdnUrl!.Value).toBe('https://registry.example.test');
    expect(outputs.DistributionDomainName).toBeDefined();
    // Without one, nothing pretends a minimum the default certificate ignores.
    expect(only(template, 'AWS::CloudFront::Distribution')[1].Properties.DistributionConfig.ViewerCertificate).toBeUndefined();
  });
});

describe('settings', () => {
  it('puts a registry under a key prefix: the CDN origin path, the role and SHELF_STORE all follow it', () => {
    const id = bucketOf(prefixed, 'registry')[0];
    const objects = (suffix: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [id, 'Arn'] }, suffix]] });
    const [, dist] = only(prefixed, 'AWS::CloudFront::Distribution');
    expect(dist.Properties.DistributionConfig.Origins[0].OriginPath).toBe('/registry/v');
    const [, fn] = fnOf(prefixed, 'announce');
    expect(fn.Properties).toMatchObject({ MemorySize: 1024, Timeout: 90 });
    expect(fn.Properties.Environment.Variables.SHELF_STORE).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: id }, '/registry/v']] });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SHELF_ASSET_TIMEOUT_MS: '60000',
      SHELF_GITHUB_TOKEN_SECRET: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:shelf/github-token']] },
      SHELF_OIDC_ISSUER: 'https://ghes.example.test/_services/token',
    });
    expect(prefixed.findOutputs('*').OidcIssuer!.Value).toBe('https://ghes.example.test/_services/token');
    const { statements } = grantsOf(prefixed, fn);
    const by = (action: string) => statements.filter((s) => asArray(s.Action).includes(action));
    expect(by('s3:PutObject').map((s) => s.Resource)).toEqual([ANNOUNCE_WRITES.map((k) => objects(`/registry/v/${k}`))]);
    expect(by('s3:DeleteObject').map((s) => s.Resource)).toEqual([
      [objects(`/registry/v/${PROBE_PREFIX}*`), objects(`/registry/v/${usedTokensPrefix()}*`), objects(`/registry/v/${quotaPrefix()}*`)],
      READ_API_DELETES.map((k) => objects(`/registry/v/${k}`)),
    ]);
    expect(by('s3:ListBucketVersions')[0].Condition).toEqual({ StringLike: { 's3:prefix': READ_API_DELETES.map((k) => `registry/v/${k}`) } });
    const createOnly = policyOf(prefixed, 'registry').find((s) => s.Sid === 'ArtifactsAreCreateOnly');
    expect(createOnly.Resource).toEqual(CREATE_ONLY_KEYS.map((k) => objects(`/registry/v/${k}`)));
    const denyPrivate = policyOf(prefixed, 'registry').find((s) => s.Sid === 'PrivateAreaNotForTheCdn');
    expect(denyPrivate.Resource).toEqual(objects(`/registry/v/${PRIVATE_PREFIX}*`));
    expect(by('s3:ListBucket')[0].Condition).toEqual({ StringLike: { 's3:prefix': ['registry/v/*'] } });
    // The collector follows the prefix too, and deletes only in its search index.
    const [, gcFn] = fnOf(prefixed, 'gc');
    expect(gcFn.Properties.Environment.Variables.SHELF_STORE).toEqual({ 'Fn::Join': ['', ['s3://', { Ref: id }, '/registry/v']] });
    expect(gcFn.Properties.Environment.Variables.SHELF_GC_WRITER_WINDOW_MS).toBe('90000');
    expect(grantsOf(prefixed, gcFn).granted.get('s3:DeleteObject')).toEqual([objects(`/registry/v/${SEARCH_PREFIX}*`), ...READ_API_DELETES.map((k) => objects(`/registry/v/${k}`))]);
  });

  it('refuses to synthesize without an audience: there is no shared default', () => {
    const err = catchError(() => settingsFromContext(() => undefined, ROOT));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('invalid_config');
    expect((err as Error).message).toContain('"audience"');
  });

  it.each([
    [{ lambdaCode: '/nonexistent/shelf.zip' }, '"lambdaCode"'],
    [{ prefix: '/registry/' }, '"prefix"'],
    [{ memory: '64' }, '"memory"'],
    [{ timeout: '30', assetTimeout: '25' }, '"assetTimeout"'],
    [{ priceClass: 'cheap' }, '"priceClass"'],
    [{ issuer: 'http://token.example' }, '"issuer"'],
    [{ logRetentionDays: '31' }, '"logRetentionDays"'],
    [{ reservedConcurrency: 'x' }, '"reservedConcurrency"'],
    [{ githubTokenSecret: 'not a secret name' }, '"githubTokenSecret"'],
    [{ alarmEmail: 'ops' }, '"alarmEmail"'],
    [{ domainName: 'registry.example.com' }, '"certificateArn"'],
    [{ domainName: 'registry.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc' }, 'us-east-1'],
    [{ domainName: 'Registry Example', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' }, '"domainName"'],
    [{ accessLogDays: '0' }, '"accessLogDays"'],
  ])('refuses a bad setting %j, naming the context key', (bad, key) => {
    const context: Record<string, unknown> = { audience: AUDIENCE, lambdaCode: code, ...bad };
    const err = catchError(() => settingsFromContext((k) => context[k], ROOT));
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain(key);
  });
});

describe('infra/app.ts (what cdk synth and cdk deploy run)', () => {
  it('synthesizes the stack from -c context, and refuses without an audience', async () => {
    const outdir = mkdtempSync(join(work, 'app-out-'));
    const run = (context: Record<string, string>) =>
      runNode(['--import', 'tsx', 'infra/app.ts'], { CDK_CONTEXT_JSON: JSON.stringify(context), CDK_OUTDIR: outdir });
    const [ok, refused] = await Promise.all([run({ audience: AUDIENCE, lambdaCode: code }), run({ lambdaCode: code })]);
    expect(ok.code, ok.stderr).toBe(0);
    const synthesized = JSON.parse(readFileSync(join(outdir, 'Shelf.template.json'), 'utf8'));
    expect(Object.values<Json>(synthesized.Resources).filter((r) => r.Type === 'AWS::Lambda::Function')[0].Properties.Environment.Variables.SHELF_AUDIENCE).toBe(
      AUDIENCE,
    );
    // No warning left unread: the one the CDK gives for LIST on the origin is acknowledged with its reason.
    expect(synthMessages(outdir)).toEqual([]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('error[invalid_config]: Context "audience" is required');
    expect(refused.stderr.includes('    at ')).toBe(false); // one clear line, no stack trace
  }, 120_000); // two Node processes loading aws-cdk-lib: slow on a busy machine
});

describe('npm run synth', () => {
  it('surfaces the warnings synthesis recorded, which a synth without the CDK CLI would hide', () => {
    const outdir = mkdtempSync(join(work, 'warned-'));
    const app = new App({ outdir });
    Annotations.of(new Stack(app, 'Warned')).addWarningV2('test:warning', 'minimumProtocolVersion is ignored');
    app.synth();
    expect(synthMessages(outdir)).toEqual([expect.stringMatching(/^\[warning\] \/Warned: minimumProtocolVersion is ignored/)]);
    expect(synthMessages(join(outdir, 'none'))).toEqual([]);
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

function runNode(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stderr }));
  });
}
