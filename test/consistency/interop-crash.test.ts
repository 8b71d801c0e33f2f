/**
 * A status change or a takedown that crashes inside the `interop` step (the read APIs' files,
 * last of the derived files): the store fails the write of one of the MCP registry API's or
 * discovery's files, so the records and the files before it are written and the rest is not.
 * The served v0.1 JSON and discovery indexes are then stale, and `shelf check` says so; the next
 * write of the package (the publisher's retry, the operator's re-run) or `shelf rebuild` leaves
 * them exactly as a run without the crash does.
 */
import { cp, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion, type Kind } from '../../src/core/names.ts';
import { mcpVersionsKey, skillsDiscoveryPackageKey, skillsDiscoveryScopeKey } from '../../src/core/paths.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { takedown } from '../../src/registry/takedown.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { announcePrepared, claimsFor, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { publishBundle } from '../mcp/helpers.ts';

const TOOL = parsePackageName('@acme/tool');
const NOTES = parsePackageName('@acme/release-notes');
const AT = '2025-06-01T00:00:00.000Z';
/** One public URL for the base registry and every copy (a registry names itself otherwise). */
const env = { SHELF_PUBLIC_URL: 'https://registry.test' };

/** A store that fails the first write (or delete) of a key `crashOn` accepts, once armed. */
function crashingStore(inner: ObjectStore): ObjectStore & { crashOn: ((key: string) => boolean) | null; crashed: string | null } {
  const store = {
    description: inner.description,
    crashOn: null as ((key: string) => boolean) | null,
    crashed: null as string | null,
    fail(key: string) {
      if (!store.crashOn?.(key)) return;
      store.crashOn = null;
      store.crashed = key;
      throw new Error(`simulated crash writing ${key}`);
    },
    get: (key: string) => inner.get(key),
    head: (key: string) => inner.head(key),
    list: (prefix: string) => inner.list(prefix),
    put: async (key: string, body: Uint8Array, options: Parameters<ObjectStore['put']>[2]) => (store.fail(key), inner.put(key, body, options)),
    delete: async (key: string) => (store.fail(key), inner.delete(key)),
    ...(inner.purge ? { purge: async (key: string) => (store.fail(key), inner.purge!(key)) } : {}),
  };
  return store;
}

/** What one scenario does, where it crashes, and how it is repaired. */
interface Scenario {
  label: string;
  kind: Kind;
  /** The change: a status request through the real endpoint, or a takedown. */
  run(reg: TestRegistry): Promise<boolean>;
}

const YANK_BODY = (name: string) => JSON.stringify({ name, version: '1.1.0', status: 'yanked', message: 'Broken.' });
const statusChange = (kind: Kind, name: string, repository: string) => async (reg: TestRegistry) => {
  const token = await reg.github.mint(claimsFor(repository));
  const res = await reg.post(`/v1/${kind}s/status`, YANK_BODY(name), { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  return res.status === 200;
};
const takedownOf = (kind: Kind, pkg = kind === 'bundle' ? TOOL : NOTES) => async (reg: TestRegistry) =>
  takedown(reg.store, { kind, pkg, version: parseVersion('1.1.0'), reason: 'Malware', now: () => new Date(AT), signer: reg.server.signer }).then(
    () => true,
    () => false,
  );

const SCENARIOS: Scenario[] = [
  { label: 'a bundle’s yank', kind: 'bundle', run: statusChange('bundle', '@acme/tool', 'acme/tool-mcp') },
  { label: 'a bundle version’s takedown', kind: 'bundle', run: takedownOf('bundle') },
  { label: 'a skill’s yank', kind: 'skill', run: statusChange('skill', '@acme/release-notes', 'acme/skills') },
  { label: 'a skill version’s takedown', kind: 'skill', run: takedownOf('skill') },
];

/** Where the interop step dies: its first write, or a later one (the listings' pages, the scope's index). */
const CRASH_POINTS: Record<Kind, Array<[string, (key: string) => boolean]>> = {
  bundle: [
    ['the server’s versions.json', (key) => key === mcpVersionsKey(TOOL)],
    ['a listing page', (key) => key.startsWith('v0.1/pages/')],
  ],
  skill: [
    ['the skill’s own index', (key) => key === skillsDiscoveryPackageKey(NOTES)],
    ['the scope’s index', (key) => key === skillsDiscoveryScopeKey('acme')],
  ],
};

/** The answers the read APIs give about the package, by path. */
async function served(reg: TestRegistry, kind: Kind): Promise<Record<string, unknown>> {
  const paths =
    kind === 'bundle'
      ? ['versions', 'versions/latest', 'versions/1.0.0', 'versions/1.1.0'].map((p) => `/v0.1/servers/io.github.acme%2Ftool/${p}`).concat(['/v0.1/servers?limit=50', '/v0.1/servers?limit=50&version=latest'])
      : ['/@acme/.well-known/agent-skills/index.json', '/@acme/release-notes/.well-known/agent-skills/index.json'];
  const out: Record<string, unknown> = {};
  for (const path of paths) {
    const res = await fetch(`${reg.url}${path}`);
    out[path] = [res.status, await res.json()];
  }
  return out;
}

let base: TestRegistry;
const open: TestRegistry[] = [];

/** A registry (clock fixed) over a copy of the base bucket, whose store can be made to crash. */
async function onCopy() {
  const dir = await mkdtemp(join(base.dir, 'copy-'));
  await cp(join(base.dir, 'bucket'), dir, { recursive: true });
  const store = crashingStore(new FsStore(dir));
  // The copied registry's own key (its folder's key file, copied with it) keeps signing.
  const signing = { SHELF_SIGNING_KEY_FILE: join(dir, '.signing', 'registry-key.pem') };
  const reg = await startTestRegistry({ store, env: { ...env, ...signing }, wrapDeps: (deps) => ({ ...deps, now: () => new Date(AT) }) });
  open.push(reg);
  return { reg, store };
}

beforeAll(async () => {
  base = await startTestRegistry({ env });
  for (const v of ['1.0.0', '1.1.0']) await publishBundle(base, '@acme/tool', v);
  await publishBundle(base, '@acme/other', '1.0.0');
  for (const v of ['1.0.0', '1.1.0']) expect((await announcePrepared(base, await prepareSkill(base, { version: v }))).status).toBe(201);
}, 120_000);

afterAll(async () => {
  for (const reg of open) await reg.close();
  await base?.close();
});

describe.each(SCENARIOS.map((s, i) => [s.label, s, i] as const))('%s that crashes inside the interop step', (_label, scenario, index) => {
  let clean: Record<string, unknown>;

  beforeAll(async () => {
    const { reg } = await onCopy();
    expect(await scenario.run(reg)).toBe(true);
    clean = await served(reg, scenario.kind);
  }, 30_000);

  // Each crash point is repaired both ways across the scenarios: the next write, or a rebuild.
  it.each(CRASH_POINTS[scenario.kind].map(([where, at], j) => [where, (index + j) % 2 === 0 ? 'the next write' : 'shelf rebuild', at] as const))(
    'at %s: stale until %s, then exactly as without the crash',
    async (_where, repair, at) => {
      const { reg, store } = await onCopy();
      store.crashOn = at;
      expect(await scenario.run(reg)).toBe(false);
      expect(store.crashed).not.toBeNull();
      expect(await served(reg, scenario.kind)).not.toEqual(clean);
      expect((await check(reg.store)).clean).toBe(false);
      if (repair === 'the next write') expect(await scenario.run(reg)).toBe(true);
      else await rebuild(reg.store, { signer: reg.server.signer });
      expect(await served(reg, scenario.kind)).toEqual(clean);
      expect((await check(reg.store)).issues).toEqual([]);
    },
    30_000,
  );
});
