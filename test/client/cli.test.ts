import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { hostPlatform } from '../../src/client/platform.ts';
import { SHA, buildRegistry, type Fixture } from './fixtures.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';
import { shelf as runShelf, type ShelfResult } from '../cli/helpers.ts';

let root: string;
let fixture: Fixture;
let server: StaticServer;
let work: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'shelf-cli-registry-'));
  fixture = await buildRegistry(root);
  server = await startStaticServer(root);
});

afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

beforeEach(async (ctx) => {
  work = await mkdtemp(join(tmpdir(), 'shelf-cli-work-'));
  ctx.onTestFinished(() => rm(work, { recursive: true, force: true }));
});

/** Runs `shelf` in-process against the fixture registry, in the test's work directory. */
const shelf = (...argv: string[]): Promise<ShelfResult> => runShelf(argv, { cwd: work, env: { SHELF_REGISTRY: server.url } });

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('shelf search', () => {
  it('prints a table of hits', async () => {
    const r = await shelf('search', 'ech');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^NAME\s+VERSION\s+TYPE\s+PLATFORMS\s+DESCRIPTION/);
    expect(r.stdout).toContain('@acme/echo ✓');
    expect(r.stdout).toContain('1.2.0');
  });

  it('bundle search is the same command; --json is stable', async () => {
    const r = await shelf('bundle', 'search', 'wether', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({ kind: 'bundle', query: 'wether' });
    expect(json.results.map((h: { name: string }) => h.name)).toEqual(['@acme/weather']);
    expect(json.results[0].score).toBeGreaterThan(0);
  });

  it('applies filters, sort and limit', async () => {
    const names = async (...args: string[]) =>
      JSON.parse((await shelf('search', ...args, '--json')).stdout).results.map((h: { name: string }) => h.name);
    expect(await names('--type', 'python')).toEqual(['@acme/weather']);
    expect(await names('--os', 'linux')).toEqual(['@acme/echo']);
    expect(await names('--arch', 'arm64')).toEqual(['@acme/weather']);
    expect(await names('--sort', 'name')).toEqual(['@acme/echo', '@acme/weather']);
    expect(await names('--sort', 'recent')).toEqual(['@acme/weather', '@acme/echo']);
    expect(await names('--sort', 'recent', '--limit', '1')).toEqual(['@acme/weather']);
  });

  it('searches skills', async () => {
    const r = await shelf('skill', 'search', 'release');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('@tools/release-notes');
  });

  it('says so when nothing matches', async () => {
    const r = await shelf('search', 'zzzzqqq');
    expect(r).toMatchObject({ code: 0, stdout: 'No bundles match "zzzzqqq".\n' });
  });

  it('suggests the nearest words of the index when nothing matches ("did you mean"), in text and --json', async () => {
    // Two swaps from "weather": beyond the typo allowance, within a suggestion's.
    const r = await shelf('search', 'waehter');
    expect(r).toMatchObject({ code: 0, stdout: 'No bundles match "waehter". Did you mean "weather"?\n' });
    const json = JSON.parse((await shelf('search', 'waehter', '--json')).stdout);
    expect(json).toEqual({ kind: 'bundle', query: 'waehter', results: [], suggestion: 'weather' });
    expect(JSON.parse((await shelf('search', 'zzzzqqq', '--json')).stdout).suggestion).toBeNull();
  });

  it('matches a word with two neighbouring letters swapped', async () => {
    const r = await shelf('search', 'wetaher', '--json');
    expect(JSON.parse(r.stdout).results.map((h: { name: string }) => h.name)).toEqual(['@acme/weather']);
  });

  it('rejects bad flag values with exit 2', async () => {
    for (const args of [['--sort', 'random'], ['--limit', '0'], ['--limit', 'x'], ['--type', 'java'], ['--os', 'beos']]) {
      const r = await shelf('search', 'echo', ...args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^error\[invalid_argument\]: /);
    }
    expect((await shelf('skill', 'search', '--type', 'node')).code).toBe(2);
  });
});

describe('shelf show', () => {
  it('shows the package, versions, tools and provenance', async () => {
    const r = await shelf('bundle', 'show', '@acme/echo');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    const out = r.stdout;
    expect(out).toContain('Echo (@acme/echo)');
    expect(out).toContain('Echoes text back, straight or reversed.');
    expect(out).toMatch(/Latest:\s+1\.2\.0/);
    expect(out).toMatch(/Author:\s+Acme Corp <mcp@acme\.example>/);
    expect(out).toMatch(/License:\s+MIT/);
    expect(out).toMatch(/2\.0\.0-beta\.1\s+prerelease\s+2024-03-01\s+linux-x64/);
    expect(out).toMatch(/1\.2\.0 \*\s+2024-02-01\s+any-any, linux-any, linux-x64/);
    expect(out).toMatch(/reverse\s+Returns the given text reversed\./);
    expect(out).toContain('Provenance of 1.2.0');
    expect(out).toMatch(/Repository:\s+https:\/\/github\.com\/acme\/echo-mcp/);
    expect(out).toContain('acme/echo-mcp/.github/workflows/release.yml@refs/tags/v1.2.0');
    expect(out).toContain(SHA.slice(0, 7));
    expect(out).toContain('✓ GitHub Actions OIDC');
  });

  it('--json prints the package and version documents', async () => {
    const r = await shelf('bundle', 'show', '@acme/echo@^1', '--json');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.package).toEqual(fixture.packages.get('@acme/echo'));
    expect(json.version).toEqual(fixture.versions.get('@acme/echo@1.2.0'));
  });

  it('shows skills', async () => {
    const r = await shelf('skill', 'show', '@tools/release-notes');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Writes release notes from a git log.');
  });

  it('fails with not_found and exit 1 for an unknown package', async () => {
    const r = await shelf('bundle', 'show', '@acme/nope');
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'error[not_found]: bundle @acme/nope was not found\n' });
  });
});

describe('shelf pull', () => {
  const artifact = (key: string) => fixture.artifacts.get(key)!;

  async function pullJson(...args: string[]) {
    const r = await shelf('bundle', 'pull', ...args, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as { file: string; name: string; version: string; os: string; arch: string; sha256: string; size: number };
  }

  it('picks the exact platform, then os/any, then any/any', async () => {
    const exact = await pullJson('@acme/echo', '--os', 'linux', '--arch', 'x64');
    expect(exact).toMatchObject({ name: '@acme/echo', version: '1.2.0', os: 'linux', arch: 'x64' });
    expect(exact.file).toBe(join(work, 'acme-echo-1.2.0-linux-x64.mcpb'));
    const bytes = await readFile(exact.file);
    expect(sha256(bytes)).toBe(artifact('@acme/echo@1.2.0/linux-x64').sha256);
    expect(exact.sha256).toBe(sha256(bytes));
    expect(exact.size).toBe(bytes.length);

    expect(await pullJson('@acme/echo', '--os', 'linux', '--arch', 'arm64')).toMatchObject({ os: 'linux', arch: 'any' });
    const universal = await pullJson('@acme/echo', '--os', 'darwin', '--arch', 'arm64');
    expect(universal).toMatchObject({ os: 'any', arch: 'any' });
    expect(sha256(await readFile(universal.file))).toBe(artifact('@acme/echo@1.2.0/any-any').sha256);
  });

  it('defaults to the host platform', async () => {
    const host = hostPlatform(process.platform, process.arch);
    const r = await pullJson('@acme/echo');
    const expected = host.os === 'linux' ? (host.arch === 'x64' ? 'linux-x64' : 'linux-any') : 'any-any';
    expect(`${r.os}-${r.arch}`).toBe(expected);
  });

  it('resolves @version and @range', async () => {
    expect(await pullJson('@acme/echo@1.0.0')).toMatchObject({ version: '1.0.0', os: 'any', arch: 'any' });
    expect(await pullJson('@acme/echo@^1', '--os', 'linux', '--arch', 'x64')).toMatchObject({ version: '1.2.0' });
    expect(await pullJson('@acme/echo@~1.0', '-o', 'x.mcpb')).toMatchObject({ version: '1.0.0', file: join(work, 'x.mcpb') });
    expect(await pullJson('@acme/echo@^2.0.0-beta.0', '--os', 'linux', '--arch', 'x64')).toMatchObject({
      version: '2.0.0-beta.1',
    });
  });

  it('writes into an existing directory given with -o', async () => {
    await mkdir(join(work, 'out'));
    const r = await pullJson('@acme/echo@1.0.0', '-o', 'out');
    expect(r.file).toBe(join(work, 'out', 'acme-echo-1.0.0-any-any.mcpb'));
  });

  it('pulls skills as any/any with the .skill extension', async () => {
    const r = await shelf('skill', 'pull', '@tools/release-notes');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Pulled @tools/release-notes@1.0.0 (any-any)');
    const bytes = await readFile(join(work, 'tools-release-notes-1.0.0-any-any.skill'));
    expect(sha256(bytes)).toBe(artifact('@tools/release-notes@1.0.0/any-any').sha256);
  });

  it('reports no_matching_artifact with the available platforms', async () => {
    const r = await shelf('bundle', 'pull', '@acme/weather', '--os', 'linux', '--arch', 'x64');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[no_matching_artifact\]: .*darwin-arm64, win32-x64/);
    expect(await readdir(work)).toEqual([]);
  });

  const failures = [
    ['flip', /^error\[integrity_mismatch\]: The sha256 of .* is [0-9a-f]{64} but the registry recorded/],
    ['truncate', /^error\[integrity_mismatch\]: .* is \d+ bytes but the registry recorded \d+; not downloading it/],
    ['extend', /^error\[integrity_mismatch\]: .* sent more than the \d+ bytes the registry recorded/],
    ['cut', /^error\[registry_unreachable\]: The download of .* was interrupted/],
  ] as const;
  for (const [mode, expected] of failures) {
    it(`fails on a tampered or broken download (${mode}), leaving nothing and clobbering nothing`, async () => {
      const { key } = artifact('@acme/echo@1.2.0/linux-x64');
      server.tamper(key, mode);
      try {
        const r = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64');
        expect(r.code).toBe(1);
        expect(r.stderr).toMatch(expected);
        expect(await readdir(work)).toEqual([]);

        const existing = join(work, 'acme-echo-1.2.0-linux-x64.mcpb');
        await writeFile(existing, 'previous contents');
        const again = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64');
        expect(again.code).toBe(1);
        expect(await readFile(existing, 'utf8')).toBe('previous contents');
        expect(await readdir(work)).toEqual(['acme-echo-1.2.0-linux-x64.mcpb']);
      } finally {
        server.tamper(key, undefined);
      }
    });
  }

  it('replaces an existing file after a verified download', async () => {
    const existing = join(work, 'acme-echo-1.0.0-any-any.mcpb');
    await writeFile(existing, 'old');
    await pullJson('@acme/echo@1.0.0');
    expect(sha256(await readFile(existing))).toBe(artifact('@acme/echo@1.0.0/any-any').sha256);
    expect(await readdir(work)).toEqual(['acme-echo-1.0.0-any-any.mcpb']);
  });

  it('fails with not_found for unknown packages and versions', async () => {
    expect((await shelf('bundle', 'pull', '@acme/nope')).stderr).toBe('error[not_found]: bundle @acme/nope was not found\n');
    const r = await shelf('bundle', 'pull', '@acme/echo@^7');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[not_found\]: bundle @acme\/echo has no version matching \^7/);
  });

  it('rejects a missing output directory', async () => {
    const r = await shelf('bundle', 'pull', '@acme/echo@1.0.0', '-o', 'missing/dir/x.mcpb');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error\[invalid_argument\]: The directory .* does not exist/);
  });
});

describe('shelf command line', () => {
  it('prints help for shelf and every command', async () => {
    const top = await shelf('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('Usage: shelf <command>');
    for (const args of [
      ['search', '--help'],
      ['bundle', 'show', '-h'],
      ['bundle', 'pull', '--help'],
      ['skill', 'pull', '--help'],
      ['help', 'skill', 'search'],
    ]) {
      const r = await shelf(...args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('--registry URL');
    }
    expect((await shelf('bundle', 'pull', '--help')).stdout).toContain('-o, --output');
  });

  it('exits 2 on an unknown flag or command', async () => {
    const flag = await shelf('search', 'echo', '--frobnicate');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("'--frobnicate'");
    expect((await shelf('--frobnicate')).code).toBe(2);
    expect((await shelf('frobnicate')).code).toBe(2);
    expect((await shelf('bundle', 'frobnicate')).code).toBe(2);
    expect((await shelf()).code).toBe(2);
    expect((await shelf('bundle', 'show')).code).toBe(2);
  });

  it('takes --registry before or after the command, over SHELF_REGISTRY', async () => {
    const dead = 'http://127.0.0.1:9';
    const before = await shelf('--registry', dead, 'search', 'echo');
    expect(before.code).toBe(1);
    expect(before.stderr).toMatch(/^error\[registry_unreachable\]: .*127\.0\.0\.1:9\/v1\/config\.json/);
    expect((await shelf('search', 'echo', `--registry=${dead}`)).code).toBe(1);
    expect((await shelf('--registry', 'ftp://x', 'search')).code).toBe(2);
  });
});
