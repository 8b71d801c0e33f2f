/**
 * The registry's signer: one interface, two implementations — AWS KMS (`kms-signer.ts`, the key
 * never leaves KMS) and a key file (`local-signer.ts`, the embedded registry) — and the three
 * things the registry signs with it (`payloads.ts`): artifact statements, derived documents and
 * key endorsements.
 *
 * @module
 */
import type { Artifact, DocumentSignature, RegistryKey } from '../core/schemas.ts';
import { canonicalJson } from './canonical.ts';
import { artifactPayload, documentPayload, keyPayload, SIGNING_ALGORITHM, type ArtifactOwner } from './payloads.ts';
import { keyIdOf, toBase64, verifySignature } from './verify.ts';

/** A key that signs. */
export interface Signer {
  /** Hex SHA-256 of the public key's SPKI DER: how documents and `v1/keys.json` name it. */
  readonly keyId: string;
  readonly algorithm: typeof SIGNING_ALGORITHM;
  /** The public key, SPKI DER, base64. */
  readonly publicKey: string;
  /** Where the private key is, for logs (`kms:arn:...`, `file:/path`). Never the key itself. */
  readonly description: string;
  /** Signs `data`; the signature is r||s (64 bytes), base64. */
  sign(data: Uint8Array): Promise<string>;
}

/** A signer of a public key (SPKI DER) and a way to sign with its private half: what both implementations build. */
export async function makeSigner(spki: Uint8Array, description: string, sign: (data: Uint8Array) => Promise<string>): Promise<Signer> {
  const publicKey = toBase64(spki);
  return { keyId: (await keyIdOf(publicKey))!, algorithm: SIGNING_ALGORITHM, publicKey, description, sign };
}

/** Whether `artifact` carries a valid signature by `signer`'s key (then it needs no new one). */
export async function isSignedBy(signer: Pick<Signer, 'keyId' | 'publicKey'>, owner: ArtifactOwner, artifact: Artifact): Promise<boolean> {
  const { signature, ...facts } = artifact;
  return signature?.keyid === signer.keyId && verifySignature(signer.publicKey, artifactPayload(owner, facts), signature.sig);
}

/** An artifact with its statement signed by `signer` (any earlier signature replaced). */
export async function signArtifact(signer: Signer, owner: ArtifactOwner, artifact: Artifact): Promise<Artifact> {
  const { signature: _old, ...facts } = artifact;
  return { ...facts, signature: { keyid: signer.keyId, sig: await signer.sign(artifactPayload(owner, facts)) } };
}

/**
 * A derived document, signed. When `current` (the stored copy) has the same content and a valid
 * signature by this signer's key, it is returned as it is, so a rebuild of an unchanged
 * registry writes nothing. Otherwise the signing time is `now`, but never earlier than the stored
 * signature's: signing times of one document only ever increase, which lets clients refuse an
 * older copy.
 */
export async function signDocument<T extends { signature?: DocumentSignature | undefined }>(signer: Signer, doc: T, current: T | null, now: Date = new Date()): Promise<T> {
  const { signature: _drop, ...content } = doc;
  if (current?.signature && current.signature.keyid === signer.keyId) {
    const { signature: stored, ...storedContent } = current;
    const same = canonicalJson(storedContent) === canonicalJson(content);
    if (same && (await verifySignature(signer.publicKey, documentPayload(storedContent, stored.keyid, stored.signed_at), stored.sig))) return current;
  }
  const previous = current?.signature ? Date.parse(current.signature.signed_at) : Number.NaN;
  const at = Number.isFinite(previous) && previous >= now.getTime() ? new Date(previous + 1) : now;
  const signedAt = at.toISOString();
  const sig = await signer.sign(documentPayload(content as Record<string, unknown>, signer.keyId, signedAt));
  return { ...content, signature: { keyid: signer.keyId, signed_at: signedAt, sig } } as T;
}

/** The `v1/keys.json` entry of a signer's key, endorsed by the key it replaces when one is given. */
export async function keyEntry(signer: Signer, validFrom: string, endorser?: Signer): Promise<RegistryKey> {
  const entry: RegistryKey = { keyid: signer.keyId, algorithm: signer.algorithm, public_key: signer.publicKey, valid_from: validFrom };
  if (endorser && endorser.keyId !== signer.keyId) entry.endorsed_by = { keyid: endorser.keyId, sig: await endorser.sign(keyPayload(entry)) };
  return entry;
}
