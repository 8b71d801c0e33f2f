/**
 * The composite GitHub Action in action.yml: its structure, and its step scripts run for real
 * with bash, as the runner would (minus setup-node), against a test registry, fakes of the GitHub
 * API (releases, asset uploads) and of the Actions token service, and a fake npm registry serving
 * the package `npm pack` makes of this repository. A first run publishes; a re-run of the same
 * job announces the release's asset as it is and ends green with `unchanged`.
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OIDC_UNAVAILABLE_MESSAGE } from '../../src/cli/announce.ts';
import { readArchiveFile } from '../../src/archive/inflate.ts';
import { readZipEntries } from '../../src/archive/zip-entries.ts';
import { PACKAGE_NAME } from '../../src/core/package.ts';
import { packPackage, type PackedPackage } from '../../scripts/install-package.ts';
import { startFakeActionsToken, type FakeActionsToken } from '../fakes/actions-token.ts';
import { startFakeNpmRegistry, type FakeNpmRegistry } from '../fakes/npm-registry.ts';
import { claimsFor, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { runProgram, shelf } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

interface Step {
  name: string;
  id?: string;
  if?: string;
  uses?: string;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, string>;
}
let action: { runs: { using: string; steps: Step[] }; inputs: Record<string, { default?: string; required?: boolean }>; outputs: Record<string, { value: string }> };
let reg: TestRegistry;
let temp: string;
let packed: PackedPackage;
let npmRegistry: FakeNpmRegistry;
/** The prefix the install step put the CLI in (from the fake npm registry). */
let prefix: string;

beforeAll(async () => {
  action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8'));
  temp = await mkdtemp(join(tmpdir(), 'shelf-action-'));
  [reg, packed] = await Promise.all([startTestRegistry(), packPackage(join(temp, 'pack'))]);
  npmRegistry = await startFakeNpmRegistry({ name: PACKAGE_NAME, version: VERSION, tarball: packed.tarball });
  prefix = join(temp, 'runner', 'shelf-cli');
  const install = await runStep('Install the shelf CLI', { 'inputs.cli-version': '' }, { npm_config_registry: npmRegistry.url, RUNNER_TEMP: join(temp, 'runner') });
  if (install.code !== 0) throw new Error(`the install step failed:\n${install.stdout}\n${install.stderr}`);
}, 120_000);

afterAll(async () => {
  await npmRegistry?.close();
  await reg?.close();
  await rm(temp, { recursive: true, force: true });
});

const step = (name: string) => action.runs.steps.find((s) => s.name === name)!;

interface StepResult {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  path: string[];
}

/**
 * Runs a step's script with bash, as the runner does: `${{ ... }}` env values are replaced by
 * `values`; PATH holds the CLI the install step installed (the runner adds GITHUB_PATH entries
 * to later steps); GITHUB_API_URL is the fake GitHub.
 */
async function runStep(name: string, values: Record<string, string>, env: Record<string, string>): Promise<StepResult> {
  const s = step(name);
  const outputFile = join(temp, `${name.replace(/\W/g, '-')}-${Date.now()}-${Math.random()}.out`);
  const pathFile = `${outputFile}.path`;
  await writeFile(outputFile, '');
  await writeFile(pathFile, '');
  const stepEnv: Record<string, string> = {};
  for (const [key, expr] of Object.entries(s.env ?? {})) {
    const m = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(expr);
    stepEnv[key] = m ? (values[m[1]!] ?? '') : expr;
  }
  const runnerTemp = join(temp, 'runner');
  mkdirSync(runnerTemp, { recursive: true });
  const run = await runProgram('bash', ['-e', '-c', s.run!], {
    PATH: `${join(runnerTemp, 'shelf-cli', 'bin')}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: temp,
    GITHUB_ACTION_PATH: ROOT,
    GITHUB_WORKSPACE: ROOT,
    GITHUB_API_URL: reg.github.url,
    RUNNER_TEMP: runnerTemp,
    GITHUB_OUTPUT: outputFile,
    GITHUB_PATH: pathFile,
    ...env,
    ...stepEnv,
  });
  const lines = (await readFile(outputFile, 'utf8')).split('\n').filter(Boolean);
  const outputs = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
  const path = (await readFile(pathFile, 'utf8')).split('\n').filter(Boolean);
  return { ...run, outputs, path };
}

/** One publish job: Pack, Upload (unless the release held the asset), Announce, with the job's token. */
async function publishJob(inputs: Record<string, string>, job: { repository: string; tag: string; actions: FakeActionsToken }): Promise<{ pack: StepResult; upload: StepResult | null; announce: StepResult }> {
  const runner = { GITHUB_REPOSITORY: job.repository, GITHUB_REF_NAME: job.tag };
  const values = { 'inputs.github-token': reg.github.apiToken, 'inputs.os': '', 'inputs.arch': '', 'inputs.release-tag': '', 'inputs.prerelease': 'false', 'inputs.registry': reg.url, ...inputs };
  const pack = await runStep('Pack', values, runner);
  if (pack.code !== 0) return { pack, upload: null, announce: pack };
  const fromPack = { 'steps.pack.outputs.file': pack.outputs.file!, 'steps.pack.outputs.tag': pack.outputs.tag! };
  // The runner evaluates the step's `if:`; this is the condition it states.
  expect(step('Upload to the release').if).toBe("steps.pack.outputs.reused != 'true'");
  const upload = pack.outputs.reused !== 'true' ? await runStep('Upload to the release', { ...values, ...fromPack }, runner) : null;
  if (upload && upload.code !== 0) return { pack, upload, announce: upload };
  const oidc = { ACTIONS_ID_TOKEN_REQUEST_URL: job.actions.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: job.actions.requestToken, GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY_OWNER: job.repository.split('/')[0]! };
  const announce = await runStep('Announce', { ...values, ...fromPack }, { ...runner, ...oidc });
  return { pack, upload, announce };
}

describe('action.yml', () => {
  it('is a composite action: inputs only through the environment, the OIDC check first, Node 22, the published CLI, no clobbering', () => {
    expect(action.runs.using).toBe('composite');
    expect(action.inputs.registry?.required).toBe(true);
    expect(action.inputs.directory?.default).toBe('.');
    expect(action.inputs['node-version']?.default).toBe('22');
    const text = JSON.stringify(action.runs.steps);
    for (const [, input] of text.matchAll(/inputs\.([a-z-]+)/g)) expect(Object.keys(action.inputs)).toContain(input);
    for (const s of action.runs.steps) {
      if (s.run === undefined) continue;
      expect(s.shell).toBe('bash');
      // Pasting ${{ inputs.* }} into a script is a script injection; env vars are not.
      expect(s.run).not.toContain('${{');
    }
    expect(action.runs.steps.map((s) => s.name)).toEqual(['Check the OIDC permission', 'Set up Node.js', 'Install the shelf CLI', 'Pack', 'Upload to the release', 'Attest', 'Announce']);
    // The artifact attestation the registry verifies: GitHub's own action, of the announced file, before the announce.
    expect(step('Attest')).toMatchObject({ uses: 'actions/attest-build-provenance@v2', if: "inputs.attest == 'true'", with: { 'subject-path': '${{ steps.pack.outputs.file }}' } });
    expect(action.inputs.attest?.default).toBe('true');
    expect(step('Set up Node.js').with?.['node-version']).toBe('${{ inputs.node-version }}');
    // The CLI comes from npm, named once (package.json), at the action's own version.
    expect(step('Install the shelf CLI').run).toContain('npm install -g --prefix "$prefix"');
    expect(step('Install the shelf CLI').run).toContain(`require(process.argv[1]).name' "$manifest"`);
    expect(step('Announce').run).toContain('shelf "${args[@]}"');
    expect(text).not.toContain('--clobber');
    expect(text).not.toContain('bin/shelf.js');
    expect(Object.keys(action.outputs).sort()).toEqual(['file', 'reused', 'sha256', 'status']);
  });

  it('fails first, before installing, packing or uploading, with the message of shelf announce, when the job may not request a token', async () => {
    const check = await runStep('Check the OIDC permission', {}, {});
    expect(check.code).toBe(1);
    const cli = await shelf(['announce', join(ROOT, 'examples', 'echo', 'manifest.json'), '--kind', 'bundle', '--release-tag', 'v1.0.0'], { env: {} });
    expect(cli.stderr).toBe(`error[oidc_unavailable]: ${OIDC_UNAVAILABLE_MESSAGE}\n`);
    expect(check.stdout).toBe(`::error::${cli.stderr}`);
    const allowed = await runStep('Check the OIDC permission', {}, { ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/token', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'x' });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toBe('');
  });

  it('installs the published CLI by version from the npm registry and puts it on the PATH', () => {
    expect(npmRegistry.requests).toContain(`/${PACKAGE_NAME}`);
    expect(existsSync(join(prefix, 'bin', 'shelf'))).toBe(true);
    expect(readFileSync(join(prefix, 'lib', 'node_modules', PACKAGE_NAME, 'package.json'), 'utf8')).toContain(`"version": "${VERSION}"`);
  });

  it('publishes a bundle: packs with the official packer, uploads to the release, announces (mask line first)', async () => {
    reg.github.addRelease('acme/echo-mcp', 'v1.2.0');
    const actions = await startFakeActionsToken(reg.github, claimsFor('acme/echo-mcp'));
    try {
      const first = await publishJob({ 'inputs.kind': 'bundle', 'inputs.directory': 'examples/echo' }, { repository: 'acme/echo-mcp', tag: 'v1.2.0', actions });
      expect(first.pack.code, first.pack.stdout + first.pack.stderr).toBe(0);
      expect(first.pack.outputs).toMatchObject({ reused: 'false', tag: 'v1.2.0', file: join(temp, 'runner', 'shelf-dist', 'echo-1.2.0-any-any.mcpb') });
      const manifest = JSON.parse(new TextDecoder().decode((await readArchiveFile(await readFile(first.pack.outputs.file!), 'manifest.json'))!));
      expect(manifest).toMatchObject({ name: '@acme/echo', version: '1.2.0' });
      expect(first.upload?.code, first.upload?.stdout).toBe(0);
      const uploaded = reg.github.assets('acme/echo-mcp', 'v1.2.0')!.get('echo-1.2.0-any-any.mcpb')!;
      expect(createHash('sha256').update(uploaded.bytes).digest('hex')).toBe(first.pack.outputs.sha256);
      expect(first.announce.code, first.announce.stdout).toBe(0);
      expect(first.announce.stdout.split('\n')[0]).toBe(`::add-mask::${actions.issued.at(-1)}`);
      expect(first.announce.stdout.split(actions.issued.at(-1)!).length).toBe(2); // the token appears in the mask line only
      expect(first.announce.outputs.status).toBe('created');
      expect(actions.requests.at(-1)).toEqual({ audience: reg.server.config.audience, authorized: true });

      // A re-run of the same job: the release holds the asset, so it is announced as it is.
      await rm(join(temp, 'runner', 'shelf-dist'), { recursive: true, force: true });
      const again = await publishJob({ 'inputs.kind': 'bundle', 'inputs.directory': 'examples/echo' }, { repository: 'acme/echo-mcp', tag: 'v1.2.0', actions });
      expect(again.pack.code, again.pack.stdout + again.pack.stderr).toBe(0);
      expect(again.pack.stdout).toContain('already holds echo-1.2.0-any-any.mcpb (a re-run)');
      expect(again.pack.outputs.reused).toBe('true');
      expect(again.pack.outputs.sha256).toBe(first.pack.outputs.sha256);
      expect(again.upload).toBeNull();
      expect(reg.github.assets('acme/echo-mcp', 'v1.2.0')!.get('echo-1.2.0-any-any.mcpb')).toBe(uploaded); // never replaced
      expect(again.announce.code, again.announce.stdout).toBe(0);
      expect(again.announce.stdout.split('\n')[0]).toBe(`::add-mask::${actions.issued.at(-1)}`);
      expect(again.announce.outputs.status).toBe('unchanged');
    } finally {
      await actions.close();
    }
  }, 120_000);

  it('publishes a skill packed by shelf skill pack, and a re-run is unchanged', async () => {
    reg.github.addRelease('acme/skills', 'v1.0.0');
    const actions = await startFakeActionsToken(reg.github, claimsFor('acme/skills'));
    try {
      const inputs = { 'inputs.kind': 'skill', 'inputs.directory': 'examples/skills/release-notes', 'inputs.release-tag': 'v1.0.0' };
      const first = await publishJob(inputs, { repository: 'acme/skills', tag: 'v1.0.0', actions });
      expect(first.pack.code, first.pack.stdout + first.pack.stderr).toBe(0);
      expect(first.pack.outputs.file).toBe(join(temp, 'runner', 'shelf-dist', 'release-notes-v1.0.0.skill'));
      expect(readZipEntries(await readFile(first.pack.outputs.file!)).map((e) => e.path).sort()).toEqual(['release-notes/SKILL.md', 'release-notes/template.md']);
      expect(first.announce.outputs.status).toBe('created');
      const again = await publishJob(inputs, { repository: 'acme/skills', tag: 'v1.0.0', actions });
      expect(again.pack.outputs.reused).toBe('true');
      expect(again.announce.code).toBe(0);
      expect(again.announce.outputs.status).toBe('unchanged');
    } finally {
      await actions.close();
    }
  }, 60_000);

  it('never replaces an asset: an upload of a name the release already holds fails, naming the re-run', async () => {
    reg.github.addAsset('acme/race-mcp', 'v1.0.0', 'race.mcpb', { bytes: new Uint8Array([1, 2, 3]) });
    const file = join(temp, 'race.mcpb');
    await writeFile(file, 'other bytes');
    const upload = await runStep('Upload to the release', { 'inputs.github-token': reg.github.apiToken, 'steps.pack.outputs.file': file, 'steps.pack.outputs.tag': 'v1.0.0' }, { GITHUB_REPOSITORY: 'acme/race-mcp' });
    expect(upload.code).toBe(1);
    expect(upload.stdout).toContain('::error::the release v1.0.0 already has an asset named race.mcpb');
    expect(reg.github.assets('acme/race-mcp', 'v1.0.0')!.get('race.mcpb')!.bytes).toEqual(new Uint8Array([1, 2, 3]));
    const unauthorised = await runStep('Upload to the release', { 'inputs.github-token': 'wrong', 'steps.pack.outputs.file': file, 'steps.pack.outputs.tag': 'v1.0.0' }, { GITHUB_REPOSITORY: 'acme/race-mcp' });
    expect(unauthorised.stdout).toContain('"permissions: contents: write"');
  });

  it('refuses an unknown kind, a run without a release tag, and a tag without a release', async () => {
    const pack = await runStep('Pack', { 'inputs.kind': 'plugin', 'inputs.directory': '.' }, {});
    expect(pack.code).toBe(1);
    expect(pack.stdout).toContain("::error::kind must be bundle or skill, not 'plugin'");
    const untagged = await runStep('Pack', { 'inputs.kind': 'bundle', 'inputs.directory': 'examples/echo', 'inputs.release-tag': '' }, {});
    expect(untagged.code).toBe(1);
    expect(untagged.stdout).toContain('::error::no release tag');
    const noRelease = await runStep('Pack', { 'inputs.kind': 'bundle', 'inputs.directory': 'examples/echo', 'inputs.release-tag': 'v9.9.9', 'inputs.github-token': reg.github.apiToken }, { GITHUB_REPOSITORY: 'acme/echo-mcp' });
    expect(noRelease.code).toBe(1);
    expect(noRelease.stdout).toContain('::error::there is no release for the tag v9.9.9 in acme/echo-mcp');
  });

  it('builds the CLI from the action checkout when its version is not on npm (the documented fallback)', async () => {
    // A copy of the checkout at the action's ref; its build tools are those of this repository.
    const checkout = join(temp, 'action-checkout');
    for (const entry of ['package.json', 'package-lock.json', 'README.md', 'LICENSE', 'bin', 'src', 'scripts', 'examples', 'tsconfig.json']) {
      cpSync(join(ROOT, entry), join(checkout, entry), { recursive: true });
    }
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    const nothing = await startFakeNpmRegistry(null);
    try {
      const runner = join(temp, 'fallback-runner');
      const install = await runStep('Install the shelf CLI', { 'inputs.cli-version': '' }, { npm_config_registry: nothing.url, GITHUB_ACTION_PATH: checkout, RUNNER_TEMP: runner });
      expect(install.code, install.stdout + install.stderr).toBe(0);
      expect(install.stdout).toContain(`::warning::${PACKAGE_NAME}@${VERSION} could not be installed from npm (not published yet?): building it from this action's checkout`);
      expect(install.path).toEqual([join(runner, 'shelf-cli', 'bin')]);
      expect(existsSync(join(runner, 'shelf-cli', 'lib', 'node_modules', PACKAGE_NAME, 'dist', 'cli', 'main.js'))).toBe(true);
      expect(install.stdout).toContain(`Installed ${PACKAGE_NAME}@${VERSION}`);
      // A version asked for by name that npm does not have is an error, not a silent fallback.
      const pinned = await runStep('Install the shelf CLI', { 'inputs.cli-version': '9.9.9' }, { npm_config_registry: nothing.url, RUNNER_TEMP: join(temp, 'pinned-runner') });
      expect(pinned.code).toBe(1);
      expect(pinned.stdout).toContain(`::error::${PACKAGE_NAME}@9.9.9 could not be installed from npm`);
    } finally {
      await nothing.close();
    }
  }, 120_000);
});
