/**
 * The registry's signer from its settings: the KMS key when one is configured (the SDK's KMS
 * client is loaded only then), else the key file, created on first start. While rotating, the
 * key being replaced is loaded too, to endorse the new one.
 *
 * @module
 */
import { join } from 'node:path';
import { loadSigningSettings, type SigningSettings } from '../config.ts';
import { FsStore } from '../store/fs-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { loadOrCreateKeyFile } from './local-signer.ts';
import type { Signer } from './signer.ts';

/** The signer, and the key it replaces while rotating. */
export interface Signers {
  signer: Signer;
  previous?: Signer;
}

/**
 * The signing settings for a registry on `store`: as the environment says, except that a folder
 * store's key file defaults to `{folder}/.signing/registry-key.pem` (in its data folder, outside
 * its key space) rather than `SHELF_DATA_DIR`'s.
 *
 * @throws ConfigError naming the variable at fault
 */
export function signingSettingsFor(store: ObjectStore, env: Record<string, string | undefined>): SigningSettings {
  const settings = loadSigningSettings(env);
  if (!env.SHELF_SIGNING_KEY_FILE?.trim() && store instanceof FsStore) settings.keyFile = join(store.root, '.signing', 'registry-key.pem');
  return settings;
}

/**
 * Loads (or creates, unless `create` is false) the signing key the settings name.
 *
 * @throws ShelfError `invalid_config` for a key of the wrong kind; `upstream_unavailable` when KMS
 *   cannot be reached
 */
export async function signersFromSettings(settings: SigningSettings, options: { create?: boolean } = {}): Promise<Signers> {
  const kms = async (keyId: string): Promise<Signer> => {
    const { createKmsSigner } = await import('./kms-signer.ts');
    return createKmsSigner({ keyId, clientConfig: { ...settings.kms } });
  };
  const signer = settings.kmsKeyId ? await kms(settings.kmsKeyId) : await loadOrCreateKeyFile(settings.keyFile, options);
  const previous = settings.previousKmsKeyId ? await kms(settings.previousKmsKeyId) : settings.previousKeyFile ? await loadOrCreateKeyFile(settings.previousKeyFile, { create: false }) : undefined;
  return previous ? { signer, previous } : { signer };
}
