/**
 * Hostile status changes (`POST /v1/{bundles,skills}/status`) over real HTTP: every one refused
 * with its stable code and the bucket byte-for-byte unchanged. The body is parsed by the same
 * front door as an announce (JSON, media type, size, depth, duplicate and prototype keys); the
 * message is plain text of bounded length; a publisher cannot claim an operator's status; a
 * token is verified and pinned exactly as for an announce, and spent on one write only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/announce/handler.ts';
import { MAX_STATUS_MESSAGE_LENGTH } from '../../src/core/schemas.ts';
import { announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { bearer, expectRefused } from './helpers.ts';

const OWNER = claimsFor('acme/echo-mcp');
const VALID = { name: '@acme/echo', version: '1.0.0', status: 'deprecated', message: 'Use 2.x.' };

let reg: TestRegistry;

beforeAll(async () => {
  reg = await startTestRegistry();
  expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.0.0' }))).status).toBe(201);
  expect((await announcePrepared(reg, await prepareSkill(reg))).status).toBe(201);
}, 60_000);
afterAll(() => reg?.close());

const postRaw = async (raw: string, headers?: Record<string, string>, path = '/v1/bundles/status') =>
  reg.post(path, raw, headers ?? bearer(await reg.github.mint(OWNER)));
const post = (body: unknown, path?: string) => postRaw(JSON.stringify(body), undefined, path);

describe('bodies', () => {
  it.each(['', '{"name":', "{'name':'x'}", '[]', 'null', '"yanked"'])('refuses %j', async (raw) => {
    const res = await reg.post('/v1/bundles/status', raw, bearer(await reg.github.mint(OWNER)));
    expect([400]).toContain(res.status);
    expect(['invalid_json', 'invalid_body']).toContain(res.json.error.code);
    await expectRefused(reg, () => postRaw(raw), 400, res.json.error.code);
  });

  it('refuses another media type, a body over the limit, duplicate keys and prototype keys', async () => {
    const token = await reg.github.mint(OWNER);
    await expectRefused(reg, () => postRaw(JSON.stringify(VALID), { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }), 400, 'unsupported_media_type');
    await expectRefused(reg, () => post({ ...VALID, pad: 'x'.repeat(MAX_BODY_BYTES) }), 413, 'body_too_large');
    await expectRefused(reg, () => postRaw(JSON.stringify(VALID).replace('{"name":"@acme/echo",', '{"name":"@globex/echo","name":"@acme/echo",')), 400, 'duplicate_key');
    await expectRefused(reg, () => postRaw(JSON.stringify(VALID).replace('{', '{"__proto__":{"status":"active"},')), 400, 'invalid_body');
  });

  it.each([
    ['a status only the operator sets', { ...VALID, status: 'removed' }],
    ['a status the MCP registry has but Shelf does not take', { ...VALID, status: 'deleted' }],
    ['a status in another case', { ...VALID, status: 'YANKED' }],
    ['a message one character too long', { ...VALID, message: 'x'.repeat(MAX_STATUS_MESSAGE_LENGTH + 1) }],
    ['an empty message', { ...VALID, message: '' }],
    ['a message with a control character', { ...VALID, message: 'fine\u001b[31mred' }],
    ['a message with a bidirectional override', { ...VALID, message: 'safe \u202egnp.exe' }],
    ['a message that is not a string', { ...VALID, message: { html: '<b>x</b>' } }],
    ['a yank of the whole package', { name: '@acme/echo', status: 'yanked' }],
    ['a version that is a range', { ...VALID, version: '^1.0.0' }],
    ['a version that is a number', { ...VALID, version: 1 }],
    ['a name without a scope', { ...VALID, name: 'echo' }],
    ['a name with a look-alike letter', { ...VALID, name: '@\u0430cme/echo' }],
  ])('refuses %s (400)', async (_label, body) => {
    const res = await post(body);
    expect(res.status, JSON.stringify(res.json)).toBe(400);
    await expectRefused(reg, () => post(body), 400, res.json.error.code);
    expect(['invalid_body', 'invalid_name', 'invalid_version']).toContain(res.json.error.code);
  });

  it('accepts a message of exactly the maximum length, with non-ASCII text (control)', async () => {
    const message = `${'é'.repeat(MAX_STATUS_MESSAGE_LENGTH - 2)}✓!`;
    const res = await post({ ...VALID, message });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toMatchObject({ status: 'deprecated', message, changed: true });
  });
});

describe('routes and tokens', () => {
  it('refuses PUT, another route, and the bundle endpoint for a skill', async () => {
    const token = await reg.github.mint(OWNER);
    const put = await fetch(`${reg.url}/v1/bundles/status`, { method: 'PUT', headers: bearer(token), body: JSON.stringify(VALID) });
    expect(put.status).toBe(405);
    await expectRefused(reg, () => post(VALID, '/v1/bundles/status/extra'), 404, 'route_not_found');
    const skill = await reg.github.mint(claimsFor('acme/skills'));
    await expectRefused(reg, () => postRaw(JSON.stringify({ name: '@acme/release-notes', version: '1.0.0', status: 'yanked' }), bearer(skill), '/v1/bundles/status'), 404, 'not_found');
  });

  it('refuses a token for another audience, a forged signature, and a token of a workflow run by a pull request', async () => {
    const body = JSON.stringify(VALID);
    await expectRefused(reg, async () => postRaw(body, bearer(await reg.github.mint(OWNER, { audience: 'https://mpak.dev' }))), 401, 'invalid_token');
    await expectRefused(reg, async () => postRaw(body, bearer(await reg.github.mint(OWNER, { foreignKey: true }))), 401, 'invalid_token');
    await expectRefused(reg, async () => postRaw(body, bearer(await reg.github.mint({ ...OWNER, event_name: 'pull_request_target' }))), 401, 'untrusted_event');
  });

  it('refuses a token of an owner that has no package of that name, before saying whether it exists', async () => {
    await expectRefused(reg, async () => postRaw(JSON.stringify({ ...VALID, name: '@acme/secret' }), bearer(await reg.github.mint(claimsFor('globex/x')))), 403, 'scope_mismatch');
  });

  it('spends a token on one write: the same token cannot then yank another version or deprecate the package', async () => {
    const token = await reg.github.mint(OWNER);
    const first = await postRaw(JSON.stringify({ ...VALID, message: 'First.' }), bearer(token));
    expect(first.status).toBe(200);
    await expectRefused(reg, () => postRaw(JSON.stringify({ name: '@acme/echo', status: 'deprecated', message: 'Second.' }), bearer(token)), 401, 'token_replayed');
  });
});
