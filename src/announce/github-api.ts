/**
 * One GET of GitHub's REST API about a repository, as announce's steps read it (the attestations
 * of a digest, the README at a commit): the API host only, every hop checked, one deadline for the
 * whole exchange and a size cap on the body (`net/outbound-fetch.ts`), the API version pinned, and
 * the optional token sent as a bearer credential (to the API host only).
 *
 * @module
 */
import { fetchOutbound, outboundDeadline, readOutboundBody } from '../net/outbound-fetch.ts';

/** Where GitHub's API is and how it is called. */
export interface GitHubApiOptions {
  /** GitHub's REST API base URL (`https://api.github.com`). */
  apiUrl: string;
  /** Optional token (raises the rate limit). */
  token?: string;
  /** Time limit of the whole request, ms. */
  timeoutMs: number;
}

/** One request of a {@link GitHubGet}. */
export interface GitHubRequest {
  /** The path below `/repos/{repository}`, with its query: `/readme?ref=…`. */
  path: string;
  /** The media type asked for (`application/vnd.github+json`, `application/vnd.github.raw`). */
  accept: string;
  /** Largest body read, bytes. */
  maxBytes: number;
  /** What is fetched, for messages: "the README of acme/x". */
  what: string;
}

/** GitHub's answer: its status, and its body when the status is 200 (any other body is discarded unread). */
export interface GitHubAnswer {
  status: number;
  body: Uint8Array | null;
}

/** GETs `{api}/repos/{repository}{request.path}`. */
export type GitHubGet = (repository: string, request: GitHubRequest) => Promise<GitHubAnswer>;

/** The API version every request pins (GitHub's `X-GitHub-Api-Version`). */
export const GITHUB_API_VERSION = '2022-11-28';

/**
 * A GET of GitHub's API at `options.apiUrl`: redirects are followed only on the API's own host.
 *
 * @throws (from the GET) ShelfError `upstream_unavailable`, `upstream_untrusted_host`,
 *   `upstream_too_large`; callers map them to their own contract.
 */
export function gitHubGet(options: GitHubApiOptions): GitHubGet {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const allowedHosts = [new URL(apiUrl).host];
  return async (repository, { path, accept, maxBytes, what }) => {
    const signal = outboundDeadline(options.timeoutMs);
    const headers: Record<string, string> = { accept, 'user-agent': 'shelf-registry', 'x-github-api-version': GITHUB_API_VERSION };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const url = `${apiUrl}/repos/${repository.split('/').map(encodeURIComponent).join('/')}${path}`;
    const response = await fetchOutbound(url, { what, allowedHosts, signal, headers });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      return { status: response.status, body: null };
    }
    return { status: 200, body: await readOutboundBody(response, maxBytes, { what, signal }) };
  };
}
