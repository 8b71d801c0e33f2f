/**
 * Signature verification with WebCrypto (Node.js and browsers alike): ECDSA P-256 SHA-256 over a
 * payload (`payloads.ts`), signatures as r||s in base64, public keys as SPKI DER in base64, key ids
 * as the hex SHA-256 of the SPKI bytes (so a key id cannot name another key).
 *
 * Pure module: `globalThis.crypto.subtle` only.
 *
 * @module
 */

const imported = new Map<string, Promise<CryptoKey>>();

/** Decodes base64 (standard alphabet, padding optional); null when it is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | null {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  } catch {
    return null;
  }
}

/** Encodes bytes as standard base64. */
export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The key id of a public key: hex SHA-256 of its SPKI DER bytes. */
export async function keyIdOf(publicKeyBase64: string): Promise<string | null> {
  const spki = fromBase64(publicKeyBase64);
  if (!spki) return null;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', spki));
  return [...digest].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Whether `signature` is a valid ECDSA P-256 SHA-256 signature of `data` by `publicKey`. Never
 * throws: a malformed key or signature is simply not valid.
 */
export async function verifySignature(publicKeyBase64: string, data: Uint8Array<ArrayBuffer>, signatureBase64: string): Promise<boolean> {
  const sig = fromBase64(signatureBase64);
  if (!sig || sig.byteLength !== 64) return false;
  try {
    let key = imported.get(publicKeyBase64);
    if (!key) {
      const spki = fromBase64(publicKeyBase64);
      if (!spki) return false;
      key = crypto.subtle.importKey('spki', spki, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      imported.set(publicKeyBase64, key);
      key.catch(() => imported.delete(publicKeyBase64));
    }
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await key, sig, data);
  } catch {
    return false;
  }
}
