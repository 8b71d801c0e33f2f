/**
 * Sigstore offline: `@sigstore/mock`'s Fulcio (CA and CT log) and Rekor behind a loopback HTTP
 * server, a trust root (`trusted_root.json`) naming exactly them, and `attest()`, which makes a
 * GitHub-style artifact attestation the way `actions/attest-build-provenance` does — the
 * `sigstore` library signs an in-toto statement with an ephemeral key, the fake Fulcio certifies
 * that key for the workflow identity of an (unsigned) GitHub Actions token, the fake Rekor logs
 * it. Test-only.
 *
 * `expiredCa` and `rogueCa` issue certificates the trust root cannot accept: one from a CA the root
 * names but dated an hour ago (its ten-minute certificates had expired when the log saw the
 * signature), one from a CA the root does not name.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fulcioHandler, initializeCA, initializeCTLog, initializeTLog, rekorHandler, type HandlerFn } from '@sigstore/mock';
import { attest as sigstoreAttest } from 'sigstore';

export interface AttestClaims {
  repository: string;
  repository_id: string;
  repository_owner?: string;
  sha: string;
  workflow_ref: string;
  job_workflow_ref: string;
  ref?: string;
}

export interface FakeSigstore {
  /** `trusted_root.json` (protobuf JSON) naming this fake's CA, log and CT log. */
  trustedRoot: unknown;
  /**
   * A Sigstore bundle (JSON) attesting `sha256` (SLSA provenance predicate), signed for a workflow
   * run with these claims; `ca` picks a CA that the root does not accept.
   */
  attest(sha256: string, claims: AttestClaims, options?: { ca?: 'good' | 'expired' | 'rogue'; name?: string }): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

const key = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const der = (k: ReturnType<typeof key>['publicKey']) => k.export({ type: 'spki', format: 'der' });

async function serve(routes: Record<string, HandlerFn>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const fn = routes[new URL(req.url ?? '/', 'http://x').pathname];
      if (!fn || req.method !== 'POST') return void res.writeHead(404).end();
      const { statusCode, response, contentType } = await fn(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(statusCode, { 'content-type': contentType ?? 'text/plain' });
      res.end(typeof response === 'string' ? response : Buffer.from(response.buffer, response.byteOffset, response.byteLength));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** Starts the fake services. */
export async function startFakeSigstore(): Promise<FakeSigstore> {
  const ctKeys = key();
  const ctlog = await initializeCTLog(ctKeys);
  const caKeys = key();
  const ca = await initializeCA(caKeys, ctlog);
  const expiredCa = await initializeCA(caKeys, ctlog, new Date(Date.now() - 3600_000));
  const rogueCa = await initializeCA(key(), ctlog);
  const tlogKeys = key();
  const started = new Date(Date.now() - 2 * 3600_000).toISOString();

  // The log's URL goes into its entries, so the server starts first and gets its route after.
  const rekorRoutes: Record<string, HandlerFn> = {};
  const rekor = await serve(rekorRoutes);
  const rekorRoute = rekorHandler(await initializeTLog(rekor.url, tlogKeys));
  // Real Rekor stores a DSSE entry as hashes and signatures, not as proposed: so does this one.
  rekorRoutes[rekorRoute.path] = (body) => rekorRoute.fn(JSON.stringify(canonicalDsseEntry(JSON.parse(body))));
  const fulcio = async (authority: typeof ca) => {
    const handler = fulcioHandler(authority, { subjectClaim: 'fulcio_san' });
    return serve({ [handler.path]: handler.fn });
  };
  const fulcios = { good: await fulcio(ca), expired: await fulcio(expiredCa), rogue: await fulcio(rogueCa) };

  const b64 = (bytes: ArrayBufferView | Buffer) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: rekor.url,
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(der(tlogKeys.publicKey)), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: started } },
        logId: { keyId: createHash('sha256').update(der(tlogKeys.publicKey)).digest('base64') },
      },
    ],
    certificateAuthorities: [
      {
        subject: { organization: 'sigstore.mock', commonName: 'sigstore' },
        uri: fulcios.good.url,
        certChain: { certificates: [{ rawBytes: b64(ca.rootCertificate) }] },
        validFor: { start: started },
      },
    ],
    ctlogs: [
      {
        baseUrl: 'https://ctfe.sigstore.mock',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: b64(ctlog.publicKey), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: started } },
        logId: { keyId: b64(ctlog.logID) },
      },
    ],
    timestampAuthorities: [],
  };

  return {
    trustedRoot,
    async attest(sha256, claims, options = {}) {
      const statement = {
        _type: 'https://in-toto.io/Statement/v1',
        subject: [{ name: options.name ?? 'artifact.mcpb', digest: { sha256 } }],
        predicateType: 'https://slsa.dev/provenance/v1',
        predicate: { buildDefinition: { buildType: 'https://actions.github.io/buildtypes/workflow/v1', externalParameters: { workflow: { repository: `https://github.com/${claims.repository}` } } }, runDetails: {} },
      };
      const token = unsignedJwt({
        iss: 'https://token.actions.githubusercontent.com',
        sub: `repo:${claims.repository}:ref:${claims.ref ?? 'refs/tags/v1'}`,
        aud: 'sigstore',
        fulcio_san: `https://github.com/${claims.job_workflow_ref}`,
        repository_owner: claims.repository_owner ?? claims.repository.split('/')[0],
        event_name: 'push',
        ...claims,
      });
      const bundle = await sigstoreAttest(Buffer.from(JSON.stringify(statement)), 'application/vnd.in-toto+json', {
        fulcioURL: fulcios[options.ca ?? 'good'].url,
        rekorURL: rekor.url,
        identityProvider: { getToken: async () => token },
        retry: 0,
      });
      return bundle as unknown as Record<string, unknown>;
    },
    async close() {
      await Promise.all([...Object.values(fulcios), rekor].map((s) => new Promise<void>((r) => s.server.close(() => r()))));
    },
  };
}

/** A proposed `dsse` 0.0.1 entry as Rekor records it: the payload's and envelope's hashes, the signatures with their verifier. */
function canonicalDsseEntry(proposed: any): unknown {
  if (proposed?.kind !== 'dsse' || !proposed.spec?.proposedContent) return proposed;
  const { envelope, verifiers } = proposed.spec.proposedContent as { envelope: string; verifiers: string[] };
  const parsed = JSON.parse(envelope) as { payload: string; signatures: Array<{ sig: string }> };
  const hex = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');
  return {
    apiVersion: '0.0.1',
    kind: 'dsse',
    spec: {
      envelopeHash: { algorithm: 'sha256', value: hex(envelope) },
      payloadHash: { algorithm: 'sha256', value: hex(Buffer.from(parsed.payload, 'base64')) },
      signatures: parsed.signatures.map((sig) => ({ signature: sig.sig, verifier: verifiers[0] })),
    },
  };
}

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ ...claims, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600 })}.`;
}
