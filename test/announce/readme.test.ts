/**
 * A version's README: the artifact's own README.md, else the repository's at the released commit
 * from GitHub's API (the API host only, bounded); stored create-only beside the version; never a
 * reason to refuse an announce.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { readmeKey } from '../../src/core/paths.ts';
import { MAX_README_BYTES } from '../../src/announce/readme.ts';
import { bundleFolder, publishFolder } from '../cli/helpers.ts';
import { packBundle } from '../../src/dev/pack.ts';
import { claimsFor, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

let reg: TestRegistry;
beforeAll(async () => {
  reg = await startTestRegistry();
}, 60_000);
afterAll(() => reg?.close());

/** The commit every test token names (the fake GitHub's default `sha` claim). */
const SHA = 'a'.repeat(40);
const stored = async (name: string, version: string) => {
  const obj = await reg.store.get(readmeKey('bundle', parsePackageName(name), parseVersion(version)));
  return obj ? { text: new TextDecoder().decode(obj.body), contentType: obj.contentType } : null;
};
const publish = (name: string, version: string, files: Record<string, string> = {}) =>
  publishFolder(reg, bundleFolder(() => {}, files), { name, version });

describe('a version README', () => {
  it("is the artifact's own README.md when the archive holds one", async () => {
    reg.github.setReadme('acme/own-mcp', SHA, '# From the repository');
    await publish('@acme/own', '1.0.0', { 'README.md': '# Own\n\nFrom the *bundle*.\n' });
    expect(await stored('@acme/own', '1.0.0')).toEqual({ text: '# Own\n\nFrom the *bundle*.\n', contentType: 'text/markdown; charset=utf-8' });
    expect(reg.github.requests).not.toContain('GET /repos/acme/own-mcp/readme');
  }, 60_000);

  it("else the repository's README at the released commit, read from GitHub's API", async () => {
    reg.github.setReadme('acme/repo-mcp', SHA, '# Repository README\n');
    await publish('@acme/repo', '1.0.0');
    expect((await stored('@acme/repo', '1.0.0'))?.text).toBe('# Repository README\n');
    expect(reg.github.requests).toContain('GET /repos/acme/repo-mcp/readme');
  }, 60_000);

  it('is left out, never refusing the announce, when there is none, it is too large, GitHub fails, or it redirects off the API host', async () => {
    await publish('@acme/none', '1.0.0');
    expect(await stored('@acme/none', '1.0.0')).toBeNull();
    reg.github.setReadme('acme/huge-mcp', SHA, 'x'.repeat(MAX_README_BYTES + 1));
    await publish('@acme/huge', '1.0.0');
    expect(await stored('@acme/huge', '1.0.0')).toBeNull();
    reg.github.setReadme('acme/down-mcp', SHA, { status: 503 });
    await publish('@acme/down', '1.0.0');
    expect(await stored('@acme/down', '1.0.0')).toBeNull();
    reg.github.setReadme('acme/away-mcp', SHA, { redirectTo: 'http://127.0.0.2:9/readme' });
    await publish('@acme/away', '1.0.0');
    expect(await stored('@acme/away', '1.0.0')).toBeNull();
    // An archive README over the limit is left out too (the repository's is not asked for then).
    await publish('@acme/big', '1.0.0', { 'README.md': 'y'.repeat(MAX_README_BYTES + 1) });
    expect(await stored('@acme/big', '1.0.0')).toBeNull();
  }, 60_000);

  it("keeps the first platform's README: a later platform of the version never replaces it", async () => {
    await publish('@acme/first', '1.0.0', { 'README.md': 'first' });
    const filename = 'first-1.0.0-linux-x64.mcpb';
    const file = join(reg.dir, 'packed', filename);
    const packed = await packBundle(bundleFolder(() => {}, { 'README.md': 'second' }), file, { name: '@acme/first', version: '1.0.0', os: 'linux' });
    reg.github.addAsset('acme/first-mcp', 'v1.0.0', filename, { bytes: await readFile(file) });
    const artifact = { filename, os: 'linux', arch: 'x64', sha256: packed.sha256, size: packed.size };
    const body = { name: '@acme/first', version: '1.0.0', manifest: packed.manifest, release_tag: 'v1.0.0', prerelease: false, artifact };
    expect((await reg.announce('bundle', body, claimsFor('acme/first-mcp'))).status).toBe(201);
    expect((await stored('@acme/first', '1.0.0'))?.text).toBe('first');
  }, 60_000);
});
