/**
 * What a client trusts of a registry, and the checks it makes with it before it trusts a sha256.
 *
 * - **Keys, pinned on first use.** The first time a client reads a signing registry it pins the
 *   keys `v1/keys.json` lists (trust on first use, as SSH does). Later, a key is trusted only when
 *   it is pinned, or endorsed in the list by a trusted key (a rotation the registry announced with
 *   its old key). A document signed by any other key is refused (`key_untrusted`) until the user
 *   re-trusts the registry (`shelf trust`). A registry that signed before and serves unsigned
 *   documents now is refused too (`signature_invalid`).
 * - **Signatures.** Every package document must carry a valid signature by a trusted key, and
 *   every artifact of a version document a valid signature over its statement (`signing/`): an
 *   artifact and its sha256 swapped together no longer match the signature.
 * - **Statuses from the signed document.** A version's status (deprecated, yanked, removed) is
 *   signed through the package document; the version document's copy is replaced by it
 *   ({@link withListedStatus}).
 * - **No rollback.** A package document's signing time only ever increases; the client remembers
 *   the latest it verified for each document and refuses an older one (`rollback_detected`). A
 *   version document must hold every platform the (verified, fresh) package document lists for
 *   it, so an older copy of it is refused too.
 *
 * Where pins are kept is the caller's: the CLI keeps them with its cache (`cli/trust-pins.ts`),
 * the web pages in memory for the page's life.
 *
 * Pure module: WebCrypto only.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { platformId } from '../core/names.ts';
import type { Artifact, DocumentSignature, KeysDocument, PackageDocument, RegistryKey, VersionDocument } from '../core/schemas.ts';
import { isEndorsedBy, listedKeys, short, verifyArtifact, verifyDocument, type KeyMap } from '../signing/trust.ts';

/** What a client has pinned for one registry. */
export interface PinnedState {
  /** Trusted keys, by key id. */
  keys: Record<string, { public_key: string; pinned_at: string }>;
  /** The latest signing time verified, by document key. */
  documents: Record<string, string>;
}

/** Where pins are kept. */
export interface PinStore {
  /** The pinned state, or null when nothing is pinned yet. */
  load(): Promise<PinnedState | null>;
  save(state: PinnedState): Promise<void>;
}

/** Pins kept in memory (the web pages: for the life of the page). */
export function memoryPins(initial: PinnedState | null = null): PinStore {
  let state = initial;
  return { load: async () => state, save: async (next) => void (state = next) };
}

/** The registry's key list as served, or null when the registry does not sign. */
export type KeyListReader = () => Promise<{ doc: KeysDocument; url: string } | null>;

/** The keys this client trusts for a registry, and whether the registry signs at all. */
export interface TrustedKeys {
  signed: boolean;
  keys: KeyMap;
}

/** What was verified about one artifact before its sha256 was trusted. */
export interface ArtifactVerification {
  /** The registry key that signed its statement (null for a registry that does not sign). */
  keyid: string | null;
}

/** The trust a client puts in one registry. One per client; it caches the trusted keys. */
export class RegistryTrust {
  private readonly pins: PinStore;
  private readonly readKeys: KeyListReader;
  private readonly now: () => Date;
  private keysPromise: Promise<TrustedKeys> | undefined;
  private state: PinnedState | undefined;

  constructor(options: { pins: PinStore; readKeys: KeyListReader; now?: () => Date }) {
    this.pins = options.pins;
    this.readKeys = options.readKeys;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * The trusted keys (fetched and pinned once per instance).
   *
   * @throws ShelfError `signature_invalid` when a registry that signed no longer does
   */
  trustedKeys(): Promise<TrustedKeys> {
    if (!this.keysPromise) {
      this.keysPromise = this.resolveKeys();
      this.keysPromise.catch(() => (this.keysPromise = undefined));
    }
    return this.keysPromise;
  }

  private async loadState(): Promise<PinnedState> {
    this.state ??= (await this.pins.load()) ?? { keys: {}, documents: {} };
    return this.state;
  }

  private async resolveKeys(): Promise<TrustedKeys> {
    const state = await this.loadState();
    const list = await this.readKeys();
    const pinned = Object.keys(state.keys);
    if (!list) {
      if (pinned.length > 0) {
        throw new ShelfError('signature_invalid', 'This registry signed its documents before and publishes no signing keys now; refusing to trust it unsigned. Run "shelf trust" if that is expected.', { reason: 'unsigned' });
      }
      return { signed: false, keys: new Map() };
    }
    const valid = await listedKeys(list.doc);
    const now = this.now();
    const trusted = new Map<string, RegistryKey>();
    let changed = false;
    if (pinned.length === 0) {
      // First use: pin what the registry lists now.
      for (const key of valid.values()) {
        if (key.expires && Date.parse(key.expires) <= now.getTime()) continue;
        trusted.set(key.keyid, key);
        state.keys[key.keyid] = { public_key: key.public_key, pinned_at: now.toISOString() };
        changed = true;
      }
    } else {
      for (const key of valid.values()) if (state.keys[key.keyid]?.public_key === key.public_key) trusted.set(key.keyid, key);
      // A rotation the registry announced: a new key endorsed by one already trusted (possibly in a chain).
      for (let grew = true; grew; ) {
        grew = false;
        for (const key of valid.values()) {
          if (trusted.has(key.keyid) || !key.endorsed_by) continue;
          const endorser = trusted.get(key.endorsed_by.keyid);
          if (endorser && (await isEndorsedBy(key, endorser))) {
            trusted.set(key.keyid, key);
            state.keys[key.keyid] = { public_key: key.public_key, pinned_at: now.toISOString() };
            grew = changed = true;
          }
        }
      }
    }
    if (changed) await this.pins.save(state);
    return { signed: true, keys: trusted };
  }

  /**
   * Verifies a package document (`raw`: as served) and that it is not older than the latest
   * this client verified.
   *
   * @returns Its signature, or null for a registry that does not sign.
   * @throws ShelfError `signature_invalid`, `key_untrusted`, `rollback_detected`
   */
  async verifyDocument(key: string, url: string, raw: unknown): Promise<DocumentSignature | null> {
    const { signed, keys } = await this.trustedKeys();
    if (!signed) return null;
    const signature = await verifyDocument(keys, raw, { url, now: this.now() });
    const state = await this.loadState();
    const seen = state.documents[key];
    if (seen && Date.parse(signature.signed_at) < Date.parse(seen)) {
      throw new ShelfError('rollback_detected', `${url} was signed at ${signature.signed_at}, but this client already verified a newer copy signed at ${seen}: the registry (or something between) served an older document.`, {
        url,
        seen,
        got: signature.signed_at,
      });
    }
    if (seen !== signature.signed_at) {
      state.documents[key] = signature.signed_at;
      await this.pins.save(state);
    }
    return signature;
  }

  /**
   * Verifies every artifact of a version document, and, given the package document it was
   * reached from, that it holds every platform that one lists for it.
   *
   * @returns By platform id, the key that signed each artifact (all null for a registry that does not sign).
   * @throws ShelfError `signature_invalid`, `key_untrusted`, `rollback_detected`
   */
  async verifyVersion(url: string, doc: VersionDocument, pkg: PackageDocument | undefined): Promise<Map<string, ArtifactVerification>> {
    const { signed, keys } = await this.trustedKeys();
    const result = new Map<string, ArtifactVerification>();
    for (const artifact of doc.artifacts) {
      const key = signed ? await verifyArtifact(keys, { kind: doc.kind, name: doc.name, version: doc.version }, artifact, { url, now: this.now() }) : null;
      result.set(platformId(artifact), { keyid: key?.keyid ?? null });
    }
    const listed = signed ? pkg?.versions.find((v) => v.version === doc.version) : undefined;
    const lacking = (listed?.platforms ?? []).map(platformId).filter((p) => !result.has(p));
    if (lacking.length > 0) {
      throw new ShelfError('rollback_detected', `${url} lacks ${lacking.join(', ')}, which the signed package document lists for ${doc.version}: it is older than the package document.`, {
        url,
        seen: `package document listing ${lacking.join(', ')}`,
        got: `version document without ${lacking.join(', ')}`,
      });
    }
    return result;
  }

  /** Forgets every pin, then pins the keys the registry lists now (`shelf trust`). */
  async retrust(): Promise<{ signed: boolean; keys: RegistryKey[] }> {
    this.state = { keys: {}, documents: {} };
    this.keysPromise = undefined;
    const { signed, keys } = await this.trustedKeys();
    // Saved even when the registry lists no keys: the old pins are forgotten either way.
    await this.pins.save(this.state);
    return { signed, keys: [...keys.values()] };
  }
}

/**
 * A version document with the status its (verified) package document lists for it. A version's
 * status is mutable, so it is not part of the artifact statements the version document carries
 * signed; the registry signs it through the package document, re-signed on every change. A client
 * of a signing registry shows that one, never the version document's unsigned copy (which may
 * also lag or lead the package document for a CDN cache's lifetime).
 */
export function withListedStatus(doc: VersionDocument, pkg: PackageDocument): VersionDocument {
  const listed = pkg.versions.find((v) => v.version === doc.version);
  const { status: _status, status_message: _message, status_changed_at: _changed, ...rest } = doc;
  const out: VersionDocument = { ...rest, status: listed?.status ?? 'active' };
  if (listed?.status_message !== undefined) out.status_message = listed.status_message;
  if (listed?.status_changed_at !== undefined) out.status_changed_at = listed.status_changed_at;
  return out;
}

/**
 * What was verified before an artifact's sha256 was trusted: the `verified` field of the `--json`
 * output of `pull`, `run --dry-run`, `install` and `update`, and what the web page says.
 */
export interface Verification {
  /** The digest and size the downloaded (or cached) bytes were checked against. */
  sha256: string;
  size: number;
  /**
   * The registry's signatures: over the artifact's statement (its sha256, size, provenance) and
   * over the package document it was reached from, by a key this client trusts. Null when the
   * registry does not sign (and never signed: a registry that stops signing is refused).
   */
  registry_signature: { keyid: string; package_signed_at: string | null } | null;
  /**
   * The GitHub artifact attestation the registry verified at announce and recorded in the signed
   * statement (its certificate identity), or null when the artifact has none.
   */
  attestation: { predicate_type: string; certificate_identity: string; certificate_issuer: string; path: string } | null;
}

/** The {@link Verification} of an artifact, from what the client checked. */
export function verificationOf(artifact: Artifact, checked: ArtifactVerification | undefined, packageSignature: DocumentSignature | null | undefined): Verification {
  const a = artifact.attestation;
  return {
    sha256: artifact.sha256,
    size: artifact.size,
    registry_signature: checked?.keyid ? { keyid: checked.keyid, package_signed_at: packageSignature?.signed_at ?? null } : null,
    attestation: a ? { predicate_type: a.predicate_type, certificate_identity: a.certificate_identity, certificate_issuer: a.certificate_issuer, path: a.path } : null,
  };
}

/** A short description of a {@link Verification}, for people. */
export function describeVerification(v: Verification): string {
  const key = v.registry_signature ? `signed by the registry (key ${short(v.registry_signature.keyid)})` : 'not signed (the registry does not sign)';
  return v.attestation ? `${key}; Sigstore attestation by ${v.attestation.certificate_identity}` : key;
}
