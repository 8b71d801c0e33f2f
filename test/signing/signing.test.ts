/**
 * The registry signs what it serves (issue 30, part 1, registry side): the key file created on
 * first start in the data folder and never served; `v1/keys.json`; announce signing each
 * artifact's statement and the package document; a rotation that endorses the new key and keeps
 * old signatures valid until they expire; `shelf rebuild` re-signing; `shelf check` verifying.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { isShelfError, ShelfError } from '../../src/core/errors.ts';
import { parsePackageName, parseVersion as v } from '../../src/core/names.ts';
import { configKey, keysKey, MUTABLE_CACHE, packageKey, versionKey } from '../../src/core/paths.ts';
import { ConfigDocumentSchema, PackageDocumentSchema, VersionDocumentSchema, type KeysDocument } from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { canonicalJson } from '../../src/signing/canonical.ts';
import { derToP1363 } from '../../src/signing/kms-signer.ts';
import { readKeyList } from '../../src/signing/key-list.ts';
import { loadOrCreateKeyFile } from '../../src/signing/local-signer.ts';
import { isEndorsedBy, listedKeys, verifyArtifact, verifyDocument } from '../../src/signing/trust.ts';
import { startRegistryServer } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { encodeJson, readJson } from '../../src/store/json-documents.ts';
import { AUDIENCE, announcePrepared, prepareBundle, signerOf, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

const echo = parsePackageName('@acme/echo');
const DAY = 24 * 3600 * 1000;
const JSON_PUT = { contentType: 'application/json; charset=utf-8', cacheControl: MUTABLE_CACHE };

let reg: TestRegistry;
let store: FsStore;

beforeAll(async () => {
  reg = await startTestRegistry();
  store = reg.store as FsStore;
  for (const version of ['1.0.0', '1.1.0']) expect((await announcePrepared(reg, await prepareBundle(reg, { version }))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

async function keys(): Promise<KeysDocument> {
  return (await readKeyList(store))!;
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<ShelfError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isShelfError(error, code as never), `expected ${code}, got ${String(error)}`).toBe(true);
  return error as ShelfError;
}

describe('the key file', () => {
  it('is created on first start in the data folder, private, outside every key the registry serves', async () => {
    const file = join(store.root, '.signing', 'registry-key.pem');
    const info = await stat(file);
    expect(info.mode & 0o777).toBe(0o600);
    expect((await store.list('')).map((o) => o.key).some((k) => k.includes('signing') || k.endsWith('.pem'))).toBe(false);
    for (const path of ['/.signing/registry-key.pem', '/%2Esigning/registry-key.pem', '/v1/../.signing/registry-key.pem']) {
      const res = await fetch(`${reg.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text()).not.toContain('PRIVATE KEY');
    }
    // The same key on the next start: signatures made before a restart stay the registry's own.
    expect((await signerOf(store)).keyId).toBe(reg.server.signer.keyId);
  });

  it('is refused when it is not an ECDSA P-256 key, naming the file', async () => {
    const { writeFile } = await import('node:fs/promises');
    const bad = join(reg.dir, 'bad.pem');
    await writeFile(bad, 'not a key');
    const error = await expectCode(loadOrCreateKeyFile(bad), 'invalid_config');
    expect(error.message).toContain(bad);
  });
});

describe('v1/keys.json and the config document', () => {
  it('lists the signing key (id = hash of the public key) and the config document names the list', async () => {
    const list = await keys();
    expect(list.keys).toHaveLength(1);
    expect(list.keys[0]).toMatchObject({ keyid: reg.server.signer.keyId, algorithm: 'ecdsa-p256-sha256', public_key: reg.server.signer.publicKey });
    expect(list.keys[0]!.expires).toBeUndefined();
    expect((await listedKeys(list)).has(reg.server.signer.keyId)).toBe(true);
    const config = (await readJson(store, configKey(), ConfigDocumentSchema))!.value;
    expect(config.keys).toBe(keysKey());
    const res = await fetch(`${reg.url}/${keysKey()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).not.toContain('immutable');
  });
});

describe('announce', () => {
  it("signs every artifact's statement and the package document with the registry key", async () => {
    const trusted = await listedKeys(await keys());
    const version = (await readJson(store, versionKey('bundle', echo, v('1.1.0')), VersionDocumentSchema))!.value;
    const artifact = version.artifacts[0]!;
    const key = await verifyArtifact(trusted, { kind: 'bundle', name: '@acme/echo', version: '1.1.0' }, artifact);
    expect(key.keyid).toBe(reg.server.signer.keyId);
    const raw = JSON.parse(new TextDecoder().decode((await store.get(packageKey('bundle', echo)))!.body));
    const signature = await verifyDocument(trusted, raw);
    expect(signature.keyid).toBe(reg.server.signer.keyId);
    // The statement covers the sha256, the size and the provenance, and which version it is of.
    const owner = { kind: 'bundle', name: '@acme/echo', version: '1.1.0' };
    await expectCode(verifyArtifact(trusted, owner, { ...artifact, sha256: 'f'.repeat(64) }), 'signature_invalid');
    await expectCode(verifyArtifact(trusted, owner, { ...artifact, size: artifact.size + 1 }), 'signature_invalid');
    await expectCode(verifyArtifact(trusted, owner, { ...artifact, provenance: { ...artifact.provenance, repository: 'evil/echo-mcp' } }), 'signature_invalid');
    await expectCode(verifyArtifact(trusted, { ...owner, version: '1.0.0' }, artifact), 'signature_invalid');
    // A document changed after signing, in any field, even one this client does not know.
    await expectCode(verifyDocument(trusted, { ...raw, description: 'changed' }), 'signature_invalid');
    await expectCode(verifyDocument(trusted, { ...raw, unknown_field: 1 }), 'signature_invalid');
    const { signature: _s, ...unsigned } = raw;
    expect((await expectCode(verifyDocument(trusted, unsigned), 'signature_invalid')).details).toMatchObject({ reason: 'missing' });
    // Another key's signature is not the registry's.
    await expectCode(verifyDocument(new Map(), raw), 'key_untrusted');
  });

  it('re-signs the package document with a later signing time on every change', async () => {
    const before = (await readJson(store, packageKey('bundle', echo), PackageDocumentSchema))!.value.signature!;
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.2.0' }))).status).toBe(201);
    const after = (await readJson(store, packageKey('bundle', echo), PackageDocumentSchema))!.value.signature!;
    expect(Date.parse(after.signed_at)).toBeGreaterThan(Date.parse(before.signed_at));
  }, 30_000);
});

describe('signing primitives', () => {
  it('canonical JSON does not depend on key order or spacing', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'é\u2028'], c: { y: 2, x: 1 } })).toBe('{"a":[true,null,"é\u2028"],"b":1,"c":{"x":1,"y":2}}');
    expect(canonicalJson(JSON.parse('{ "z" : 1 ,\n "a" : 2 }'))).toBe(canonicalJson({ a: 2, z: 1 }));
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(TypeError);
  });

  it('turns a DER ECDSA signature into r||s, with or without leading zeros, and refuses anything else', () => {
    const int = (bytes: number[]) => [0x02, bytes.length, ...bytes];
    const r = [0x00, 0x80, ...new Array(31).fill(1)]; // 33 bytes: a leading zero before a high bit
    const s = [0x05]; // 1 byte: padded to 32
    const body = [...int(r), ...int(s)];
    const out = derToP1363(Uint8Array.from([0x30, body.length, ...body]));
    expect(out[0]).toBe(0x80);
    expect(out[63]).toBe(0x05);
    expect(out.subarray(32, 63).every((b) => b === 0)).toBe(true);
    expect(() => derToP1363(Uint8Array.from([0x31, 0]))).toThrow(/DER/);
    expect(() => derToP1363(Uint8Array.from([0x30, body.length + 1, ...body, 0]))).toThrow(/DER/);
  });
});

describe('check', () => {
  it('finds a freshly announced registry clean, and names a version whose artifact no longer matches its signature, which a rebuild does not sign again', async () => {
    expect((await check(store)).clean).toBe(true);
    const key = versionKey('bundle', echo, v('1.0.0'));
    const saved = (await store.get(key))!;
    const doc = (await readJson(store, key, VersionDocumentSchema))!.value;
    doc.artifacts[0]!.sha256 = 'e'.repeat(64);
    await store.put(key, encodeJson(doc), JSON_PUT);
    try {
      const report = await check(store);
      expect(report.clean).toBe(false);
      expect(report.issues.find((i) => i.key === key)).toMatchObject({ problem: 'signature_mismatch', repair: 'restore', outdated: ['signature any-any'] });
      // The CLI exits 3 (a record to restore: no rebuild repairs it) and names the file.
      let out = '';
      const code = await main(['check'], { stdout: (s) => (out += s), stderr: () => {}, env: { SHELF_DATA_DIR: store.root } });
      expect(code).toBe(3);
      expect(out).toContain(key);
      // A rebuild with the registry's key does not launder the change: the statement keeps its
      // old signature, the rebuild names it and exits 1.
      const tampered = (await store.get(key))!.etag;
      expect((await rebuild(store, { signer: reg.server.signer })).mismatched).toEqual([{ key, platform: 'any-any' }]);
      expect((await store.get(key))!.etag).toBe(tampered);
      let err = '';
      expect(await main(['rebuild'], { stdout: () => {}, stderr: (s) => (err += s), env: { SHELF_DATA_DIR: store.root } })).toBe(1);
      expect(err).toContain(`${key} (any-any)`);
      expect((await check(store)).clean).toBe(false);
    } finally {
      // The operator's repair: the record restored, then a rebuild of what was derived from the tampered one.
      await store.put(key, saved.body, JSON_PUT);
    }
    expect((await rebuild(store, { signer: reg.server.signer })).mismatched).toEqual([]);
    expect((await check(store)).clean).toBe(true);
  });

  it('names a package document whose signature does not match it, and a key list entry whose id is not its key', async () => {
    const key = packageKey('bundle', echo);
    const saved = (await store.get(key))!;
    const doc = JSON.parse(new TextDecoder().decode(saved.body));
    doc.signature.sig = doc.signature.sig.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A'));
    await store.put(key, encodeJson(doc), JSON_PUT);
    const savedKeys = (await store.get(keysKey()))!;
    const list = await keys();
    await store.put(keysKey(), encodeJson({ ...list, keys: [...list.keys, { ...list.keys[0]!, keyid: 'a'.repeat(64) }] }), JSON_PUT);
    try {
      const report = await check(store);
      expect(report.issues.find((i) => i.key === key)?.outdated).toEqual(['signature']);
      expect(report.issues.find((i) => i.key === keysKey())).toMatchObject({ problem: 'invalid', repair: 'restore', outdated: [`key ${'a'.repeat(16)}`] });
      // A package document is derived: the rebuild signs it again.
      expect(report.issues.find((i) => i.key === key)?.repair).toBe('rebuild');
    } finally {
      await store.put(key, saved.body, JSON_PUT);
      await store.put(keysKey(), savedKeys.body, JSON_PUT);
    }
  });
});

describe('rotation', () => {
  it('a new key signs, endorsed by the old; old signatures stay valid until they expire; rebuild re-signs; check agrees', async () => {
    const oldSigner = reg.server.signer;
    const oldFile = join(store.root, '.signing', 'registry-key.pem');
    const newFile = join(reg.dir, 'new-key.pem');
    const started = Date.now();
    // A second server on the same folder, as an operator restarts one with a new key.
    const server = await startRegistryServer({
      store,
      port: 0,
      env: {
        SHELF_AUDIENCE: AUDIENCE,
        SHELF_OIDC_ISSUER: reg.github.issuer,
        SHELF_OIDC_JWKS_URL: reg.github.jwksUrl,
        SHELF_GITHUB_API_URL: reg.github.url,
        SHELF_SIGNING_KEY_FILE: newFile,
        SHELF_SIGNING_PREVIOUS_KEY_FILE: oldFile,
        SHELF_SIGNING_KEY_OVERLAP_DAYS: '30',
      },
    });
    try {
      const newSigner = server.signer;
      expect(newSigner.keyId).not.toBe(oldSigner.keyId);
      const list = await keys();
      expect(list.keys.map((k) => k.keyid)).toEqual([newSigner.keyId, oldSigner.keyId]);
      const [fresh, old] = list.keys as [KeysDocument['keys'][0], KeysDocument['keys'][0]];
      expect(fresh.expires).toBeUndefined();
      expect(await isEndorsedBy(fresh, old)).toBe(true);
      const expires = Date.parse(old.expires!);
      expect(expires).toBeGreaterThanOrEqual(started + 30 * DAY);
      expect(expires).toBeLessThan(Date.now() + 30 * DAY + 1000);

      // Until the old key expires, what it signed verifies; after, it does not.
      const trusted = await listedKeys(list);
      const owner = { kind: 'bundle', name: '@acme/echo', version: '1.0.0' };
      const artifact = (await readJson(store, versionKey('bundle', echo, v('1.0.0')), VersionDocumentSchema))!.value.artifacts[0]!;
      expect((await verifyArtifact(trusted, owner, artifact, { now: new Date(expires - DAY) })).keyid).toBe(oldSigner.keyId);
      await expectCode(verifyArtifact(trusted, owner, artifact, { now: new Date(expires + 1) }), 'key_untrusted');
      // A restart with the same keys changes nothing.
      const etag = (await store.head(keysKey()))!.etag;

      // A rebuild with the old key is refused; with the new one it re-signs every record and document.
      await expectCode(rebuild(store, { signer: oldSigner }), 'invalid_config');
      const result = await rebuild(store, { signer: newSigner });
      expect(result.changed).toEqual(expect.arrayContaining([versionKey('bundle', echo, v('1.0.0')), versionKey('bundle', echo, v('1.1.0')), packageKey('bundle', echo)]));
      const resigned = (await readJson(store, versionKey('bundle', echo, v('1.0.0')), VersionDocumentSchema))!.value.artifacts[0]!;
      expect(resigned.signature!.keyid).toBe(newSigner.keyId);
      const { signature: _a, ...factsBefore } = artifact;
      const { signature: _b, ...factsAfter } = resigned;
      expect(factsAfter).toEqual(factsBefore);
      expect((await verifyArtifact(new Map([[fresh.keyid, fresh]]), owner, resigned)).keyid).toBe(newSigner.keyId);
      expect((await rebuild(store, { signer: newSigner })).changed).toEqual([]);
      expect((await check(store)).clean).toBe(true);
      expect((await store.head(keysKey()))!.etag).toBe(etag);
    } finally {
      await server.close();
    }
  }, 60_000);
});
