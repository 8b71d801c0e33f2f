/**
 * `shelf serve`: configuration is refused without an audience; `--dev` seeds the examples through
 * the announce path and trusts only its own development issuer; a server outside development
 * mode never trusts that issuer. The seeded registry is what `npm start` serves: VS Code's walk of
 * the MCP registry API finds every demo bundle and installs one with its sha256 checked, and the
 * real `skills` CLI installs the demo skill from `/@acme`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { startRegistryServer } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { claimsFor, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { filesOf, skillsAdd, type SkillsRun } from '../helpers/skills-cli.ts';
import { getJson, walkList } from '../mcp/helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/shelf.js', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-serve-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs `shelf` as a process to completion. */
function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out; output so far:\n${output}`));
    }, 60_000);
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('shelf serve', () => {
  it('refuses to start without SHELF_AUDIENCE, naming the variable', async () => {
    const r = await run(['serve', '--port', '0'], { SHELF_DATA_DIR: join(dir, 'no-audience') });
    expect(r.code).toBe(1);
    expect(r.output).toContain('SHELF_AUDIENCE');
    expect(r.output).not.toContain('Shelf registry on');
  });

  it('says a port in use as such, and exits 1', async () => {
    const reg = await startTestRegistry();
    try {
      const r = await run(['serve', '--port', new URL(reg.url).port], { SHELF_DATA_DIR: join(dir, 'in-use'), SHELF_AUDIENCE: 'https://shelf.test' });
      expect(r.code).toBe(1);
      expect(r.output).toContain(`error[address_in_use]: Port ${new URL(reg.url).port} on 127.0.0.1 is already in use`);
    } finally {
      await reg.close();
    }
  });

  it('refuses a non-URL issuer, naming the variable', async () => {
    const err = await startRegistryServer({ store: new FsStore(join(dir, 'bad-issuer')), port: 0, env: { SHELF_AUDIENCE: 'x', SHELF_OIDC_ISSUER: 'not a url' } }).catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('SHELF_OIDC_ISSUER');
  });

  it('--dev warns loudly, seeds the examples through the announce path, and serves them', async () => {
    const data = join(dir, 'dev');
    let catalogs: Record<string, string[]> = {};
    let servers: string[] = [];
    let installed: { server: string; identifier: string; sha256: string; fileSha256: string } | undefined;
    let skills: SkillsRun | undefined;
    let failure: unknown;
    const r = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, 'serve', '--dev', '--port', '0'], {
        env: { PATH: process.env.PATH ?? '', SHELF_DATA_DIR: data },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error(output))), 90_000);
      const onData = async (d: Buffer) => {
        output += d.toString();
        const url = /Shelf registry on (http:\/\/\S+)/.exec(output)?.[1];
        if (url && /Try:/.test(output) && Object.keys(catalogs).length === 0) {
          catalogs = { bundles: [], skills: [] };
          // Listed through the shared client, as the web page and `shelf search` list them.
          const client = new RegistryClient({ baseUrl: url });
          try {
            for (const kind of ['bundle', 'skill'] as const) {
              catalogs[`${kind}s`] = (await client.search(kind, '', { sort: 'name' })).map((p) => p.name);
            }
            // What VS Code does with the registry's URL: probe, list, one server, install.
            expect((await getJson(`${url}/v0.1/servers?limit=1`)).status).toBe(200);
            servers = (await walkList(url)).servers.map((s) => s.server.name).sort();
            const { json } = await getJson(`${url}/v0.1/servers/${encodeURIComponent('io.github.acme/echo')}/versions/latest`);
            const mcpb = json.server.packages[0];
            const bytes = new Uint8Array(await (await fetch(mcpb.identifier)).arrayBuffer());
            installed = { server: json.server.name, identifier: mcpb.identifier, sha256: createHash('sha256').update(bytes).digest('hex'), fileSha256: mcpb.fileSha256 };
            skills = await skillsAdd(`${url}/@acme`, dir);
          } catch (err) {
            failure = err;
          }
          child.kill('SIGTERM');
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.on('exit', (code) => (clearTimeout(timer), resolve({ code, output })));
    });
    expect(r.output).toContain('SHELF DEVELOPMENT MODE');
    expect(r.output).toMatch(/201 @acme\/sysinfo@0\.3\.0 win32-x64/);
    expect(catalogs.bundles).toEqual(['@acme/echo', '@acme/sysinfo', '@globex/weather']);
    expect(catalogs.skills).toEqual(['@acme/release-notes']);
    expect(r.code).toBe(0);
    if (failure) throw failure;
    // serve advertises both read APIs with the exact settings.
    expect(r.output).toMatch(/"chat\.mcp\.gallery\.serviceUrl": "http:\/\/127\.0\.0\.1:\d+"/);
    expect(r.output).toMatch(/npx skills add http:\/\/127\.0\.0\.1:\d+\/@<scope>/);
    expect(servers).toEqual(['io.github.acme/echo', 'io.github.acme/sysinfo', 'io.github.globex/weather']);
    expect(installed).toMatchObject({ server: 'io.github.acme/echo', identifier: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1\/bundles\/@acme\/echo\//) });
    expect(installed!.sha256).toBe(installed!.fileSha256);
    expect(skills!.status, skills!.output).toBe(0);
    const files = filesOf(join(skills!.project, '.claude/skills/release-notes'));
    expect([...files.keys()].sort()).toEqual(['SKILL.md', 'template.md']);
    expect(files.get('template.md')).toBe(readFileSync(fileURLToPath(new URL('../../examples/skills/release-notes/template.md', import.meta.url)), 'latin1'));
    expect(skills!.outbound).toBe('');
  }, 120_000);
});

describe('development trust', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startTestRegistry();
  });
  afterAll(() => reg.close());

  it('is not mounted outside development mode', async () => {
    expect((await fetch(`${reg.url}/_dev/oidc/.well-known/jwks`)).status).toBe(404);
  });

  it('tokens from a development issuer are refused by a production server', async () => {
    const devServer = await startRegistryServer({ store: new FsStore(join(dir, 'dev2')), port: 0, dev: true });
    try {
      const token = await devServer.dev!.mintToken(claimsFor('acme/echo-mcp'), reg.server.config.audience);
      const before = await reg.snapshot();
      const res = await reg.post('/v1/bundles/announce', '{}', { authorization: `Bearer ${token}`, 'content-type': 'application/json' });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('invalid_token');
      expect(await reg.snapshot()).toEqual(before);
    } finally {
      await devServer.close();
    }
  });
});
