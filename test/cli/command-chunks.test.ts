/**
 * What `shelf search` loads of the built command line, read from esbuild's metafile (sizes and
 * inputs, not timings): the chunks `main.js` and the search command import, none of which holds
 * zod or semver (the search read path checks its documents by hand), nor the code the search
 * never runs (the packers, the server, the S3 store).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, commandChunks, COMMAND_MODULES, type BuiltCli } from '../../scripts/build-cli.ts';

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
