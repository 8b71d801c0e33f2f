/**
 * The signer on AWS: an asymmetric KMS key (`ECC_NIST_P256`, `SIGN_VERIFY`) the stack creates and
 * only the announce function may sign with. The private key never leaves KMS. The AWS SDK's KMS
 * client is loaded only here, when a KMS key is configured, so nothing else pays for it.
 *
 * KMS signs a SHA-256 digest (`MessageType: DIGEST`: documents are larger than the 4 KiB a raw
 * message may be) and answers a DER signature, turned into r||s like every other signature.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { KMSClientConfig } from '@aws-sdk/client-kms';
import { ShelfError } from '../core/errors.ts';
import { makeSigner, type Signer } from './signer.ts';
import { toBase64 } from './verify.ts';

/** Options of {@link createKmsSigner}. */
export interface KmsSignerOptions {
  /** The key's id, ARN or alias (`SHELF_SIGNING_KMS_KEY_ID`). */
  keyId: string;
  /** KMS client configuration (endpoint, region, credentials); what it leaves out, the SDK resolves. */
  clientConfig?: KMSClientConfig;
}

/**
 * A signer for a KMS key. Reads the public key once (`GetPublicKey`) and checks the key is an
 * ECDSA P-256 signing key.
 *
 * @throws ShelfError `invalid_config` when the key is of another kind; `upstream_unavailable`
 *   when KMS cannot be reached or refuses
 */
export async function createKmsSigner(options: KmsSignerOptions): Promise<Signer> {
  const { KMSClient, GetPublicKeyCommand, SignCommand } = await import('@aws-sdk/client-kms').catch((err: unknown) => {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    // The installed command line does not bring the AWS SDK along.
    throw new ShelfError('invalid_config', 'SHELF_SIGNING_KMS_KEY_ID names a KMS key, which needs @aws-sdk/client-kms: install it next to shelf (npm install -g shelf-cli @aws-sdk/client-kms).');
  });
  const client = new KMSClient(options.clientConfig ?? {});
  const description = `kms:${options.keyId}`;
  let answer;
  try {
    answer = await client.send(new GetPublicKeyCommand({ KeyId: options.keyId }));
  } catch (error) {
    throw new ShelfError('upstream_unavailable', `Reading the public key of the signing key ${options.keyId} from KMS failed: ${(error as Error).message}`);
  }
  if (answer.KeySpec !== 'ECC_NIST_P256' || answer.KeyUsage !== 'SIGN_VERIFY' || !answer.PublicKey) {
    throw new ShelfError('invalid_config', `The KMS key ${options.keyId} (SHELF_SIGNING_KMS_KEY_ID) must be an ECC_NIST_P256 SIGN_VERIFY key; it is ${answer.KeySpec} ${answer.KeyUsage}.`);
  }
  return makeSigner(answer.PublicKey, description, async (data) => {
    const digest = createHash('sha256').update(data).digest();
    let signed;
    try {
      signed = await client.send(new SignCommand({ KeyId: options.keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }));
    } catch (error) {
      throw new ShelfError('upstream_unavailable', `Signing with the KMS key ${options.keyId} failed: ${(error as Error).message}`);
    }
    if (!signed.Signature) throw new ShelfError('upstream_unavailable', `KMS returned no signature for ${options.keyId}.`);
    return toBase64(derToP1363(signed.Signature));
  });
}

/**
 * An ECDSA signature from DER (`SEQUENCE { INTEGER r, INTEGER s }`, as KMS returns it) to r||s,
 * each 32 bytes.
 *
 * @throws ShelfError `upstream_unavailable` for anything that is not such a signature
 */
export function derToP1363(der: Uint8Array): Uint8Array {
  const bad = () => new ShelfError('upstream_unavailable', 'KMS returned a signature that is not a DER ECDSA signature.');
  let at = 0;
  const readLength = (): number => {
    const first = der[at++];
    if (first === undefined) throw bad();
    if (first < 0x80) return first;
    if (first !== 0x81) throw bad();
    const n = der[at++];
    if (n === undefined) throw bad();
    return n;
  };
  if (der[at++] !== 0x30) throw bad();
  if (readLength() !== der.length - at) throw bad();
  const out = new Uint8Array(64);
  for (const offset of [0, 32]) {
    if (der[at++] !== 0x02) throw bad();
    const length = readLength();
    let value = der.subarray(at, at + length);
    at += length;
    while (value.length > 32 && value[0] === 0) value = value.subarray(1);
    if (value.length > 32 || value.length === 0) throw bad();
    out.set(value, offset + 32 - value.length);
  }
  if (at !== der.length) throw bad();
  return out;
}
