import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stripAnsi } from '../../src/cli/style.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from './helpers.ts';

let reg: TestRegistry;
let work: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  expect((await announcePrepared(reg, await prepareBundle(reg, {}))).status).toBe(201);
  expect((await announcePrepared(reg, await prepareBundle(reg, { example: '@globex/weather' }))).status).toBe(201);
  expect((await announcePrepared(reg, await prepareSkill(reg))).status).toBe(201);
}, 60_000);

afterAll(async () => {
  await reg?.close();
});

beforeEach(async (ctx) => {
  work = await mkdtemp(join(tmpdir(), 'shelf-output-'));
  ctx.onTestFinished(() => rm(work, { recursive: true, force: true }));
});

const ESC = '\x1b[';
const tty = { stdout: true, stderr: true };
const run = (argv: string[], extra: { env?: Record<string, string>; isTTY?: { stdout?: boolean; stderr?: boolean } } = {}) =>
  shelf(argv, { env: { SHELF_REGISTRY: reg.url, ...extra.env }, cwd: work, ...(extra.isTTY ? { isTTY: extra.isTTY } : {}) });

describe('terminal output', () => {
  it.each([
    [['search']],
    [['bundle', 'show', '@acme/echo']],
    [['skill', 'show', '@acme/release-notes']],
  ])('%j is coloured on a terminal, with the same aligned text as without colour', async (argv) => {
    const plain = await run(argv);
    const coloured = await run(argv, { isTTY: tty });
    expect(plain.stdout).not.toContain(ESC);
    expect(coloured.stdout).toContain(ESC);
    expect(stripAnsi(coloured.stdout)).toBe(plain.stdout);
  });

  it('NO_COLOR turns colour off on a terminal; FORCE_COLOR turns it on in a pipe', async () => {
    expect((await run(['search'], { isTTY: tty, env: { NO_COLOR: '1' } })).stdout).not.toContain(ESC);
    expect((await run(['search'], { env: { FORCE_COLOR: '1' } })).stdout).toContain(ESC);
    // An empty NO_COLOR does not count (no-color.org).
    expect((await run(['search'], { isTTY: tty, env: { NO_COLOR: '' } })).stdout).toContain(ESC);
  });

  it('aligns columns of the search table', async () => {
    const lines = (await run(['search', '--sort', 'name'])).stdout.split('\n');
    const col = (line: string) => line.indexOf('1.') === -1 ? line.indexOf('2.') : line.indexOf('1.');
    expect(lines[0]).toMatch(/^NAME\s+VERSION/);
    expect(col(lines[1]!)).toBe(lines[0]!.indexOf('VERSION'));
    expect(col(lines[2]!)).toBe(lines[0]!.indexOf('VERSION'));
  });

  it('--json is never coloured and always parses', async () => {
    for (const argv of [
      ['search', '--json'],
      ['bundle', 'show', '@acme/echo', '--json'],
      ['skill', 'search', 'release', '--json'],
      ['bundle', 'pull', '@acme/echo', '--json'],
    ]) {
      const r = await run(argv, { isTTY: tty, env: { FORCE_COLOR: '1' } });
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(ESC);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
    }
  });

  it('pull draws a progress bar on stderr only when stderr is a terminal, and erases it', async () => {
    const quiet = await run(['bundle', 'pull', '@acme/echo', '-o', 'a.mcpb']);
    expect(quiet.stderr).toBe('');
    const drawn = await run(['bundle', 'pull', '@acme/echo', '-o', 'b.mcpb'], { isTTY: { stderr: true } });
    expect(drawn.code).toBe(0);
    expect(drawn.stderr).toContain('@acme/echo@1.2.0');
    expect(drawn.stderr).toContain('100%');
    expect(drawn.stderr.endsWith('\r\x1b[K')).toBe(true);
    expect(drawn.stdout).not.toContain('\r');
  });
});

describe('help', () => {
  it('shelf --help lists every command', async () => {
    const { stdout } = await run(['--help']);
    for (const cmd of ['search', 'bundle show', 'bundle pull', 'bundle run', 'bundle outdated', 'bundle update', 'skill search', 'skill show', 'skill pull', 'skill install', 'announce', 'serve', '--offline', '--registry']) {
      expect(stdout).toContain(cmd);
    }
  });

  it.each([
    [['search'], ['--type', '--os', '--arch', '--sort', '--limit', '--json', '--registry', '--offline', '--help']],
    [['bundle', 'show'], ['--json', '--registry', '--offline', '--help']],
    [['bundle', 'pull'], ['--os', '--arch', '--output', '--cache', '--json', '--registry', '--offline']],
    [['skill', 'pull'], ['--os', '--arch', '--output', '--json']],
    [['bundle', 'run'], ['--os', '--arch', '--config', '--dry-run', '--registry', '--offline', 'SHELF_CONFIG_', '-- args']],
    [['bundle', 'outdated'], ['--json', '--registry', '--offline']],
    [['bundle', 'update'], ['--json', '--registry']],
    [['skill', 'install'], ['--dir', '--force', '--json', '--registry', '--offline']],
    [['announce'], ['--registry', '--release-tag', '--filename', '--name', '--os', '--arch', '--prerelease', '--kind', '--max-attempts', '--retry-delay', '--json', 'id-token: write']],
  ])('shelf %j --help describes every flag', async (words, flags) => {
    const viaFlag = await run([...words, '--help']);
    expect(viaFlag.code).toBe(0);
    for (const flag of flags) expect(viaFlag.stdout).toContain(flag);
    const viaHelp = await run(['help', ...words]);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
  });

  it('kind help lists the kind-specific commands', async () => {
    expect((await run(['bundle', '--help'])).stdout).toMatch(/run[\s\S]*outdated[\s\S]*update/);
    expect((await run(['skill', '--help'])).stdout).toContain('install');
    expect((await run(['skill', 'run', '@a/b'])).code).toBe(2);
  });
});
