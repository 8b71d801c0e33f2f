/**
 * The lifecycle (issue 24's statuses) as the read APIs of other clients show it: the official
 * `_meta` of the MCP registry API (`status`, `statusMessage`, `statusChangedAt`, `updatedAt`,
 * `isLatest`), Shelf's own `_meta`, and agent-skills discovery, after each publisher status change
 * (through the real `POST /v1/{bundles,skills}/status`) and each operator takedown and undo
 * (`takedown()`, what `shelf takedown` runs). Mapping (docs/read-apis.md, "Statuses"):
 * deprecated → deprecated with the message; yanked → deprecated, "yanked: …", never latest;
 * removed → absent (404, out of the listings, out of discovery). Every answer validates against
 * the spec's schemas, and after all of it the files are what `shelf rebuild` derives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { ServerListDocumentSchema, ServerResponseDocumentSchema } from '../../src/mcp/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { takedown } from '../../src/registry/takedown.ts';
import { announcePrepared, claimsFor, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { expectValid, getJson, publishBundle, walkList } from './helpers.ts';

const OFFICIAL = 'io.modelcontextprotocol.registry/official';
const SHELF = 'dev.shelf.registry/package';
const TOOL = claimsFor('acme/tool-mcp');
const OLD = claimsFor('acme/old-mcp');
const SKILLS = claimsFor('acme/skills');

let reg: TestRegistry;

const server = (name: string, version: string) => getJson(`${reg.url}/v0.1/servers/${encodeURIComponent(name)}/versions/${version}`);
/** A version's official `_meta`, its version and Shelf's `_meta`, after checking it is served and valid. */
const official = async (name: string, version: string) => {
  const { status, json } = await server(name, version);
  expect(status, `${name}@${version}`).toBe(200);
  expectValid('ServerResponse', json);
  return { ...json._meta[OFFICIAL], version: json.server.version, shelf: json._meta[SHELF] };
};
/** Every listed name@version of a listing, with its official status. */
const listed = async (query: string) =>
  Object.fromEntries((await walkList(reg.url, query)).servers.filter((s) => s.server.name.startsWith('io.github.acme/')).map((s) => [`${s.server.name}@${s.server.version}`, s._meta[OFFICIAL].status]));
const listedVersions = async (query: string, name: string) => Object.keys(await listed(query)).filter((k) => k.startsWith(`${name}@`));
const setStatus = async (kind: 'bundle' | 'skill', body: Record<string, string>, claims = kind === 'bundle' ? TOOL : SKILLS) => {
  const res = await reg.status(kind, body, claims);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
};
const discovery = async (path: string) => {
  const res = await fetch(`${reg.url}${path}/.well-known/agent-skills/index.json`);
  return { status: res.status, json: res.status === 200 ? await res.json() : null };
};

beforeAll(async () => {
  reg = await startTestRegistry();
  for (const v of ['1.0.0', '1.1.0', '1.2.0']) await publishBundle(reg, '@acme/tool', v);
  await publishBundle(reg, '@acme/old', '1.0.0');
  await publishBundle(reg, '@acme/gone', '1.0.0');
  for (const v of ['1.0.0', '1.1.0']) expect((await announcePrepared(reg, await prepareSkill(reg, { version: v }))).status).toBe(201);
}, 120_000);
afterAll(() => reg?.close());

describe('the MCP registry API follows the lifecycle', () => {
  it('deprecated: status deprecated with the message, statusChangedAt and updatedAt at the change, still latest', async () => {
    const before = await official('io.github.acme/tool', '1.2.0');
    expect(before).toMatchObject({ status: 'active', isLatest: true });
    expect(before.statusChangedAt).toBeUndefined();
    expect(before.shelf.lifecycle).toBeUndefined();
    await setStatus('bundle', { name: '@acme/tool', version: '1.2.0', status: 'deprecated', message: 'Use 1.3 when it ships.' });
    const after = await official('io.github.acme/tool', '1.2.0');
    expect(after).toMatchObject({ status: 'deprecated', statusMessage: 'Use 1.3 when it ships.', isLatest: true, publishedAt: before.publishedAt });
    expect(after.statusChangedAt > before.updatedAt).toBe(true);
    expect(after.updatedAt).toBe(after.statusChangedAt);
    expect(after.shelf).toMatchObject({ status: 'deprecated', status_source: 'version', status_message: 'Use 1.3 when it ships.', lifecycle: `${reg.url}/v1/bundles/@acme/tool/lifecycle.json` });
    expect(await official('io.github.acme/tool', 'latest')).toMatchObject({ version: '1.2.0', status: 'deprecated' });
    expect(await listed('limit=50&version=latest')).toMatchObject({ 'io.github.acme/tool@1.2.0': 'deprecated' });
  });

  it('yanked: deprecated with "yanked: <message>", never isLatest; latest moves to the version below, the version stays listed and served', async () => {
    await setStatus('bundle', { name: '@acme/tool', version: '1.2.0', status: 'yanked', message: 'Corrupts files.' });
    expect(await official('io.github.acme/tool', '1.2.0')).toMatchObject({ status: 'deprecated', statusMessage: 'yanked: Corrupts files.', isLatest: false, shelf: { status: 'yanked' } });
    expect(await official('io.github.acme/tool', 'latest')).toMatchObject({ version: '1.1.0', status: 'active', isLatest: true });
    const { json } = await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Ftool/versions`);
    expectValid('ServerList', json);
    expect(json.servers.map((s: any) => [s.server.version, s._meta[OFFICIAL].status, s._meta[OFFICIAL].isLatest])).toEqual([
      ['1.2.0', 'deprecated', false],
      ['1.1.0', 'active', true],
      ['1.0.0', 'active', false],
    ]);
    expect(await listedVersions('limit=50&version=latest', 'io.github.acme/tool')).toEqual(['io.github.acme/tool@1.1.0']);
    expect(await listed('limit=50')).toMatchObject({ 'io.github.acme/tool@1.2.0': 'deprecated', 'io.github.acme/tool@1.1.0': 'active' });
    // The listings' entries say yanked in Shelf's own _meta.
    const page = (await walkList(reg.url, 'limit=50')).servers.find((s) => s.server.name === 'io.github.acme/tool' && s.server.version === '1.2.0');
    expect(page._meta[SHELF].status).toBe('yanked');
  });

  it('unyanked: active and latest again, statusChangedAt at the unyank; yanked again, latest moves back down', async () => {
    const yanked = await official('io.github.acme/tool', '1.2.0');
    await setStatus('bundle', { name: '@acme/tool', version: '1.2.0', status: 'active' });
    const active = await official('io.github.acme/tool', '1.2.0');
    expect(active).toMatchObject({ status: 'active', isLatest: true, shelf: { status: 'active' } });
    expect(active.statusMessage).toBeUndefined();
    expect(active.statusChangedAt > yanked.statusChangedAt).toBe(true);
    expect(active.updatedAt).toBe(active.statusChangedAt);
    expect(await official('io.github.acme/tool', 'latest')).toMatchObject({ version: '1.2.0', status: 'active' });
    expect(await listedVersions('limit=50&version=latest', 'io.github.acme/tool')).toEqual(['io.github.acme/tool@1.2.0']);

    await setStatus('bundle', { name: '@acme/tool', version: '1.2.0', status: 'yanked' });
    expect(await official('io.github.acme/tool', '1.2.0')).toMatchObject({ status: 'deprecated', statusMessage: 'yanked', isLatest: false });
    expect(await official('io.github.acme/tool', 'latest')).toMatchObject({ version: '1.1.0' });
  });

  it('a deprecated package: every version deprecated with the package’s message; undeprecated, active again', async () => {
    await setStatus('bundle', { name: '@acme/old', status: 'deprecated', message: 'Moved to @acme/tool.' }, OLD);
    expect(await official('io.github.acme/old', '1.0.0')).toMatchObject({ status: 'deprecated', statusMessage: 'Moved to @acme/tool.', isLatest: true, shelf: { status: 'deprecated', status_source: 'package' } });
    expect(await listed('limit=50&version=latest')).toMatchObject({ 'io.github.acme/old@1.0.0': 'deprecated' });
    await setStatus('bundle', { name: '@acme/old', status: 'active' }, OLD);
    const active = await official('io.github.acme/old', '1.0.0');
    expect(active).toMatchObject({ status: 'active', isLatest: true, shelf: { status: 'active' } });
    expect(active.statusMessage).toBeUndefined();
    expect(await listed('limit=50')).toMatchObject({ 'io.github.acme/old@1.0.0': 'active' });
  });

  it('a version taken down: 404, out of both listings, purged on the CDN; with every other version yanked, the server has no latest', async () => {
    const first = await takedown(reg.store, { kind: 'bundle', pkg: parsePackageName('@acme/tool'), version: parseVersion('1.1.0'), reason: 'Malware report #12', signer: reg.server.signer });
    expect(first.cdn_paths).toEqual(expect.arrayContaining(['/v0.1/servers/io.github.acme/tool/*', '/v0.1/pages/*']));
    expect((await server('io.github.acme/tool', '1.1.0')).status).toBe(404);
    expect(await official('io.github.acme/tool', 'latest')).toMatchObject({ version: '1.0.0', isLatest: true });
    expect(await listedVersions('limit=50', 'io.github.acme/tool')).toEqual(['io.github.acme/tool@1.2.0', 'io.github.acme/tool@1.0.0']);
    await takedown(reg.store, { kind: 'bundle', pkg: parsePackageName('@acme/tool'), version: parseVersion('1.0.0'), reason: 'Malware report #13', signer: reg.server.signer });
    expect((await server('io.github.acme/tool', '1.0.0')).status).toBe(404);
    expect((await server('io.github.acme/tool', 'latest')).status).toBe(404);
    expect(await listedVersions('limit=50', 'io.github.acme/tool')).toEqual(['io.github.acme/tool@1.2.0']);
    expect(await listedVersions('limit=50&version=latest', 'io.github.acme/tool')).toEqual([]);
    // Installable still by its exact version, as Shelf keeps a yanked one.
    expect(await official('io.github.acme/tool', '1.2.0')).toMatchObject({ status: 'deprecated', isLatest: false });
  });

  it('a package taken down: no files (404 as an unknown name), in no listing; undone and announced again, served again', async () => {
    const gone = parsePackageName('@acme/gone');
    await takedown(reg.store, { kind: 'bundle', pkg: gone, version: null, reason: 'Legal notice', signer: reg.server.signer });
    const paths = ['versions', 'versions/latest', 'versions/1.0.0'];
    for (const path of paths) expect((await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Fgone/${path}`)).status, path).toBe(404);
    expect(await listedVersions('limit=50', 'io.github.acme/gone')).toEqual([]);
    // The undo lifts the block but restores no bytes: still nothing to serve until announced again.
    await takedown(reg.store, { kind: 'bundle', pkg: gone, version: null, undo: true, signer: reg.server.signer });
    expect((await getJson(`${reg.url}/v0.1/servers/io.github.acme%2Fgone/versions`)).status).toBe(404);
    await publishBundle(reg, '@acme/gone', '1.0.0');
    expect(await official('io.github.acme/gone', 'latest')).toMatchObject({ version: '1.0.0', status: 'active', isLatest: true });
    expect(await listedVersions('limit=50&version=latest', 'io.github.acme/gone')).toEqual(['io.github.acme/gone@1.0.0']);
  });
});

describe('agent-skills discovery follows the lifecycle', () => {
  const entryOf = async (path: string) => (await discovery(path)).json?.skills.find((s: any) => s.name === 'release-notes');
  const digestOf = async (path: string) => (await entryOf(path))?.digest;
  let latest: string;
  let below: string;

  it('offers the latest version, the one below once it is yanked, and again after unyank', async () => {
    latest = await digestOf('/@acme/release-notes');
    expect(latest).toMatch(/^sha256:/);
    await setStatus('skill', { name: '@acme/release-notes', version: '1.1.0', status: 'yanked', message: 'Wrong template.' });
    below = await digestOf('/@acme/release-notes');
    expect(below).toMatch(/^sha256:/);
    expect(below).not.toBe(latest);
    expect(await digestOf('/@acme')).toBe(below);
    await setStatus('skill', { name: '@acme/release-notes', version: '1.1.0', status: 'active' });
    expect(await digestOf('/@acme/release-notes')).toBe(latest);
    expect(await digestOf('/@acme')).toBe(latest);
  });

  it('still offers a deprecated version (the package deprecated, or the version)', async () => {
    await setStatus('skill', { name: '@acme/release-notes', version: '1.1.0', status: 'deprecated', message: 'Use the v2 template.' });
    expect(await digestOf('/@acme/release-notes')).toBe(latest);
    await setStatus('skill', { name: '@acme/release-notes', status: 'deprecated', message: 'Moved.' });
    expect(await digestOf('/@acme/release-notes')).toBe(latest);
    expect(await digestOf('/@acme')).toBe(latest);
    await setStatus('skill', { name: '@acme/release-notes', status: 'active' });
    await setStatus('skill', { name: '@acme/release-notes', version: '1.1.0', status: 'active' });
  });

  it('offers nothing of a skill whose every version is yanked: its own index answers 404, its scope’s leaves it out; unyanked, offered again', async () => {
    for (const version of ['1.1.0', '1.0.0']) await setStatus('skill', { name: '@acme/release-notes', version, status: 'yanked' });
    expect((await discovery('/@acme/release-notes')).status).toBe(404);
    const scope = await discovery('/@acme');
    expect(scope.status).toBe(200);
    expect(scope.json.skills).toEqual([]);
    await setStatus('skill', { name: '@acme/release-notes', version: '1.0.0', status: 'active' });
    expect(await digestOf('/@acme/release-notes')).toBe(below);
    expect(await digestOf('/@acme')).toBe(below);
    await setStatus('skill', { name: '@acme/release-notes', version: '1.1.0', status: 'active' });
    expect(await digestOf('/@acme/release-notes')).toBe(latest);
  });

  it('offers nothing of a skill taken down: its index answers 404, its scope’s lists it no more, both purged on the CDN', async () => {
    const result = await takedown(reg.store, { kind: 'skill', pkg: parsePackageName('@acme/release-notes'), version: null, reason: 'Legal notice', signer: reg.server.signer });
    expect(result.cdn_paths).toEqual(expect.arrayContaining(['/v1/agent-skills/@acme.json', '/v1/agent-skills/@acme/release-notes.json']));
    expect((await discovery('/@acme/release-notes')).status).toBe(404);
    expect((await discovery('/@acme')).json.skills).toEqual([]);
  });
});

it('leaves exactly what a rebuild derives from the records: shelf check is clean, a rebuild writes nothing; every file matches index-schema/', async () => {
  for (const { key } of await reg.store.list('v0.1/')) {
    const json = JSON.parse(new TextDecoder().decode((await reg.store.get(key))!.body));
    const schema = key.startsWith('v0.1/pages/') || key.endsWith('/versions.json') ? ServerListDocumentSchema : ServerResponseDocumentSchema;
    expect(schema.safeParse(json).error, key).toBeUndefined();
  }
  expect((await check(reg.store)).issues).toEqual([]);
  expect((await rebuild(reg.store, { signer: reg.server.signer })).changed).toEqual([]);
}, 60_000);
