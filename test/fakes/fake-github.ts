/**
 * A loopback fake of the GitHub services the registry talks to: the Actions OIDC issuer's JWKS
 * (keys the test controls, rotatable) and the releases API with asset downloads; and the release
 * asset uploads a publishing action makes (authenticated with {@link FakeGitHub.apiToken}, as a
 * job's `GITHUB_TOKEN`). Test-only.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export interface FakeAsset {
  bytes: Uint8Array;
  /** Size the API reports (defaults to the real size). */
  reportedSize?: number;
  /** Redirect the download to this URL instead of serving it. */
  redirectTo?: string;
  /** The `browser_download_url` the releases API reports (default: this fake's download route). */
  downloadUrl?: string;
  /** After the bytes, keep sending zeros until the client goes away. */
  endless?: boolean;
  /** Send the bytes 16 at a time, one chunk every this many ms (a slow stream). */
  trickleMs?: number;
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
  /** Claims to delete (`iss`, `aud`, `iat` and `exp` too). */
  omit?: string[];
  /** Seconds from now for nbf. Default: no nbf claim. */
  notBefore?: number;
  /** Sign with the key that was current before the last {@link FakeGitHub.rotateKey}. */
  previousKey?: boolean;
}

export interface FakeGitHub {
  url: string;
  issuer: string;
  jwksUrl: string;
  audience: string;
  mint(claims: Claims, options?: MintOptions): Promise<string>;
  addAsset(repository: string, tag: string, name: string, asset: FakeAsset): void;
  /**
   * Sets what `GET /repos/{repository}/readme?ref={sha}` answers: the README's text (raw), or
   * another status; without one it is 404, as for a repository without a README.
   */
  setReadme(repository: string, sha: string, answer: string | { status: number } | { redirectTo: string }): void;
  /**
   * Adds an artifact attestation (a Sigstore bundle) that `GET /repos/{repository}/attestations/sha256:{hex}`
   * lists, as GitHub's attestations API does; or makes that route answer `status`.
   */
  addAttestation(repository: string, sha256: string, bundle: unknown): void;
  setAttestationStatus(repository: string, status: number | undefined): void;
  /** Creates a release without assets (as publishing a release on GitHub does). */
  addRelease(repository: string, tag: string): void;
  /** The assets of a release now, by name (uploads included); undefined when there is no such release. */
  assets(repository: string, tag: string): Map<string, FakeAsset> | undefined;
  /** The token release uploads must carry (`Authorization: Bearer <it>` or `token <it>`). */
  apiToken: string;
  /** Replaces the signing key (the old one leaves the JWKS). */
  rotateKey(): Promise<void>;
  /**
   * Makes the JWKS endpoint answer with this status (or garbage) until reset. `not-a-jwks` is
   * valid JSON that is not a key set; `huge` is the valid key set padded to 4 MiB; `redirect`
   * answers 302 to {@link FakeGitHub.jwksRedirectTo}.
   */
  jwksMode: 'ok' | 'down' | 'garbage' | 'not-a-jwks' | 'huge' | 'redirect';
  /** Where `jwksMode: 'redirect'` sends the client. */
  jwksRedirectTo: string;
  /** Makes the releases API answer 302 to `location` for this release (until `undefined` is set). */
  redirectRelease(repository: string, tag: string, location: string | undefined): void;
  /** Pads the releases API's JSON for this release with this many bytes (a huge release description). */
  padRelease(repository: string, tag: string, bytes: number): void;
  /** Delay before the JWKS endpoint answers, ms. Default 0. */
  jwksDelayMs: number;
  /** The public keys the JWKS endpoint serves now. */
  jwks(): JWK[];
  /** Bytes written so far by downloads of one asset. */
  served(repository: string, tag: string, name: string): number;
  requests: string[];
  /** The `Authorization` header of each request to the API (`/repos/...`), `''` when absent. */
  apiAuthorizations: string[];
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
  let previous = key;
  const foreign = await newKey('k1');
  const servedBytes = new Map<string, number>();
  let rotations = 1;
  const releases = new Map<string, Map<string, FakeAsset>>();
  /** Numeric ids of releases (by `repo@tag`) and of assets (by `repo@tag/name`), as the API reports them. */
  const releaseIds = new Map<string, number>();
  const assetIds = new Map<number, { release: string; name: string }>();
  let nextId = 1;
  const assetId = (release: string, name: string) => {
    for (const [id, a] of assetIds) if (a.release === release && a.name === name) return id;
    assetIds.set(nextId, { release, name });
    return nextId++;
  };
  const releaseRedirects = new Map<string, string>();
  const releasePadding = new Map<string, number>();
  const readmes = new Map<string, string | { status: number } | { redirectTo: string }>();
  const attestations = new Map<string, unknown[]>();
  const attestationStatus = new Map<string, number>();
  const requests: string[] = [];
  const apiAuthorizations: string[] = [];

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(`${req.method} ${path}`);
    if (path.startsWith('/repos/')) apiAuthorizations.push(req.headers.authorization ?? '');
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    // The key set's second address, always answering: where a same-host redirect may lead.
    if (path === '/.well-known/jwks-moved') return answerJwks('ok');
    if (path === '/.well-known/jwks') {
      if (fake.jwksDelayMs > 0) {
        const mode = fake.jwksMode;
        const timer = setTimeout(() => !res.destroyed && answerJwks(mode), fake.jwksDelayMs);
        res.once('close', () => clearTimeout(timer));
        return;
      }
      return answerJwks(fake.jwksMode);
    }
    function answerJwks(mode: FakeGitHub['jwksMode']) {
      if (mode === 'down') return json(503, { message: 'down' });
      if (mode === 'not-a-jwks') return json(200, { keys: 'none' });
      if (mode === 'huge') return json(200, { keys: [key.jwk], padding: 'x'.repeat(4 * 1024 * 1024) });
      if (mode === 'redirect') {
        res.writeHead(302, { location: fake.jwksRedirectTo });
        return res.end();
      }
      if (mode === 'garbage') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end('{not json');
      }
      return json(200, { keys: [key.jwk] });
    }
    let m = /^\/repos\/([^/]+\/[^/]+)\/readme$/.exec(path);
    if (m) {
      const answer = readmes.get(`${m[1]}@${new URL(req.url ?? '/', 'http://x').searchParams.get('ref')}`);
      if (answer === undefined || req.headers.accept !== 'application/vnd.github.raw') return json(404, { message: 'Not Found' });
      if (typeof answer === 'string') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        return res.end(answer);
      }
      if ('redirectTo' in answer) {
        res.writeHead(302, { location: answer.redirectTo });
        return res.end();
      }
      return json(answer.status, { message: 'fake' });
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/attestations\/sha256:([0-9a-f]{64})$/.exec(path);
    if (m) {
      const status = attestationStatus.get(m[1]!);
      if (status !== undefined) return json(status, { message: 'fake' });
      const found = attestations.get(`${m[1]}@${m[2]}`);
      if (!found) return json(404, { message: 'Not Found' });
      return json(200, { attestations: found.map((bundle) => ({ bundle, repository_id: 1 })) });
    }
    m = /^\/repos\/([^/]+\/[^/]+)\/releases\/tags\/([^/]+)$/.exec(path);
    if (m) {
      const id = `${m[1]}@${decodeURIComponent(m[2]!)}`;
      const redirect = releaseRedirects.get(id);
      if (redirect) {
        res.writeHead(302, { location: redirect });
        return res.end();
      }
      const rel = releases.get(id);
      if (!rel) return json(404, { message: 'Not Found' });
      const releaseKey = `${m[1]}@${decodeURIComponent(m[2]!)}`;
      return json(200, {
        id: releaseIds.get(releaseKey),
        tag_name: decodeURIComponent(m[2]!),
        upload_url: `${fake.url}/uploads/repos/${m[1]}/releases/${releaseIds.get(releaseKey)}/assets{?name,label}`,
        ...(releasePadding.has(id) ? { body: 'x'.repeat(releasePadding.get(id)!) } : {}),
        assets: [...rel.entries()].map(([name, a]) => ({
          id: assetId(releaseKey, name),
          name,
          size: a.reportedSize ?? a.bytes.byteLength,
          url: `${fake.url}/repos/${m![1]}/releases/assets/${assetId(releaseKey, name)}`,
          browser_download_url: a.downloadUrl ?? `${fake.url}/download/${m![1]}/${m![2]}/${encodeURIComponent(name)}`,
        })),
      });
    }
    // An asset through the API: with `Accept: application/octet-stream`, a redirect to its bytes.
    m = /^\/repos\/([^/]+\/[^/]+)\/releases\/assets\/(\d+)$/.exec(path);
    if (m) {
      const known = assetIds.get(Number(m[2]));
      if (!known || !releases.get(known.release)?.has(known.name)) return json(404, { message: 'Not Found' });
      if (req.headers.accept !== 'application/octet-stream') return json(415, { message: 'Ask for application/octet-stream' });
      const tag = known.release.slice(known.release.indexOf('@') + 1);
      res.writeHead(302, { location: `${fake.url}/download/${m[1]}/${encodeURIComponent(tag)}/${encodeURIComponent(known.name)}` });
      return res.end();
    }
    // An upload (`upload_url`): authenticated; an existing name is 422, as GitHub answers.
    m = /^\/uploads\/repos\/([^/]+\/[^/]+)\/releases\/(\d+)\/assets$/.exec(path);
    if (m && req.method === 'POST') {
      const auth = req.headers.authorization;
      if (auth !== `Bearer ${fake.apiToken}` && auth !== `token ${fake.apiToken}`) return json(401, { message: 'Bad credentials' });
      const releaseKey = [...releaseIds].find(([k, id]) => id === Number(m![2]) && k.startsWith(`${m![1]}@`))?.[0];
      const name = new URL(req.url ?? '/', 'http://x').searchParams.get('name');
      if (!releaseKey || !name) return json(404, { message: 'Not Found' });
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const rel = releases.get(releaseKey)!;
        if (rel.has(name)) return json(422, { message: 'Validation Failed', errors: [{ resource: 'ReleaseAsset', code: 'already_exists', field: 'name' }] });
        const bytes = new Uint8Array(Buffer.concat(chunks));
        rel.set(name, { bytes });
        json(201, { id: assetId(releaseKey, name), name, size: bytes.byteLength });
      });
      return;
    }
    m = /^\/download\/([^/]+\/[^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
    const asset = m ? releases.get(`${m[1]}@${decodeURIComponent(m[2]!)}`)?.get(decodeURIComponent(m[3]!)) : undefined;
    if (!asset) return json(404, { message: 'Not Found' });
    if (asset.redirectTo) {
      res.writeHead(302, { location: asset.redirectTo });
      return res.end();
    }
    const servedId = `${m![1]}@${decodeURIComponent(m![2]!)}/${decodeURIComponent(m![3]!)}`;
    const count = (n: number) => servedBytes.set(servedId, (servedBytes.get(servedId) ?? 0) + n);
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    if (asset.trickleMs) {
      let offset = 0;
      const timer = setInterval(() => {
        const chunk = asset.bytes.subarray(offset, offset + 16);
        offset += chunk.byteLength;
        count(chunk.byteLength);
        if (offset >= asset.bytes.byteLength) {
          clearInterval(timer);
          res.end(chunk);
        } else res.write(chunk);
      }, asset.trickleMs);
      res.once('close', () => clearInterval(timer));
      return;
    }
    if (asset.endless) {
      const zeros = new Uint8Array(64 * 1024);
      res.write(asset.bytes);
      count(asset.bytes.byteLength);
      // Writes until the socket's buffer is full, then waits for it to drain; stops when the client leaves.
      const pump = () => {
        while (!res.destroyed) {
          count(zeros.byteLength);
          if (!res.write(zeros)) return void res.once('drain', pump);
        }
      };
      pump();
      return;
    }
    count(asset.bytes.byteLength);
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
    jwksRedirectTo: '',
    jwksDelayMs: 0,
    redirectRelease(repository, tag, location) {
      if (location === undefined) releaseRedirects.delete(`${repository}@${tag}`);
      else releaseRedirects.set(`${repository}@${tag}`, location);
    },
    padRelease(repository, tag, bytes) {
      releasePadding.set(`${repository}@${tag}`, bytes);
    },
    jwks: () => [key.jwk],
    served: (repository, tag, name) => servedBytes.get(`${repository}@${tag}/${name}`) ?? 0,
    requests,
    apiAuthorizations,
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
        jti: randomUUID(),
        ...claims,
      };
      for (const k of options.omit ?? []) delete payload[k];
      const signer = options.foreignKey ? foreign : options.previousKey ? previous : key;
      const iat = now + (options.issuedIn ?? 0);
      const omitted = new Set(options.omit ?? []);
      const jwt = new SignJWT(payload).setProtectedHeader({ alg: 'RS256', kid: options.kid ?? signer.kid });
      if (!omitted.has('iss')) jwt.setIssuer(options.issuer ?? url);
      if (!omitted.has('aud')) jwt.setAudience(options.audience ?? audience);
      if (!omitted.has('iat')) jwt.setIssuedAt(iat);
      if (!omitted.has('exp')) jwt.setExpirationTime(now + (options.expiresIn ?? 300));
      if (options.notBefore !== undefined) jwt.setNotBefore(now + options.notBefore);
      return jwt.sign(signer.privateKey);
    },
    addAsset(repository, tag, name, asset) {
      fake.addRelease(repository, tag);
      releases.get(`${repository}@${tag}`)!.set(name, asset);
    },
    setReadme(repository, sha, answer) {
      readmes.set(`${repository}@${sha}`, answer);
    },
    addAttestation(repository, sha256, bundle) {
      attestations.set(`${repository}@${sha256}`, [...(attestations.get(`${repository}@${sha256}`) ?? []), bundle]);
    },
    setAttestationStatus(repository, status) {
      if (status === undefined) attestationStatus.delete(repository);
      else attestationStatus.set(repository, status);
    },
    addRelease(repository, tag) {
      const id = `${repository}@${tag}`;
      if (releases.has(id)) return;
      releases.set(id, new Map());
      releaseIds.set(id, nextId++);
    },
    assets: (repository, tag) => releases.get(`${repository}@${tag}`),
    apiToken: `ghs_${Math.random().toString(36).slice(2)}`,
    async rotateKey() {
      previous = key;
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
