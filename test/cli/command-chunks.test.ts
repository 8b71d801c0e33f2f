/**
 * What `shelf search` loads of the built command line, read from esbuild's metafile (sizes and
 * inputs, not timings): the chunks `main.js` and the search command import, none of which holds
 * zod or semver (the search read path checks its documents by hand), nor the code the search
 * never runs (the packers, the server, the S3 store); and that, run, it reads the registry over
 * node:http without loading Node's fetch (undici).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, commandChunks, COMMAND_MODULES, type BuiltCli } from '../../scripts/build-cli.ts';
import { buildConfigDocument } from '../../src/registry/config-document.ts';
import { runProgram } from './helpers.ts';

let dir: string;
let built: BuiltCli;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shelf-cli-chunks-'));
  built = await buildCli({ outDir: join(dir, 'cli'), web: false });
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('the chunks shelf search loads', () => {
  it('hold no zod and no semver, though the build inlines both for other commands', async () => {
    const chunks = commandChunks(built.metafile, COMMAND_MODULES.search);
    const packages = new Set(chunks.flatMap((c) => c.packages.map((p) => p.name)));
    expect(packages.has('zod')).toBe(false);
    expect(packages.has('semver')).toBe(false);
    // The engine is there: the graph is the search's, not an empty one.
    expect(packages.has('minisearch')).toBe(true);
    expect(built.packages.some((p) => p.startsWith('zod@'))).toBe(true);
    expect(built.packages.some((p) => p.startsWith('semver@'))).toBe(true);
    // Every chunk listed is a file of the build; the rest of the build is not loaded.
    const files = await readdir(join(dir, 'cli'));
    for (const c of chunks) expect(files).toContain(c.file);
    expect(chunks.length).toBeLessThan(files.filter((f) => f.endsWith('.js')).length);
  });

  it('hold none of the search path’s heavier neighbours: the document schemas, the indexer, the server, the packer', () => {
    const loaded = new Set(commandChunks(built.metafile, COMMAND_MODULES.search).map((c) => c.file));
    const inputs = Object.entries(built.metafile.outputs)
      .filter(([output]) => loaded.has(output.split('/').pop()!))
      .flatMap(([, o]) => Object.keys(o.inputs));
    expect(inputs).toContain('src/search/format/validate.ts');
    expect(inputs).toContain('src/net/http-transport.ts');
    for (const module of ['src/core/schemas.ts', 'src/search/format/wire.ts', 'src/indexer/documents.ts', 'src/core/versions.ts', 'src/server/registry-server.ts', 'src/dev/pack.ts']) {
      expect(inputs, module).not.toContain(module);
    }
  });

  it('name a module a command loads that is in no chunk', () => {
    expect(() => commandChunks(built.metafile, ['src/no/such-module.ts'])).toThrow(/src\/no\/such-module\.ts is in no chunk/);
  });
});

describe('the built command line, run', () => {
  it('searches over node:http: Node\'s fetch stack (undici) is never loaded', async () => {
    // A registry with a config and no index yet: the search reads config.json and the bundles' root (404).
    const config = JSON.stringify(buildConfigDocument({ audience: 'https://shelf.test', issuer: 'https://issuer.test' } as never, 'http://127.0.0.1'));
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/v1/config.json') res.writeHead(200, { 'content-type': 'application/json', etag: '"c"' }).end(config);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const script = [
      `import { main } from ${JSON.stringify(pathToFileURL(join(dir, 'cli', 'main.js')).href)};`,
      `process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(process.moduleLoadList.filter((m) => /undici|NativeModule https?$/.test(m)))));`,
      `process.exitCode = await main(['search', 'echo', '--registry', ${JSON.stringify(url)}]);`,
    ].join('\n');
    try {
      const run = await runProgram(process.execPath, ['--input-type=module', '-e', script], { PATH: process.env.PATH ?? '', SHELF_CACHE_DIR: join(dir, 'cache') });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('No bundles match "echo"');
      expect([...paths].sort()).toEqual(['/v1/config.json', '/v1/search/bundles/root.json']); // read together
      const loaded = JSON.parse(/LOADED (.*)$/.exec(run.stderr)![1]!) as string[];
      expect(loaded).toEqual(['NativeModule http']);
    } finally {
      server.close();
    }
  });
});
