/**
 * The one mapping from a request's path and query to the object that answers it, for the two
 * read APIs a static host cannot serve by name alone: the MCP registry read API (`/v0.1/servers…`,
 * with `cursor`, `version=latest`, `limit`, `search`, and `%2F` inside a server name) and
 * agent-skills discovery (`/@scope[/name]/.well-known/agent-skills/index.json`, whose
 * `.well-known` segment no key may hold). It also refuses the private area.
 *
 * Both readers run this very code: the local server (`src/server/local-server.ts`) calls
 * {@link mapViewerRequest}, and the CloudFront Function of the AWS stack (viewer request,
 * `cloudfront-js-2.0`) is generated from this file by `infra/edge-function.ts` (types stripped,
 * `export` removed, {@link cloudFrontHandler} called from `handler`). It is therefore written in
 * the subset of JavaScript that runtime accepts: no imports, no classes, no optional chaining, no
 * spread; and it must stay well under the function's 10 KB code limit. Its name rules repeat
 * those of `core/names.ts` for that reason; `test/edge/viewer-request.test.ts` checks that every
 * key it names is the key `core/paths.ts` builds.
 *
 * @module
 */

/** Where a request goes: another path of the bucket (percent-encoded), or an answer of its own. */
export type EdgeResult = { uri: string } | { statusCode: number; body: string };

const SCOPE = '[a-z0-9](?:[a-z0-9-]{0,37}[a-z0-9])?';
const NAME = '[a-z0-9](?:[a-z0-9-]{0,212}[a-z0-9])?';
const SERVER_RE = new RegExp('^/v0\\.1/servers/io\\.github\\.(' + SCOPE + ')/(' + NAME + ')/versions(?:/([^/]+))?/?$');
const LIST_RE = /^\/v0\.1\/servers\/?$/;
const DISCOVERY_RE = new RegExp('^/@(' + SCOPE + ')(?:/(' + NAME + '))?/\\.well-known/agent-skills/index\\.json$');
// A semver 2.0 version as keys hold it (`core/names.ts` parses strictly; this only keeps keys clean).
const VERSION_RE = /^[0-9][0-9A-Za-z.+-]{0,127}$/;
const CURSOR_RE = /^[0-9]{1,9}$/;

/** A JSON error answer, `{"error": "..."}` as the MCP registry API's spec has it. */
function refuse(statusCode: number, message: string): EdgeResult {
  return { statusCode: statusCode, body: JSON.stringify({ error: message }) };
}

/** Percent-encodes each segment of a key into a request path. */
function pathOf(key: string): string {
  return '/' + key.split('/').map(encodeURIComponent).join('/');
}

/**
 * Maps one request. `uri` is the raw (percent-encoded) path; `query` the first value of each
 * query parameter. A request this mapping does not concern keeps its path.
 */
export function mapViewerRequest(uri: string, query: Record<string, string>): EdgeResult {
  let path: string;
  try {
    path = decodeURIComponent(uri);
  } catch (e) {
    return { uri: uri };
  }
  if (path.indexOf('/private/') === 0) return refuse(404, 'Not found');
  const lower = path.toLowerCase();
  if (LIST_RE.test(path)) return mapList(query);
  if (lower.indexOf('/v0.1/') === 0) {
    const m = SERVER_RE.exec(path.replace(/^\/v0\.1\/servers\/[^/]+\/[^/]+/, (head) => head.toLowerCase()));
    if (!m) return refuse(404, 'Server not found');
    const folder = 'v0.1/servers/io.github.' + m[1] + '/' + m[2] + '/';
    if (m[3] === undefined) return { uri: pathOf(folder + 'versions.json') };
    if (m[3] !== 'latest' && !VERSION_RE.test(m[3])) return refuse(404, 'Server version not found');
    return { uri: pathOf(folder + 'versions/' + m[3] + '.json') };
  }
  const d = DISCOVERY_RE.exec(lower);
  if (d) return { uri: pathOf('v1/agent-skills/@' + d[1] + (d[2] === undefined ? '' : '/' + d[2]) + '.json') };
  return { uri: uri };
}

/** `GET /v0.1/servers`: a page of every version, or of each server's latest (`version=latest`). */
function mapList(query: Record<string, string>): EdgeResult {
  const version = query.version;
  if (version !== undefined && version !== 'latest') return refuse(400, 'This registry lists every version, or version=latest; ask /v0.1/servers/{name}/versions/{version} for one version.');
  if (query.updated_since !== undefined) return refuse(400, 'updated_since is not supported by this registry (a static host); list without it.');
  const limit = query.limit;
  if (limit !== undefined && !/^[1-9][0-9]{0,8}$/.test(limit)) return refuse(400, 'limit must be a positive integer.');
  const cursor = query.cursor === undefined || query.cursor === '' ? '0' : query.cursor;
  if (!CURSOR_RE.test(cursor)) return refuse(400, 'Invalid cursor: use the metadata.nextCursor of the previous page.');
  return { uri: pathOf('v0.1/pages/' + (version === 'latest' ? 'latest' : 'all') + '/' + String(Number(cursor)) + '.json') };
}

/** A CloudFront viewer-request event, as far as this mapping reads it. */
export interface CloudFrontEvent {
  request: { uri: string; querystring: Record<string, { value: string }> };
}

/**
 * The CloudFront Function's body: maps the request, drops the query string once it is part of
 * the path (the cache key is the path alone), or answers a refusal with CORS (the response
 * headers policy does not reach answers a function makes).
 */
export function cloudFrontHandler(event: CloudFrontEvent): unknown {
  const request = event.request;
  const query: Record<string, string> = {};
  for (const name in request.querystring) query[name] = request.querystring[name]!.value;
  const result = mapViewerRequest(request.uri, query);
  if ('statusCode' in result) {
    return {
      statusCode: result.statusCode,
      statusDescription: result.statusCode === 404 ? 'Not Found' : 'Bad Request',
      headers: {
        'content-type': { value: 'application/json; charset=utf-8' },
        'access-control-allow-origin': { value: '*' },
        'cache-control': { value: 'public, max-age=60' },
      },
      body: { encoding: 'text', data: result.body },
    };
  }
  if (result.uri !== request.uri) {
    request.uri = result.uri;
    request.querystring = {};
  }
  return request;
}
