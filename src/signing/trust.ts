/**
 * Checking what the registry signed against a set of trusted keys: artifact statements, documents
 * and key endorsements (`payloads.ts`). Shared by the CLI and the web pages (which decide which
 * keys they trust: `client/trust.ts`) and by `shelf check` (which trusts the registry's own list).
 *
 * Every refusal is a {@link ShelfError}: `signature_invalid` (missing, malformed, or not over
 * these facts) or `key_untrusted` (a key not trusted, or past its expiry).
 *
 * Pure module: WebCrypto only.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { KeysDocumentSchema, type Artifact, type DocumentSignature, type KeysDocument, type RegistryKey } from '../core/schemas.ts';
import { artifactPayload, documentPayload, keyPayload, SIGNING_ALGORITHM, type ArtifactOwner } from './payloads.ts';
import { keyIdOf, verifySignature } from './verify.ts';

/** Keys by key id. */
export type KeyMap = ReadonlyMap<string, RegistryKey>;

/**
 * The well-formed keys of a key list, by id: a key whose id is not the hash of its public key, or
 * of another algorithm, is left out (and so cannot verify anything).
 */
export async function listedKeys(doc: KeysDocument): Promise<Map<string, RegistryKey>> {
  const keys = new Map<string, RegistryKey>();
  for (const key of doc.keys) {
    if (key.algorithm !== SIGNING_ALGORITHM) continue;
    if ((await keyIdOf(key.public_key)) !== key.keyid) continue;
    if (!keys.has(key.keyid)) keys.set(key.keyid, key);
  }
  return keys;
}

/** Parses a key list; null when it is not one. */
export function parseKeyList(json: unknown): KeysDocument | null {
  const parsed = KeysDocumentSchema.safeParse(json);
  return parsed.success ? parsed.data : null;
}

/** Whether `key` is endorsed (in `v1/keys.json`) by `endorser`. */
export async function isEndorsedBy(key: RegistryKey, endorser: RegistryKey): Promise<boolean> {
  if (!key.endorsed_by || key.endorsed_by.keyid !== endorser.keyid) return false;
  return verifySignature(endorser.public_key, keyPayload(key), key.endorsed_by.sig);
}

/** The trusted key a signature names, refused when unknown or expired. */
function signingKey(keys: KeyMap, keyid: string, now: Date, url: string | undefined): RegistryKey {
  const key = keys.get(keyid);
  if (!key) throw new ShelfError('key_untrusted', `${url ?? 'A document'} is signed by the key ${short(keyid)}, which this client does not trust for the registry. If the registry changed its keys for a reason you know, re-trust it with "shelf trust".`, { ...(url ? { url } : {}), keyid });
  if (key.expires && Date.parse(key.expires) <= now.getTime()) {
    throw new ShelfError('key_untrusted', `${url ?? 'A document'} is signed by the key ${short(keyid)}, which expired on ${key.expires}.`, { ...(url ? { url } : {}), keyid });
  }
  return key;
}

/**
 * Checks an artifact's signature: by a trusted key, over the statement of exactly these facts.
 *
 * @returns The key that signed.
 * @throws ShelfError `signature_invalid`, `key_untrusted`
 */
export async function verifyArtifact(keys: KeyMap, owner: ArtifactOwner, artifact: Artifact, options: { now?: Date; url?: string } = {}): Promise<RegistryKey> {
  const { url } = options;
  const what = `The ${artifact.os}-${artifact.arch} artifact of ${owner.name}@${owner.version}`;
  if (!artifact.signature) throw new ShelfError('signature_invalid', `${what} is not signed by the registry.`, { ...(url ? { url } : {}), reason: 'missing' });
  const key = signingKey(keys, artifact.signature.keyid, options.now ?? new Date(), url);
  const { signature, ...facts } = artifact;
  if (!(await verifySignature(key.public_key, artifactPayload(owner, facts), signature.sig))) {
    throw new ShelfError('signature_invalid', `${what} does not match the registry's signature: its sha256, size or provenance were changed after signing.`, {
      ...(url ? { url } : {}),
      keyid: key.keyid,
      reason: 'mismatch',
    });
  }
  return key;
}

/**
 * Whether a rebuild may (re-)sign an artifact's statement: it is unsigned (recorded before the
 * registry signed), or its signature verifies with a key of the registry's own list (a rotation;
 * expired keys included). A signature that verifies with no listed key means the statement was
 * changed after signing: signing it again would launder the change, so it is left as it is and
 * reported for the operator to restore.
 */
export async function mayResign(keys: KeyMap, owner: ArtifactOwner, artifact: Artifact): Promise<boolean> {
  const { signature, ...facts } = artifact;
  if (!signature) return true;
  const key = keys.get(signature.keyid);
  return key !== undefined && verifySignature(key.public_key, artifactPayload(owner, facts), signature.sig);
}

/**
 * Checks a document's signature (`raw` is the document as served, JSON-parsed).
 *
 * @returns The signature (key id and signing time).
 * @throws ShelfError `signature_invalid`, `key_untrusted`
 */
export async function verifyDocument(keys: KeyMap, raw: unknown, options: { now?: Date; url?: string } = {}): Promise<DocumentSignature> {
  const { url } = options;
  const what = url ?? 'The document';
  const doc = raw !== null && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
  const signature = doc.signature as Partial<DocumentSignature> | undefined;
  if (!signature || typeof signature.keyid !== 'string' || typeof signature.sig !== 'string' || typeof signature.signed_at !== 'string') {
    throw new ShelfError('signature_invalid', `${what} is not signed by the registry.`, { ...(url ? { url } : {}), reason: 'missing' });
  }
  const key = signingKey(keys, signature.keyid, options.now ?? new Date(), url);
  if (!(await verifySignature(key.public_key, documentPayload(doc, signature.keyid, signature.signed_at), signature.sig))) {
    throw new ShelfError('signature_invalid', `${what} does not match the registry's signature: it was changed after signing.`, { ...(url ? { url } : {}), keyid: key.keyid, reason: 'mismatch' });
  }
  return signature as DocumentSignature;
}

/** A key id as people read it: its first 16 hex digits. */
export function short(keyid: string): string {
  return keyid.slice(0, 16);
}
