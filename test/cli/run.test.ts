import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachedArtifactPath } from '../../src/cli/artifact-cache.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { BIN, bundleFolder, plantBytes, publishFolder, shelf, spawnShelf, startCountingProxy, type CountingProxy } from './helpers.ts';

let reg: TestRegistry;
let proxy: CountingProxy;
let cacheDir: string;
let echoSha: string;

beforeAll(async () => {
  reg = await startTestRegistry();
  proxy = await startCountingProxy(reg.url);
  cacheDir = await mkdtemp(join(tmpdir(), 'shelf-run-cache-'));
  // The real example server, packed with the official packer, published over HTTP.
  const echo = await prepareBundle(reg, {});
  expect((await announcePrepared(reg, echo)).status).toBe(201);
  echoSha = echo.sha256;

  // A bundle whose server reports how it was started, then exits with a chosen status.
  const reporter = bundleFolder(
    (m) => {
      m.server.entry_point = 'report.js';
      m.server.mcp_config = {
        command: 'node',
        args: ['${__dirname}/report.js', '--greeting=${user_config.greeting}', '${user_config.dirs}'],
        env: { REPORT_TOKEN: '${user_config.token}', REPORT_LIMIT: '${user_config.limit}', REPORT_HOME: '${HOME}' },
        platform_overrides: { [process.platform]: { env: { REPORT_TOKEN: '${user_config.token}', REPORT_LIMIT: '${user_config.limit}', REPORT_OVERRIDDEN: 'yes' } } },
      };
      m.user_config = {
        token: { type: 'string', title: 'API token', description: 'Secret token', required: true, sensitive: true },
        greeting: { type: 'string', title: 'Greeting', description: 'Word to greet with', default: 'hello' },
        limit: { type: 'number', title: 'Limit', description: 'How many', default: 5, min: 1, max: 10 },
        dirs: { type: 'directory', title: 'Dirs', description: 'Folders', multiple: true },
      };
    },
    {
      'report.js':
        "process.stdout.write(JSON.stringify({ args: process.argv.slice(2), token: process.env.REPORT_TOKEN, limit: process.env.REPORT_LIMIT, overridden: process.env.REPORT_OVERRIDDEN, cwd: process.cwd() }) + '\\n');\n" +
        'process.exitCode = 3;\n',
    },
  );
  await publishFolder(reg, reporter, { name: '@acme/reporter', version: '1.0.0' });
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await reg?.close();
  await rm(cacheDir, { recursive: true, force: true });
});

const env = () => ({ SHELF_CACHE_DIR: cacheDir, SHELF_REGISTRY: proxy.url });

async function talkToEcho(extraArgs: string[] = [], registry = proxy.url): Promise<{ tools: string[]; echoed: string; stderr: string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'bundle', 'run', '@acme/echo', '--registry', registry, ...extraArgs],
    env: { PATH: process.env.PATH ?? '', SHELF_CACHE_DIR: cacheDir },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const client = new Client({ name: 'shelf-test', version: '1.0.0' });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    const result = await client.callTool({ name: 'echo', arguments: { text: 'hello from shelf' } });
    const content = result.content as Array<{ type: string; text: string }>;
    return { tools: tools.map((t) => t.name).sort(), echoed: content[0]!.text, stderr };
  } finally {
    await client.close();
  }
}

describe('shelf bundle run', () => {
  it('pulls, verifies, unpacks and starts a published bundle that an MCP client can talk to over stdio', async () => {
    const { tools, echoed } = await talkToEcho();
    expect(tools).toEqual(['echo', 'reverse']);
    expect(echoed).toBe('hello from shelf');
    // Downloaded into the cache and unpacked there.
    expect(await readdir(join(cacheDir, 'artifacts'))).toContain(`${echoSha}.mcpb`);
    expect(await readdir(join(cacheDir, 'unpacked', echoSha))).toContain('manifest.json');
  }, 60_000);

  it('a second run reuses the verified cached copy and revalidates documents with 304s', async () => {
    const artifact = `/any-any.mcpb`;
    const downloadsBefore = proxy.to(artifact).length;
    const before = proxy.requests.length;
    const { echoed } = await talkToEcho();
    expect(echoed).toBe('hello from shelf');
    const during = proxy.requests.slice(before);
    expect(proxy.to(artifact).length).toBe(downloadsBefore);
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((r) => r.status === 304 && r.ifNoneMatch !== undefined)).toBe(true);
  }, 60_000);

  it('runs offline from the cache without a single request', async () => {
    const before = proxy.requests.length;
    expect((await talkToEcho(['--offline'])).echoed).toBe('hello from shelf');
    expect(proxy.requests.length).toBe(before);
  }, 60_000);

  it('falls back to the cached copy when the registry becomes unreachable', async () => {
    const other = await startCountingProxy(reg.url);
    const url = other.url;
    expect((await talkToEcho([], url)).echoed).toBe('hello from shelf');
    await other.close();
    const offline = await talkToEcho([], url);
    expect(offline.echoed).toBe('hello from shelf');
    expect(offline.stderr).toContain('Using the cached copy.');
  }, 60_000);

  it('a corrupt cached artifact is detected, discarded and downloaded again', async () => {
    const file = cachedArtifactPath(cacheDir, 'bundle', echoSha);
    await writeFile(file, 'tampered');
    const downloadsBefore = proxy.to('/any-any.mcpb').length;
    expect((await talkToEcho()).echoed).toBe('hello from shelf');
    expect(proxy.to('/any-any.mcpb').length).toBe(downloadsBefore + 1);
  }, 60_000);

  it('passes stdout through, appends args after --, substitutes user_config and exits with the server status', async () => {
    const work = await mkdtemp(join(tmpdir(), 'shelf-run-work-'));
    try {
      const r = await spawnShelf(
        ['bundle', 'run', '@acme/reporter', '--config', 'token=s3cret', '--config', 'dirs=a', '--config', 'dirs=/abs/b', '--', '--extra'],
        { ...env(), HOME: work },
      );
      expect(r.stderr).toBe('');
      expect(r.code).toBe(3);
      const report = JSON.parse(r.stdout);
      expect(report.args[0]).toBe('--greeting=hello');
      expect(report.args.slice(1)).toEqual([join(process.cwd(), 'a'), '/abs/b', '--extra']);
      expect(report).toMatchObject({ token: 's3cret', limit: '5', overridden: 'yes' });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }, 60_000);

  it('--dry-run prints the command with values from flags, SHELF_CONFIG_* and defaults, hiding sensitive ones', async () => {
    const r = await shelf(['bundle', 'run', '@acme/reporter', '--dry-run', '-c', 'limit=7'], {
      env: { ...env(), HOME: '/home/test', SHELF_CONFIG_TOKEN: 'hunter2', SHELF_CONFIG_GREETING: 'hi' },
      cwd: '/work/dir',
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const launch = JSON.parse(r.stdout);
    expect(launch.command).toBe(process.execPath);
    expect(launch.args).toEqual([join(launch.dir, 'report.js'), '--greeting=hi']);
    expect(launch.env).toEqual({ REPORT_TOKEN: '***', REPORT_LIMIT: '7', REPORT_OVERRIDDEN: 'yes' });
    expect(r.stdout).not.toContain('hunter2');
    expect(launch).toMatchObject({ name: '@acme/reporter', version: '1.0.0' });
  });

  it('refuses to start without a required user_config value, naming it and how to pass it', async () => {
    const r = await shelf(['bundle', 'run', '@acme/reporter'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[missing_user_config\]/);
    expect(r.stderr).toContain('token (API token: Secret token): --config token=VALUE or SHELF_CONFIG_TOKEN=VALUE');
  });

  it('refuses values of the wrong type or range, and keys the bundle does not declare', async () => {
    const bad = await shelf(['bundle', 'run', '@acme/reporter', '--dry-run', '-c', 'token=x', '-c', 'limit=99'], { env: env() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error\[invalid_user_config\].*at most 10/);
    const nan = await shelf(['bundle', 'run', '@acme/reporter', '--dry-run', '-c', 'token=x', '-c', 'limit=many'], { env: env() });
    expect(nan.stderr).toMatch(/^error\[invalid_user_config\]/);
    const unknown = await shelf(['bundle', 'run', '@acme/reporter', '--dry-run', '-c', 'token=x', '-c', 'colour=red'], { env: env() });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error\[invalid_argument\].*colour.*declares: token, greeting, limit, dirs/);
    const malformed = await shelf(['bundle', 'run', '@acme/reporter', '-c', 'novalue'], { env: env() });
    expect(malformed).toMatchObject({ code: 2 });
  });

  it('refuses a bundle whose archive would escape its folder (planted in the bucket), and extracts nothing', async () => {
    const manifest = {
      manifest_version: '0.3',
      name: '@acme/escape',
      version: '1.0.0',
      description: 'Tries to write outside its folder.',
      author: { name: 'Acme' },
      server: { type: 'node', entry_point: 'index.js', mcp_config: { command: 'node', args: ['${__dirname}/index.js'] } },
    };
    const bytes = zipSync({
      'manifest.json': new TextEncoder().encode(JSON.stringify(manifest)),
      '../../escaped.js': new TextEncoder().encode('console.log("pwned")'),
    });
    // The registry refuses such an archive at announce; a tampered bucket could still serve one.
    const published = await plantBytes(reg, bytes, { name: '@acme/escape', version: '1.0.0', manifest, repository: 'acme/escape-mcp', filename: 'escape.mcpb' });
    const r = await shelf(['bundle', 'run', '@acme/escape'], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[unsafe_archive\]/);
    const unpacked = await readdir(join(cacheDir, 'unpacked'));
    expect(unpacked.some((d) => d.includes(published.sha256))).toBe(false);
    expect(await readdir(cacheDir)).not.toContain('escaped.js');
  });

  it('fails clearly when the server command does not exist', async () => {
    const dir = bundleFolder((m) => {
      m.server.mcp_config = { command: 'shelf-test-no-such-binary', args: [] };
      m.server.type = 'binary';
    });
    await publishFolder(reg, dir, { name: '@acme/missing-bin', version: '1.0.0' });
    const r = await shelf(['bundle', 'run', '@acme/missing-bin'], { env: { ...env(), PATH: '/nonexistent' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[server_start_failed\].*shelf-test-no-such-binary/);
  });

  it('needs a cache directory', async () => {
    const r = await shelf(['bundle', 'run', '@acme/echo'], { env: { SHELF_REGISTRY: proxy.url } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[cache_unavailable\]/);
  });
});
