import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { INSTALL_RECORD } from '../../src/cli/install.ts';
import { announcePrepared, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from './helpers.ts';

let reg: TestRegistry;
let home: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  expect((await announcePrepared(reg, await prepareSkill(reg, { version: '1.0.0' }))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

beforeEach(async (ctx) => {
  home = await mkdtemp(join(tmpdir(), 'shelf-home-'));
  ctx.onTestFinished(() => rm(home, { recursive: true, force: true }));
});

const env = () => ({ HOME: home, SHELF_CACHE_DIR: join(home, 'cache'), SHELF_REGISTRY: reg.url });
const install = (...args: string[]) => shelf(['skill', 'install', ...args], { env: env(), cwd: home });

describe('shelf skill install', () => {
  it('installs into ~/.claude/skills/<name> by default, with a record of what it wrote', async () => {
    const r = await install('@acme/release-notes', '--json');
    expect(r.stderr).toBe('');
    const result = JSON.parse(r.stdout);
    const dir = join(home, '.claude', 'skills', 'release-notes');
    expect(result).toEqual({
      name: '@acme/release-notes',
      version: '1.0.0',
      dir,
      status: 'installed',
      files: ['SKILL.md', 'template.md'],
      version_status: 'active',
      verified: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/), size: expect.any(Number), registry_signature: { keyid: reg.server.signer.keyId, package_signed_at: expect.any(String) }, attestation: null },
    });
    expect(await readFile(join(dir, 'SKILL.md'), 'utf8')).toMatch(/^---\nname: release-notes/);
    expect(JSON.parse(await readFile(join(dir, INSTALL_RECORD), 'utf8'))).toMatchObject({ name: '@acme/release-notes', version: '1.0.0' });
    // Nothing else was left in the skills folder (no staging or backup folders).
    expect(await readdir(join(home, '.claude', 'skills'))).toEqual(['release-notes']);
  });

  it('installs into --dir; installing again is a no-op, a new version updates', async () => {
    const dir = join(home, 'skills');
    expect((await install('@acme/release-notes@1.0.0', '--dir', 'skills')).stdout).toMatch(/^Installed @acme\/release-notes@1\.0\.0/);
    expect(JSON.parse((await install('@acme/release-notes', '--dir', dir, '--json')).stdout).status).toBe('unchanged');
    expect((await announcePrepared(reg, await prepareSkill(reg, { version: '1.1.0' }))).status).toBe(201);
    const updated = JSON.parse((await install('@acme/release-notes', '--dir', dir, '--json')).stdout);
    expect(updated).toMatchObject({ status: 'updated', version: '1.1.0' });
    expect(await readFile(join(dir, 'release-notes', 'SKILL.md'), 'utf8')).toContain('version: "1.1.0"');
    expect(await readdir(dir)).toEqual(['release-notes']);
  });

  it('refuses to overwrite a skill installed by hand, or one with local changes, without --force', async () => {
    const dir = join(home, 'skills');
    const target = join(dir, 'release-notes');
    await mkdir(target, { recursive: true });
    await writeFile(join(target, 'SKILL.md'), '---\nname: release-notes\ndescription: mine\n---\n');
    const refused = await install('@acme/release-notes@1.0.0', '--dir', dir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error\[skill_exists\].*was not installed by shelf.*--force/);
    expect(await readFile(join(target, 'SKILL.md'), 'utf8')).toContain('description: mine');

    const forced = await install('@acme/release-notes@1.0.0', '--dir', dir, '--force', '--json');
    expect(JSON.parse(forced.stdout).status).toBe('replaced');
    expect(await readFile(join(target, 'SKILL.md'), 'utf8')).not.toContain('description: mine');

    // A local edit makes it "different" again.
    await writeFile(join(target, 'template.md'), 'edited');
    const edited = await install('@acme/release-notes@1.1.0', '--dir', dir);
    expect(edited.stderr).toMatch(/^error\[skill_exists\].*local changes \(template\.md\)/);
    expect(await readFile(join(target, 'template.md'), 'utf8')).toBe('edited');
    // So does a file the user added.
    await rm(join(target, 'template.md'));
    const record = JSON.parse(await readFile(join(target, INSTALL_RECORD), 'utf8'));
    await writeFile(join(target, 'template.md'), Buffer.from(''));
    record.files['template.md'] = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    await writeFile(join(target, INSTALL_RECORD), JSON.stringify(record));
    await writeFile(join(target, 'notes.txt'), 'mine');
    expect((await install('@acme/release-notes@1.1.0', '--dir', dir)).stderr).toMatch(/local changes \(notes\.txt\)/);
  });

  it('refuses a folder holding another package', async () => {
    const dir = join(home, 'skills');
    await install('@acme/release-notes@1.0.0', '--dir', dir);
    const file = join(dir, 'release-notes', INSTALL_RECORD);
    const record = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...record, name: '@other/release-notes' }));
    expect((await install('@acme/release-notes', '--dir', dir)).stderr).toMatch(/^error\[skill_exists\].*holds @other\/release-notes/);
  });

  it('needs --dir when there is no home directory', async () => {
    const r = await shelf(['skill', 'install', '@acme/release-notes'], { env: { SHELF_CACHE_DIR: join(home, 'c'), SHELF_REGISTRY: reg.url } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dir/);
  });

  it('is a skill command only, and refuses unknown packages', async () => {
    expect((await shelf(['bundle', 'install', '@acme/x'], { env: env() })).code).toBe(2);
    const missing = await install('@acme/nope');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error\[not_found\]/);
  });
});
