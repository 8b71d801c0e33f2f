/**
 * What the registry signs, as bytes: each payload is a domain prefix (so a signature over one kind
 * of payload can never be passed off as another) and the canonical JSON of a value.
 *
 * - **Artifact statement** (`shelf-artifact-v1`): the immutable facts of one artifact — kind,
 *   package, version, platform, sha256, size, key, publication time, provenance, and the Sigstore
 *   attestation it has, if any. Signed once at announce and stored with the artifact in the
 *   version document. A version's mutable state (statuses, other platforms added later) is not in
 *   it, so changing that never invalidates it.
 * - **Document** (`shelf-document-v1`): a whole derived document (the package document, whose
 *   list of versions says what is current), minus its `signature` field, with the key id and the
 *   signing time. Re-signed whenever the document changes, never with an earlier time than the
 *   signature it replaces, so a client that saw one can refuse an older one (a rollback).
 * - **Key endorsement** (`shelf-key-v1`): a new key's entry in `v1/keys.json`, signed by the key
 *   it replaces, so clients that trusted the old key trust the new one.
 *
 * Pure module: no Node APIs (the web pages verify too).
 *
 * @module
 */
import type { Artifact, RegistryKey } from '../core/schemas.ts';
import { signingInput } from './canonical.ts';

/** The one algorithm: ECDSA over P-256 with SHA-256 (AWS KMS `ECC_NIST_P256`, WebCrypto `ECDSA`). */
export const SIGNING_ALGORITHM = 'ecdsa-p256-sha256' as const;

/** The version an artifact belongs to. */
export interface ArtifactOwner {
  kind: string;
  name: string;
  version: string;
}

/** The immutable facts of an artifact that its signature covers. */
export function artifactStatement(owner: ArtifactOwner, artifact: Artifact): Record<string, unknown> {
  return {
    kind: owner.kind,
    name: owner.name,
    version: owner.version,
    os: artifact.os,
    arch: artifact.arch,
    filename: artifact.filename,
    sha256: artifact.sha256,
    size: artifact.size,
    path: artifact.path,
    source_url: artifact.source_url,
    published_at: artifact.published_at,
    provenance: artifact.provenance,
    attestation: artifact.attestation ?? null,
  };
}

/** The bytes an artifact's signature is over. */
export function artifactPayload(owner: ArtifactOwner, artifact: Artifact): Uint8Array<ArrayBuffer> {
  return signingInput('shelf-artifact-v1', artifactStatement(owner, artifact));
}

/**
 * The bytes a document's signature is over: the document as JSON (as served, so fields this
 * client does not know are covered too) without its `signature`, the key id and the signing time.
 */
export function documentPayload(document: Record<string, unknown>, keyid: string, signedAt: string): Uint8Array<ArrayBuffer> {
  const { signature: _signature, ...content } = document;
  return signingInput('shelf-document-v1', { document: content, keyid, signed_at: signedAt });
}

/** The bytes a key endorsement is over: the new key's entry, without its expiry and endorsement. */
export function keyPayload(key: Pick<RegistryKey, 'keyid' | 'algorithm' | 'public_key' | 'valid_from'>): Uint8Array<ArrayBuffer> {
  return signingInput('shelf-key-v1', { keyid: key.keyid, algorithm: key.algorithm, public_key: key.public_key, valid_from: key.valid_from });
}
