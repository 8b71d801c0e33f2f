/**
 * A loopback fake of the GitHub Actions OIDC token service (what `ACTIONS_ID_TOKEN_REQUEST_URL`
 * points at in a job with `permissions: id-token: write`). It checks the request token like the
 * real service (`Authorization: bearer <ACTIONS_ID_TOKEN_REQUEST_TOKEN>`), and mints the JWT
 * with the fake GitHub issuer the test registry trusts, for the audience asked for in the
 * `audience` query parameter. Test-only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Claims, FakeGitHub } from './fake-github.ts';

export interface FakeActionsToken {
  /** The value for ACTIONS_ID_TOKEN_REQUEST_URL (already has a query, as GitHub's does). */
  requestUrl: string;
  /** The value for ACTIONS_ID_TOKEN_REQUEST_TOKEN. */
  requestToken: string;
  /** Every request: the audience asked for (null when none) and whether it was authorised. */
  requests: Array<{ audience: string | null; authorized: boolean }>;
  /** Every token issued, in order. */
  issued: string[];
  close(): Promise<void>;
}

/**
 * Starts the fake on 127.0.0.1.
 *
 * @param github - The fake GitHub whose issuer mints the tokens (`reg.github`).
 * @param claims - The job's claims (repository, owner and their ids).
 */
export async function startFakeActionsToken(github: FakeGitHub, claims: Claims): Promise<FakeActionsToken> {
  const requestToken = randomBytes(16).toString('hex');
  const requests: FakeActionsToken['requests'] = [];
  const issued: string[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      const authorized = req.headers.authorization === `bearer ${requestToken}` || req.headers.authorization === `Bearer ${requestToken}`;
      const audience = url.searchParams.get('audience');
      requests.push({ audience, authorized });
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'GET' || url.pathname !== '/token' || url.searchParams.get('api-version') !== '2.0') {
        return json(404, { message: 'Not Found' });
      }
      if (!authorized) return json(401, { message: 'Bad credentials' });
      // Without an audience, GitHub uses the owner's URL: the registry must then refuse the token.
      const token = await github.mint(claims, { audience: audience ?? `https://github.com/${claims.repository_owner}` });
      issued.push(token);
      json(200, { count: 1, value: token });
    })().catch(() => {
      res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    requestUrl: `${base}/token?api-version=2.0`,
    requestToken,
    requests,
    issued,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
