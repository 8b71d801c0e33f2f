/**
 * The KMS signer through the AWS SDK against a loopback fake of KMS (`test/fakes/fake-kms.ts`):
 * it signs digests whose signatures verify with the public key KMS reports, refuses a key of the
 * wrong kind or an unreachable KMS with stable codes, and a registry configured with a KMS key
 * signs its announces with it, asking KMS for nothing but `GetPublicKey` and `Sign`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import { parsePackageName } from '../../src/core/names.ts';
import { versionKey } from '../../src/core/paths.ts';
import { VersionDocumentSchema } from '../../src/core/schemas.ts';
import { signersFromSettings } from '../../src/signing/from-config.ts';
import { createKmsSigner } from '../../src/signing/kms-signer.ts';
import { readKeyList } from '../../src/signing/key-list.ts';
import { listedKeys, verifyArtifact } from '../../src/signing/trust.ts';
import { keyIdOf, verifySignature } from '../../src/signing/verify.ts';
import { loadSigningSettings } from '../../src/config.ts';
import { readJson } from '../../src/store/json-documents.ts';
import { announcePrepared, prepareBundle, startTestRegistry } from '../helpers/test-registry.ts';
import { startFakeKms, type FakeKms } from '../fakes/fake-kms.ts';

let kms: FakeKms;
const client = () => ({ endpoint: kms.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

beforeAll(async () => {
  kms = await startFakeKms();
});
afterAll(async () => {
  await kms?.close();
});

describe('KMS signer', () => {
  it('signs a SHA-256 digest in KMS; the signature verifies with the public key KMS reports', async () => {
    const keyId = kms.createKey();
    const signer = await createKmsSigner({ keyId, clientConfig: client() });
    expect(signer.keyId).toBe(await keyIdOf(signer.publicKey));
    expect(signer.description).toBe(`kms:${keyId}`);
    for (let i = 0; i < 8; i++) {
      const data = new TextEncoder().encode(`payload ${i} ${'x'.repeat(5000)}`); // larger than a raw KMS message may be
      const sig = await signer.sign(data);
      expect(await verifySignature(signer.publicKey, data, sig)).toBe(true);
      expect(await verifySignature(signer.publicKey, new TextEncoder().encode(`other ${i}`), sig)).toBe(false);
    }
    expect(kms.calls.filter((c) => c.operation === 'Sign').every((c) => c.messageType === 'DIGEST')).toBe(true);
  });

  it('refuses a key that is not an ECC_NIST_P256 signing key (invalid_config) and a KMS it cannot reach (upstream_unavailable)', async () => {
    const rsa = kms.createKey({ spec: 'RSA_2048' });
    await expect(createKmsSigner({ keyId: rsa, clientConfig: client() })).rejects.toSatisfy((e) => isShelfError(e, 'invalid_config'));
    await expect(createKmsSigner({ keyId: 'no-such-key', clientConfig: client() })).rejects.toSatisfy((e) => isShelfError(e, 'upstream_unavailable'));
    const signer = await createKmsSigner({ keyId: kms.createKey(), clientConfig: client() });
    kms.fail(true);
    try {
      await expect(signer.sign(new Uint8Array([1]))).rejects.toSatisfy((e) => isShelfError(e, 'upstream_unavailable'));
    } finally {
      kms.fail(false);
    }
  });

  it('is chosen over the key file when SHELF_SIGNING_KMS_KEY_ID is set, with the endpoint from AWS_ENDPOINT_URL_KMS', async () => {
    const keyId = kms.createKey();
    const settings = loadSigningSettings({ SHELF_SIGNING_KMS_KEY_ID: keyId, AWS_ENDPOINT_URL_KMS: kms.url, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b' });
    expect(settings).toMatchObject({ kmsKeyId: keyId, kms: { endpoint: kms.url, region: 'us-east-1' } });
    const { signer } = await signersFromSettings(settings);
    expect(signer.description).toBe(`kms:${keyId}`);
  });
});

describe('a registry signing with KMS', () => {
  it('lists the KMS key in v1/keys.json and signs announces with it, calling only GetPublicKey and Sign', async () => {
    const keyId = kms.createKey();
    const before = kms.calls.length;
    const reg = await startTestRegistry({
      env: { SHELF_SIGNING_KMS_KEY_ID: keyId, AWS_ENDPOINT_URL_KMS: kms.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' },
    });
    try {
      expect(reg.server.signer.description).toBe(`kms:${keyId}`);
      const prepared = await prepareBundle(reg, {});
      expect((await announcePrepared(reg, prepared)).status).toBe(201);
      const list = (await readKeyList(reg.store))!;
      expect(list.keys.map((k) => k.keyid)).toEqual([reg.server.signer.keyId]);
      const doc = (await readJson(reg.store, versionKey('bundle', parsePackageName('@acme/echo'), prepared.body.version), VersionDocumentSchema))!.value;
      const key = await verifyArtifact(await listedKeys(list), { kind: 'bundle', name: doc.name, version: doc.version }, doc.artifacts[0]!);
      expect(key.keyid).toBe(reg.server.signer.keyId);
      const ours = kms.calls.slice(before);
      expect(new Set(ours.map((c) => c.operation))).toEqual(new Set(['GetPublicKey', 'Sign']));
      expect(ours.every((c) => c.keyId === keyId)).toBe(true);
    } finally {
      await reg.close();
    }
  }, 60_000);
});
