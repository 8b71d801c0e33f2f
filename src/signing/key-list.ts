/**
 * `v1/keys.json`, the registry's public keys, kept up to date by the signer's owner: at start-up
 * the announce function (or `shelf serve`) lists its key there if it is not listed yet. A new key
 * goes first (it signs from now on), endorsed by the previous one when that is given (so clients
 * that pinned the old key accept the new one without being asked), and every older key gets an
 * expiry, after which its signatures are no longer accepted: until then old signatures stay
 * valid, and `shelf rebuild` re-signs everything with the new key.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { keysKey } from '../core/paths.ts';
import { KeysDocumentSchema, SCHEMA_VERSION, type KeysDocument, type RegistryKey } from '../core/schemas.ts';
import { readJson, updateJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { keyEntry, type Signer } from './signer.ts';

/** How long an old key's signatures stay valid after a newer key took over, by default: 90 days. */
export const DEFAULT_KEY_OVERLAP_MS = 90 * 24 * 3600 * 1000;

/** Options of {@link publishSigningKey}. */
export interface PublishKeyOptions {
  /** The key being replaced, which endorses the new one (only when it is listed). */
  previous?: Signer;
  /** How long older keys stay valid. Default {@link DEFAULT_KEY_OVERLAP_MS}. */
  overlapMs?: number;
  /** Clock. Default now. */
  now?: Date;
}

/**
 * Lists `signer`'s key first in `v1/keys.json` (compare-and-swap; unchanged when it already is).
 *
 * @returns The key list as stored.
 */
export async function publishSigningKey(store: ObjectStore, signer: Signer, options: PublishKeyOptions = {}): Promise<KeysDocument> {
  const now = options.now ?? new Date();
  const overlap = options.overlapMs ?? DEFAULT_KEY_OVERLAP_MS;
  const { value } = await updateJson(store, keysKey(), KeysDocumentSchema, async (current) => {
    const keys = current?.keys ?? [];
    if (keys[0]?.keyid === signer.keyId && keys[0].expires === undefined) return current!;
    const listed = keys.find((k) => k.keyid === signer.keyId);
    const endorser = options.previous && keys.some((k) => k.keyid === options.previous!.keyId) ? options.previous : undefined;
    const entry: RegistryKey = listed ? { ...listed } : await keyEntry(signer, now.toISOString(), endorser);
    delete entry.expires;
    const expires = new Date(now.getTime() + overlap).toISOString();
    const others = keys.filter((k) => k.keyid !== signer.keyId).map((k) => (k.expires === undefined ? { ...k, expires } : k));
    return { schema_version: SCHEMA_VERSION, keys: [entry, ...others] };
  });
  return value;
}

/** The stored key list, or null for a registry that never signed. */
export async function readKeyList(store: ObjectStore): Promise<KeysDocument | null> {
  return (await readJson(store, keysKey(), KeysDocumentSchema))?.value ?? null;
}

/**
 * Checks that an operator command (`shelf rebuild`, `shelf takedown`) signs with the registry's
 * current key, the first of `v1/keys.json`: documents signed by any other key would be refused by
 * clients.
 *
 * @returns The key list, or null for a registry that never signed.
 * @throws ShelfError `invalid_config` when the signer is not the current key
 */
export async function requireCurrentKey(store: ObjectStore, signer: Signer): Promise<KeysDocument | null> {
  const keys = await readKeyList(store);
  if (!keys || keys.keys.length === 0) return null;
  if (keys.keys[0]!.keyid !== signer.keyId) {
    throw new ShelfError(
      'invalid_config',
      `The signing key ${signer.keyId.slice(0, 16)} (${signer.description}) is not the registry's current key ${keys.keys[0]!.keyid.slice(0, 16)} (v1/keys.json). Sign with the registry's own key: SHELF_SIGNING_KEY_FILE, or SHELF_SIGNING_KMS_KEY_ID (on AWS the stack's SigningKeyArn; see infra/README.md).`,
    );
  }
  return keys;
}
