/**
 * `shelf skill pack`: a skill folder into a `.skill` archive, the same bytes every time, named
 * after the front matter; what it refuses.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../src/archive/zip-entries.ts';
import { shelf } from './helpers.ts';

const SKILL = fileURLToPath(new URL('../../examples/skills/release-notes', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-skill-pack-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('shelf skill pack', () => {
  it('packs <name>/ with every file, named <name>-<version>.skill in the current folder, the same bytes every time', async () => {
    const first = await shelf(['skill', 'pack', SKILL, '--json'], { cwd: dir });
    expect(first.stderr).toBe('');
    const packed = JSON.parse(first.stdout);
    expect(packed).toMatchObject({ name: 'release-notes', version: '1.0.0', file: join(dir, 'release-notes-1.0.0.skill') });
    const bytes = await readFile(packed.file);
    expect(packed.size).toBe(bytes.byteLength);
    expect(readZipEntries(bytes).map((e) => e.path).sort()).toEqual(['release-notes/SKILL.md', 'release-notes/template.md']);
    await mkdir(join(dir, 'out'));
    const again = JSON.parse((await shelf(['skill', 'pack', SKILL, '-o', 'out', '--json'], { cwd: dir })).stdout);
    expect(again.file).toBe(join(dir, 'out', 'release-notes-1.0.0.skill'));
    expect(again.sha256).toBe(packed.sha256);
    const text = await shelf(['skill', 'pack', SKILL, '--output', join(dir, 'named.skill')], { cwd: dir });
    expect(text.stdout).toContain(`Packed release-notes@1.0.0 into ${join(dir, 'named.skill')}`);
  });

  it('refuses a folder without SKILL.md, and front matter without a valid name', async () => {
    const none = await shelf(['skill', 'pack', dir], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('error[invalid_skill]:');
    const bad = join(dir, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'SKILL.md'), '---\nname: Not A Name\ndescription: x\n---\n# Body\n');
    const refused = await shelf(['skill', 'pack', bad], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('error[invalid_skill]:');
  });
});
