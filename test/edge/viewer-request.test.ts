/**
 * The one request mapping, run two ways over the same table of cases: as the local server calls
 * it (`mapViewerRequest`), and as CloudFront runs the function generated from it (the stack's
 * code as a plain script in a fresh context, given a viewer-request event). Every key it names is
 * the key `core/paths.ts` builds.
 */
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { viewerRequestFunctionCode, MAX_FUNCTION_BYTES } from '../../infra/edge-function.ts';
import { parsePackageName, parseVersion, type Version } from '../../src/core/names.ts';
import { mcpPageKey, mcpVersionKey, mcpVersionsKey, skillsDiscoveryPackageKey, skillsDiscoveryScopeKey } from '../../src/core/paths.ts';
import { mapViewerRequest } from '../../src/edge/viewer-request.ts';

const echo = parsePackageName('@acme/echo');
const key = (k: string) => ({ key: k });
const error = (status: number) => ({ status });

/** [path with query, expected key or status]. */
const CASES: Array<[string, { key: string } | { status: number } | 'unchanged']> = [
  ['/v0.1/servers', key(mcpPageKey('all', 0))],
  ['/v0.1/servers?limit=1', key(mcpPageKey('all', 0))],
  ['/v0.1/servers?limit=50&version=latest', key(mcpPageKey('latest', 0))],
  ['/v0.1/servers?limit=50&version=latest&cursor=3', key(mcpPageKey('latest', 3))],
  ['/v0.1/servers?cursor=12&search=echo', key(mcpPageKey('all', 12))],
  ['/v0.1/servers?cursor=', key(mcpPageKey('all', 0))],
  ['/v0.1/servers/?version=latest&include_deleted=true', key(mcpPageKey('latest', 0))],
  ['/v0.1/servers?cursor=../../private/x', error(400)],
  ['/v0.1/servers?cursor=abc', error(400)],
  ['/v0.1/servers?version=1.2.0', error(400)],
  ['/v0.1/servers?updated_since=2026-01-01T00:00:00Z', error(400)],
  ['/v0.1/servers?limit=0', error(400)],
  ['/v0.1/servers/io.github.acme%2Fecho/versions', key(mcpVersionsKey(echo))],
  ['/v0.1/servers/io.github.acme/echo/versions', key(mcpVersionsKey(echo))],
  ['/v0.1/servers/io.github.ACME%2FEcho/versions/latest', key(mcpVersionKey(echo, 'latest'))],
  ['/v0.1/servers/io.github.acme%2Fecho/versions/1.2.0', key(mcpVersionKey(echo, parseVersion('1.2.0')))],
  ['/v0.1/servers/io.github.acme%2Fecho/versions/1.0.0%2B20130313144700', key(mcpVersionKey(echo, '1.0.0+20130313144700' as Version))],
  ['/v0.1/servers/io.github.acme%2Fecho/versions/..', error(404)],
  ['/v0.1/servers/io.github.acme%2Fecho/versions/%2E%2E%2F%2E%2E', error(404)],
  ['/v0.1/servers/com.example%2Fecho/versions/latest', error(404)],
  ['/v0.1/servers/io.github.-bad%2Fecho/versions', error(404)],
  ['/v0.1/pages/all/0.json', error(404)],
  ['/v0.1/anything', error(404)],
  ['/@acme/.well-known/agent-skills/index.json', key(skillsDiscoveryScopeKey('acme'))],
  ['/@Acme/release-notes/.well-known/agent-skills/index.json', key(skillsDiscoveryPackageKey(parsePackageName('@acme/release-notes')))],
  ['/%40acme/.well-known/agent-skills/index.json', key(skillsDiscoveryScopeKey('acme'))],
  ['/@acme/a/b/.well-known/agent-skills/index.json', 'unchanged'],
  ['/.well-known/agent-skills/index.json', 'unchanged'],
  ['/private/used-tokens/x.json', error(404)],
  ['/%70rivate/used-tokens/x.json', error(404)],
  ['/v1/bundles/@acme/echo.json', 'unchanged'],
  ['/v1/bundles/@acme/echo.json?x=1', 'unchanged'],
  ['/index.html', 'unchanged'],
];

/** The stack's function, as CloudFront runs it: a script defining `handler`, given an event. */
const code = viewerRequestFunctionCode();
const handler = runInNewContext(`${code}; handler`, {}) as (event: unknown) => any;

function split(target: string): { path: string; query: Record<string, string> } {
  const url = new URL(target, 'http://x');
  return { path: target.split('?')[0]!, query: Object.fromEntries(url.searchParams) };
}

describe('the viewer-request mapping', () => {
  it.each(CASES)('%s', (target, expected) => {
    const { path, query } = split(target);
    const local = mapViewerRequest(path, query);
    const querystring = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, { value: v }]));
    const edge = handler({ request: { uri: path, querystring, headers: {} } });
    if (expected === 'unchanged') {
      expect(local).toEqual({ uri: path });
      expect(edge.uri).toBe(path);
      expect(edge.querystring).toEqual(querystring); // untouched: the object's own path
    } else if ('key' in expected) {
      expect('uri' in local && decodeURIComponent(local.uri)).toBe(`/${expected.key}`);
      expect(decodeURIComponent(edge.uri)).toBe(`/${expected.key}`);
      expect(edge.querystring).toEqual({}); // the cache key is the path alone
    } else {
      expect(local).toMatchObject({ statusCode: expected.status });
      expect(JSON.parse((local as { body: string }).body)).toEqual({ error: expect.any(String) });
      expect(edge).toMatchObject({ statusCode: expected.status, body: { encoding: 'text', data: (local as { body: string }).body } });
      expect(edge.headers['access-control-allow-origin']).toEqual({ value: '*' });
    }
  });

  it('encodes the key it names as a path S3 decodes back to the key (a "+" is not a space)', () => {
    const mapped = mapViewerRequest('/v0.1/servers/io.github.acme%2Fecho/versions/1.0.0%2Bbuild', {});
    expect(mapped).toEqual({ uri: '/v0.1/servers/io.github.acme/echo/versions/1.0.0%2Bbuild.json' });
  });

  it('fits CloudFront Functions: under the 10 KB code limit, no import, no module syntax', () => {
    expect(Buffer.byteLength(code)).toBeLessThan(MAX_FUNCTION_BYTES);
    expect(code).not.toMatch(/\b(import|export|require)\b/);
    expect(code).toMatch(/function handler\(event\)/);
  });
});
