/**
 * The published package, as a user gets it: `npm pack`, then `npm install -g` of the tarball into
 * a fresh prefix (offline: nothing but the tarball), then the installed `shelf` run from an empty
 * folder against a registry started the way `npm start` starts it (development mode, the examples
 * seeded through the announce path). One pack and one install serve every test of the file.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_NAME } from '../../src/core/package.ts';
import { seedExamples } from '../../src/dev/seed.ts';
import { startRegistryServer, type RegistryServer } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { packAndInstall, type InstalledPackage } from '../../scripts/install-package.ts';

let work: string;
let pkg: InstalledPackage;
let server: RegistryServer;
let home: string;
let empty: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shelf-published-'));
  home = join(work, 'home');
  empty = join(work, 'empty');
  await mkdir(home);
  await mkdir(empty);
  const store = new FsStore(join(work, 'data'));
  [pkg, server] = await Promise.all([
    packAndInstall(work),
    startRegistryServer({ store, dev: true, port: 0 }).then(async (s) => {
      await seedExamples(s.url, s.dev!, s.config.audience);
      return s;
    }),
  ]);
}, 180_000);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

/** The installed command's environment: its prefix and Node on PATH, a home of its own, nothing else. */
function userEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${join(pkg.prefix, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`, HOME: home, SHELF_REGISTRY: server.url, ...extra };
}

/** Runs the installed `shelf` from the empty folder. */
function shelf(args: string[], extra: Record<string, string> = {}, until?: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(pkg.bin, args, { cwd: empty, env: userEnv(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (until?.test(stdout)) child.kill('SIGTERM');
    });
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

describe('the published package', () => {
  it('is compiled JavaScript with the prebuilt pages and the examples: no sources, no TypeScript, no dependencies', () => {
    expect(pkg.files).toContain('bin/shelf.js');
    expect(pkg.files).toContain('dist/cli/main.js');
    expect(pkg.files).toContain('dist/cli/THIRD-PARTY-LICENSES.md');
    expect(pkg.files).toContain('dist/www/assets.json');
    expect(pkg.files).toContain('examples/echo/manifest.json');
    expect(pkg.files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE']));
    expect(pkg.files.filter((f) => f.startsWith('src/') || f.startsWith('test/') || /\.(ts|tsx|mts|cts)$/.test(f))).toEqual([]);
    expect(pkg.files.filter((f) => f.startsWith('dist/') && !/^dist\/(cli\/[\w-]+\.js|cli\/THIRD-PARTY-LICENSES\.md|www\/.+)$/.test(f))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(pkg.packageDir, 'package.json'), 'utf8'));
    expect(manifest.name).toBe(PACKAGE_NAME);
    expect(manifest.bin).toEqual({ shelf: 'bin/shelf.js' });
    expect(manifest.dependencies ?? {}).toEqual({});
    expect(Object.values(manifest.peerDependenciesMeta).every((m) => (m as { optional?: boolean }).optional === true)).toBe(true);
    // The code never reaches for tsx or the sources.
    const code = pkg.files.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(pkg.packageDir, f), 'utf8'));
    expect(code.some((c) => c.includes('tsx/esm'))).toBe(true); // only bin/shelf.js, behind "is there a src/ folder?"
    expect(code.filter((c) => c.includes('tsx/esm')).length).toBe(1);
  });

  it('installs offline from the tarball alone, adding nothing beside itself', async () => {
    expect(pkg.installed).toEqual([PACKAGE_NAME]);
    expect(existsSync(join(pkg.packageDir, 'node_modules'))).toBe(false);
    expect(existsSync(join(pkg.packageDir, 'src'))).toBe(false);
    // A small install: the bundled code, the web pages and the examples (the bench reports the figure).
    expect(pkg.installedBytes).toBeLessThan(4 * 1024 * 1024);
  });

  it('answers --version and --help from any folder', async () => {
    const version = await shelf(['--version']);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(pkg.packageDir, 'package.json'), 'utf8')).version);
    const help = await shelf(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: shelf <command>');
  });

  it('searches the registry npm start runs', async () => {
    const r = await shelf(['search', 'echo']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('@acme/echo');
    const json = JSON.parse((await shelf(['skill', 'search', 'release', '--json'])).stdout);
    expect(json.results.map((p: { name: string }) => p.name)).toEqual(['@acme/release-notes']);
  });

  it('runs a bundle that an MCP client talks to over stdio', async () => {
    const transport = new StdioClientTransport({ command: pkg.bin, args: ['bundle', 'run', '@acme/echo'], env: userEnv(), cwd: empty, stderr: 'pipe' });
    const client = new Client({ name: 'shelf-published-test', version: '1.0.0' });
    try {
      await client.connect(transport);
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['echo', 'reverse']);
      const result = await client.callTool({ name: 'reverse', arguments: { text: 'shelf' } });
      expect((result.content as Array<{ text: string }>)[0]!.text).toBe('flehs');
    } finally {
      await client.close();
    }
  }, 60_000);

  it('installs a skill into ~/.claude/skills', async () => {
    const r = await shelf(['skill', 'install', '@acme/release-notes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: '@acme/release-notes', status: 'installed', dir: join(home, '.claude', 'skills', 'release-notes') });
    expect((await readdir(join(home, '.claude', 'skills', 'release-notes'))).sort()).toEqual(['.shelf-skill.json', 'SKILL.md', 'template.md']);
    expect(await readdir(empty)).toEqual([]);
  });

  it('serves a registry with its prebuilt pages, and checks a folder bucket, without extra packages', async () => {
    const served = await shelf(['serve', '--port', '0'], { SHELF_AUDIENCE: 'https://registry.example.com', SHELF_DATA_DIR: join(work, 'served') }, /web: +(http:\S+)/);
    const url = /web: +(http:\S+)/.exec(served.stdout)?.[1];
    expect(url, served.stdout + served.stderr).toBeDefined();
    expect(served.stderr).not.toContain('error');
    expect(existsSync(join(work, 'served', 'index.html'))).toBe(true);
    expect(readFileSync(join(work, 'served', 'index.html'), 'utf8')).toMatch(/assets\/app\.[0-9a-f]{16}\.js/);
    const check = await shelf(['check'], { SHELF_DATA_DIR: join(work, 'data') });
    expect(check.stdout + check.stderr).toContain('agree with the records');
    expect(check.code).toBe(0);
  }, 60_000);

  it('is what the bench times: every start-up command runs, and the report judges the goals', async () => {
    const { measureStartup } = await import('../../bench/startup.ts');
    const { renderStartupSection, startupGoalRows } = await import('../../bench/report.ts');
    const report = await measureStartup({
      bin: join(pkg.packageDir, 'bin', 'shelf.js'),
      registryUrl: server.url,
      query: 'echo',
      tarballBytes: pkg.tarballBytes,
      installedBytes: pkg.installedBytes,
      installed: pkg.installed,
      rounds: 1,
    });
    expect(report.runs).toHaveLength(1);
    expect(Object.keys(report.runs[0]!.ms).sort()).toEqual(['bare', 'help', 'offline', 'search']);
    expect(startupGoalRows(report).map((r) => r.target)).toEqual(['≤ bare Node + 80 ms', '≤ bare Node + 150 ms']);
    expect(renderStartupSection(report)).toContain(`installed **`);
  }, 60_000);

  it('says what to install for an S3 bucket and for development mode', async () => {
    const s3 = await shelf(['check'], { SHELF_STORE: 's3://bucket/prefix' });
    expect(s3.code).toBe(4); // shelf check: nothing to check
    expect(s3.stderr).toContain(`error[invalid_config]: SHELF_STORE names an S3 bucket, which needs the AWS SDK`);
    expect(s3.stderr).toContain(`npm install -g ${PACKAGE_NAME} @aws-sdk/client-s3`);
    const dev = await shelf(['serve', '--dev', '--port', '0'], { SHELF_DATA_DIR: join(work, 'dev') });
    expect(dev.code).toBe(1);
    expect(dev.stderr).toContain(`npm install -g ${PACKAGE_NAME} @anthropic-ai/mcpb`);
    expect(existsSync(join(work, 'dev'))).toBe(false);
  });
});

describe('the runtime libraries both bundles may inline', () => {
  it('are exactly the packages src/ imports (esbuild, loaded when present, aside)', async () => {
    const { RUNTIME_PACKAGES } = await import('../../scripts/runtime-packages.ts');
    const { readdirSync } = await import('node:fs');
    const root = join(dirname(new URL(import.meta.url).pathname), '..', '..', 'src');
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts')) {
          const text = readFileSync(path, 'utf8');
          // Value imports only: `import type` brings nothing into a bundle.
          for (const [, staticSpec, dynamicSpec] of text.matchAll(/^import (?!type )[^'"]*?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm)) {
            const spec = staticSpec ?? dynamicSpec;
            if (spec && !spec.startsWith('.') && !spec.startsWith('node:')) imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
          }
        }
      }
    };
    walk(root);
    imported.delete('esbuild');
    expect([...imported].sort()).toEqual([...RUNTIME_PACKAGES].sort());
  });
});

describe('the package name', () => {
  it('is written once and used by the README, the pages and the action; nothing tells people to run npx shelf', async () => {
    const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name).toBe(PACKAGE_NAME);
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toContain(`npm install -g ${PACKAGE_NAME}`);
    // `npx shelf` outside a checkout runs an unrelated npm package called `shelf`.
    expect(readme.match(/npx (-y )?shelf(?![-\w])/g) ?? []).toEqual([]);
    const { pullCommand } = await import('../../src/web/format.ts');
    expect(pullCommand('bundle', '@acme/echo')).toBe(`npx ${PACKAGE_NAME} bundle pull @acme/echo`);
    // The action installs the package package.json names, by reading it.
    expect(readFileSync(join(root, 'action.yml'), 'utf8')).toContain(`name="$(node -p 'require(process.argv[1]).name' "$manifest")"`);
  });
});
