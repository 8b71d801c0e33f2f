import { describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { PackageDocumentSchema, type Artifact, type VersionDocument } from '../../src/core/schemas.ts';
import {
  addArtifact,
  buildPackageDocument,
  latestVersion,
  summarize,
  upsertRecent,
  RECENT_LIMIT,
} from '../../src/indexer/documents.ts';

const pkg = parsePackageName('@acme/echo');
const pin = { name: 'acme/echo-mcp', id: '7' };

function artifact(os: Artifact['os'], arch: Artifact['arch'], at: string): Artifact {
  return {
    os,
    arch,
    filename: `echo-${os}-${arch}.mcpb`,
    sha256: 'a'.repeat(64),
    size: 10,
    path: `v1/bundles/@acme/echo/versions/x/${os}-${arch}.mcpb`,
    source_url: 'https://github.com/acme/echo-mcp/releases/download/v1/x.mcpb',
    published_at: at,
    provenance: {
      provider: 'github-actions',
      verified: true,
      issuer: 'https://token.actions.githubusercontent.com',
      repository: 'acme/echo-mcp',
      repository_id: '7',
      owner: 'acme',
      owner_id: '1',
      sha: 'b'.repeat(40),
      issued_at: at,
    },
  };
}

function version(v: string, at: string, description = `echo ${v}`): VersionDocument {
  return addArtifact(null, {
    kind: 'bundle',
    pkg,
    version: parseVersion(v),
    prerelease: false,
    metadata: { name: '@acme/echo', version: v, description, server: { type: 'node' }, tools: [{ name: 'echo' }] },
    release: { tag: `v${v}`, url: 'u' },
    artifact: artifact('any', 'any', at),
  });
}

describe('latest', () => {
  it('is the highest non-prerelease semver, not the most recent announce', () => {
    expect(
      latestVersion([
        { version: '2.0.0-beta.1', prerelease: true },
        { version: '1.10.0', prerelease: false },
        { version: '1.9.0', prerelease: false },
      ]),
    ).toBe('1.10.0');
  });

  it('is null when every version is a prerelease', () => {
    expect(latestVersion([{ version: '1.0.0-rc.1', prerelease: true }])).toBeNull();
  });
});

describe('version documents', () => {
  it('collect one artifact per platform, sorted, keeping the first publish time', () => {
    let doc = version('1.0.0', '2026-01-01T00:00:00.000Z');
    doc = addArtifact(doc, { kind: 'bundle', pkg, version: parseVersion('1.0.0'), prerelease: false, metadata: {}, release: doc.release, artifact: artifact('linux', 'x64', '2026-01-02T00:00:00.000Z') });
    expect(doc.artifacts.map((a) => `${a.os}-${a.arch}`)).toEqual(['any-any', 'linux-x64']);
    expect(doc.published_at).toBe('2026-01-01T00:00:00.000Z');
    expect(doc.updated_at).toBe('2026-01-02T00:00:00.000Z');
  });

  it('mark a prerelease version as prerelease even if the body said otherwise', () => {
    expect(version('2.0.0-beta.1', '2026-01-01T00:00:00.000Z').prerelease).toBe(true);
  });
});

describe('package documents', () => {
  const versions = [
    version('1.2.0', '2026-01-01T00:00:00.000Z', 'old'),
    version('1.10.0', '2026-01-03T00:00:00.000Z', 'current'),
    version('2.0.0-beta.1', '2026-01-05T00:00:00.000Z', 'next'),
  ];
  const doc = buildPackageDocument('bundle', pkg, versions, pin, '2026-01-01T00:00:00.000Z');

  it('match the schema, list versions highest first and take the summary from latest', () => {
    expect(PackageDocumentSchema.parse(doc)).toBeTruthy();
    expect(doc.versions.map((v) => v.version)).toEqual(['2.0.0-beta.1', '1.10.0', '1.2.0']);
    expect(doc.latest).toBe('1.10.0');
    expect(doc.description).toBe('current');
    expect(doc.server_type).toBe('node');
    expect(doc.tools).toEqual([{ name: 'echo' }]);
  });

  it('summarise to the newest version and its platforms', () => {
    const s = summarize(doc)!;
    expect(s).toMatchObject({ name: '@acme/echo', latest: '1.10.0', newest: '2.0.0-beta.1', platforms: ['any-any'], tools: ['echo'] });
  });

  it('summarise to null while a package has no versions yet', () => {
    expect(summarize(buildPackageDocument('bundle', pkg, [], pin, '2026-01-01T00:00:00.000Z'))).toBeNull();
  });
});

describe('the recent list', () => {
  it('stays newest first, bounded and without duplicates', () => {
    const entries = Array.from({ length: RECENT_LIMIT + 5 }, (_, i) => ({
      kind: 'bundle' as const,
      name: '@acme/echo',
      version: `1.0.${i}`,
      published_at: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    }));
    const recent = upsertRecent(upsertRecent(null, entries), entries.slice(0, 3));
    expect(recent.entries).toHaveLength(RECENT_LIMIT);
    expect(recent.entries[0]!.version).toBe(`1.0.${RECENT_LIMIT + 4}`);
  });
});
