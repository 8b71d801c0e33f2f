/**
 * Fuzzes the announce function with 10,000 requests, random and mutated from valid ones, from a
 * fixed seed (`SHELF_FUZZ_SEED` and `SHELF_FUZZ_RUNS` override it to reproduce or extend a run).
 *
 * Most requests go straight to the Lambda handler built with the production wiring
 * (`announceDepsFromConfig`: the real token verifier against the fake issuer's JWKS, the real
 * release fetcher against the fake GitHub) over a store that counts writes; every 40th goes over
 * real HTTP to the local server. For each request it asserts:
 * - the answer is well-formed: a 2xx announce response, a 204 preflight, or an error whose code is
 *   in the table with that status; no 5xx except the documented 503s;
 * - a refused request made no write at all (not even a failed conditional one);
 * - an accepted request publishes only bytes that were really released by the package's own
 *   repository (sha256 and size of an artifact prepared there), never something a mutation made
 *   up or another repository released. The version is the artifact's own (its manifest must name
 *   it); the platform label is the publisher's word on a token's first use, and a token may
 *   announce nothing else afterwards (see `token-use.ts`).
 * Every 250 requests the bucket's keys and ETags must be unchanged unless something was accepted,
 * and afterwards the registry's consistency check (`src/registry/check.ts`) must find nothing.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionUrlEvent, FunctionUrlResult } from '../../src/announce/handler.ts';
import { AnnounceResponseSchema, VersionDocumentSchema } from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { AUDIENCE, announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { CountingStore, errorProblem, productionHandler, type Outcome } from './helpers.ts';
import { createRng, type Rng } from './prng.ts';

const SEED = Number(process.env.SHELF_FUZZ_SEED ?? 0x5eed);
const RUNS = Number(process.env.SHELF_FUZZ_RUNS ?? 10_000);
const HTTP_EVERY = 40;
const SNAPSHOT_EVERY = 250;

/** A valid announce to mutate. */
interface Seed {
  label: string;
  kind: 'bundle' | 'skill';
  body: Record<string, any>;
  token: string;
}

/** One generated request. */
interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
  notes: string[];
}

let reg: TestRegistry;
let store: CountingStore;
let handler: (event: FunctionUrlEvent) => Promise<FunctionUrlResult>;
let seeds: Seed[];
let badTokens: string[];
/** `name sha256 size` of every artifact really released by the repository `name` is pinned to. */
const released = new Set<string>();

beforeAll(async () => {
  // In memory, shared by the handler under test and the HTTP server: the file system's cost per
  // request would dominate the run (the file store has its own contract tests).
  reg = await startTestRegistry({ store: new MemoryStore() });
  store = new CountingStore(reg.store);
  handler = productionHandler(reg, store);

  const echo = await prepareBundle(reg, { version: '1.0.0' });
  const echoLinux = await prepareBundle(reg, { version: '1.0.0', os: 'linux', arch: 'x64' });
  const echoRc = await prepareBundle(reg, { version: '2.0.0-rc.1', prerelease: true });
  const globex = await prepareBundle(reg, { name: '@globex/echo', version: '0.1.0' });
  const skill = await prepareSkill(reg, { version: '0.9.0' });
  // Two are published before the run (pins exist); the fuzz itself publishes the others.
  for (const p of [echo, globex]) expect((await announcePrepared(reg, p)).status).toBe(201);
  const all: Array<[string, PreparedArtifact]> = [['echo', echo], ['echo-linux', echoLinux], ['echo-rc', echoRc], ['globex', globex], ['skill', skill]];
  for (const [, p] of all) released.add(`${p.body.name} ${p.sha256} ${p.size}`);
  const token = (repository: string, ids = {}) => reg.github.mint(claimsFor(repository, ids), { expiresIn: 3600 });
  seeds = await Promise.all(all.map(async ([label, p]) => ({ label, kind: p.kind, body: p.body, token: await token(p.repository) })));

  const m = (claims = claimsFor('acme/echo-mcp'), options = {}) => reg.github.mint(claims, { expiresIn: 3600, ...options });
  badTokens = await Promise.all([
    m(undefined, { expiresIn: -600 }),
    m(undefined, { audience: 'https://mpak.dev' }),
    m(undefined, { audience: [AUDIENCE, 'https://mpak.dev'] }),
    m(undefined, { issuer: `${reg.github.issuer}.evil.com` }),
    m(undefined, { foreignKey: true }),
    m(undefined, { kid: 'unknown' }),
    m(undefined, { notBefore: 900 }),
    m(undefined, { issuedIn: 3000, expiresIn: 7200 }),
    m(undefined, { omit: ['sha'] }),
    m(undefined, { omit: ['repository_owner_id'] }),
    m({ ...claimsFor('acme/echo-mcp'), event_name: 'pull_request_target' }),
    m({ ...claimsFor('acme/echo-mcp'), ref: 'refs/pull/1/merge' }),
    m(claimsFor('acme/echo-mcp', { owner_id: '1' })), // scope pinned to another owner id
    m(claimsFor('acme/echo-mcp', { repository_id: '2' })), // package pinned to another repository
    m(claimsFor('acme/fork-of-echo')), // same owner, another repository
    m(claimsFor('globex/echo-mcp')), // another owner
    m(claimsFor('initech/echo-mcp')), // an owner with no scope yet
  ]);
});
afterAll(() => reg?.close());

// ---- Generation ---------------------------------------------------------------------------

const STRINGS = [
  '', ' ', 'x', '@acme/echo', '@ACME/ECHO', '@globex/echo', '@acme/other', '@acme/../echo', '@\u0430cme/echo', '@acme/echo-',
  '../../etc/passwd', '%2e%2e%2f', 'a/b', 'a\\b', '\u0000', '\u202e', '\ud83d\ude00', '\ud800', '<script>', '__proto__', 'constructor',
  '1.0.0', '2.0.0-rc.1', '0.1.0', '0.9.0', 'v1.0.0', '1.0.0+build', '1.0', `1.0.0-${'a'.repeat(200)}`, 'linux', 'darwin', 'win32', 'any',
  'x64', 'arm64', 'v1.0.0', 'echo-1.0.0-any-any.mcpb', 'release-notes-0.9.0.skill', 'e'.repeat(64), 'E'.repeat(64), 'g'.repeat(64),
  'true', 'null', '{}', '[]', '"', '\\', 'name', 'a'.repeat(300),
];
const NUMBERS = [0, -1, 1, 1.5, -0, 2 ** 31, 2 ** 53, 2 ** 40, 1e308, 100 * 1024 * 1024 + 1, 12345];
const KEYS = ['__proto__', 'constructor', 'prototype', 'name', 'version', 'artifact', 'manifest', 'skill', 'repository', 'release_tag', 'x', '', 'sha256', 'size', 'os'];
const FIELDS = [
  'name', 'version', 'manifest', 'skill', 'release_tag', 'prerelease', 'artifact', 'artifact.filename', 'artifact.os', 'artifact.arch',
  'artifact.sha256', 'artifact.size', 'manifest.name', 'manifest.version', 'manifest.server', 'manifest.tools', 'skill.name', 'skill.metadata',
];
const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;', 'text/plain', '', 'application/jsonx',
  'application/json-seq', 'multipart/form-data', 'application/x-www-form-urlencoded', 'application/json\u0000',
];
const PATHS = [
  '/v1/bundles/announce', '/v1/skills/announce', '/v1/bundles/announce/', '/v1/BUNDLES/announce', '/v1/bundles', '/v1/bundles/announce/x',
  '/../v1/bundles/announce', '/v1/bundles/announce%00', '/', '/v2/bundles/announce', '//v1/skills/announce',
];
const METHODS = ['POST', 'POST', 'POST', 'post', 'GET', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 5 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(NUMBERS);
    case 3:
    case 4:
      return rng.pick(STRINGS);
    case 5:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    case 6:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick(KEYS), randomValue(rng, depth + 1)]));
    case 7: {
      // Deep nesting, sometimes past the limit.
      let v: unknown = 1;
      for (let i = 0, n = rng.pick([10, 70, 500]); i < n; i++) v = rng.chance(0.5) ? [v] : { a: v };
      return v;
    }
    default:
      return rng.chance(0.5) ? 'h'.repeat(rng.pick([1000, 70_000])) : { ...Object.fromEntries(KEYS.slice(3, 8).map((k) => [k, rng.pick(STRINGS)])) };
  }
}

/** The container and key of a dotted path in `value`, creating nothing. */
function locate(value: any, path: string): [any, string] | null {
  const parts = path.split('.');
  let target = value;
  for (const part of parts.slice(0, -1)) {
    if (!target || typeof target !== 'object') return null;
    target = target[part];
  }
  return target && typeof target === 'object' ? [target, parts[parts.length - 1]!] : null;
}

/** A random path to an existing node (objects and arrays), for blind replacement. */
function randomNode(rng: Rng, value: any): [any, string | number] | null {
  let parent: any = null;
  let key: string | number = '';
  let node = value;
  for (let depth = 0; depth < 6 && node && typeof node === 'object'; depth++) {
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0 || (parent && rng.chance(0.3))) break;
    parent = node;
    key = rng.pick(keys);
    node = node[key];
  }
  return parent ? [parent, key] : null;
}

type ValueMutation = (rng: Rng, value: any, notes: string[]) => any;
type RawMutation = (rng: Rng, raw: string, notes: string[]) => string;

const VALUE_MUTATIONS: ValueMutation[] = [
  (rng, value, notes) => {
    const path = rng.pick(FIELDS);
    const at = locate(value, path);
    const v = randomValue(rng);
    if (at) at[0][at[1]] = v;
    notes.push(`set ${path}`);
    return value;
  },
  (rng, value, notes) => {
    const path = rng.pick(FIELDS);
    const at = locate(value, path);
    if (at) delete at[0][at[1]];
    notes.push(`delete ${path}`);
    return value;
  },
  (rng, value, notes) => {
    const at = randomNode(rng, value);
    if (at) at[0][at[1]] = randomValue(rng);
    notes.push(`replace node ${String(at?.[1])}`);
    return value;
  },
  (rng, value, notes) => {
    const target = rng.pick([value, value.manifest, value.skill, value.artifact]);
    const key = rng.pick(KEYS);
    // defineProperty, so that "__proto__" becomes a real key of the JSON rather than a prototype.
    if (target && typeof target === 'object') Object.defineProperty(target, key, { value: randomValue(rng), enumerable: true, writable: true, configurable: true });
    notes.push(`add key ${JSON.stringify(key)}`);
    return value;
  },
  (rng, value, notes) => {
    // Another seed's field: a valid value in the wrong announce (scope, version, artifact, tag...).
    const other = rng.pick(seeds).body;
    const key = rng.pick(['name', 'version', 'artifact', 'release_tag', 'manifest', 'skill', 'prerelease']);
    if (key in other) value[key] = structuredClone(other[key]);
    notes.push(`graft ${key}`);
    return value;
  },
  (rng, value, notes) => {
    // Plausible near-misses on the fields that decide what is published.
    const choice = rng.int(6);
    const a = value.artifact;
    if (a && typeof a === 'object') {
      if (choice === 0) a.size = (typeof a.size === 'number' ? a.size : 1) + rng.pick([-1, 1, 1000]);
      if (choice === 1 && typeof a.sha256 === 'string') a.sha256 = a.sha256.slice(0, 63) + (a.sha256.endsWith('0') ? '1' : '0');
      if (choice === 2 && typeof a.sha256 === 'string') a.sha256 = a.sha256.toUpperCase();
      if (choice === 3) a.filename = `other-${a.filename}`;
      if (choice === 4) a.os = rng.pick(['linux', 'darwin', 'win32', 'any']);
    }
    if (choice === 5) value.prerelease = !value.prerelease;
    notes.push(`near-miss ${choice}`);
    return value;
  },
];

const RAW_MUTATIONS: RawMutation[] = [
  (rng, raw, notes) => {
    const i = rng.int(raw.length + 1);
    notes.push(`insert at ${i}`);
    return raw.slice(0, i) + rng.pick(['{', '}', '[', ']', '"', ':', ',', '\\', ' ', '0', 'a', '\u0000', '\ufeff', '-']) + raw.slice(i);
  },
  (rng, raw, notes) => {
    const i = rng.int(raw.length);
    const n = 1 + rng.int(20);
    notes.push(`cut ${i}+${n}`);
    return raw.slice(0, i) + raw.slice(i + n);
  },
  (rng, raw, notes) => {
    const i = rng.int(raw.length);
    notes.push(`truncate at ${i}`);
    return raw.slice(0, i);
  },
  (rng, raw, notes) => {
    // A duplicate key, at the top or in a nested object.
    const objects = [...raw.matchAll(/\{"([^"\\]+)":/g)];
    const at = objects.length > 0 ? rng.pick(objects) : null;
    notes.push(`duplicate key ${at?.[1]}`);
    if (!at) return raw;
    const i = at.index! + 1;
    return `${raw.slice(0, i)}"${at[1]}":${JSON.stringify(rng.pick(STRINGS))},${raw.slice(i)}`;
  },
  (rng, raw, notes) => {
    // Same meaning, other spelling: escapes and whitespace (these keep a valid body valid).
    notes.push('respell');
    return raw.replace(/"name"/, rng.chance(0.5) ? '"n\\u0061me"' : '"name" ').replace(/,/g, (c) => (rng.chance(0.05) ? ' ,\n\t' : c));
  },
  (rng, raw, notes) => {
    notes.push('wrap');
    return rng.chance(0.5) ? `[${raw}]` : `{"announce":${raw}}`;
  },
];

function mutateHeaders(rng: Rng, req: FuzzRequest, seed: Seed): void {
  switch (rng.int(9)) {
    case 0:
      req.headers['content-type'] = rng.pick(CONTENT_TYPES);
      break;
    case 1:
      delete req.headers['content-type'];
      break;
    case 2:
      req.headers.authorization = `Bearer ${rng.pick(badTokens)}`;
      break;
    case 3: {
      // A valid token with one character changed.
      const i = rng.int(seed.token.length);
      const c = seed.token[i] === 'A' ? 'B' : 'A';
      req.headers.authorization = `Bearer ${seed.token.slice(0, i)}${c}${seed.token.slice(i + 1)}`;
      break;
    }
    case 4:
      req.headers.authorization = rng.pick(['', 'Bearer', `Basic ${seed.token}`, `Bearer ${seed.token} x`, `bearer ${seed.token}`, `Bearer ${'x'.repeat(9000)}`, `Bearer ${rng.pick(seeds).token}`]);
      break;
    case 5:
      delete req.headers.authorization;
      break;
    case 6:
      req.path = rng.pick(PATHS);
      break;
    case 7:
      req.method = rng.pick(METHODS);
      break;
    default: {
      // Header names in other cases (HTTP headers are case-insensitive).
      const renamed: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) renamed[rng.chance(0.5) ? k.toUpperCase() : k] = v;
      req.headers = renamed;
    }
  }
  req.notes.push(`headers ${req.method} ${req.path}`);
}

function generate(rng: Rng): FuzzRequest {
  if (rng.chance(0.05)) {
    // Entirely random: bytes or a random JSON value, random route and headers.
    const bytes = Uint8Array.from({ length: rng.int(200) }, () => rng.int(256));
    const body = rng.chance(0.5) ? bytes : JSON.stringify(randomValue(rng));
    const req: FuzzRequest = { method: rng.pick(METHODS), path: rng.pick(PATHS), headers: {}, body, notes: ['random'] };
    if (rng.chance(0.7)) req.headers['content-type'] = rng.pick(CONTENT_TYPES);
    if (rng.chance(0.7)) req.headers.authorization = `Bearer ${rng.pick([...badTokens, ...seeds.map((s) => s.token)])}`;
    return req;
  }
  const seed = rng.pick(seeds);
  const req: FuzzRequest = {
    method: 'POST',
    path: `/v1/${seed.kind}s/announce`,
    headers: { authorization: `Bearer ${seed.token}`, 'content-type': 'application/json' },
    body: '',
    notes: [seed.label],
  };
  let value = structuredClone(seed.body);
  // A few requests stay valid: they must publish, or be idempotent (200 unchanged). They are
  // kept rare because an unchanged announce re-derives the package's files, the slowest path.
  if (rng.chance(0.02)) {
    req.notes.push('pristine');
    req.body = JSON.stringify(value);
    return req;
  }
  const valueMutations = 1 + rng.int(3);
  for (let k = 0; k < valueMutations; k++) value = rng.pick(VALUE_MUTATIONS)(rng, value, req.notes);
  let raw = JSON.stringify(value);
  if (rng.chance(0.3)) raw = rng.pick(RAW_MUTATIONS)(rng, raw, req.notes);
  if (rng.chance(0.3)) mutateHeaders(rng, req, seed);
  req.body = raw;
  return req;
}

// ---- Checking -----------------------------------------------------------------------------

/** What is wrong with an answer, or null. */
function judge(req: FuzzRequest, res: Outcome, writes: number): string | null {
  const accepted = res.status === 200 || res.status === 201;
  if (!accepted && writes > 0) return `refused with ${res.status} after ${writes} write(s)`;
  if (res.status === 204) return req.method.toUpperCase() === 'OPTIONS' ? null : `204 for ${req.method}`;
  let json: any;
  try {
    json = JSON.parse(res.body);
  } catch {
    return `status ${res.status} with a body that is not JSON: ${res.body.slice(0, 80)}`;
  }
  if (accepted) {
    const parsed = AnnounceResponseSchema.safeParse(json);
    if (!parsed.success) return `2xx with a body that is not an announce response: ${res.body.slice(0, 200)}`;
    const r = parsed.data;
    if ((r.status === 'created') !== (res.status === 201)) return `${res.status} with status ${r.status}`;
    const tuple = `${r.package} ${r.artifact.sha256} ${r.artifact.size}`;
    if (!released.has(tuple)) return `accepted bytes its repository never released: ${tuple}`;
    return null;
  }
  return errorProblem(res, json);
}

async function viaHandler(req: FuzzRequest, i: number): Promise<Outcome> {
  const binary = typeof req.body !== 'string';
  const result = await handler({
    version: '2.0',
    rawPath: req.path,
    headers: req.headers,
    body: binary ? Buffer.from(req.body).toString('base64') : (req.body as string),
    isBase64Encoded: binary,
    requestContext: { http: { method: req.method }, requestId: `fuzz-${i}` },
  });
  return { status: result.statusCode, body: result.body };
}

async function viaHttp(req: FuzzRequest): Promise<Outcome> {
  const method = req.method.toUpperCase();
  const res = await fetch(`${reg.url}${req.path}`, {
    method,
    headers: req.headers,
    ...(method === 'GET' || method === 'HEAD' ? {} : { body: req.body as BodyInit }),
  });
  return { status: res.status, body: await res.text() };
}

/** HTTP can only carry printable header values; other requests go to the handler. */
const httpable = (req: FuzzRequest) => Object.values(req.headers).every((v) => /^[\x20-\x7e]*$/.test(v)) && /^[\x21-\x7e]+$/.test(req.path);

const snapshot = async () => (await reg.store.list('')).map((o) => `${o.key} ${o.etag}`);

describe('announce fuzzing', () => {
  it(`answers ${RUNS} random and mutated announces correctly, writing only for accepted ones (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const rng = createRng(SEED);
    const failures: string[] = [];
    const codes = new Map<string, number>();
    let acceptedSinceSnapshot = false;
    let previous = await snapshot();
    let overHttp = 0;

    for (let i = 0; i < RUNS && failures.length < 10; i++) {
      const req = generate(rng);
      const http = i % HTTP_EVERY === 0 && httpable(req);
      let res: Outcome;
      let writes = 0;
      try {
        if (http) {
          overHttp++;
          const before = await snapshot();
          res = await viaHttp(req);
          // The HTTP server has its own store handle: compare the bucket instead of counting.
          if (res.status !== 200 && res.status !== 201 && JSON.stringify(await snapshot()) !== JSON.stringify(before)) writes = 1;
        } else {
          const w = store.writes;
          res = await viaHandler(req, i);
          writes = store.writes - w;
        }
      } catch (err) {
        failures.push(`#${i} [${req.notes.join('; ')}] threw: ${String(err)}`);
        continue;
      }
      const problem = judge(req, res, writes);
      if (problem) failures.push(`#${i}${http ? ' (http)' : ''} [${req.notes.join('; ')}] ${problem}`);
      const key = res.status < 300 ? String(res.status) : (JSON.parse(res.body)?.error?.code ?? String(res.status));
      codes.set(key, (codes.get(key) ?? 0) + 1);
      if (res.status === 200 || res.status === 201) acceptedSinceSnapshot = true;

      if ((i + 1) % SNAPSHOT_EVERY === 0) {
        const now = await snapshot();
        if (!acceptedSinceSnapshot && JSON.stringify(now) !== JSON.stringify(previous)) {
          failures.push(`the bucket changed between #${i + 1 - SNAPSHOT_EVERY} and #${i} with nothing accepted`);
        }
        previous = now;
        acceptedSinceSnapshot = false;
      }
    }

    if (process.env.SHELF_FUZZ_DEBUG) console.log(JSON.stringify(Object.fromEntries(codes)));
    expect(failures, `seed ${SEED}; reproduce with SHELF_FUZZ_SEED=${SEED}`).toEqual([]);
    // The run reached every layer: tokens, bodies, names, scopes, pins, metadata, assets, success.
    const seen = [...codes.keys()];
    for (const code of ['invalid_token', 'token_expired', 'untrusted_event', 'missing_token', 'unsupported_media_type', 'invalid_json', 'duplicate_key',
      'invalid_body', 'invalid_name', 'invalid_version', 'scope_mismatch', 'scope_owner_mismatch', 'package_repository_mismatch',
      'manifest_mismatch', 'token_replayed', 'asset_not_found', 'asset_size_mismatch', 'route_not_found', 'method_not_allowed', '200', '201']) {
      expect(seen, `never saw ${code}: ${JSON.stringify(Object.fromEntries(codes))}`).toContain(code);
    }
    expect(overHttp).toBeGreaterThan(RUNS / HTTP_EVERY / 2);
  });

  it('leaves a registry the consistency check finds clean, with every recorded artifact intact', async () => {
    const report = await check(reg.store);
    expect(report.issues).toEqual([]);
    expect(report.clean).toBe(true);
    const versionDocs = (await reg.store.list('v1/')).filter((o) => /\/versions\/[^/]+\.json$/.test(o.key));
    expect(versionDocs.length).toBeGreaterThanOrEqual(4);
    for (const { key } of versionDocs) {
      const doc = VersionDocumentSchema.parse(JSON.parse(new TextDecoder().decode((await reg.store.get(key))!.body)));
      for (const artifact of doc.artifacts) {
        const stored = await reg.store.get(artifact.path);
        expect(stored, artifact.path).not.toBeNull();
        expect(createHash('sha256').update(stored!.body).digest('hex')).toBe(artifact.sha256);
        expect(released.has(`${doc.name} ${artifact.sha256} ${artifact.size}`)).toBe(true);
      }
    }
  });
});
