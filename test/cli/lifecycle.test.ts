/**
 * The lifecycle seen from the command line: a publisher's `shelf yank`, `unyank`, `deprecate`,
 * `undeprecate` from a (fake) GitHub Actions job — also through the README's `workflow_dispatch`
 * workflow, parsed and its step run with bash — and what every reader then prints — `show`,
 * `pull`, `run --dry-run`, `install`, `outdated`, `update`, in text (warnings on stderr) and
 * `--json` (`status`, `status_message`); then the operator's `shelf takedown` of a version a
 * consumer has cached: `run` refuses it once it revalidates, runs the cached copy offline with a
 * note, and `outdated` lists it.
 */
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_NAME } from '../../src/core/package.ts';
import { startFakeActionsToken, type FakeActionsToken } from '../fakes/actions-token.ts';
import { announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { BIN, runProgram, shelf } from './helpers.ts';

let reg: TestRegistry;
let cacheDir: string;
let skillsDir: string;
let job: FakeActionsToken;
let stranger: FakeActionsToken;
let skills: FakeActionsToken;

beforeAll(async () => {
  reg = await startTestRegistry();
  [cacheDir, skillsDir] = await Promise.all([mkdtemp(join(tmpdir(), 'shelf-lifecycle-cache-')), mkdtemp(join(tmpdir(), 'shelf-lifecycle-skills-'))]);
  const prepared = await Promise.all(['1.0.0', '1.1.0', '1.2.0'].map((version) => prepareBundle(reg, { version })));
  for (const p of prepared) expect((await announcePrepared(reg, p)).status).toBe(201);
  expect((await announcePrepared(reg, await prepareSkill(reg))).status).toBe(201);
  job = await startFakeActionsToken(reg.github, claimsFor('acme/echo-mcp'));
  stranger = await startFakeActionsToken(reg.github, claimsFor('acme/other-mcp'));
  skills = await startFakeActionsToken(reg.github, claimsFor('acme/skills'));
}, 120_000);

afterAll(async () => {
  await Promise.all([job?.close(), stranger?.close(), skills?.close()]);
  await reg?.close();
  await Promise.all([cacheDir, skillsDir].filter(Boolean).map((d) => rm(d, { recursive: true, force: true })));
});

const readerEnv = () => ({ SHELF_REGISTRY: reg.url, SHELF_CACHE_DIR: cacheDir });
const jobEnv = (fake: FakeActionsToken) => ({
  SHELF_REGISTRY: reg.url,
  ACTIONS_ID_TOKEN_REQUEST_URL: fake.requestUrl,
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.requestToken,
  GITHUB_ACTIONS: 'true',
});
/** Runs a publisher command in the job; the first line of its output is the token's mask. */
async function publisher(args: string[], fake = job) {
  const r = await shelf(args, { env: jobEnv(fake) });
  const [mask, ...rest] = r.stdout.split('\n');
  return { ...r, mask, body: rest.join('\n') };
}
const json = async (args: string[], env: Record<string, string> = readerEnv()) => {
  const r = await shelf([...args, '--json'], { env });
  expect(r.code, r.stderr).toBe(0);
  return { json: JSON.parse(r.stdout), stderr: r.stderr };
};

describe('a publisher yanks a version', () => {
  it('shelf yank --json: the registry\'s answer, with the token masked first', async () => {
    const r = await publisher(['yank', '@acme/echo@1.2.0', '--message', 'Corrupts files on Windows; use 1.1.0.', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.mask).toBe(`::add-mask::${job.issued.at(-1)}`);
    expect(JSON.parse(r.body)).toEqual({ package: '@acme/echo', version: '1.2.0', status: 'yanked', message: 'Corrupts files on Windows; use 1.1.0.', changed: true, attempts: 1 });
    // Again: nothing changes, and the text says so.
    const again = await publisher(['yank', '@acme/echo@1.2.0', '--message', 'Corrupts files on Windows; use 1.1.0.']);
    expect(again.code).toBe(0);
    expect(again.body).toMatch(/@acme\/echo@1\.2\.0 \(bundle\) was already yanked; nothing changed\./);
  });

  it('show marks it; latest and ranges skip it; its exact version still resolves, with a warning', async () => {
    const show = await shelf(['bundle', 'show', '@acme/echo'], { env: readerEnv() });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/Latest:\s+1\.1\.0/);
    expect(show.stdout).toMatch(/1\.2\.0\s+yanked/);
    expect(show.stderr).toBe('');

    const exact = await json(['bundle', 'show', '@acme/echo@1.2.0']);
    expect(exact.json.version).toMatchObject({ version: '1.2.0', status: 'yanked', status_message: 'Corrupts files on Windows; use 1.1.0.' });
    expect(exact.stderr).toMatch(/warning: @acme\/echo@1\.2\.0 is yanked: Corrupts files on Windows; use 1\.1\.0\. It is still downloadable by its exact version/);

    const dry = await shelf(['bundle', 'run', '@acme/echo@1.2.0', '--dry-run'], { env: readerEnv() });
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ version: '1.2.0', status: 'yanked' });
    expect(dry.stderr).toMatch(/warning: @acme\/echo@1\.2\.0 is yanked/);

    // Last, so that the cache records 1.1.0 for ^1 (outdated below).
    const ranged = await json(['bundle', 'pull', '@acme/echo@^1', '--cache']);
    expect(ranged.json).toMatchObject({ version: '1.1.0', status: 'active' });
    expect(ranged.stderr).toBe('');
    const pinned = await json(['bundle', 'pull', '@acme/echo@1.2.0', '-o', join(cacheDir, 'pinned.mcpb')]);
    expect(pinned.json).toMatchObject({ version: '1.2.0', status: 'yanked', status_message: 'Corrupts files on Windows; use 1.1.0.' });
    expect(pinned.stderr).toMatch(/warning: @acme\/echo@1\.2\.0 is yanked/);

  });

  it('outdated lists a cached version that was yanked since, and update never moves onto a yanked one', async () => {
    // 1.1.0 is cached (pulled for ^1 above); yanking it leaves ^1 with 1.0.0 only.
    expect((await publisher(['yank', '@acme/echo@1.1.0'])).code).toBe(0);
    const text = await shelf(['bundle', 'outdated'], { env: readerEnv() });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/@acme\/echo .*1\.1\.0 .*1\.0\.0 .*1\.0\.0 .*yanked/);
    expect(text.stderr).toMatch(/warning: @acme\/echo@1\.1\.0 is yanked\./);
    const out = await json(['bundle', 'outdated']);
    expect(out.json.bundles).toEqual([expect.objectContaining({ name: '@acme/echo', current: '1.1.0', wanted: '1.0.0', latest: '1.0.0', status: 'yanked' })]);
    expect((await publisher(['unyank', '@acme/echo@1.1.0'])).code).toBe(0);
    const back = await json(['bundle', 'outdated']);
    expect(back.json.bundles[0]).toMatchObject({ current: '1.1.0', wanted: '1.1.0', status: 'active', outdated: false });
    // 1.2.0 is higher and in ^1, but yanked: update stays.
    const update = await json(['bundle', 'update']);
    expect(update.json.updated).toEqual([]);
    expect(update.json.current).toEqual([expect.objectContaining({ name: '@acme/echo', range: '^1', version: '1.1.0' })]);
  });

  it('unyank puts the version back as latest', async () => {
    const r = await publisher(['unyank', '@acme/echo@1.2.0', '--json']);
    expect(JSON.parse(r.body)).toMatchObject({ version: '1.2.0', status: 'active', changed: true });
    expect((await json(['bundle', 'show', '@acme/echo'])).json.package.latest).toBe('1.2.0');
  });
});

describe('a publisher deprecates', () => {
  it('the package as a whole: every reader warns with the message, and --json carries it', async () => {
    const r = await publisher(['deprecate', '@acme/echo', '--message', 'Moved to @acme/echo-v2.']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body).toMatch(/Done: @acme\/echo \(bundle\) is deprecated\./);

    const show = await shelf(['bundle', 'show', '@acme/echo'], { env: readerEnv() });
    expect(show.stdout).toMatch(/Status:\s+deprecated: Moved to @acme\/echo-v2\./);
    expect(show.stdout).toMatch(/Latest:\s+1\.2\.0/);
    expect(show.stderr).toMatch(/warning: @acme\/echo is deprecated: Moved to @acme\/echo-v2\./);
    expect((await json(['bundle', 'show', '@acme/echo'])).json.package).toMatchObject({ status: 'deprecated', status_message: 'Moved to @acme/echo-v2.' });

    // It resolves as before.
    const pulled = await json(['bundle', 'pull', '@acme/echo', '-o', join(cacheDir, 'deprecated.mcpb')]);
    expect(pulled.json).toMatchObject({ version: '1.2.0', status: 'deprecated', status_message: 'Moved to @acme/echo-v2.' });
    expect(pulled.stderr).toMatch(/warning: @acme\/echo is deprecated: Moved to @acme\/echo-v2\./);
    const dry = await shelf(['bundle', 'run', '@acme/echo', '--dry-run'], { env: readerEnv() });
    expect(JSON.parse(dry.stdout)).toMatchObject({ version: '1.2.0', status: 'deprecated' });
    expect(dry.stderr).toMatch(/warning: @acme\/echo is deprecated/);
    const outdated = await shelf(['bundle', 'outdated'], { env: readerEnv() });
    expect(outdated.stderr).toMatch(/warning: @acme\/echo is deprecated: Moved to @acme\/echo-v2\./);

    const search = await shelf(['search', 'echo'], { env: readerEnv() });
    expect(search.stdout).toMatch(/@acme\/echo\s.*1\.2\.0 deprecated/);
    expect((await json(['search', 'echo'])).json.results[0]).toMatchObject({ name: '@acme/echo', status: 'deprecated', status_message: 'Moved to @acme/echo-v2.' });

    const undo = await publisher(['undeprecate', '@acme/echo', '--json']);
    expect(JSON.parse(undo.body)).toMatchObject({ package: '@acme/echo', status: 'active', changed: true });
    const clean = await shelf(['bundle', 'show', '@acme/echo'], { env: readerEnv() });
    expect(clean.stderr).toBe('');
    expect(clean.stdout).not.toMatch(/deprecated/);
  });

  it('a skill version: install warns and --json carries version_status', async () => {
    const r = await publisher(['deprecate', '@acme/release-notes@1.0.0', '--message', 'Use 2.x.'], skills);
    expect(r.code, r.stderr).toBe(0);
    expect(r.body).toMatch(/@acme\/release-notes@1\.0\.0 \(skill\) is deprecated/);
    const installed = await json(['skill', 'install', '@acme/release-notes', '--dir', skillsDir]);
    expect(installed.json).toMatchObject({ version: '1.0.0', status: 'installed', version_status: 'deprecated', status_message: 'Use 2.x.' });
    expect(installed.stderr).toMatch(/warning: @acme\/release-notes@1\.0\.0 is deprecated: Use 2\.x\./);
  });
});

describe("the README's workflow_dispatch workflow", () => {
  interface Workflow {
    on: { workflow_dispatch: { inputs: Record<string, { type?: string; options?: string[]; required?: boolean }> } };
    permissions: Record<string, string>;
    jobs: Record<string, { 'runs-on': string; steps: Array<{ uses?: string; with?: Record<string, unknown>; env?: Record<string, string>; run?: string }> }>;
  }
  let workflow: Workflow;
  let step: { env: Record<string, string>; run: string };

  beforeAll(async () => {
    const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
    const blocks = [...readme.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((b) => /^\s+workflow_dispatch:/m.test(b));
    expect(blocks).toHaveLength(1);
    workflow = parse(blocks[0]!, { strict: true, uniqueKeys: true }) as Workflow;
    step = Object.values(workflow.jobs)[0]!.steps.find((s) => s.run !== undefined) as typeof step;
  });

  /** Runs the step's script with bash as the runner would: `${{ inputs.X }}` env values from `inputs`, `npx` the CLI of this checkout. */
  async function dispatch(inputs: Record<string, string>) {
    const env: Record<string, string> = {};
    for (const [key, expr] of Object.entries(step.env)) env[key] = inputs[/^\$\{\{ inputs\.(\w+) \}\}$/.exec(expr)![1]!] ?? '';
    // `npx -y <the published CLI>` runs this checkout's CLI; the example registry is the test's.
    const bin = await mkdtemp(join(tmpdir(), 'shelf-dispatch-'));
    await writeFile(join(bin, 'npx'), `#!/bin/sh\n[ "$1" = -y ] && [ "$2" = ${PACKAGE_NAME} ] || { echo "unexpected: npx $*" >&2; exit 97; }\nshift 2\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    await chmod(join(bin, 'npx'), 0o755);
    const script = step.run.replace('https://registry.example.com', reg.url);
    try {
      return await runProgram('bash', ['-e', '-c', script], { PATH: `${bin}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: bin, ...jobEnv(job), ...env });
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  }

  it('is a workflow run from the Actions tab with the OIDC token as its only credential, running the published CLI with its inputs', () => {
    const { inputs } = workflow.on.workflow_dispatch;
    expect(inputs.action).toMatchObject({ type: 'choice', options: ['yank', 'unyank', 'deprecate', 'undeprecate'] });
    expect(inputs.package).toMatchObject({ required: true });
    expect(inputs.message).toBeDefined();
    expect(workflow.permissions).toEqual({ 'id-token': 'write' });
    const job = Object.values(workflow.jobs)[0]!;
    expect(job['runs-on']).toBe('ubuntu-latest');
    const node = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(Number(node?.with?.['node-version'])).toBeGreaterThanOrEqual(20);
    // Inputs reach the script through the environment only, never pasted into it.
    expect(step.env).toEqual({ ACTION: '${{ inputs.action }}', PACKAGE: '${{ inputs.package }}', MESSAGE: '${{ inputs.message }}' });
    expect(step.run).not.toContain('${{');
    expect(step.run.trim().split('\n').at(-1)!.trim()).toBe(`npx -y ${PACKAGE_NAME} "$@"`);
  });

  it('its step yanks with a message, then unyanks without one, from the job', async () => {
    const yank = await dispatch({ action: 'yank', package: '@acme/echo@1.0.0', message: 'Broken on Windows; use 1.1.0.' });
    expect(yank.code, yank.stderr).toBe(0);
    expect(yank.stdout).toMatch(/^::add-mask::/);
    expect((await json(['bundle', 'show', '@acme/echo@1.0.0'])).json.version).toMatchObject({ status: 'yanked', status_message: 'Broken on Windows; use 1.1.0.' });
    const unyank = await dispatch({ action: 'unyank', package: '@acme/echo@1.0.0', message: '' });
    expect(unyank.code, unyank.stderr).toBe(0);
    expect((await json(['bundle', 'show', '@acme/echo@1.0.0'])).json.version.status).toBe('active');
  });
});

describe('refused', () => {
  it('a job of another repository of the owner: 403 through the command, nothing changes', async () => {
    const r = await publisher(['yank', '@acme/echo@1.0.0'], stranger);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[package_repository_mismatch\]: The registry refused the status change \(HTTP 403/);
    expect((await json(['bundle', 'show', '@acme/echo@1.0.0'])).json.version.status).toBe('active');
  });

  it('bad command lines, before any request', async () => {
    const before = job.requests.length;
    const cases: Array<[string[], RegExp]> = [
      [['yank', '@acme/echo'], /name the version/],
      [['yank', '@acme/echo@^1'], /not an exact version/],
      [['deprecate', '@acme/echo'], /--message is required/],
      [['unyank', '@acme/echo@1.0.0', '--message', 'x'], /--message applies to yank and deprecate/],
      [['yank', '@acme/echo@1.0.0', '--kind', 'server'], /--kind must be bundle or skill/],
    ];
    for (const [args, message] of cases) {
      const r = await shelf(args, { env: jobEnv(job) });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error\[invalid_argument\]/);
      expect(r.stderr).toMatch(message);
    }
    const outside = await shelf(['yank', '@acme/echo@1.0.0'], { env: { SHELF_REGISTRY: reg.url } });
    expect(outside.stderr).toMatch(/^error\[oidc_unavailable\]/);
    expect(job.requests.length).toBe(before);
  });
});

describe('the operator takes down a version a consumer has cached', () => {
  it('run refuses it when it revalidates, runs the cached copy offline with a note, and outdated lists it', async () => {
    // The consumer runs 1.2.0, which caches it.
    const first = await shelf(['bundle', 'run', '@acme/echo@1.2.0', '--dry-run'], { env: readerEnv() });
    expect(first.code, first.stderr).toBe(0);

    const down = await shelf(['takedown', '@acme/echo@1.2.0', '--reason', 'Malware report #42', '--no-invalidate', '--json'], { env: { SHELF_DATA_DIR: join(reg.dir, 'bucket') } });
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toMatchObject({ action: 'takedown', package: '@acme/echo', version: '1.2.0', changed: true, invalidation: null });

    // Offline, before the cache has seen the takedown: the cached copy runs, with a note.
    const offline = await shelf(['bundle', 'run', '@acme/echo@1.2.0', '--dry-run', '--offline'], { env: readerEnv() });
    expect(offline.code, offline.stderr).toBe(0);
    expect(offline.stderr).toMatch(/note: @acme\/echo@1\.2\.0 runs from the cache without asking the registry whether it was yanked, deprecated or removed since/);

    // Online it revalidates and refuses; from then on the cache knows, offline too.
    const refused = await shelf(['bundle', 'run', '@acme/echo@1.2.0', '--dry-run'], { env: readerEnv() });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error\[version_removed\].*removed by the registry operator: Malware report #42/m);
    expect(refused.stdout).toBe('');
    const known = await shelf(['bundle', 'run', '@acme/echo@1.2.0', '--dry-run', '--offline'], { env: readerEnv() });
    expect(known.stderr).toMatch(/^error\[version_removed\]/m);

    const outdated = await json(['bundle', 'outdated']);
    expect(outdated.json.bundles).toContainEqual(
      expect.objectContaining({ name: '@acme/echo', current: '1.2.0', status: 'removed', status_message: 'Malware report #42', latest: '1.1.0' }),
    );
    const text = await shelf(['bundle', 'outdated'], { env: readerEnv() });
    expect(text.stderr).toMatch(/warning: @acme\/echo@1\.2\.0 was removed by the registry operator: Malware report #42/);

    // show still says what it was and why it went.
    const show = await shelf(['bundle', 'show', '@acme/echo@1.2.0'], { env: readerEnv() });
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/1\.2\.0\s+removed/);
    expect(show.stderr).toMatch(/removed by the registry operator: Malware report #42/);
  });
});
