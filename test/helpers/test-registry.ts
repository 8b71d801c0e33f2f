/**
 * A registry for tests: the real server over a store in a temp folder, trusting a loopback fake
 * of GitHub whose keys and releases the test controls. `publish*` helpers pack real artifacts
 * with the official packer, put them in a fake release and announce them over HTTP.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packBundle, packSkill, listExamples } from '../../src/dev/pack.ts';
import type { Arch, Os } from '../../src/core/names.ts';
import { startRegistryServer, type RegistryServer, type RegistryServerOptions } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { startFakeGitHub, type Claims, type FakeGitHub, type MintOptions } from '../fakes/fake-github.ts';
import { loadOrCreateKeyFile } from '../../src/signing/local-signer.ts';
import type { Signer } from '../../src/signing/signer.ts';

/** The signer of a folder bucket's registry (its key file, `.signing/registry-key.pem` in the folder). */
export function signerOf(store: FsStore): Promise<Signer> {
  return loadOrCreateKeyFile(join(store.root, '.signing', 'registry-key.pem'), { create: false });
}

export const AUDIENCE = 'https://shelf.test';

export interface TestRegistry {
  url: string;
  server: RegistryServer;
  github: FakeGitHub;
  store: ObjectStore;
  dir: string;
  /** POSTs an announce with a raw body and headers. */
  post(path: string, body: string, headers?: Record<string, string>): Promise<{ status: number; json: any }>;
  /** Announces with a token minted for `claims`. */
  announce(kind: 'bundle' | 'skill', body: unknown, claims: Claims, mint?: MintOptions): Promise<{ status: number; json: any }>;
  /** Changes a status (`POST /v1/{kind}s/status`) with a token minted for `claims`. */
  status(kind: 'bundle' | 'skill', body: unknown, claims: Claims, mint?: MintOptions): Promise<{ status: number; json: any }>;
  /** Every key and ETag in the store: compare before/after to prove nothing was written. */
  snapshot(): Promise<string[]>;
  close(): Promise<void>;
}

/** Claims of a repository `owner/repo` with stable numeric ids. */
export function claimsFor(repository: string, ids: { owner_id?: string; repository_id?: string } = {}): Claims {
  const owner = repository.split('/')[0]!;
  return {
    repository,
    repository_owner: owner,
    repository_owner_id: ids.owner_id ?? numericId(owner),
    repository_id: ids.repository_id ?? numericId(repository),
  };
}

/** A stable numeric id for a name, as GitHub's ids are numeric. */
export function numericId(name: string): string {
  return String(parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16));
}

/**
 * Starts the registry server and its fake GitHub. `env` adds to (or overrides) the server's
 * environment; given as a function, it is called with the fake GitHub once it listens, for
 * settings that name its address (such as `SHELF_TRUSTED_DOWNLOAD_HOSTS`).
 */
export async function startTestRegistry(
  options: { store?: ObjectStore; env?: Record<string, string> | ((github: FakeGitHub) => Record<string, string>) } & Pick<RegistryServerOptions, 'wrapDeps' | 'log' | 'accessLog' | 'maxConcurrentDownloads' | 'downloadCounts' | 'compaction'> = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'shelf-test-'));
  const github = await startFakeGitHub(AUDIENCE);
  const store = options.store ?? new FsStore(join(dir, 'bucket'));
  const server = await startRegistryServer({
    store,
    port: 0,
    env: {
      SHELF_AUDIENCE: AUDIENCE,
      SHELF_OIDC_ISSUER: github.issuer,
      SHELF_OIDC_JWKS_URL: github.jwksUrl,
      SHELF_GITHUB_API_URL: github.url,
      SHELF_ASSET_TIMEOUT_MS: '5000',
      // A folder bucket keeps its key in its own data folder; any other store gets one in the test's folder.
      ...(options.store && !(options.store instanceof FsStore) ? { SHELF_SIGNING_KEY_FILE: join(dir, 'registry-key.pem') } : {}),
      ...(typeof options.env === 'function' ? options.env(github) : options.env),
    },
    ...(options.wrapDeps ? { wrapDeps: options.wrapDeps } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.accessLog ? { accessLog: options.accessLog } : {}),
    ...(options.maxConcurrentDownloads ? { maxConcurrentDownloads: options.maxConcurrentDownloads } : {}),
    ...(options.downloadCounts ? { downloadCounts: options.downloadCounts } : {}),
    ...(options.compaction !== undefined ? { compaction: options.compaction } : {}),
  });
  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}${path}`, { method: 'POST', headers, body });
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, json: json as any };
  };
  return {
    url: server.url,
    server,
    github,
    store,
    dir,
    post,
    async announce(kind, body, claims, mint) {
      const token = await github.mint(claims, mint);
      return post(`/v1/${kind}s/announce`, JSON.stringify(body), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    },
    async status(kind, body, claims, mint) {
      const token = await github.mint(claims, mint);
      return post(`/v1/${kind}s/status`, JSON.stringify(body), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
    },
    async snapshot() {
      return (await store.list('')).map((o) => `${o.key} ${o.etag}`);
    },
    async close() {
      await server.close();
      await github.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** An artifact packed from an example, put in a fake release, with the announce body that names it. */
export interface PreparedArtifact {
  kind: 'bundle' | 'skill';
  body: Record<string, any>;
  bytes: Uint8Array;
  sha256: string;
  size: number;
  filename: string;
  repository: string;
  tag: string;
}

const example = (name: string) => {
  const ex = listExamples().find((e) => e.name === name);
  if (!ex) throw new Error(`no example ${name}`);
  return ex;
};

/**
 * Packs an example bundle (optionally renamed/reversioned/for one os), uploads it to the fake
 * release `v{version}` of `repository`, and returns the announce body.
 */
export async function prepareBundle(
  reg: TestRegistry,
  opts: { example?: string; name?: string; version?: string; os?: Os; arch?: Arch; repository?: string; upload?: boolean; prerelease?: boolean },
): Promise<PreparedArtifact> {
  const ex = example(opts.example ?? '@acme/echo');
  const name = opts.name ?? ex.name;
  const version = opts.version ?? ex.version;
  const os = opts.os ?? 'any';
  const arch = opts.arch ?? 'any';
  const filename = `${name.split('/')[1]}-${version}-${os}-${arch}.mcpb`;
  const file = join(reg.dir, 'packed', filename);
  const packed = await packBundle(ex.dir, file, { name, version, os });
  const bytes = await readFile(file);
  const repository = opts.repository ?? `${name.slice(1).split('/')[0]}/${name.split('/')[1]}-mcp`;
  const tag = `v${version}`;
  if (opts.upload !== false) reg.github.addAsset(repository, tag, filename, { bytes });
  return {
    kind: 'bundle',
    body: {
      name,
      version,
      manifest: packed.manifest,
      release_tag: tag,
      prerelease: opts.prerelease ?? false,
      artifact: { filename, os, arch, sha256: packed.sha256, size: packed.size },
    },
    bytes,
    sha256: packed.sha256,
    size: packed.size,
    filename,
    repository,
    tag,
  };
}

/** Packs the example skill as `@{scope}/release-notes` and uploads it. */
export async function prepareSkill(reg: TestRegistry, opts: { version?: string; repository?: string } = {}): Promise<PreparedArtifact> {
  const ex = example('@acme/release-notes');
  const version = opts.version ?? ex.version;
  const filename = `release-notes-${version}.skill`;
  const file = join(reg.dir, 'packed', filename);
  const packed = await packSkill(ex.dir, file, { version });
  const bytes = await readFile(file);
  const repository = opts.repository ?? 'acme/skills';
  const tag = `v${version}`;
  reg.github.addAsset(repository, tag, filename, { bytes });
  return {
    kind: 'skill',
    body: { name: ex.name, version, skill: packed.frontMatter, release_tag: tag, prerelease: false, artifact: { filename, sha256: packed.sha256, size: packed.size } },
    bytes,
    sha256: packed.sha256,
    size: packed.size,
    filename,
    repository,
    tag,
  };
}

/** Announces a prepared artifact with a token for its repository. */
export function announcePrepared(reg: TestRegistry, p: PreparedArtifact, ids: { owner_id?: string; repository_id?: string } = {}, mint?: MintOptions) {
  return reg.announce(p.kind, p.body, claimsFor(p.repository, ids), mint);
}
