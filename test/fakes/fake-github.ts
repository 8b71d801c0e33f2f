/**
 * A loopback fake of the GitHub services the registry talks to: the Actions OIDC issuer's JWKS
 * (keys the test controls, rotatable) and the releases API with asset downloads. Test-only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface FakeAsset {
  bytes: Uint8Array;
  /** Size the API reports (defaults to the real size). */
  reportedSize?: number;
  /** Redirect the download to this URL instead of serving it. */
  redirectTo?: string;
}

export interface Claims {
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  sha?: string;
  [claim: string]: unknown;
}

export interface MintOptions {
  audience?: string | string[];
  issuer?: string;
  /** Seconds from now; negative for an expired token. Default 300. */
  expiresIn?: number;
  /** Seconds from now for iat. Default 0. */
  issuedIn?: number;
  /** Sign with a key that is not in the JWKS. */
  foreignKey?: boolean;
  /** Override the kid header. */
  kid?: string;
  /** Claims to delete. */
  omit?: string[];
}

export interface FakeGitHub {
  url: string;
  issuer: string;
  jwksUrl: string;
  audience: string;
  mint(claims: Claims, options?: MintOptions): Promise<string>;
  addAsset(repository: string, tag: string, name: string, asset: FakeAsset): void;
  /** Replaces the signing key (the old one leaves the JWKS). */
  rotateKey(): Promise<void>;
  /** Makes the JWKS endpoint answer with this status (or garbage) until reset. */
  jwksMode: 'ok' | 'down' | 'garbage';
  requests: string[];
  close(): Promise<void>;
}

interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

async function newKey(kid: string): Promise<KeyPair> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export async function startFakeGitHub(audience = 'https://shelf.test'): Promise<FakeGitHub> {
  let key = await newKey('k1');
  const foreign = await newKey('k1');
  let rotations = 1;
  const releases = new Map<string, Map<string, FakeAsset>>();
  const requests: string[] = [];

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (path === '/.well-known/jwks') {
      if (fake.jwksMode === 'down') return json(503, { message: 'down' });
      if (fake.jwksMode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{not json');
      }
      return json(200, { keys: [key.jwk] });
    }
    let m = /^\/repos\/([^/]+\/[^/]+)\/releases\/tags\/([^/]+)$/.exec(path);
    if (m) {
      const rel = releases.get(`${m[1]}@${decodeURIComponent(m[2]!)}`);
      if (!rel) return json(404, { message: 'Not Found' });
      return json(200, {
        tag_name: decodeURIComponent(m[2]!),
        assets: [...rel.entries()].map(([name, a]) => ({
          name,
          size: a.reportedSize ?? a.bytes.byteLength,
          browser_download_url: `${fake.url}/download/${m![1]}/${m![2]}/${encodeURIComponent(name)}`,
        })),
      });
    }
    m = /^\/download\/([^/]+\/[^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    const asset = m ? releases.get(`${m[1]}@${decodeURIComponent(m[2]!)}`)?.get(decodeURIComponent(m[3]!)) : undefined;
    if (!asset) return json(404, { message: 'Not Found' });
    if (asset.redirectTo) {
      res.writeHead(302, { location: asset.redirectTo });
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.end(asset.bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const fake: FakeGitHub = {
    url,
    issuer: url,
    jwksUrl: `${url}/.well-known/jwks`,
    audience,
    jwksMode: 'ok',
    requests,
    async mint(claims, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: Record<string, unknown> = {
        sha: 'a'.repeat(40),
        ref: 'refs/tags/v1',
        event_name: 'release',
        workflow_ref: `${claims.repository}/.github/workflows/release.yml@refs/tags/v1`,
        job_workflow_ref: `${claims.repository}/.github/workflows/release.yml@refs/tags/v1`,
        run_id: '42',
        run_attempt: '1',
        ...claims,
      };
      for (const k of options.omit ?? []) delete payload[k];
      const signer = options.foreignKey ? foreign : key;
      const iat = now + (options.issuedIn ?? 0);
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: options.kid ?? signer.kid })
        .setIssuer(options.issuer ?? url)
        .setAudience(options.audience ?? audience)
        .setIssuedAt(iat)
        .setExpirationTime(now + (options.expiresIn ?? 300))
        .sign(signer.privateKey);
    },
    addAsset(repository, tag, name, asset) {
      const id = `${repository}@${tag}`;
      if (!releases.has(id)) releases.set(id, new Map());
      releases.get(id)!.set(name, asset);
    },
    async rotateKey() {
      key = await newKey(`k${++rotations}`);
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
  return fake;
}
