/**
 * A bundle's versions as the MCP registry API shows them, from its records alone: the spec's
 * bounds (description cut to 100 characters, title to 100), `websiteUrl` and `icons` only when the
 * spec accepts them, platforms in order, `isLatest`, and the listings' reduced `_meta`. Every
 * response validates against the spec's schemas.
 */
import { describe, expect, it } from 'vitest';
import { parsePackageName } from '../../src/core/names.ts';
import type { PackageDocument, VersionDocument } from '../../src/core/schemas.ts';
import { cut, iconsOf, listingEntry, OFFICIAL_META, serverResponses, SHELF_META } from '../../src/mcp/server-json.ts';
import { expectValid } from './helpers.ts';

const pkg = parsePackageName('@acme/echo');
const BASE = 'https://registry.example.com/';

const provenance = {
  provider: 'github-actions',
  verified: true,
  issuer: 'https://token.actions.githubusercontent.com',
  repository: 'acme/echo-mcp',
  repository_id: '42',
  owner: 'acme',
  owner_id: '7',
  sha: 'a'.repeat(40),
  issued_at: '2026-01-01T00:00:00.000Z',
} as const;

function versionDoc(version: string, manifest: Record<string, unknown>, options: { os?: Array<'any' | 'darwin' | 'linux' | 'win32'>; published?: string; prerelease?: boolean } = {}): VersionDocument {
  const published = options.published ?? '2026-01-01T00:00:00.000Z';
  return {
    schema_version: 1,
    kind: 'bundle',
    name: pkg.full,
    version,
    prerelease: options.prerelease ?? false,
    published_at: published,
    updated_at: published,
    manifest: { name: pkg.full, version, ...manifest },
    release: { tag: `v${version}`, url: `https://github.com/acme/echo-mcp/releases/tag/v${version}` },
    artifacts: (options.os ?? ['any']).map((os, i) => ({
      os,
      arch: os === 'any' ? 'any' : 'x64',
      filename: `echo-${os}.mcpb`,
      path: `v1/bundles/@acme/echo/versions/${version}/${os}-${os === 'any' ? 'any' : 'x64'}.mcpb`,
      sha256: String(i).repeat(64),
      size: 100,
      source_url: 'https://github.com/acme/echo-mcp/releases/download/x',
      published_at: published,
      provenance,
    })),
  } as unknown as VersionDocument;
}

const packageDoc = (latest: string | null, versions: string[]) => ({ latest, versions: versions.map((version) => ({ version })) }) as unknown as PackageDocument;

function one(manifest: Record<string, unknown>) {
  const [entry] = serverResponses(pkg, packageDoc('1.0.0', ['1.0.0']), [versionDoc('1.0.0', manifest)], BASE);
  expectValid('ServerResponse', entry);
  return entry!;
}

describe('a server version', () => {
  it('cuts a long description to 100 characters with an ellipsis, collapsing whitespace, counting code points', () => {
    const long = `${'Fetches release notes from GitHub and  summarises\n them. '.repeat(4)}🚀🚀🚀`;
    const entry = one({ description: long, display_name: 'Echo' });
    expect([...entry.server.description].length).toBeLessThanOrEqual(100);
    expect(entry.server.description.endsWith('…')).toBe(true);
    expect(entry.server.description).not.toMatch(/\s{2}|\n/);
    expect(entry.server.description.startsWith('Fetches release notes from GitHub and summarises them.')).toBe(true);
    // Emoji are one character each, never split in half.
    expect(cut('🚀'.repeat(150), 100)).toBe(`${'🚀'.repeat(99)}…`);
    expect(one({ description: 'Short.' }).server.description).toBe('Short.');
  });

  it('takes the title from the display name (cut to 100) and falls back to it, then to the package name, for the description', () => {
    expect(one({ description: 'd', display_name: 'Echo Server' }).server.title).toBe('Echo Server');
    expect([...one({ description: 'd', display_name: 'x'.repeat(300) }).server.title!].length).toBe(100);
    expect(one({ display_name: 'Echo Server' }).server.description).toBe('Echo Server');
    const bare = one({});
    expect(bare.server.description).toBe('@acme/echo');
    expect(bare.server).not.toHaveProperty('title');
  });

  it('keeps websiteUrl only when the homepage is an http(s) URL', () => {
    expect(one({ description: 'd', homepage: 'https://echo.example.com/docs' }).server.websiteUrl).toBe('https://echo.example.com/docs');
    for (const homepage of ['javascript:alert(1)', 'echo.example.com', 'https://', 'ftp://echo.example.com', 'https://a b.example', 42]) {
      expect(one({ description: 'd', homepage }).server, String(homepage)).not.toHaveProperty('websiteUrl');
    }
  });

  it('keeps the manifest’s icons that are https URLs of at most 255 characters, with what the spec accepts of them', () => {
    const manifest = {
      description: 'd',
      icon: 'icon.png', // inside the bundle: no URL of its own
      icons: [
        { src: 'https://cdn.example.com/echo-64.png', size: '64x64', theme: 'dark' },
        { src: 'https://cdn.example.com/echo.svg', size: '16x16', theme: 'sepia' },
        { src: 'http://cdn.example.com/insecure.png', size: '16x16' },
        { src: 'assets/icon-128.png', size: '128x128' },
        { src: `https://cdn.example.com/${'x'.repeat(260)}.png`, size: '32x32' },
        { src: 'https://cdn.example.com/echo-64.png', size: '64x64' },
      ],
    };
    expect(one(manifest).server.icons).toEqual([
      { src: 'https://cdn.example.com/echo-64.png', mimeType: 'image/png', sizes: ['64x64'], theme: 'dark' },
      { src: 'https://cdn.example.com/echo.svg', mimeType: 'image/svg+xml', sizes: ['16x16'] },
    ]);
    expect(iconsOf({ icon: 'https://cdn.example.com/logo' })).toEqual([{ src: 'https://cdn.example.com/logo' }]);
    expect(one({ description: 'd', icon: 'icon.png' }).server).not.toHaveProperty('icons');
  });

  it('lists one mcpb package per artifact in platform order, absolute URLs, and names each platform in Shelf’s _meta', () => {
    const [entry] = serverResponses(pkg, packageDoc('1.0.0', ['1.0.0']), [versionDoc('1.0.0', { description: 'd' }, { os: ['win32', 'linux', 'darwin'] })], BASE);
    expectValid('ServerResponse', entry);
    expect(entry!.server.packages.map((p) => p.identifier)).toEqual(['darwin', 'linux', 'win32'].map((os) => `https://registry.example.com/v1/bundles/@acme/echo/versions/1.0.0/${os}-x64.mcpb`));
    expect(entry!.server.packages.every((p) => p.registryType === 'mcpb' && p.transport.type === 'stdio' && /^[a-f0-9]{64}$/.test(p.fileSha256))).toBe(true);
    const shelf = entry!._meta[SHELF_META] as { artifacts: Array<{ os: string; identifier: string }> };
    expect(shelf.artifacts.map((a) => a.os)).toEqual(['darwin', 'linux', 'win32']);
    expect(shelf.artifacts.map((a) => a.identifier)).toEqual(entry!.server.packages.map((p) => p.identifier));
  });

  it('marks latest as isLatest, or the highest version when every version is a prerelease; newest publication first', () => {
    const versions = [versionDoc('1.0.0', {}, { published: '2026-01-01T00:00:00.000Z' }), versionDoc('1.1.0', {}, { published: '2026-02-01T00:00:00.000Z' }), versionDoc('2.0.0-rc.1', {}, { published: '2026-03-01T00:00:00.000Z', prerelease: true })];
    const entries = serverResponses(pkg, packageDoc('1.1.0', ['2.0.0-rc.1', '1.1.0', '1.0.0']), versions, BASE);
    expect(entries.map((e) => [e.server.version, e._meta[OFFICIAL_META].isLatest])).toEqual([
      ['2.0.0-rc.1', false],
      ['1.1.0', true],
      ['1.0.0', false],
    ]);
    const pre = serverResponses(pkg, packageDoc(null, ['2.0.0-rc.1']), [versions[2]!], BASE);
    expect(pre[0]!._meta[OFFICIAL_META].isLatest).toBe(true);
  });

  it('shows the listings a reduced Shelf _meta: platforms, URLs and digests, no provenance', () => {
    const [entry] = serverResponses(pkg, packageDoc('1.0.0', ['1.0.0']), [versionDoc('1.0.0', { description: 'd' }, { os: ['linux', 'darwin'] })], BASE);
    const listed = listingEntry(entry!);
    expectValid('ServerResponse', listed);
    expect(listed.server).toEqual(entry!.server);
    expect(listed._meta[OFFICIAL_META]).toEqual(entry!._meta[OFFICIAL_META]);
    expect(listed._meta[SHELF_META]).toEqual({
      name: '@acme/echo',
      prerelease: false,
      artifacts: entry!.server.packages.map((p, i) => ({ os: ['darwin', 'linux'][i], arch: 'x64', identifier: p.identifier, sha256: p.fileSha256 })),
    });
    expect(JSON.stringify(listed).length).toBeLessThan((JSON.stringify(entry).length * 2) / 3);
  });
});

describe('a version’s status (docs/read-apis.md, "Statuses")', () => {
  type Entry = { version: string; status?: string; status_message?: string; status_changed_at?: string };
  const doc = (latest: string | null, entries: Entry[], pkgStatus: Omit<Entry, 'version'> = {}) =>
    ({ latest, status: 'active', ...pkgStatus, versions: entries.map((e) => ({ status: 'active', ...e })) }) as unknown as PackageDocument;
  const at = (i: number) => `2026-0${i}-01T00:00:00.000Z`;
  const versions = ['1.0.0', '1.1.0', '2.0.0-rc.1'].map((v, i) => versionDoc(v, { description: 'd' }, { published: at(i + 1), prerelease: v.includes('-') }));
  const byVersion = (d: PackageDocument, vs = versions) => Object.fromEntries(serverResponses(pkg, d, vs, BASE).map((e) => (expectValid('ServerResponse', e), [e.server.version, { ...e._meta[OFFICIAL_META], shelf: e._meta[SHELF_META] }])));

  it('maps deprecated to deprecated with the message, yanked to deprecated "yanked: …" never latest, removed to nothing', () => {
    const shown = byVersion(
      doc('1.0.0', [
        { version: '2.0.0-rc.1', status: 'removed', status_message: 'Malware', status_changed_at: at(7) },
        { version: '1.1.0', status: 'yanked', status_message: 'Broken.', status_changed_at: at(8) },
        { version: '1.0.0', status: 'deprecated', status_message: 'Use 2.', status_changed_at: at(9) },
      ]),
    );
    expect(Object.keys(shown)).toEqual(['1.1.0', '1.0.0']);
    expect(shown['1.1.0']).toMatchObject({ status: 'deprecated', statusMessage: 'yanked: Broken.', statusChangedAt: at(8), updatedAt: at(8), isLatest: false, shelf: { status: 'yanked', status_source: 'version', status_message: 'Broken.' } });
    expect(shown['1.0.0']).toMatchObject({ status: 'deprecated', statusMessage: 'Use 2.', statusChangedAt: at(9), isLatest: true, shelf: { status: 'deprecated' } });
    // A yank without a message says so; a message at Shelf's 500 characters is cut to the spec's 500 with its prefix.
    const bare = byVersion(doc(null, [{ version: '1.1.0', status: 'yanked', status_changed_at: at(8) }]), [versions[1]!]);
    expect(bare['1.1.0']).toMatchObject({ statusMessage: 'yanked', isLatest: false });
    const long = byVersion(doc(null, [{ version: '1.1.0', status: 'yanked', status_message: 'x'.repeat(500), status_changed_at: at(8) }]), [versions[1]!]);
    expect([...long['1.1.0']!.statusMessage!].length).toBe(500);
  });

  it('applies a package’s deprecation to every version but those with a status of their own', () => {
    const shown = byVersion(doc('1.1.0', [{ version: '1.1.0' }, { version: '1.0.0', status: 'yanked', status_changed_at: at(8) }], { status: 'deprecated', status_message: 'Moved.', status_changed_at: at(9) }), versions.slice(0, 2));
    expect(shown['1.1.0']).toMatchObject({ status: 'deprecated', statusMessage: 'Moved.', statusChangedAt: at(9), isLatest: true, shelf: { status_source: 'package' } });
    expect(shown['1.0.0']).toMatchObject({ status: 'deprecated', statusMessage: 'yanked', statusChangedAt: at(8) });
  });

  it('marks as latest, for a server of prereleases only, the highest one not yanked; none when every one is', () => {
    const pre = ['2.0.0-rc.1', '2.0.0-rc.2'].map((v, i) => versionDoc(v, { description: 'd' }, { published: at(i + 1), prerelease: true }));
    const one = byVersion(doc(null, [{ version: '2.0.0-rc.2', status: 'yanked', status_changed_at: at(5) }, { version: '2.0.0-rc.1' }]), pre);
    expect([one['2.0.0-rc.2']!.isLatest, one['2.0.0-rc.1']!.isLatest]).toEqual([false, true]);
    const none = byVersion(doc(null, [{ version: '2.0.0-rc.2', status: 'yanked', status_changed_at: at(5) }, { version: '2.0.0-rc.1', status: 'yanked', status_changed_at: at(5) }]), pre);
    expect(Object.values(none).map((e) => e.isLatest)).toEqual([false, false]);
  });

  it('serves nothing of a package taken down', () => {
    expect(serverResponses(pkg, doc(null, [{ version: '1.0.0', status: 'removed' }], { status: 'removed', status_message: 'Legal notice' }), [versions[0]!], BASE)).toEqual([]);
  });

  it('dates an active version’s status at its last reactivation (unyank or undeprecate), and names the lifecycle record', () => {
    const shown = byVersion(doc('1.1.0', [{ version: '1.1.0', status_changed_at: at(8) }, { version: '1.0.0' }], { status_changed_at: at(6) }), versions.slice(0, 2));
    expect(shown['1.1.0']).toMatchObject({ status: 'active', statusChangedAt: at(8), updatedAt: at(8), shelf: { status: 'active', lifecycle: `${BASE}v1/bundles/@acme/echo/lifecycle.json` } });
    expect(shown['1.0.0']).toMatchObject({ status: 'active', statusChangedAt: at(6), updatedAt: at(6) });
    const never = byVersion(doc('1.0.0', [{ version: '1.0.0' }]), [versions[0]!]);
    expect(never['1.0.0']!.statusChangedAt).toBeUndefined();
    expect(never['1.0.0']!.shelf).not.toHaveProperty('lifecycle');
  });
});
