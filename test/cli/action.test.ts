/**
 * The composite GitHub Action in action.yml: its structure, and its Pack and Announce step
 * scripts run for real with bash (as the runner would, minus setup-node and `gh`), against a test
 * registry and a fake of the Actions token service.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readArchiveFile } from '../../src/archive/inflate.ts';
import { readZipEntries } from '../../src/archive/zip-entries.ts';
import { startFakeActionsToken } from '../fakes/actions-token.ts';
import { claimsFor, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Step {
  name: string;
  id?: string;
  uses?: string;
  shell?: string;
  run?: string;
  env?: Record<string, string>;
}
let action: { runs: { using: string; steps: Step[] }; inputs: Record<string, { default?: string; required?: boolean }> };
let reg: TestRegistry;
let temp: string;

beforeAll(async () => {
  action = parse(await readFile(join(ROOT, 'action.yml'), 'utf8'));
  reg = await startTestRegistry();
  temp = await mkdtemp(join(tmpdir(), 'shelf-action-'));
}, 60_000);

afterAll(async () => {
  await reg?.close();
  await rm(temp, { recursive: true, force: true });
});

const step = (name: string) => action.runs.steps.find((s) => s.name === name)!;

/** Runs a step's script with bash; `${{ ... }}` env values are replaced by `values`. */
async function runStep(name: string, values: Record<string, string>, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string; outputs: Record<string, string> }> {
  const s = step(name);
  const outputFile = join(temp, `${name.replace(/\W/g, '-')}-${Date.now()}.out`);
  await writeFile(outputFile, '');
  const stepEnv: Record<string, string> = {};
  for (const [key, expr] of Object.entries(s.env ?? {})) {
    const m = /^\$\{\{\s*(.+?)\s*\}\}$/.exec(expr);
    stepEnv[key] = m ? (values[m[1]!] ?? '') : expr;
  }
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-c', s.run!], {
      env: { PATH: process.env.PATH ?? '', HOME: temp, GITHUB_ACTION_PATH: ROOT, GITHUB_WORKSPACE: ROOT, RUNNER_TEMP: temp, GITHUB_OUTPUT: outputFile, ...env, ...stepEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', async (code) => {
      const outputs = Object.fromEntries(
        (await readFile(outputFile, 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
      );
      resolve({ code, stdout, stderr, outputs });
    });
  });
}

describe('action.yml', () => {
  it('is a composite action whose scripts get inputs only through the environment', () => {
    expect(action.runs.using).toBe('composite');
    expect(action.inputs.registry?.required).toBe(true);
    expect(action.inputs.directory?.default).toBe('.');
    const text = JSON.stringify(action.runs.steps);
    for (const [, input] of text.matchAll(/inputs\.([a-z-]+)/g)) expect(Object.keys(action.inputs)).toContain(input);
    for (const s of action.runs.steps) {
      if (s.run === undefined) continue;
      expect(s.shell).toBe('bash');
      // Pasting ${{ inputs.* }} into a script is a script injection; env vars are not.
      expect(s.run).not.toContain('${{');
    }
    expect(step('Install the shelf CLI').run).toContain('npm ci --omit=dev');
    expect(step('Announce').run).toContain('"$GITHUB_ACTION_PATH/bin/shelf.js"');
    expect(step('Upload to the release').run).toContain('gh release upload');
  });

  it('packs a skill and announces it with the job token', async () => {
    const pack = await runStep('Pack', { 'inputs.kind': 'skill', 'inputs.directory': 'examples/skills/release-notes', 'inputs.release-tag': 'v1.0.0' }, {});
    expect(pack.stderr).toBe('');
    expect(pack.code).toBe(0);
    const file = pack.outputs.file!;
    expect(file).toBe(join(temp, 'shelf-dist', 'release-notes-v1.0.0.skill'));
    const bytes = await readFile(file);
    expect(readZipEntries(bytes).map((e) => e.path).sort()).toEqual(['release-notes/SKILL.md', 'release-notes/template.md']);
    expect(pack.outputs.tag).toBe('v1.0.0');

    // What `gh release upload` would have done, then the announce step itself.
    reg.github.addAsset('acme/skills', 'v1.0.0', 'release-notes-v1.0.0.skill', { bytes });
    const actions = await startFakeActionsToken(reg.github, claimsFor('acme/skills'));
    try {
      const announce = await runStep(
        'Announce',
        { 'inputs.registry': reg.url, 'inputs.kind': 'skill', 'inputs.prerelease': 'false', 'steps.pack.outputs.file': file, 'steps.pack.outputs.tag': 'v1.0.0' },
        { ACTIONS_ID_TOKEN_REQUEST_URL: actions.requestUrl, ACTIONS_ID_TOKEN_REQUEST_TOKEN: actions.requestToken, GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY_OWNER: 'acme' },
      );
      expect(announce.code).toBe(0);
      expect(announce.stdout.split('\n')[0]).toBe(`::add-mask::${actions.issued[0]}`);
      expect(announce.outputs.status).toBe('created');
    } finally {
      await actions.close();
    }
  }, 60_000);

  it('packs a bundle with the official packer, named after its manifest', async () => {
    const pack = await runStep('Pack', { 'inputs.kind': 'bundle', 'inputs.directory': 'examples/echo', 'inputs.os': '', 'inputs.arch': '', 'inputs.release-tag': '' }, { GITHUB_REF_NAME: 'v1.2.0' });
    expect(pack.code).toBe(0);
    expect(pack.outputs.file).toBe(join(temp, 'shelf-dist', 'echo-1.2.0-any-any.mcpb'));
    const manifest = JSON.parse(new TextDecoder().decode((await readArchiveFile(await readFile(pack.outputs.file!), 'manifest.json'))!));
    expect(manifest).toMatchObject({ name: '@acme/echo', version: '1.2.0' });
    expect(pack.outputs.sha256).toMatch(/^[0-9a-f]{64}$/);
  }, 60_000);

  it('refuses an unknown kind, and a run without a release tag', async () => {
    const pack = await runStep('Pack', { 'inputs.kind': 'plugin', 'inputs.directory': '.' }, {});
    expect(pack.code).toBe(1);
    expect(pack.stdout).toContain("::error::kind must be bundle or skill, not 'plugin'");
    const untagged = await runStep('Pack', { 'inputs.kind': 'bundle', 'inputs.directory': 'examples/echo', 'inputs.release-tag': '' }, {});
    expect(untagged.code).toBe(1);
    expect(untagged.stdout).toContain('::error::no release tag');
  });
});
