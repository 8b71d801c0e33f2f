/**
 * MCP API test helpers: bundles zipped in memory (fast: no packer, a real manifest and server
 * file), announced through the real path; the spec's schemas (`test/fixtures/mcp-registry/`)
 * compiled with Ajv; and a client that walks the API exactly as VS Code does.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { zipSync } from 'fflate';
import { parse } from 'yaml';
import { expect } from 'vitest';
import type { Os } from '../../src/core/names.ts';
import { claimsFor, type TestRegistry } from '../helpers/test-registry.ts';

const echoManifest = JSON.parse(readFileSync(new URL('../../examples/echo/manifest.json', import.meta.url), 'utf8'));
const echoServer = readFileSync(new URL('../../examples/echo/server/index.js', import.meta.url));

/** Publishes `@scope/name@version` (one artifact per os) as the repository `scope/name-mcp`. */
export async function publishBundle(reg: TestRegistry, name: string, version: string, options: { os?: Os[]; description?: string; prerelease?: boolean } = {}): Promise<{ sha256: Record<string, string> }> {
  const [scope, short] = name.slice(1).split('/') as [string, string];
  const repository = `${scope}/${short}-mcp`;
  const sha256: Record<string, string> = {};
  for (const os of options.os ?? ['any']) {
    const manifest = { ...echoManifest, name, version, display_name: `${short} server`, description: options.description ?? `The ${short} server of ${scope}.` };
    if (os !== 'any') manifest.compatibility = { ...manifest.compatibility, platforms: [os] };
    const bytes = zipSync({ 'manifest.json': new TextEncoder().encode(JSON.stringify(manifest)), 'server/index.js': echoServer, ...(os !== 'any' ? { 'platform.json': new TextEncoder().encode(os) } : {}) }, { mtime: new Date(2020, 0, 1) });
    const filename = `${short}-${version}-${os}-${os === 'any' ? 'any' : 'x64'}.mcpb`;
    const tag = `v${version}`;
    reg.github.addAsset(repository, tag, filename, { bytes });
    const hash = createHash('sha256').update(bytes).digest('hex');
    sha256[os] = hash;
    const body = {
      name,
      version,
      manifest,
      release_tag: tag,
      prerelease: options.prerelease ?? false,
      artifact: { filename, os, arch: os === 'any' ? 'any' : 'x64', sha256: hash, size: bytes.byteLength },
    };
    const res = await reg.announce('bundle', body, claimsFor(repository));
    expect(res.status, JSON.stringify(res.json)).toBeLessThan(300);
  }
  return { sha256 };
}

const specFile = parse(readFileSync(new URL('../fixtures/mcp-registry/openapi-schemas.yaml', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: 'mcp-registry', components: { schemas: specFile.schemas } });
const validators = {
  ServerList: ajv.compile({ $ref: 'mcp-registry#/components/schemas/ServerList' }),
  ServerResponse: ajv.compile({ $ref: 'mcp-registry#/components/schemas/ServerResponse' }),
  NotFound: ajv.compile({ ...specFile.notFound, required: ['error'] }),
};

/** Asserts that `value` validates against one of the spec's schemas. */
export function expectValid(schema: keyof typeof validators, value: unknown): void {
  const validate = validators[schema];
  expect(validate(value), `${schema}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

/** GETs JSON, checking CORS, the content type and, for a 404, the spec's `{"error": "..."}`. */
export async function getJson(url: string): Promise<{ status: number; json: any }> {
  const res = await fetch(url);
  expect(res.headers.get('access-control-allow-origin'), url).toBe('*');
  expect(res.headers.get('content-type'), url).toMatch(/^application\/json\b/);
  const json = await res.json();
  if (res.status === 404) expectValid('NotFound', json);
  return { status: res.status, json };
}

/** What a walk found. */
export interface Walk {
  /** Requests made, in order. */
  requests: string[];
  /** Every server of every page, in order. */
  servers: any[];
  pages: number;
}

/**
 * Walks the list as VS Code's gallery does: `?limit=50&version=latest`, then `&cursor=<nextCursor>`
 * while there is one. Every page must validate as a `ServerList`.
 */
export async function walkList(base: string, query = 'limit=50&version=latest', from?: string): Promise<Walk> {
  const walk: Walk = { requests: [], servers: [], pages: 0 };
  let cursor = from;
  do {
    const url = `${base}/v0.1/servers?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    walk.requests.push(url);
    const { status, json } = await getJson(url);
    expect(status, url).toBe(200);
    expectValid('ServerList', json);
    expect(json.metadata.count).toBe(json.servers.length);
    expect(json.servers.length).toBeLessThanOrEqual(50);
    walk.servers.push(...json.servers);
    walk.pages++;
    cursor = json.metadata.nextCursor || undefined;
    expect(walk.pages).toBeLessThan(1000);
  } while (cursor);
  return walk;
}
