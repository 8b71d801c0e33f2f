/**
 * Development mode's stand-ins for GitHub: an OIDC issuer (its JWKS served over HTTP, so the
 * registry verifies dev tokens exactly as it verifies GitHub's) and a release source (the
 * releases API and asset downloads). They exist only in a process started with `--dev` or
 * `SHELF_DEV=1`: the key pair is generated in memory at start-up and the routes are mounted on
 * that one server, so nothing outside development mode can ever trust this issuer.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';

/** A release asset held by the development release source. */
export interface DevAsset {
  name: string;
  bytes: Uint8Array;
}

/** The development issuer and release source, mounted on the registry's own server. */
export interface DevServices {
  /** The issuer URL (`{base}/_dev/oidc`). */
  issuer: string;
  /** The JWKS URL. */
  jwksUrl: string;
  /** The fake GitHub API base (`{base}/_dev/github`). */
  githubApiUrl: string;
  /** Mints a token for a repository, as GitHub Actions would. */
  mintToken(claims: DevTokenClaims, audience: string): Promise<string>;
  /** Adds an asset to a release (creating the release). */
  addAsset(repository: string, tag: string, asset: DevAsset): void;
  /** Answers the `/_dev/` routes; returns false for any other request. */
  route(req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/** The claims a development token carries. */
export interface DevTokenClaims {
  repository: string;
  repository_id: string;
  repository_owner: string;
  repository_owner_id: string;
  sha?: string;
  ref?: string;
}

/** The banner printed whenever development mode starts. */
export const DEV_WARNING = [
  '',
  '  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '  !!  SHELF DEVELOPMENT MODE: tokens from a local development issuer are    !!',
  '  !!  trusted and release assets come from a local fake of GitHub.          !!',
  '  !!  Never expose this server. Run `shelf serve` (no --dev) in production. !!',
  '  !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
  '',
].join('\n');

/** Creates the services for a server listening at `baseUrl`. */
export async function createDevServices(baseUrl: string): Promise<DevServices> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = 'shelf-dev-1';
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const issuer = `${baseUrl}/_dev/oidc`;
  const githubApiUrl = `${baseUrl}/_dev/github`;
  const releases = new Map<string, Map<string, DevAsset>>();
  const releaseId = (repository: string, tag: string) => `${repository.toLowerCase()}@${tag}`;

  const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json') => {
    res.writeHead(status, { 'content-type': type });
    res.end(type === 'application/json' ? JSON.stringify(body) : (body as Uint8Array));
  };

  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks`,
    githubApiUrl,
    async mintToken(claims, audience) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({
        sha: '0'.repeat(40),
        ref: 'refs/tags/dev',
        event_name: 'release',
        workflow_ref: `${claims.repository}/.github/workflows/release.yml@refs/tags/dev`,
        job_workflow_ref: `${claims.repository}/.github/workflows/release.yml@refs/tags/dev`,
        run_id: '1',
        run_attempt: '1',
        ...claims,
      })
        .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setAudience(audience)
        .setSubject(`repo:${claims.repository}:ref:refs/tags/dev`)
        .setJti(randomUUID())
        .setIssuedAt(now)
        .setNotBefore(now - 60)
        .setExpirationTime(now + 300)
        .sign(privateKey);
    },
    addAsset(repository, tag, asset) {
      const id = releaseId(repository, tag);
      if (!releases.has(id)) releases.set(id, new Map());
      releases.get(id)!.set(asset.name, asset);
    },
    async route(req, res) {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (!path.startsWith('/_dev/')) return false;
      if (path === '/_dev/oidc/.well-known/jwks') {
        send(res, 200, { keys: [jwk] });
        return true;
      }
      let m = /^\/_dev\/github\/repos\/([^/]+\/[^/]+)\/releases\/tags\/([^/]+)$/.exec(path);
      if (m) {
        const [repository, tag] = [m[1]!, decodeURIComponent(m[2]!)];
        const release = releases.get(releaseId(repository, tag));
        if (!release) return send(res, 404, { message: 'Not Found' }), true;
        const assets = [...release.values()].map((a) => ({
          name: a.name,
          size: a.bytes.byteLength,
          browser_download_url: `${githubApiUrl}/download/${repository}/${encodeURIComponent(tag)}/${encodeURIComponent(a.name)}`,
        }));
        send(res, 200, { tag_name: tag, assets });
        return true;
      }
      m = /^\/_dev\/github\/download\/([^/]+\/[^/]+)\/([^/]+)\/([^/]+)$/.exec(path);
      const asset = m ? releases.get(releaseId(m[1]!, decodeURIComponent(m[2]!)))?.get(decodeURIComponent(m[3]!)) : undefined;
      if (asset) send(res, 200, asset.bytes, 'application/octet-stream');
      else send(res, 404, { message: 'Not Found' });
      return true;
    },
  };
}
