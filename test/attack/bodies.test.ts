/**
 * Hostile names, versions and bodies, over real HTTP with a valid token: each is refused with
 * 400/413 and a stable code, and the bucket is unchanged. Names that only differ by case are
 * accepted and stored lower-cased.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES, MAX_JSON_DEPTH, MAX_JSON_STRING_LENGTH } from '../../src/announce/handler.ts';
import { announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { bearer, expectRefused, setPath } from './helpers.ts';

let reg: TestRegistry;
let v: PreparedArtifact; // @acme/echo 1.2.1, uploaded, not yet announced
let skill: PreparedArtifact;
let token: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  const first = await prepareBundle(reg, {});
  expect((await announcePrepared(reg, first)).status).toBe(201);
  v = await prepareBundle(reg, { version: '1.2.1' });
  skill = await prepareSkill(reg, { version: '0.9.0' });
  token = await reg.github.mint(claimsFor(v.repository));
});
afterAll(() => reg.close());

const postRaw = (raw: string, headers: Record<string, string> = bearer(token), path = '/v1/bundles/announce') => reg.post(path, raw, headers);
const post = (body: unknown) => postRaw(JSON.stringify(body));

describe('package names', () => {
  it('accepts an upper-case name and stores it lower-cased', async () => {
    const up = await prepareBundle(reg, { version: '1.5.0' });
    const res = await reg.announce('bundle', { ...up.body, name: '@ACME/Echo' }, claimsFor(up.repository));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.package).toBe('@acme/echo');
    const keys = (await reg.store.list('')).map((o) => o.key);
    expect(keys).toContain('v1/bundles/@acme/echo/versions/1.5.0.json');
    expect(keys.filter((k) => /[A-Z]/.test(k))).toEqual([]);
  });

  it('accepts a token owner that differs from the scope only by case', async () => {
    const up = await prepareBundle(reg, { version: '1.5.1' });
    // GitHub's API is case-insensitive about repositories; the fake is not, so the release is there too.
    reg.github.addAsset('AcMe/echo-mcp', up.tag, up.filename, { bytes: up.bytes });
    const res = await reg.announce('bundle', up.body, { ...claimsFor(up.repository), repository_owner: 'AcMe', repository: 'AcMe/echo-mcp' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.package).toBe('@acme/echo');
  });

  it.each([
    ['Cyrillic a in the scope', '@\u0430cme/echo'],
    ['Cyrillic o in the name', '@acme/ech\u043e'],
    ['KELVIN SIGN, which lower-cases to an ASCII k', '@acme/\u212Aey'],
    ['fullwidth letters', '@\uff41cme/echo'],
    ['a fullwidth commercial at', '\uff20acme/echo'],
    ['a zero-width space', '@ac\u200bme/echo'],
    ['a combining accent', '@acme/e\u0301cho'],
    ['dotted capital I', '@acme/\u0130cho'],
    ['a dot-dot name', '@acme/..'],
    ['a dot-dot scope', '@../echo'],
    ['a traversal', '@acme/../echo'],
    ['a slash in the name', '@acme/echo/x'],
    ['a backslash', '@acme\\echo'],
    ['no @', 'acme/echo'],
    ['a percent-encoded dot', '@acme/%2e%2e'],
    ['a percent-encoded slash', '@acme%2fecho'],
    ['a leading dash in the scope', '@-acme/echo'],
    ['a trailing dash in the scope', '@acme-/echo'],
    ['a leading dash in the name', '@acme/-echo'],
    ['a trailing dash in the name', '@acme/echo-'],
    ['an overlong scope', `@${'a'.repeat(40)}/echo`],
    ['an overlong name', `@acme/${'e'.repeat(215)}`],
    ['an empty name', ''],
    ['an empty scope', '@/echo'],
    ['an empty package', '@acme/'],
    ['a NUL byte', '@acme/echo\u0000'],
    ['a newline', '@acme/echo\n'],
    ['a space', '@acme/ echo'],
  ])('refuses a name with %s', async (_, name) => {
    await expectRefused(reg, () => post({ ...v.body, name }), 400, 'invalid_name');
  });

  it('refuses a scope that differs from the token owner by a look-alike (KELVIN SIGN for k)', async () => {
    const kube = await prepareBundle(reg, { name: '@kube/echo', version: '1.0.0' });
    const kubeClaims = claimsFor(kube.repository);
    await expectRefused(reg, () => reg.announce('bundle', { ...kube.body, name: '@\u212Aube/echo' }, kubeClaims), 400, 'invalid_name');
    // Control: the ASCII spelling of the same announce publishes.
    expect((await reg.announce('bundle', kube.body, kubeClaims)).status).toBe(201);
  });
});

describe('versions', () => {
  it.each([
    ['not semver', '1.2'],
    ['a word', 'latest'],
    ['a leading v', 'v1.2.1'],
    ['build metadata', '1.2.1+build.5'],
    ['build metadata on a prerelease', '1.2.1-rc.1+sha.abc'],
    ['a leading zero', '01.2.1'],
    ['whitespace', ' 1.2.1'],
    ['overlong', `1.2.1-${'a'.repeat(200)}`],
    ['empty', ''],
    ['a path', '1.2.1/../../x'],
  ])('refuses a version with %s', async (_, version) => {
    await expectRefused(reg, () => post({ ...v.body, version }), 400, 'invalid_version');
  });
});

describe('bodies', () => {
  it.each(['{"name":', '', 'nul', "{'name':'x'}", '{"a":1,}', '\ufeff{}', '{"a":1} trailing'])('refuses %j as not JSON', async (raw) => {
    await expectRefused(reg, () => postRaw(raw), 400, 'invalid_json');
  });

  it('refuses control characters and non-characters as not JSON', async () => {
    await expectRefused(reg, () => reg.post('/v1/bundles/announce', '\u0000\u00ff\ufffe' as string, bearer(token)), 400, 'invalid_json');
  });

  it.each([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json-patch+json', 'application/jsonx', 'text/json'])(
    'refuses Content-Type %j',
    async (type) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (type !== undefined) headers['content-type'] = type;
      await expectRefused(reg, () => postRaw(JSON.stringify(v.body), headers), 400, 'unsupported_media_type');
    },
  );

  it('accepts Content-Type with a charset parameter and any case (control)', async () => {
    const s = await prepareBundle(reg, { version: '1.5.2' });
    const t = await reg.github.mint(claimsFor(s.repository));
    const res = await postRaw(JSON.stringify(s.body), { authorization: `Bearer ${t}`, 'content-type': 'Application/JSON; charset=utf-8' });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  });

  it.each([MAX_JSON_DEPTH + 1, 5000, 200_000])('refuses JSON nested %i deep', async (depth) => {
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const raw = JSON.stringify({ ...v.body, manifest: { ...v.body.manifest, deep: '__DEEP__' } }).replace('"__DEEP__"', nested);
    const res = await expectRefused(reg, () => postRaw(raw), 400, 'invalid_body');
    expect(res.json.error.message).toContain('nested');
  });

  it('refuses a huge string inside the body limit', async () => {
    const manifest = { ...v.body.manifest, long_description: 'x'.repeat(MAX_JSON_STRING_LENGTH + 1) };
    const res = await expectRefused(reg, () => post({ ...v.body, manifest }), 400, 'invalid_body');
    expect(res.json.error.message).toContain('string');
  });

  it('refuses a huge key inside the body limit', async () => {
    const manifest = { ...v.body.manifest, ['k'.repeat(MAX_JSON_STRING_LENGTH + 1)]: 1 };
    await expectRefused(reg, () => post({ ...v.body, manifest }), 400, 'invalid_body');
  });

  it('refuses a body over the limit (413)', async () => {
    const raw = JSON.stringify({ ...v.body, pad: Array.from({ length: 40 }, () => 'y'.repeat(MAX_BODY_BYTES / 32)) });
    expect(raw.length).toBeGreaterThan(MAX_BODY_BYTES);
    await expectRefused(reg, () => postRaw(raw), 413, 'body_too_large');
  });

  it.each([
    ['at the top level', (raw: string) => raw.replace('{"name":"@acme/echo",', '{"name":"@acme/echo","name":"@acme/echo",')],
    ['with different values', (raw: string) => raw.replace('{"name":"@acme/echo",', '{"name":"@acme/other","name":"@acme/echo",')],
    ['inside the artifact', (raw: string) => raw.replace('"artifact":{', `"artifact":{"sha256":"${'0'.repeat(64)}",`)],
    ['inside the manifest', (raw: string) => raw.replace('"manifest":{', '"manifest":{"version":"9.9.9",')],
    ['spelled with an escape', (raw: string) => raw.replace('{"name":"@acme/echo",', '{"n\\u0061me":"@acme/other","name":"@acme/echo",')],
    ['separated by whitespace', (raw: string) => raw.replace('{"name":"@acme/echo",', '{"name" : "@acme/other" ,\n "name"\t:"@acme/echo",')],
  ])('refuses duplicate keys %s', async (_, mutate) => {
    const raw = mutate(JSON.stringify(v.body));
    expect(raw).not.toBe(JSON.stringify(v.body));
    const res = await expectRefused(reg, () => postRaw(raw), 400, 'duplicate_key');
    expect(res.json.error.message).toContain('twice');
  });

  it('does not mistake equal keys in different objects, or key-like strings, for duplicates (control)', async () => {
    const s = await prepareBundle(reg, { version: '1.5.3' });
    const t = await reg.github.mint(claimsFor(s.repository));
    // "name" is a key of the body, the manifest, its author and each of its tools; string values look like keys too.
    expect(s.body.manifest.tools.length).toBeGreaterThan(1);
    const manifest = { ...s.body.manifest, keywords: ['"name":', 'name', '{"name":"x","name":"y"}'] };
    const res = await postRaw(JSON.stringify({ ...s.body, manifest }), bearer(t));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  });

  it.each([
    ['__proto__ at the top level', (raw: string) => raw.replace('{"name"', '{"__proto__":{"polluted":true},"name"')],
    ['__proto__ in the manifest', (raw: string) => raw.replace('"manifest":{', '"manifest":{"__proto__":{"polluted":true},')],
    ['__proto__ spelled with escapes', (raw: string) => raw.replace('"manifest":{', '"manifest":{"\\u005f\\u005fproto\\u005f\\u005f":{"polluted":true},')],
    ['constructor', (raw: string) => raw.replace('"manifest":{', '"manifest":{"constructor":{"prototype":{"polluted":true}},')],
    ['prototype in the artifact', (raw: string) => raw.replace('"artifact":{', '"artifact":{"prototype":{"polluted":true},')],
    ['__proto__ deep in an array', (raw: string) => raw.replace('"manifest":{', '"manifest":{"x":[[{"__proto__":{"polluted":true}}]],')],
  ])('refuses prototype-pollution keys: %s', async (_, mutate) => {
    await expectRefused(reg, () => postRaw(mutate(JSON.stringify(v.body))), 400, 'invalid_body');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/** Wrong values for every field of a bundle announce; each is refused with the code given. */
const BUNDLE_FIELDS: Array<[path: string, values: unknown[], code: string]> = [
  ['', [null, [], 'announce', 42, true], 'invalid_body'],
  ['name', [undefined, null, 42, true, [], {}, ['@acme/echo']], 'invalid_body'],
  ['version', [undefined, null, 121, true, [], { major: 1 }], 'invalid_body'],
  ['manifest', [undefined, null, 'manifest', 42, [], [{}]], 'invalid_body'],
  ['release_tag', [undefined, null, 1, '', 'a b', '../v1', 'v1/../../x', '/v1', 'v1/', 'v1\u0000', 'v1~1', 'v1^', 'v1:x', 'v1?', 'v1*', 'v1[', 'v1\\x', 't'.repeat(256)], 'invalid_body'],
  ['prerelease', [null, 'false', 0, 1, [], {}], 'invalid_body'],
  ['artifact', [undefined, null, [], 'echo.mcpb', 1], 'invalid_body'],
  ['artifact.filename', [undefined, null, 1, '', 'a/echo.mcpb', '../echo.mcpb', 'a\\echo.mcpb', '..mcpb', 'echo..mcpb', '/echo.mcpb', 'echo.zip', 'echo.mcpb\u0000', 'ech o.mcpb', `${'e'.repeat(251)}.mcpb`], 'invalid_body'],
  ['artifact.os', [undefined, null, 'freebsd', 'Linux', 1, ['linux']], 'invalid_body'],
  ['artifact.arch', [undefined, null, 'mips', 'X64', 64], 'invalid_body'],
  ['artifact.sha256', [undefined, null, 1, '', 'g'.repeat(64), 'a'.repeat(63), 'a'.repeat(65), ` ${'a'.repeat(63)}`, `0x${'a'.repeat(62)}`], 'invalid_body'],
  ['artifact.size', [undefined, null, 0, -1, -0.5, 1.5, '123', Number.MAX_SAFE_INTEGER + 2, 1e300, [], true], 'invalid_body'],
];

const SKILL_FIELDS: Array<[path: string, values: unknown[], code: string]> = [
  ['skill', [undefined, null, 'SKILL.md', [], 3], 'invalid_body'],
  ['artifact.filename', ['release-notes.mcpb', 'a/release-notes.skill', '../release-notes.skill'], 'invalid_body'],
  ['artifact.sha256', ['z'.repeat(64)], 'invalid_body'],
  ['artifact.size', [0, -5], 'invalid_body'],
];

describe('wrong types and values for every field', () => {
  const bundleCases = BUNDLE_FIELDS.flatMap(([path, values, code]) => values.map((value) => [path || '(body)', path, value, code] as const));
  it.each(bundleCases)('bundle %s = %j is refused', async (_, path, value, code) => {
    await expectRefused(reg, () => post(setPath(v.body, path, value)), 400, code);
  });

  const skillCases = SKILL_FIELDS.flatMap(([path, values, code]) => values.map((value) => [path, value, code] as const));
  it.each(skillCases)('skill %s = %j is refused', async (path, value, code) => {
    const t = await reg.github.mint(claimsFor(skill.repository));
    await expectRefused(reg, () => postRaw(JSON.stringify(setPath(skill.body, path, value)), bearer(t), '/v1/skills/announce'), 400, code);
  });

  it('refuses a bundle body on the skill route and the reverse', async () => {
    await expectRefused(reg, () => postRaw(JSON.stringify(v.body), bearer(token), '/v1/skills/announce'), 400, 'invalid_body');
    const t = await reg.github.mint(claimsFor(skill.repository));
    await expectRefused(reg, () => postRaw(JSON.stringify(skill.body), bearer(t), '/v1/bundles/announce'), 400, 'invalid_body');
  });

  it('refuses a size beyond the largest artifact with 413 before downloading anything', async () => {
    const seen = reg.github.requests.length;
    const res = await expectRefused(reg, () => post(setPath(v.body, 'artifact.size', 2 ** 40)), 413, 'asset_too_large');
    expect(res.json.error.message).toContain(String(2 ** 40));
    expect(reg.github.requests.slice(seen).filter((r) => !r.includes('jwks'))).toEqual([]);
  });

  it('accepts an upper-case sha256 and records it lower-cased (control)', async () => {
    const s = await prepareBundle(reg, { version: '1.5.4' });
    const res = await reg.announce('bundle', setPath(s.body, 'artifact.sha256', s.sha256.toUpperCase()), claimsFor(s.repository));
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.json.artifact.sha256).toBe(s.sha256);
  });
});
