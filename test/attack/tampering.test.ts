/**
 * Tampering caught end to end (issue 30, part 3): a registry served through a tampering proxy
 * (`hostile-registry.ts`) as a compromised bucket or CDN would serve it. Each attack is refused
 * by the CLI with a stable code before anything is written or run:
 *
 * - an artifact swapped together with its sha256 (and size) in the version document:
 *   `signature_invalid`;
 * - a version document replaced by an older one (a platform missing), a package document
 *   replaced by an older one: `rollback_detected`;
 * - the key list replaced by the attacker's, documents re-signed with the attacker's key:
 *   `key_untrusted`; the key list removed and documents served unsigned: `signature_invalid`;
 * - a version's status (a yank) undone in the package document: `signature_invalid`; in the
 *   version document's unsigned copy: ignored, the client shows the signed status.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion as v } from '../../src/core/names.ts';
import { artifactKey, configKey, keysKey, packageKey, versionKey } from '../../src/core/paths.ts';
import type { PackageDocument, VersionDocument } from '../../src/core/schemas.ts';
import { loadOrCreateKeyFile } from '../../src/signing/local-signer.ts';
import { keyEntry, signArtifact, signDocument } from '../../src/signing/signer.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { startHostileRegistry, type HostileRegistry } from './hostile-registry.ts';
import { consumerFolders, shelf as runShelf } from '../cli/helpers.ts';

const echo = parsePackageName('@acme/echo');
let reg: TestRegistry;
let proxy: HostileRegistry;
let linux: PreparedArtifact;
let work: string;
let cacheDir: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  proxy = await startHostileRegistry(reg.url);
  linux = await prepareBundle(reg, { version: '1.0.0', os: 'linux', arch: 'x64' });
  expect((await announcePrepared(reg, linux)).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await proxy?.close();
  await reg?.close();
});
beforeEach(async (ctx) => {
  ({ work, cacheDir } = await consumerFolders(ctx, 'shelf-tamper'));
  ctx.onTestFinished(() => {
    for (const path of [configKey(), keysKey(), packageKey('bundle', echo), versionKey('bundle', echo, v('1.0.0')), versionKey('bundle', echo, v('1.1.0')), artifactKey('bundle', echo, v('1.0.0'), { os: 'linux', arch: 'x64' })]) {
      proxy.serve(exact(path), undefined);
    }
  });
});

const exact = (key: string) => new RegExp(`^/${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);

const shelf = (...argv: string[]) => runShelf(argv, { cwd: work, env: { SHELF_REGISTRY: proxy.url, SHELF_CACHE_DIR: cacheDir, HOME: work } });

/** Files the commands could have written: the working folder, and artifacts or unpacked bundles in the cache. */
async function written(): Promise<string[]> {
  const inWork = (await readdir(work, { recursive: true })).map((f) => `work/${f}`);
  const inCache = (await readdir(cacheDir, { recursive: true })).filter((f) => /^(artifacts|unpacked|bundles)\//.test(f)).map((f) => `cache/${f}`);
  return [...inWork, ...inCache];
}

async function stored<T>(key: string): Promise<T> {
  return JSON.parse(new TextDecoder().decode((await reg.store.get(key))!.body)) as T;
}

const PULL = ['bundle', 'pull', '@acme/echo@1.0.0', '--os', 'linux', '--arch', 'x64', '--json'];
const RUN = ['bundle', 'run', '@acme/echo@1.0.0', '--os', 'linux', '--arch', 'x64', '--dry-run'];

describe('through the proxy, untampered (control)', () => {
  it('pulls and reports what it verified', async () => {
    const r = await shelf(...PULL);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.verified).toMatchObject({ sha256: linux.sha256, registry_signature: { keyid: reg.server.signer.keyId } });
  });
});

describe('an artifact swapped together with its sha256 in the version document', () => {
  it('is refused with signature_invalid by pull and run; nothing is written or run', async () => {
    const other = await prepareBundle(reg, { example: '@globex/weather', name: '@acme/echo', version: '1.0.0', os: 'linux', arch: 'x64', repository: 'evil/other', upload: false });
    const doc = await stored<VersionDocument>(versionKey('bundle', echo, v('1.0.0')));
    doc.artifacts[0]!.sha256 = other.sha256;
    doc.artifacts[0]!.size = other.size;
    proxy.serve(exact(versionKey('bundle', echo, v('1.0.0'))), { kind: 'replace', body: JSON.stringify(doc) });
    proxy.serve(exact(artifactKey('bundle', echo, v('1.0.0'), { os: 'linux', arch: 'x64' })), { kind: 'replace', body: other.bytes });
    for (const argv of [PULL, RUN]) {
      const r = await shelf(...argv);
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^error\[signature_invalid\]/);
      expect(r.stdout).toBe('');
    }
    expect(await written()).toEqual([]);
  });
});

describe('an older document served in place of the current one', () => {
  it('a version document lacking a platform the signed package document lists: rollback_detected', async () => {
    const older = (await reg.store.get(versionKey('bundle', echo, v('1.0.0'))))!.body;
    const mac = await prepareBundle(reg, { version: '1.0.0', os: 'darwin', arch: 'arm64' });
    expect((await announcePrepared(reg, mac)).status).toBe(201);
    proxy.serve(exact(versionKey('bundle', echo, v('1.0.0'))), { kind: 'replace', body: older });
    const r = await shelf(...PULL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[rollback_detected\].*darwin-arm64/);
    expect(await written()).toEqual([]);
  }, 30_000);

  it('a package document older than one this client verified: rollback_detected', async () => {
    const older = (await reg.store.get(packageKey('bundle', echo)))!.body;
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.1.0', os: 'linux', arch: 'x64' }))).status).toBe(201);
    expect((await shelf('bundle', 'show', '@acme/echo', '--json')).code).toBe(0);
    proxy.serve(exact(packageKey('bundle', echo)), { kind: 'replace', body: older });
    const r = await shelf(...PULL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[rollback_detected\]/);
    expect(await written()).toEqual([]);
  }, 30_000);
});

describe('the key list replaced', () => {
  it("by the attacker's, with documents re-signed by the attacker's key: key_untrusted for a client that pinned the registry's", async () => {
    expect((await shelf('bundle', 'show', '@acme/echo', '--json')).code).toBe(0); // pins the registry's keys
    const attacker = await loadOrCreateKeyFile(join(work, '..', `attacker-${Date.now()}.pem`));
    const keys = { schema_version: 1, keys: [await keyEntry(attacker, new Date().toISOString())] };
    const pkg = await stored<PackageDocument>(packageKey('bundle', echo));
    const version = await stored<VersionDocument>(versionKey('bundle', echo, v('1.0.0')));
    const owner = { kind: 'bundle', name: '@acme/echo', version: '1.0.0' };
    const resigned = { ...version, artifacts: await Promise.all(version.artifacts.map((a) => signArtifact(attacker, owner, a))) };
    const later = { ...pkg, signature: { ...pkg.signature!, signed_at: new Date(Date.now() + 60_000).toISOString() } };
    proxy.serve(exact(keysKey()), { kind: 'replace', body: JSON.stringify(keys) });
    proxy.serve(exact(packageKey('bundle', echo)), { kind: 'replace', body: JSON.stringify(await signDocument(attacker, later, null)) });
    proxy.serve(exact(versionKey('bundle', echo, v('1.0.0'))), { kind: 'replace', body: JSON.stringify(resigned) });
    const r = await shelf(...PULL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[key_untrusted\].*shelf trust/);
    expect(await written()).toEqual([]);
  });

  it('removed, with documents served unsigned: signature_invalid for a client that pinned the registry', async () => {
    expect((await shelf('bundle', 'show', '@acme/echo', '--json')).code).toBe(0);
    const config = await stored<Record<string, unknown>>(configKey());
    delete config.keys;
    const { signature: _s, ...pkg } = await stored<PackageDocument>(packageKey('bundle', echo));
    proxy.serve(exact(configKey()), { kind: 'replace', body: JSON.stringify(config) });
    proxy.serve(exact(packageKey('bundle', echo)), { kind: 'replace', body: JSON.stringify(pkg) });
    const r = await shelf(...PULL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[signature_invalid\]/);
    expect(await written()).toEqual([]);
  });
});

describe('statuses: signed through the package document', () => {
  // Last in this file: the yank stays.
  beforeAll(async () => {
    const res = await reg.status('bundle', { name: '@acme/echo', version: '1.0.0', status: 'yanked', message: 'Corrupts files; use 1.1.0.' }, claimsFor('acme/echo-mcp'));
    expect(res.status).toBe(200);
  });

  it("a yanked version's documents verify: pulled by its exact version with its status and what was verified", async () => {
    const r = await shelf(...PULL);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is yanked: Corrupts files; use 1\.1\.0\./);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'yanked', status_message: 'Corrupts files; use 1.1.0.', verified: { registry_signature: { keyid: reg.server.signer.keyId } } });
  });

  it('a status changed in the package document (the yank undone without the key): signature_invalid, nothing written', async () => {
    const pkg = await stored<PackageDocument>(packageKey('bundle', echo));
    const entry = pkg.versions.find((e) => e.version === '1.0.0')!;
    expect(entry.status).toBe('yanked');
    entry.status = 'active';
    delete entry.status_message;
    proxy.serve(exact(packageKey('bundle', echo)), { kind: 'replace', body: JSON.stringify(pkg) });
    const r = await shelf(...PULL);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[signature_invalid\]/);
    expect(await written()).toEqual([]);
  });

  it("a status changed in the version document (its unsigned copy): the client shows the package document's signed status", async () => {
    const { status: _s, status_message: _m, status_changed_at: _c, ...version } = await stored<VersionDocument>(versionKey('bundle', echo, v('1.0.0')));
    proxy.serve(exact(versionKey('bundle', echo, v('1.0.0'))), { kind: 'replace', body: JSON.stringify({ ...version, status: 'active' }) });
    const r = await shelf('bundle', 'show', '@acme/echo@1.0.0', '--json');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).version).toMatchObject({ version: '1.0.0', status: 'yanked', status_message: 'Corrupts files; use 1.1.0.' });
  });
});
