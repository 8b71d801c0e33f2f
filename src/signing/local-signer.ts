/**
 * The embedded registry's signer: an ECDSA P-256 key in a PEM file (PKCS #8), created on first
 * start with mode 0600.
 *
 * Where the file lives (a decision, see the README's trust model): by default
 * `{SHELF_DATA_DIR}/.signing/registry-key.pem`, inside the data folder but outside the bucket's
 * key space — no key may have a segment starting with `.`, so the file can never be listed,
 * served by the local server, or copied by anything that copies the bucket's objects — and never
 * in the private area, which lives in the bucket (on S3 anyone who can read the bucket could read
 * it). `SHELF_SIGNING_KEY_FILE` puts it anywhere else.
 *
 * @module
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign, type KeyObject } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import { makeSigner, type Signer } from './signer.ts';
import { toBase64 } from './verify.ts';

/** The signer of a private key already loaded. */
export async function signerFromPrivateKey(privateKey: KeyObject, description: string): Promise<Signer> {
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ShelfError('invalid_config', `${description} is not an ECDSA P-256 private key.`);
  }
  return makeSigner(createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), description, async (data) =>
    toBase64(nodeSign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' })),
  );
}

/**
 * The signer of the key in `file`, creating the key (and its folder) when the file does not
 * exist (unless `create` is false). Two processes starting at once cannot both create it: the file is created exclusively,
 * and the loser reads the winner's.
 *
 * @throws ShelfError `invalid_config` when the file exists but is not an ECDSA P-256 private key
 */
export async function loadOrCreateKeyFile(file: string, options: { create?: boolean } = {}): Promise<Signer> {
  const description = `file:${file}`;
  let pem = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (pem === null && options.create === false) throw new ShelfError('invalid_config', `The signing key file ${file} does not exist.`);
  if (pem === null) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const fresh = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(fresh);
        await handle.sync();
      } finally {
        await handle.close();
      }
      pem = fresh;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      pem = await readFile(file, 'utf8');
    }
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch {
    throw new ShelfError('invalid_config', `The signing key file ${file} is not a PEM private key (SHELF_SIGNING_KEY_FILE).`);
  }
  return signerFromPrivateKey(key, description);
}
