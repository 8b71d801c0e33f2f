/**
 * A loopback fake of AWS KMS for the registry's signer: the two operations it calls,
 * `GetPublicKey` and `Sign` (`MessageType: DIGEST`, `ECDSA_SHA_256`), over the AWS JSON 1.1
 * protocol the SDK speaks (`X-Amz-Target: TrentService.<Operation>`, served by
 * `aws-json-server.ts`). Keys are made by the test; their private halves never leave this
 * process, as in KMS. Test-only.
 *
 * KMS signs a digest the caller already hashed, which Node's `crypto.sign` cannot do (it always
 * hashes), so ECDSA over P-256 is computed here with BigInt arithmetic, answered as DER like KMS.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { awsError, startAwsJsonServer } from './aws-json-server.ts';

/** A KMS operation the fake answered. */
export interface KmsCall {
  operation: string;
  keyId: string;
  messageType?: string;
}

export interface FakeKms {
  /** The endpoint, for `AWS_ENDPOINT_URL_KMS`. */
  url: string;
  calls: KmsCall[];
  /** Creates a key: an ECC_NIST_P256 signing key, unless `spec` says otherwise (to test refusals). */
  createKey(options?: { spec?: 'ECC_NIST_P256' | 'RSA_2048' }): string;
  /** Makes every later request fail with a 500 (KMS unavailable). */
  fail(on: boolean): void;
  close(): Promise<void>;
}

const P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const A = P - 3n;
const N = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const G: Point = [0x6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296n, 0x4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5n];
type Point = [bigint, bigint] | null;

const mod = (a: bigint, m: bigint) => ((a % m) + m) % m;
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0, m);
}
function add(p: Point, q: Point): Point {
  if (!p) return q;
  if (!q) return p;
  if (p[0] === q[0] && mod(p[1] + q[1], P) === 0n) return null;
  const l = p[0] === q[0] && p[1] === q[1] ? mod((3n * p[0] * p[0] + A) * inverse(2n * p[1], P), P) : mod((q[1] - p[1]) * inverse(q[0] - p[0], P), P);
  const x = mod(l * l - p[0] - q[0], P);
  return [x, mod(l * (p[0] - x) - p[1], P)];
}
function multiply(k: bigint, point: Point): Point {
  let result: Point = null;
  for (let addend = point; k > 0n; k >>= 1n, addend = add(addend, addend)) if (k & 1n) result = add(result, addend);
  return result;
}
const toBig = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);

/** ECDSA P-256 over a 32-byte digest, DER-encoded. */
function signDigest(d: bigint, digest: Uint8Array): Buffer {
  const z = toBig(digest);
  for (;;) {
    const k = mod(toBig(randomBytes(40)), N - 1n) + 1n;
    const r = mod(multiply(k, G)![0], N);
    const s = mod(inverse(k, N) * (z + r * d), N);
    if (r !== 0n && s !== 0n) return der(r, s);
  }
}
function der(r: bigint, s: bigint): Buffer {
  const int = (v: bigint) => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

interface Key {
  spec: string;
  publicKey: Buffer;
  d?: bigint;
}

/** Starts the fake on 127.0.0.1. */
export async function startFakeKms(): Promise<FakeKms> {
  const keys = new Map<string, Key>();
  const calls: KmsCall[] = [];
  let failing = false;
  const server = await startAwsJsonServer('TrentService', ({ operation, input }) => {
    const { KeyId, Message, MessageType, SigningAlgorithm } = input as { KeyId?: string; Message?: string; MessageType?: string; SigningAlgorithm?: string };
    calls.push({ operation, keyId: KeyId ?? '', ...(MessageType ? { messageType: MessageType } : {}) });
    if (failing) return awsError('KMSInternalException', 'unavailable', 500);
    const key = keys.get(KeyId ?? '');
    if (!key) return awsError('NotFoundException', `Key '${KeyId}' does not exist`);
    const arn = `arn:aws:kms:us-east-1:000000000000:key/${KeyId}`;
    if (operation === 'GetPublicKey') {
      const usage = key.spec === 'ECC_NIST_P256' ? 'SIGN_VERIFY' : 'ENCRYPT_DECRYPT';
      return { status: 200, body: { KeyId: arn, KeySpec: key.spec, KeyUsage: usage, PublicKey: key.publicKey.toString('base64'), SigningAlgorithms: ['ECDSA_SHA_256'] } };
    }
    if (operation === 'Sign') {
      const message = Buffer.from(Message ?? '', 'base64');
      if (key.d === undefined || SigningAlgorithm !== 'ECDSA_SHA_256' || MessageType !== 'DIGEST' || message.length !== 32) {
        return awsError('ValidationException', 'this fake signs 32-byte digests with ECDSA_SHA_256 only');
      }
      return { status: 200, body: { KeyId: arn, Signature: signDigest(key.d, message).toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' } };
    }
    return awsError('UnsupportedOperationException', `${operation} is not faked`);
  });
  return {
    url: server.url,
    calls,
    createKey(options = {}) {
      const id = randomBytes(16).toString('hex');
      if (options.spec === 'RSA_2048') {
        const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        keys.set(id, { spec: 'RSA_2048', publicKey: publicKey.export({ type: 'spki', format: 'der' }) });
      } else {
        const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const d = toBig(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
        keys.set(id, { spec: 'ECC_NIST_P256', publicKey: publicKey.export({ type: 'spki', format: 'der' }), d });
      }
      return id;
    },
    fail(on) {
      failing = on;
    },
    close: server.close,
  };
}
