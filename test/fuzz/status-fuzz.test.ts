/**
 * Fuzzes the status endpoint with 1,000 requests, random and mutated from valid status changes,
 * from a fixed seed (`SHELF_FUZZ_SEED`, `SHELF_FUZZ_STATUS_RUNS`), straight to the Lambda handler
 * with the production wiring over a store that counts writes. For each request it asserts:
 * - the answer is well-formed: a 200 status response, or an error whose code is in the table
 *   with that status; no 5xx except the documented 503s;
 * - a refused request made no write at all;
 * - an accepted request came with a token of the repository the package is pinned to, named a
 *   package (and version) that exists, and the package document then shows what it asked for.
 * Afterwards the registry's consistency check must find nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FunctionUrlEvent, FunctionUrlResult } from '../../src/announce/handler.ts';
import { parsePackageName } from '../../src/core/names.ts';
import { packageKey } from '../../src/core/paths.ts';
import { PackageDocumentSchema, StatusResponseSchema } from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { readJson } from '../../src/store/json-documents.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { Claims } from '../fakes/fake-github.ts';
import { announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { CountingStore, errorProblem, productionHandler } from './helpers.ts';
import { createRng, type Rng } from './prng.ts';

const SEED = Number(process.env.SHELF_FUZZ_SEED ?? 0x5eed);
const RUNS = Number(process.env.SHELF_FUZZ_STATUS_RUNS ?? 1_000);

let reg: TestRegistry;
let store: CountingStore;
let handler: (event: FunctionUrlEvent) => Promise<FunctionUrlResult>;

/** Package → the repository it is pinned to, and its versions. */
const PACKAGES: Record<string, { kind: 'bundle' | 'skill'; repository: string; versions: string[] }> = {
  '@acme/echo': { kind: 'bundle', repository: 'acme/echo-mcp', versions: ['1.0.0', '1.1.0'] },
  '@acme/release-notes': { kind: 'skill', repository: 'acme/skills', versions: ['1.0.0'] },
};

beforeAll(async () => {
  reg = await startTestRegistry({ store: new MemoryStore() });
  store = new CountingStore(reg.store);
  handler = productionHandler(reg, store);
  for (const version of PACKAGES['@acme/echo']!.versions) expect((await announcePrepared(reg, await prepareBundle(reg, { version }))).status).toBe(201);
  expect((await announcePrepared(reg, await prepareSkill(reg))).status).toBe(201);
}, 60_000);
afterAll(() => reg?.close());

// ---- Generation ---------------------------------------------------------------------------

const NAMES = ['@acme/echo', '@acme/release-notes', '@ACME/Echo', '@acme/other', '@globex/echo', 'acme/echo', '@acme/echo/x', '', '@\u0430cme/echo', '__proto__'];
const VERSIONS = [undefined, null, '1.0.0', '1.1.0', '9.9.9', '1.0', '^1', 'v1.0.0', '1.0.0+build', 1, true, '', '1.0.0-rc.1'];
const STATUSES = ['active', 'deprecated', 'yanked', 'removed', 'deleted', 'Yanked', '', null, 3];
const MESSAGES = [undefined, 'Use 1.1.0.', 'Moved to @acme/echo-v2.', '', 'x'.repeat(500), 'x'.repeat(501), 'tab\tand\nnewline', 'esc\u001b[0m', 'bidi \u202e', 'ok ✓ é', 42, null];
const REPOSITORIES: Array<[string, Partial<Record<'owner_id' | 'repository_id', string>>]> = [
  ['acme/echo-mcp', {}],
  ['acme/skills', {}],
  ['acme/other-mcp', {}],
  ['globex/echo-mcp', {}],
  ['acme/echo-mcp', { owner_id: '1' }],
  ['acme/echo-mcp', { repository_id: '2' }],
];
const PATHS = ['/v1/bundles/status', '/v1/skills/status', '/v1/bundles/status/', '/v1/BUNDLES/status', '/v1/bundles/announce', '/v1/status'];

interface Generated {
  path: string;
  headers: Record<string, string>;
  body: string;
  claims: Claims | null;
  value: Record<string, unknown> | null;
}

async function generate(rng: Rng): Promise<Generated> {
  const value: Record<string, unknown> = {};
  const set = (key: string, options: readonly unknown[]) => {
    const v = rng.pick(options);
    if (v !== undefined) value[key] = v;
  };
  // Mostly plausible requests, with one field at a time from the hostile lists.
  const name = rng.chance(0.8) ? rng.pick(['@acme/echo', '@acme/echo', '@acme/release-notes']) : rng.pick(NAMES);
  value.name = name;
  const known = Object.hasOwn(PACKAGES, name) ? PACKAGES[name] : undefined;
  if (rng.chance(0.7) && known) value.version = rng.pick(known.versions);
  else set('version', VERSIONS);
  if (rng.chance(0.8)) value.status = rng.pick(['active', 'deprecated', 'yanked']);
  else set('status', STATUSES);
  if (rng.chance(0.6)) set('message', MESSAGES.slice(0, 3));
  else set('message', MESSAGES);
  if (rng.chance(0.05)) value[rng.pick(['__proto__', 'constructor', 'extra'])] = { status: 'active' };

  const [repository, ids] = rng.chance(0.7) && known ? [known.repository, {}] : rng.pick(REPOSITORIES);
  const claims = rng.chance(0.95) ? claimsFor(repository, ids) : null;
  const token = claims ? await reg.github.mint(claims, rng.chance(0.05) ? { expiresIn: -600 } : { expiresIn: 3600 }) : 'not.a.token';
  const path = rng.chance(0.85) ? (known?.kind === 'skill' ? '/v1/skills/status' : '/v1/bundles/status') : rng.pick(PATHS);
  let body = JSON.stringify(value);
  if (rng.chance(0.05)) body = body.slice(0, rng.int(body.length));
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': rng.chance(0.95) ? 'application/json' : 'text/plain' };
  return { path, headers, body, claims, value };
}

// ---- Checking -----------------------------------------------------------------------------

/** What is wrong with an answer, or null. */
async function judge(req: Generated, res: { status: number; body: string }, writes: number): Promise<string | null> {
  if (res.status !== 200 && writes > 0) return `refused with ${res.status} after ${writes} write(s)`;
  let json: any;
  try {
    json = JSON.parse(res.body);
  } catch {
    return `status ${res.status} with a body that is not JSON`;
  }
  if (res.status !== 200) return errorProblem(res, json);
  const parsed = StatusResponseSchema.safeParse(json);
  if (!parsed.success) return `200 with a body that is not a status response: ${res.body.slice(0, 200)}`;
  const r = parsed.data;
  const known = Object.hasOwn(PACKAGES, r.package) ? PACKAGES[r.package] : undefined;
  if (!known) return `accepted a status for an unknown package ${r.package}`;
  if (req.claims?.repository !== known.repository || req.claims.repository_id !== claimsFor(known.repository).repository_id) {
    return `accepted a status for ${r.package} from ${req.claims?.repository} (${req.claims?.repository_id})`;
  }
  if (r.version !== undefined && !known.versions.includes(r.version)) return `accepted a status for the unknown version ${r.package}@${r.version}`;
  const doc = (await readJson(reg.store, packageKey(known.kind, parsePackageName(r.package)), PackageDocumentSchema))!.value;
  const shown = r.version === undefined ? doc : doc.versions.find((v) => v.version === r.version)!;
  if (shown.status !== r.status) return `answered ${r.status} for ${r.package}@${r.version ?? '*'}, the package document says ${shown.status}`;
  if (r.status !== 'active' && shown.status_message !== r.message) return `message ${JSON.stringify(r.message)} shown as ${JSON.stringify(shown.status_message)}`;
  return null;
}

describe('status fuzzing', () => {
  it(`answers ${RUNS} random and mutated status changes correctly, writing only for accepted ones (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const rng = createRng(SEED);
    const failures: string[] = [];
    const codes = new Map<string, number>();
    for (let i = 0; i < RUNS && failures.length < 10; i++) {
      const req = await generate(rng);
      const writesBefore = store.writes;
      const result = await handler({
        version: '2.0',
        rawPath: req.path,
        headers: req.headers,
        body: req.body,
        isBase64Encoded: false,
        requestContext: { http: { method: 'POST' }, requestId: `status-fuzz-${i}` },
      });
      const res = { status: result.statusCode, body: result.body };
      const problem = await judge(req, res, store.writes - writesBefore);
      const code = res.status === 200 ? '200' : (JSON.parse(res.body)?.error?.code ?? String(res.status));
      codes.set(code, (codes.get(code) ?? 0) + 1);
      if (problem) failures.push(`#${i} ${req.path} ${req.body.slice(0, 160)}: ${problem}`);
    }
    expect(failures).toEqual([]);
    // The run exercised both outcomes and the main refusals.
    expect(codes.get('200') ?? 0).toBeGreaterThan(RUNS / 10);
    for (const code of ['invalid_body', 'scope_mismatch', 'package_repository_mismatch', 'not_found', 'token_expired']) expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    const report = await check(reg.store);
    expect(report.issues).toEqual([]);
  });
});
