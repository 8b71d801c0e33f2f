/**
 * The artifact that ships is the artifact that is tested: the function is built with the same
 * build as `npm run build:lambda`, its zip is unpacked into a folder with no node_modules
 * anywhere above it, and the unpacked `index.mjs` runs in a fresh Node process that is driven
 * with function-URL events (payload 2.0), exactly as the Lambda runtime would. It announces a
 * real bundle, packed with the official packer, to a registry on an S3-compatible server,
 * verifying a token against a loopback JWKS and fetching the asset from a fake GitHub release.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLambda, checkBundleInputs, type BuiltLambda } from '../../scripts/build-lambda.ts';
import type { FunctionUrlEvent, FunctionUrlResult } from '../../src/announce/handler.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { artifactKey, downloadsKey, IMMUTABLE_CACHE, packageKey, versionKey } from '../../src/core/paths.ts';
import { PackageDocumentSchema, PackageDownloadsSchema, VersionDocumentSchema } from '../../src/core/schemas.ts';
import { listExamples, packBundle } from '../../src/dev/pack.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { startFakeGitHub, type FakeGitHub } from '../fakes/fake-github.ts';
import { startFakeKms, type FakeKms } from '../fakes/fake-kms.ts';
import { readKeyList } from '../../src/signing/key-list.ts';
import { listedKeys, verifyArtifact, verifyDocument } from '../../src/signing/trust.ts';
import { startFakeSecretsManager } from '../fakes/fake-secrets-manager.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { applyToStore, readShardedCatalog, readShardedRoot } from '../../src/search/write/publish.ts';
import { makeCorpus } from '../search/corpus.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const DRIVER = join(import.meta.dirname, 'lambda-driver.mjs');
const AUDIENCE = 'https://registry.lambda.test';
const PREFIX = 'lambda-test/';
const NAME = '@acme/echo';
const VERSION = '1.2.0';
const REPOSITORY = 'acme/echo-mcp';
const CLAIMS = { repository: REPOSITORY, repository_id: '1001', repository_owner: 'acme', repository_owner_id: '2002' };

let work: string;
let built: BuiltLambda;
let bundle: string;
let s3: TestS3Server;
let github: FakeGitHub;
let kms: FakeKms;
let kmsKey: string;
let store: S3Store;
let fn: LambdaProcess;
let announceBody: Record<string, unknown>;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'shelf-lambda-'));
  [built, s3, github, kms] = await Promise.all([buildLambda({ outDir: join(work, 'build') }), startS3Server(), startFakeGitHub(AUDIENCE), startFakeKms()]);
  kmsKey = kms.createKey();
  // Run what would be uploaded: the zip's contents, far from the repository's node_modules.
  const unzipped = join(work, 'function');
  mkdirSync(unzipped);
  for (const [name, bytes] of Object.entries(unzipSync(readFileSync(built.zipFile)))) writeFileSync(join(unzipped, name), bytes);
  bundle = join(unzipped, 'index.mjs');

  const example = listExamples().find((e) => e.name === NAME)!;
  const filename = `echo-${VERSION}-any-any.mcpb`;
  const packed = await packBundle(example.dir, join(work, filename), { version: VERSION });
  github.addAsset(REPOSITORY, `v${VERSION}`, filename, { bytes: readFileSync(packed.file) });
  announceBody = {
    name: NAME,
    version: VERSION,
    manifest: packed.manifest,
    release_tag: `v${VERSION}`,
    prerelease: false,
    artifact: { filename, os: 'any', arch: 'any', sha256: packed.sha256, size: packed.size },
  };

  store = s3.makeStore(PREFIX);
  fn = await LambdaProcess.start(bundle, functionEnv());
});

afterAll(async () => {
  fn?.stop();
  await Promise.all([s3?.close(), github?.close(), kms?.close()]);
  rmSync(work, { recursive: true, force: true });
});

/** The function's environment, as the stack sets it, pointed at the loopback fakes. */
function functionEnv(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    ...s3.env(PREFIX),
    SHELF_AUDIENCE: AUDIENCE,
    SHELF_OIDC_ISSUER: github.issuer,
    SHELF_OIDC_JWKS_URL: github.jwksUrl,
    SHELF_GITHUB_API_URL: github.url,
    SHELF_ASSET_TIMEOUT_MS: '5000',
    // The stack's KMS key; the function reaches KMS with the same credentials as S3.
    SHELF_SIGNING_KMS_KEY_ID: kmsKey,
    AWS_ENDPOINT_URL_KMS: kms.url,
    ...overrides,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/** A function-URL event (payload 2.0) as Lambda delivers it. */
function urlEvent(path: string, options: { token?: string; body?: unknown; method?: string; base64?: boolean } = {}): FunctionUrlEvent {
  const text = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string> = { host: 'abc123.lambda-url.us-east-1.on.aws', 'content-type': 'application/json', 'user-agent': 'mpak-action' };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const method = options.method ?? 'POST';
  return {
    version: '2.0',
    rawPath: path,
    rawQueryString: '',
    headers,
    ...(text === undefined ? {} : { body: options.base64 ? Buffer.from(text).toString('base64') : text, isBase64Encoded: options.base64 === true }),
    requestContext: { http: { method, path, sourceIp: '203.0.113.7' }, requestId: randomUUID() },
  };
}

const parse = (r: FunctionUrlResult) => JSON.parse(r.body) as any;
const snapshot = async () => (await store.list('')).map((o) => `${o.key} ${o.etag}`);

describe('the built function, driven with function-URL events', () => {
  it('announces a bundle: 201 created, and the version, package and artifact are in the bucket', async () => {
    const token = await github.mint(CLAIMS);
    const res = await fn.invoke(urlEvent('/v1/bundles/announce', { token, body: announceBody }));
    expect(res.statusCode, res.body).toBe(201);
    expect(parse(res)).toMatchObject({ package: NAME, version: VERSION, status: 'created', total_artifacts: 1 });
    expect(res.headers['content-type']).toMatch(/^application\/json/);

    const pkg = parsePackageName(NAME);
    const version = VersionDocumentSchema.parse(JSON.parse(new TextDecoder().decode((await store.get(versionKey('bundle', pkg, parseVersion(VERSION))))!.body)));
    expect(version.artifacts).toHaveLength(1);
    expect(version.artifacts[0]).toMatchObject({ os: 'any', arch: 'any', sha256: (announceBody.artifact as any).sha256 });
    expect(version.artifacts[0]!.provenance).toMatchObject({ repository: REPOSITORY, repository_id: '1001', owner_id: '2002', verified: true });
    const artifact = await store.get(artifactKey('bundle', pkg, parseVersion(VERSION), { os: 'any', arch: 'any' }));
    expect(artifact!.cacheControl).toBe(IMMUTABLE_CACHE);
    expect(artifact!.body.byteLength).toBe((announceBody.artifact as any).size);
    const doc = PackageDocumentSchema.parse(JSON.parse(new TextDecoder().decode((await store.get(packageKey('bundle', pkg)))!.body)));
    expect(doc.latest).toBe(VERSION);
    // Signed with the KMS key, which v1/keys.json lists.
    const keys = await listedKeys((await readKeyList(store))!);
    expect((await verifyArtifact(keys, { kind: 'bundle', name: NAME, version: VERSION }, version.artifacts[0]!)).keyid).toBe([...keys.keys()][0]);
    await verifyDocument(keys, JSON.parse(new TextDecoder().decode((await store.get(packageKey('bundle', pkg)))!.body)));
    expect(kms.calls.filter((c) => c.operation === 'Sign').length).toBeGreaterThanOrEqual(2);
    // The function logged one JSON line for the request (the line `shelf serve` writes), without the token.
    const lines = fn.logs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'request')).toEqual([
      expect.objectContaining({
        status: 201,
        outcome: 'accepted',
        result: 'created',
        kind: 'bundle',
        package: NAME,
        version: VERSION,
        platform: 'any-any',
        repository: REPOSITORY,
        bytes_fetched: (announceBody.artifact as any).size,
      }),
    ]);
    expect(fn.logs.join('\n')).not.toContain(token);
  });

  it('answers a retry of the same artifact (base64 body, as Lambda may deliver it) with 200 unchanged', async () => {
    const token = await github.mint(CLAIMS);
    const before = await snapshot();
    const res = await fn.invoke(urlEvent('/v1/bundles/announce', { token, body: announceBody, base64: true }));
    expect(res.statusCode, res.body).toBe(200);
    expect(parse(res)).toMatchObject({ package: NAME, version: VERSION, status: 'unchanged', total_artifacts: 1 });
    // Records are untouched (derived files may be recomputed, to the same content).
    const records = (keys: string[]) => keys.filter((k) => k.includes('/versions/'));
    expect(records(await snapshot())).toEqual(records(before));
  });

  it('rejects a token minted for another registry with 401 invalid_token, writing nothing', async () => {
    const token = await github.mint(CLAIMS, { audience: 'https://another-registry.test' });
    const before = await snapshot();
    const res = await fn.invoke(urlEvent('/v1/bundles/announce', { token, body: { ...announceBody, version: '9.9.9' } }));
    expect(res.statusCode).toBe(401);
    expect(parse(res).error.code).toBe('invalid_token');
    expect(await snapshot()).toEqual(before);
  });

  it('re-signs and rebuilds when invoked directly with {"shelf":"rebuild"} (on AWS only the function may sign)', async () => {
    const key = packageKey('bundle', parsePackageName(NAME));
    const doc = JSON.parse(new TextDecoder().decode((await store.get(key))!.body));
    delete doc.signature;
    await store.put(key, new TextEncoder().encode(JSON.stringify(doc)), { contentType: 'application/json; charset=utf-8', cacheControl: 'public, max-age=60, must-revalidate' });
    const result = (await fn.invoke({ shelf: 'rebuild' } as never)) as unknown as { changed: string[]; packages: number };
    expect(result.changed).toContain(key);
    expect(result.packages).toBe(1);
    const keys = await listedKeys((await readKeyList(store))!);
    await verifyDocument(keys, JSON.parse(new TextDecoder().decode((await store.get(key))!.body)));
    // A function URL request never reaches the rebuild, whatever its body says.
    const viaUrl = await fn.invoke(urlEvent('/v1/bundles/announce', { body: { shelf: 'rebuild' } }));
    expect(viaUrl.statusCode).toBe(401);
  });

  it('rejects an announce without a token with 401 missing_token, and unknown routes with 404', async () => {
    const missing = await fn.invoke(urlEvent('/v1/bundles/announce', { body: announceBody }));
    expect(missing.statusCode).toBe(401);
    expect(parse(missing).error.code).toBe('missing_token');
    const route = await fn.invoke(urlEvent('/v1/bundles/@acme/echo.json', { method: 'GET' }));
    expect(route.statusCode).toBe(404);
    expect(parse(route).error.code).toBe('route_not_found');
  });
});

describe('start-up of the built function', () => {
  it('fails at INIT without SHELF_AUDIENCE: there is no shared default audience', async () => {
    const res = await LambdaProcess.startFailure(bundle, functionEnv({ SHELF_AUDIENCE: undefined }));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('SHELF_AUDIENCE is required');
  });

  it('fails at INIT on a store that is not S3, and on a server that ignores conditional writes', async () => {
    const fsStore = await LambdaProcess.startFailure(bundle, functionEnv({ SHELF_STORE: undefined }));
    expect(fsStore.code).not.toBe(0);
    expect(fsStore.stderr).toContain('SHELF_STORE must be an s3://');
    const noKey = await LambdaProcess.startFailure(bundle, functionEnv({ SHELF_SIGNING_KMS_KEY_ID: undefined }));
    expect(noKey.code).not.toBe(0);
    expect(noKey.stderr).toContain('SHELF_SIGNING_KMS_KEY_ID is required');
    const raw = await LambdaProcess.startFailure(bundle, functionEnv({ AWS_ENDPOINT_URL_S3: s3.rawEndpoint }));
    expect(raw.code).not.toBe(0);
    expect(raw.stderr).toMatch(/does not honour If-(None-)?Match/);
  });
});

describe('the GitHub token from Secrets Manager (SHELF_GITHUB_TOKEN_SECRET)', () => {
  it('is read once at INIT and sent to the releases API; an unreadable or malformed secret fails INIT without showing it', async () => {
    const secrets = await startFakeSecretsManager();
    const TOKEN = 'github_pat_fromSecretsManager0123';
    secrets.secrets.set('shelf/github-token', TOKEN);
    secrets.secrets.set('shelf/not-a-token', 'two words');
    const env = (secret: string) => functionEnv({ SHELF_GITHUB_TOKEN_SECRET: secret, AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url, AWS_REGION: 'us-east-1' });
    const withToken = await LambdaProcess.start(bundle, env('shelf/github-token'));
    try {
      const seen = github.apiAuthorizations.length;
      // A release GitHub does not have: the announce asks the API (with the token) and is refused.
      const res = await withToken.invoke(urlEvent('/v1/bundles/announce', { token: await github.mint(CLAIMS), body: { ...announceBody, version: '9.9.8', release_tag: 'v9.9.8', manifest: { ...(announceBody.manifest as object), version: '9.9.8' } } }));
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
      const sent = github.apiAuthorizations.slice(seen);
      expect(sent.length, `${res.body} ${github.requests.slice(-5).join(", ")}`).toBeGreaterThan(0);
      expect(new Set(sent)).toEqual(new Set([`Bearer ${TOKEN}`]));
      expect(secrets.reads).toEqual(['shelf/github-token']);
      expect(withToken.logs.join('\n')).not.toContain(TOKEN);
      const missing = await LambdaProcess.startFailure(bundle, env('shelf/nothing'));
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('SHELF_GITHUB_TOKEN_SECRET: cannot read the secret "shelf/nothing" from Secrets Manager (ResourceNotFoundException)');
      const malformed = await LambdaProcess.startFailure(bundle, env('shelf/not-a-token'));
      expect(malformed.stderr).toContain('must hold a GitHub token');
      expect(malformed.stderr).not.toContain('two words');
    } finally {
      withToken.stop();
      await secrets.close();
    }
  });
});

describe('the built function as the scheduled collector (SHELF_FUNCTION=gc)', () => {
  it('collects the search files no root reaches, keeps what the root reaches, and logs what it freed', async () => {
    // An unreachable file of the index, old enough for a collector with no grace period.
    const orphan = 'v1/search/bundles/shards/00000000000000000000.json';
    await store.put(orphan, new TextEncoder().encode('{"v":1,"t":"suffixes","e":[]}\n'), { contentType: 'application/json', cacheControl: 'no-cache' });
    const before = (await store.list('v1/search/')).map((o) => o.key);
    // Neither an audience nor the probe: this function announces nothing, and may delete only under v1/search/.
    const collector = await LambdaProcess.start(bundle, functionEnv({ SHELF_FUNCTION: 'gc', SHELF_AUDIENCE: undefined, SHELF_GC_GRACE_MS: '0', SHELF_GC_WRITER_WINDOW_MS: '0' }));
    try {
      const result = (await collector.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' } as never)) as unknown as { freed: { files: number } };
      expect(result.freed.files).toBeGreaterThanOrEqual(1);
    } finally {
      collector.stop();
    }
    const after = (await store.list('v1/search/')).map((o) => o.key);
    expect(after).not.toContain(orphan);
    expect(after).toContain('v1/search/bundles/root.json');
    // What remains is what the root reaches (and the collector's own record).
    expect(before.filter((k) => !after.includes(k)).every((k) => k.includes('/shards/') || k.includes('/docs/'))).toBe(true);
  });

  it('fails at INIT on a bad setting, naming it', async () => {
    const res = await LambdaProcess.startFailure(bundle, functionEnv({ SHELF_FUNCTION: 'gc', SHELF_GC_GRACE_MS: 'a day' }));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('SHELF_GC_GRACE_MS must be a whole number');
    const other = await LambdaProcess.startFailure(bundle, functionEnv({ SHELF_FUNCTION: 'cron' }));
    expect(other.stderr).toContain('SHELF_FUNCTION must be announce, gc, compact or downloads');
  });
});

describe('the built function as the scheduled compactor (SHELF_FUNCTION=compact)', () => {
  it('merges a due search delta into the base trees, then has nothing to do, and logs each run', async () => {
    // The announce above left its package in the delta; fill it to delta_max with more packages.
    const { root } = (await readShardedRoot(store, 'bundle'))!;
    const more = makeCorpus({ count: (root.policy.delta_max ?? 0) - (root.delta?.count ?? 0), seed: 5 });
    for (const s of more) await applyToStore(store, 'bundle', s.name, s);
    expect((await readShardedRoot(store, 'bundle'))!.root.delta!.count).toBe(root.policy.delta_max);
    // Neither an audience nor the probe: this function announces nothing, and may write only under v1/search/.
    const compactor = await LambdaProcess.start(bundle, functionEnv({ SHELF_FUNCTION: 'compact', SHELF_AUDIENCE: undefined, SHELF_SIGNING_KMS_KEY_ID: undefined }));
    try {
      type Report = { kinds: { kind: string; compacted: boolean; packages: number }[] };
      const first = (await compactor.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' } as never)) as unknown as Report;
      expect(first.kinds).toEqual([
        expect.objectContaining({ kind: 'bundle', compacted: true, packages: root.policy.delta_max }),
        expect.objectContaining({ kind: 'skill', compacted: false }),
      ]);
      const again = (await compactor.invoke({ source: 'aws.events' } as never)) as unknown as Report;
      expect(again.kinds.map((k) => k.compacted)).toEqual([false, false]);
      expect(compactor.logs.map((l) => JSON.parse(l) as { event?: string }).filter((l) => l.event === 'compact')).toHaveLength(2);
    } finally {
      compactor.stop();
    }
    const after = (await readShardedRoot(store, 'bundle'))!.root;
    expect(after.delta).toBeUndefined();
    expect((await readShardedCatalog(store, 'bundle', after)).map((s) => s.name)).toEqual([NAME, ...more.map((s) => s.name)].sort());
  });
});

describe('the built function as the scheduled download counts (SHELF_FUNCTION=downloads)', () => {
  it('counts the CloudFront logs in the log bucket once, publishes the counts, and logs what it counted', async () => {
    // A CloudFront standard log as the distribution writes it into the log bucket's cdn/ folder.
    const today = new Date().toISOString().slice(0, 10);
    const path = `/${artifactKey('bundle', parsePackageName(NAME), parseVersion(VERSION), { os: 'any', arch: 'any' })}`;
    const fields = ['date', 'time', 'x-edge-location', 'sc-bytes', 'c-ip', 'cs-method', 'cs(Host)', 'cs-uri-stem', 'sc-status'];
    const row = (method: string, status: number) => [today, '10:00:00', 'FRA56-C1', '1000', '192.0.2.1', method, 'd111.cloudfront.net', path, String(status)].join('\t');
    const log = gzipSync(`#Version: 1.0\n#Fields: ${fields.join(' ')}\n${[row('GET', 200), row('GET', 200), row('HEAD', 200)].join('\n')}\n`);
    const logs = s3.makeStore('lambda-logs/cdn/');
    await logs.put(`E2ABC.${today}-10.aaaa.gz`, log, { contentType: 'application/gzip', cacheControl: 'no-cache' });
    const logsUrl = `s3://${s3.bucket}/lambda-logs/cdn`;
    // Neither an audience nor the probe: this function announces nothing.
    const counter = await LambdaProcess.start(bundle, functionEnv({ SHELF_FUNCTION: 'downloads', SHELF_AUDIENCE: undefined, SHELF_DOWNLOAD_LOGS: logsUrl }));
    try {
      const first = (await counter.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' } as never)) as unknown as { logs: { files: number; downloads: number } };
      expect(first.logs).toEqual({ files: 1, downloads: 2 });
      // Each log file once.
      const again = (await counter.invoke({ source: 'aws.events' } as never)) as unknown as { logs: { files: number; downloads: number } };
      expect(again.logs).toEqual({ files: 0, downloads: 0 });
      expect(counter.logs.map((l) => JSON.parse(l) as { event?: string }).filter((l) => l.event === 'downloads')).toHaveLength(2);
    } finally {
      counter.stop();
    }
    const counts = PackageDownloadsSchema.parse(JSON.parse(new TextDecoder().decode((await store.get(downloadsKey('bundle', parsePackageName(NAME))))!.body)));
    expect(counts).toMatchObject({ package: NAME, total: 2, last_30_days: 2, versions: { [VERSION]: 2 } });
    // Without where the logs are, it does not start.
    const missing = await LambdaProcess.startFailure(bundle, functionEnv({ SHELF_FUNCTION: 'downloads' }));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('SHELF_DOWNLOAD_LOGS must be an s3://bucket/prefix URL');
  });
});

describe('the bundle', () => {
  it('builds the same from a checkout whose node_modules is a symlink (a shared install, a worktree)', async () => {
    const checkout = join(work, 'linked-checkout');
    mkdirSync(checkout);
    for (const part of ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) cpSync(join(ROOT, part), join(checkout, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const run = await new Promise<{ code: number | null; out: string }>((done) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/build-lambda.ts', '--out-dir', join(work, 'linked-build')], { cwd: checkout, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      child.on('close', (code) => done({ code, out }));
    });
    expect(run.code, run.out).toBe(0);
    expect(readFileSync(join(work, 'linked-build', 'index.mjs')).equals(readFileSync(built.bundleFile))).toBe(true);
  }, 60_000);

  it('is one ES module in a zip of 0644 files, without source map, with no development-only input', () => {
    const entries = unzipSync(readFileSync(built.zipFile));
    expect(Object.keys(entries)).toEqual(['index.mjs']);
    expect(statSync(built.bundleFile).size).toBe(built.bundleBytes);
    // (Booleans, not toContain: a failure must not print a megabyte of minified code.)
    expect(readFileSync(built.bundleFile, 'utf8').includes('sourceMappingURL')).toBe(false);
    expect(zipModes(readFileSync(built.zipFile))).toEqual([0o100644]);
    expect(built.inputs).toContain('src/lambda.ts');
    expect(built.inputs).toContain('node_modules/@anthropic-ai/mcpb/dist/schemas/index.js');
    expect(built.inputs.some((i) => i.startsWith('node_modules/@aws-sdk/client-s3/'))).toBe(true);
    expect(built.inputs.filter((i) => i.startsWith('src/dev/') || i.includes('@inquirer') || i.startsWith('test/'))).toEqual([]);
    expect(built.inputs.filter((i) => i.includes('@anthropic-ai/mcpb/') && !i.includes('/dist/schemas/') && !i.includes('/zod/'))).toEqual([]);
  });

  it('refuses inputs from development mode, the mcpb packer, or development tools', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
    const ok = ['src/lambda.ts', 'node_modules/@anthropic-ai/mcpb/dist/schemas/index.js', 'node_modules/jose/dist/webapi/index.js'];
    expect(() => checkBundleInputs(ok, lock)).not.toThrow();
    expect(() => checkBundleInputs([...ok, 'src/dev/pack.ts'], lock)).toThrow(/src\/dev\/pack\.ts: development mode/);
    expect(() => checkBundleInputs([...ok, 'node_modules/@anthropic-ai/mcpb/dist/node/pack.js'], lock)).toThrow(/not its packer/);
    expect(() => checkBundleInputs([...ok, 'node_modules/vitest/dist/index.js'], lock)).toThrow(/node_modules\/vitest is not a runtime library/);
    expect(() => checkBundleInputs(['src/lambda.ts'], lock)).toThrow(/mcpb\/dist\/schemas\/index\.js: required at runtime/);
  });

  it('adds a source map only when asked', async () => {
    const withMap = await buildLambda({ outDir: join(work, 'build-map'), sourcemap: true });
    expect(Object.keys(unzipSync(readFileSync(withMap.zipFile))).sort()).toEqual(['index.mjs', 'index.mjs.map']);
    expect(readFileSync(withMap.bundleFile, 'utf8').includes('sourceMappingURL=index.mjs.map')).toBe(true);
  });
});

/** Unix modes of a zip's entries, from the central directory. */
function zipModes(zip: Uint8Array): number[] {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const modes: number[] = [];
  for (let i = 0; i + 46 <= zip.length; i++) {
    if (view.getUint32(i, true) === 0x02014b50) modes.push(view.getUint32(i + 38, true) >>> 16);
  }
  return modes;
}

/** The built function in its own Node process, like one warm Lambda container. */
class LambdaProcess {
  readonly logs: string[] = [];
  #waiting: Array<{ done: (r: FunctionUrlResult) => void; fail: (e: Error) => void }> = [];

  private constructor(readonly child: ChildProcessWithoutNullStreams) {}

  static spawn(bundleFile: string, env: Record<string, string>): ChildProcessWithoutNullStreams {
    // Only what a Lambda container has: no inherited credentials or configuration.
    return spawn(process.execPath, [DRIVER, bundleFile], { cwd: resolve(bundleFile, '..'), env: { PATH: process.env.PATH ?? '', ...env } });
  }

  static start(bundleFile: string, env: Record<string, string>): Promise<LambdaProcess> {
    const proc = new LambdaProcess(LambdaProcess.spawn(bundleFile, env));
    let stderr = '';
    proc.child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    return new Promise((ready, fail) => {
      proc.child.on('exit', (code) => {
        const error = new Error(`the function exited (${code}):\n${stderr}`);
        fail(error); // before READY
        for (const w of proc.#waiting.splice(0)) w.fail(error); // during an invocation
      });
      createInterface({ input: proc.child.stdout }).on('line', (line) => {
        if (line === 'READY') ready(proc);
        else if (line.startsWith('RESULT ')) proc.#waiting.shift()?.done(JSON.parse(line.slice('RESULT '.length)));
        else proc.logs.push(line);
      });
    });
  }

  static startFailure(bundleFile: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    const child = LambdaProcess.spawn(bundleFile, env);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end();
    return new Promise((done) => child.on('close', (code) => done({ code, stderr })));
  }

  /** Calls the handler with one event; events are handled one at a time, like one container. */
  invoke(event: FunctionUrlEvent): Promise<FunctionUrlResult> {
    return new Promise((done, fail) => {
      this.#waiting.push({ done, fail });
      this.child.stdin.write(`${JSON.stringify(event)}\n`);
    });
  }

  stop(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}
