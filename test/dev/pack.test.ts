import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { unzipSync } from 'fflate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import { listExamples, packBundle, packSkill, readSkillFrontMatter, type ExampleDescriptor } from '../../src/dev/pack.ts';

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'shelf-pack-test-'));
});
afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

function example(name: string): ExampleDescriptor {
  const found = listExamples().find((e) => e.name === name);
  if (!found) throw new Error(`no example ${name}`);
  return found;
}

function unzip(file: string): Record<string, Uint8Array> {
  return unzipSync(new Uint8Array(readFileSync(file)));
}

function json(bytes: Uint8Array | undefined): Record<string, unknown> {
  expect(bytes).toBeDefined();
  return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
}

function expectDigest(result: { file: string; sha256: string; size: number }): void {
  const data = readFileSync(result.file);
  expect(result.size).toBe(data.length);
  expect(result.size).toBe(statSync(result.file).size);
  expect(result.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
}

describe('listExamples', () => {
  it('describes every example with an existing folder and matching name and version', () => {
    const examples = listExamples();
    expect(examples.map((e) => e.name).sort()).toEqual(['@acme/echo', '@acme/release-notes', '@acme/sysinfo', '@globex/weather']);
    expect(new Set(examples.map((e) => e.owner))).toEqual(new Set(['acme', 'globex']));
    for (const e of examples) {
      expect(e.name.startsWith(`@${e.owner}/`)).toBe(true);
      expect(e.repository.startsWith(`${e.owner}/`)).toBe(true);
      if (e.kind === 'bundle') {
        const manifest = JSON.parse(readFileSync(join(e.dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
        expect(manifest.name).toBe(e.name);
        expect(manifest.version).toBe(e.version);
        expect(manifest.repository).toEqual({ type: 'git', url: `https://github.com/${e.repository}` });
      } else {
        const fm = readSkillFrontMatter(readFileSync(join(e.dir, 'SKILL.md'), 'utf8'));
        expect(`@${e.owner}/${String(fm.name)}`).toBe(e.name);
        expect((fm.metadata as Record<string, unknown>).version).toBe(e.version);
      }
    }
    expect(example('@acme/sysinfo').platforms).toEqual([
      { os: 'linux', arch: 'x64' },
      { os: 'darwin', arch: 'arm64' },
      { os: 'win32', arch: 'x64' },
    ]);
    expect(example('@acme/echo').platforms).toEqual([{ os: 'any', arch: 'any' }]);
  });
});

describe('packBundle', () => {
  it('packs echo into a .mcpb holding the manifest and the server', async () => {
    const echo = example('@acme/echo');
    const result = await packBundle(echo.dir, join(out, 'echo.mcpb'));
    expect(result.file).toBe(join(out, 'echo.mcpb'));
    expectDigest(result);
    expect(result.manifest).toMatchObject({ name: '@acme/echo', version: '1.2.0', license: 'MIT' });
    const files = unzip(result.file);
    expect(Object.keys(files).sort()).toEqual(['manifest.json', 'package.json', 'server/index.js']);
    expect(json(files['manifest.json'])).toEqual(result.manifest);
    expect(new TextDecoder().decode(files['server/index.js'])).toBe(readFileSync(join(echo.dir, 'server/index.js'), 'utf8'));
  });

  it('applies name and version overrides to the packed manifest only', async () => {
    const weather = example('@globex/weather');
    const result = await packBundle(weather.dir, join(out, 'nested', 'weather-beta.mcpb'), {
      version: '2.1.0-beta.1',
      name: '@globex/weather-next',
    });
    expectDigest(result);
    expect(json(unzip(result.file)['manifest.json'])).toMatchObject({ name: '@globex/weather-next', version: '2.1.0-beta.1' });
    const source = JSON.parse(readFileSync(join(weather.dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    expect(source.version).toBe('2.0.0');
    expect(existsSync(join(weather.dir, 'platform.json'))).toBe(false);
  });

  it('packs sysinfo into three different per-platform artifacts', async () => {
    const sysinfo = example('@acme/sysinfo');
    const results = await Promise.all(
      sysinfo.platforms.map((p) => packBundle(sysinfo.dir, join(out, `sysinfo-${p.os}-${p.arch}.mcpb`), { os: p.os })),
    );
    expect(new Set(results.map((r) => r.sha256)).size).toBe(3);
    results.forEach((result, i) => {
      const os = sysinfo.platforms[i]!.os;
      expectDigest(result);
      const files = unzip(result.file);
      expect(json(files['platform.json'])).toEqual({ os });
      const manifest = json(files['manifest.json']);
      expect(manifest).toMatchObject({ name: '@acme/sysinfo', version: '0.3.0', compatibility: { platforms: [os] } });
      expect((manifest.tools as Array<{ name: string }>).map((t) => t.name)).toEqual(['hostname', 'uptime']);
      expect(files['server/index.js']).toBeDefined();
    });
    expect(existsSync(join(sysinfo.dir, 'platform.json'))).toBe(false);
  });

  it('throws a clear error for an invalid manifest and writes nothing', async () => {
    const dir = mkdtempSync(join(out, 'bad-'));
    cpSync(example('@acme/echo').dir, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    delete manifest.description;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const target = join(out, 'bad.mcpb');
    await expect(packBundle(dir, target)).rejects.toThrow(/not valid for manifest_version 0\.3: description/);
    await expect(packBundle(join(out, 'missing'), target)).rejects.toThrow(/Cannot read .*manifest\.json/);
    expect(existsSync(target)).toBe(false);
  });
});

describe('packSkill', () => {
  it('packs release-notes under a release-notes/ root, deterministically', async () => {
    const skill = example('@acme/release-notes');
    const result = await packSkill(skill.dir, join(out, 'release-notes.skill'));
    expectDigest(result);
    const files = unzip(result.file);
    expect(Object.keys(files)).toEqual(['release-notes/SKILL.md', 'release-notes/template.md']);
    const fm = readSkillFrontMatter(new TextDecoder().decode(files['release-notes/SKILL.md']));
    expect(fm.name).toBe('release-notes');
    expect(typeof fm.description).toBe('string');
    expect(fm).toEqual(result.frontMatter);
    expect(fm.metadata).toMatchObject({ version: '1.0.0', author: 'Acme Corp', tags: expect.arrayContaining(['release']) });

    const again = await packSkill(skill.dir, join(out, 'release-notes-again.skill'));
    expect(again.sha256).toBe(result.sha256);
  });

  it('overrides metadata.version and keeps the body', async () => {
    const skill = example('@acme/release-notes');
    const result = await packSkill(skill.dir, join(out, 'release-notes-1.1.0.skill'), { version: '1.1.0-rc.1' });
    expect(result.frontMatter.metadata).toMatchObject({ version: '1.1.0-rc.1', author: 'Acme Corp' });
    const md = new TextDecoder().decode(unzip(result.file)['release-notes/SKILL.md']);
    expect(md).toContain('# Release notes');
    expect(readSkillFrontMatter(md).description).toBe(readSkillFrontMatter(readFileSync(join(skill.dir, 'SKILL.md'), 'utf8')).description);
  });
});

describe('readSkillFrontMatter', () => {
  it('parses the front matter mapping', () => {
    expect(readSkillFrontMatter('---\nname: x\ndescription: "y: z"\n---\n# Body\n')).toEqual({ name: 'x', description: 'y: z' });
    expect(readSkillFrontMatter('\uFEFF---\r\nname: x\r\n---')).toEqual({ name: 'x' });
  });

  it.each([
    ['no front matter', '# Just markdown\n', /no front matter/],
    ['front matter not at the start', '\n---\nname: x\n---\n', /no front matter/],
    ['unclosed front matter', '---\nname: x\n', /no front matter/],
    ['empty front matter', '---\n---\nbody', /empty/],
    ['invalid YAML', '---\nname: [x\n---\n', /not valid YAML/],
    ['duplicate keys', '---\nname: a\nname: b\n---\n', /not valid YAML/],
    ['a list instead of a mapping', '---\n- a\n- b\n---\n', /mapping/],
    ['a scalar instead of a mapping', '---\njust text\n---\n', /mapping/],
  ])('throws on %s', (_, markdown, message) => {
    let caught: unknown;
    try {
      readSkillFrontMatter(markdown);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).message).toMatch(message);
    expect(isShelfError(caught, 'invalid_skill')).toBe(true);
  });
});

/** A JSON-lines stdio client for an example server. */
class StdioClient {
  readonly child: ChildProcessWithoutNullStreams;
  readonly unexpected: unknown[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, (message: Record<string, unknown>) => void>();

  constructor(script: string) {
    this.child = spawn(process.execPath, [script], { stdio: 'pipe' });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const message = JSON.parse(line) as Record<string, unknown>;
      const resolve = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
      if (!resolve) return void this.unexpected.push(message);
      this.pending.delete(message.id as number);
      resolve(message);
    });
  }

  request(method: string, params?: unknown): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to ${method}`)), 5_000);
      this.pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      this.send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
    });
  }

  send(message: unknown): void {
    this.child.stdin.write(`${JSON.stringify(message)}\n`);
  }

  close(): void {
    this.child.stdin.end();
    this.child.kill();
  }
}

describe('example servers over stdio', () => {
  it('echo answers initialize, tools/list, tools/call and errors', async () => {
    const client = new StdioClient(join(example('@acme/echo').dir, 'server/index.js'));
    try {
      const init = await client.request('initialize', {
        protocolVersion: '2025-03-26',
        capabilities: {},
        clientInfo: { name: 'shelf-test', version: '0' },
      });
      expect(init).toEqual({
        jsonrpc: '2.0',
        id: 1,
        result: {
          protocolVersion: '2025-03-26',
          capabilities: { tools: {} },
          serverInfo: { name: '@acme/echo', version: '1.2.0' },
        },
      });
      client.send({ jsonrpc: '2.0', method: 'notifications/initialized' });

      const list = await client.request('tools/list');
      const tools = (list.result as { tools: Array<{ name: string; inputSchema: { type: string } }> }).tools;
      expect(tools.map((t) => t.name)).toEqual(['echo', 'reverse']);
      expect(tools.every((t) => t.inputSchema.type === 'object')).toBe(true);

      expect((await client.request('tools/call', { name: 'echo', arguments: { text: 'hello, shelf' } })).result).toEqual({
        content: [{ type: 'text', text: 'hello, shelf' }],
      });
      expect((await client.request('tools/call', { name: 'reverse', arguments: { text: 'abc🙂' } })).result).toEqual({
        content: [{ type: 'text', text: '🙂cba' }],
      });
      expect((await client.request('tools/call', { name: 'echo', arguments: {} })).result).toMatchObject({ isError: true });
      expect((await client.request('tools/call', { name: 'nope', arguments: {} })).error).toMatchObject({ code: -32602 });
      expect((await client.request('resources/list')).error).toMatchObject({ code: -32601 });
      expect((await client.request('ping')).result).toEqual({});
      expect(client.unexpected).toEqual([]); // the notification got no reply
    } finally {
      client.close();
    }
  });

  it.each(['@acme/sysinfo', '@globex/weather'])('%s lists and runs every tool in its manifest', async (name) => {
    const dir = example(name).dir;
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { tools: Array<{ name: string }> };
    const client = new StdioClient(join(dir, 'server/index.js'));
    try {
      const init = await client.request('initialize', {});
      expect(init.result).toMatchObject({ protocolVersion: '2025-06-18', serverInfo: { name } });
      const tools = ((await client.request('tools/list')).result as { tools: Array<{ name: string }> }).tools;
      expect(tools.map((t) => t.name)).toEqual(manifest.tools.map((t) => t.name));
      for (const tool of tools) {
        const call = await client.request('tools/call', { name: tool.name, arguments: { city: 'Lisbon', days: 2 } });
        const result = call.result as { content: Array<{ type: string; text: string }>; isError?: boolean };
        expect(result.isError).toBeUndefined();
        expect(result.content[0]?.text.length).toBeGreaterThan(0);
      }
      expect(client.unexpected).toEqual([]);
    } finally {
      client.close();
    }
  });
});
