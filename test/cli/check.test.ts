/**
 * `shelf check` fails on each broken case, with an exit code that says what repairs it: a missing
 * or empty store (4), a derived file out of date (1, `shelf rebuild`), and records, artifacts,
 * configuration or pages missing or damaged (3): an artifact deleted, truncated, or altered in
 * place (found by --artifacts), a skill's archive for the skills CLI gone, a version record
 * garbled, config.json or a page asset gone. A version the operator took down is not damage: what
 * a crashed takedown left is the rebuild's to delete (1).
 */
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { artifactKey, configKey, packageKey, versionKey } from '../../src/core/paths.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from './helpers.ts';

let reg: TestRegistry;
let work: string;
const echo = parsePackageName('@acme/echo');
const echoArtifact = () => artifactKey('bundle', echo, parseVersion('1.2.0'), { os: 'any', arch: 'any' });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shelf-check-'));
  reg = await startTestRegistry();
  expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.2.0' }))).status).toBe(201);
  expect((await announcePrepared(reg, await prepareSkill(reg))).status).toBe(201);
});
afterAll(async () => {
  await reg?.close();
  await rm(work, { recursive: true, force: true });
});

/** A copy of the registry's bucket, broken by `damage`, and `shelf check` run on it. */
async function checkCopy(name: string, damage: (dir: string) => Promise<void>, args: string[] = []) {
  const dir = join(work, name);
  await cp(join(reg.dir, 'bucket'), dir, { recursive: true });
  await damage(dir);
  return shelf(['check', ...args], { env: { SHELF_DATA_DIR: dir } });
}

describe('shelf check', () => {
  it('passes a whole registry (0), saying what it verified', async () => {
    const r = await checkCopy('whole', async () => undefined);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/All \d+ derived files agree with the records; 2 version records valid, 2 artifacts present and sized/);
    const hashed = await checkCopy('whole-hashed', async () => undefined, ['--artifacts', '--json']);
    expect(hashed.code).toBe(0);
    expect(JSON.parse(hashed.stdout)).toMatchObject({ clean: true, records: { versions: 2, artifacts: 2, verified: 'sha256' }, issues: [] });
  });

  it('refuses a folder that does not exist, and an empty one (4, no_registry)', async () => {
    const missing = await shelf(['check'], { env: { SHELF_DATA_DIR: join(work, 'nothing-here') } });
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('error[no_registry]');
    await mkdir(join(work, 'empty'));
    const empty = await shelf(['check', '--json'], { env: { SHELF_DATA_DIR: join(work, 'empty') } });
    expect(empty.code).toBe(4);
    expect(empty.stdout).toBe('');
  });

  it('finds a deleted artifact (3)', async () => {
    const r = await checkCopy('deleted', (dir) => rm(join(dir, echoArtifact())));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`missing          ${echoArtifact()}`);
    expect(r.stdout).toContain('a rebuild cannot repair them');
  });

  it('finds a truncated artifact by its size (3), and one altered in place only with --artifacts', async () => {
    const truncated = await checkCopy('truncated', (dir) => writeFile(join(dir, echoArtifact()), 'short'));
    expect(truncated.code).toBe(3);
    expect(truncated.stdout).toContain(`size_mismatch    ${echoArtifact()}`);
    const flip = async (dir: string) => {
      const bytes = await readFile(join(dir, echoArtifact()));
      bytes[bytes.length - 30] = bytes[bytes.length - 30]! ^ 0xff;
      await writeFile(join(dir, echoArtifact()), bytes);
    };
    expect((await checkCopy('altered-size-only', flip)).code).toBe(0); // same size: only hashing can tell
    const hashed = await checkCopy('altered', flip, ['--artifacts', '--json']);
    expect(hashed.code).toBe(3);
    expect(JSON.parse(hashed.stdout).issues).toEqual([expect.objectContaining({ key: echoArtifact(), problem: 'digest_mismatch', repair: 'restore' })]);
  });

  it('finds a garbled version record (3), and a missing config.json or page asset (3)', async () => {
    const key = versionKey('bundle', echo, parseVersion('1.2.0'));
    const garbled = await checkCopy('garbled', (dir) => writeFile(join(dir, key), '{"not":"a version"}'));
    expect(garbled.code).toBe(3);
    expect(garbled.stdout).toContain(`invalid          ${key}`);
    const config = await checkCopy('no-config', (dir) => rm(join(dir, configKey())));
    expect(config.code).toBe(3);
    expect(config.stdout).toContain(`missing          ${configKey()}`);
    // A page's script, and a chunk a script imports (not named by any page).
    const script = (await reg.store.list('assets/')).find((o) => o.key.startsWith('assets/home.'))!.key;
    const chunk = (await reg.store.list('assets/')).find((o) => o.key.startsWith('assets/chunk.'))!.key;
    for (const key of [script, chunk]) {
      const asset = await checkCopy(`no-asset-${key.split('.')[1]}`, (dir) => rm(join(dir, key)));
      expect(asset.code).toBe(3);
      expect(asset.stdout).toContain(`missing          ${key}`);
    }
  });

  it("finds a skill's deleted archive for the skills CLI (3): it is recorded like the artifact", async () => {
    const archive = (await reg.store.list('v1/skills/')).find((o) => /\/skills-cli\.[0-9a-f]{64}\.zip$/.test(o.key))!.key;
    const r = await checkCopy('no-skills-archive', (dir) => rm(join(dir, archive)));
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(`missing          ${archive}`);
    expect(r.stdout).toContain('its archive for the skills CLI');
  });

  it('takes what a crashed takedown left for the rebuild to finish (1), not for damage (3)', async () => {
    const doc = versionKey('bundle', echo, parseVersion('1.2.0'));
    const r = await checkCopy('crashed-takedown', async (dir) => {
      const kept = await readFile(join(dir, doc));
      const down = await shelf(['takedown', '@acme/echo@1.2.0', '--reason', 'Malware report #7'], { env: { SHELF_DATA_DIR: dir } });
      expect(down.code, down.stderr).toBe(0);
      // The crash between deleting the artifacts and the version document: the document is left.
      await writeFile(join(dir, doc), kept);
    });
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toContain(`removed  ${doc}`);
    expect(r.stdout).not.toContain(echoArtifact());
    const dir = join(work, 'crashed-takedown');
    expect((await shelf(['rebuild'], { env: { SHELF_DATA_DIR: dir } })).code).toBe(0);
    expect((await shelf(['check'], { env: { SHELF_DATA_DIR: dir } })).code).toBe(0);
  });

  it('finds a derived file out of date (1): a rebuild repairs it', async () => {
    const r = await checkCopy('stale', (dir) => rm(join(dir, packageKey('bundle', echo))));
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`missing  ${packageKey('bundle', echo)}`);
    expect(r.stdout).toContain('Run "shelf rebuild" to repair them.');
    const dir = join(work, 'stale');
    expect((await shelf(['rebuild'], { env: { SHELF_DATA_DIR: dir } })).code).toBe(0);
    expect((await shelf(['check'], { env: { SHELF_DATA_DIR: dir } })).code).toBe(0);
  });
});
