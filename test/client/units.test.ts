import { describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import type { PackageDocument } from '../../src/core/schemas.ts';
import { hostPlatform, selectArtifact } from '../../src/client/platform.ts';
import { parsePlatformId } from '../../src/search/platforms.ts';
import { resolveVersion } from '../../src/client/registry-client.ts';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return isShelfError(error) ? error.code : `not a ShelfError: ${String(error)}`;
  }
  return undefined;
}

describe('selectArtifact', () => {
  const all = [
    { os: 'any', arch: 'any', id: 'universal' },
    { os: 'linux', arch: 'any', id: 'linux-any' },
    { os: 'linux', arch: 'x64', id: 'linux-x64' },
    { os: 'any', arch: 'arm64', id: 'any-arm64' },
  ];

  it('prefers the exact platform', () => {
    expect(selectArtifact(all, { os: 'linux', arch: 'x64' }).id).toBe('linux-x64');
  });

  it('falls back to os/any, then any/arch, then any/any', () => {
    expect(selectArtifact(all, { os: 'linux', arch: 'arm64' }).id).toBe('linux-any');
    expect(selectArtifact(all, { os: 'darwin', arch: 'arm64' }).id).toBe('any-arm64');
    expect(selectArtifact(all, { os: 'darwin', arch: 'x64' }).id).toBe('universal');
  });

  it('fails with no_matching_artifact listing what is available', () => {
    const only = [
      { os: 'linux', arch: 'x64' },
      { os: 'darwin', arch: 'arm64' },
    ];
    try {
      selectArtifact(only, { os: 'win32', arch: 'x64' });
      expect.unreachable();
    } catch (error) {
      expect(isShelfError(error, 'no_matching_artifact')).toBe(true);
      expect((error as Error).message).toContain('win32-x64');
      expect((error as Error).message).toContain('linux-x64, darwin-arm64');
    }
    expect(codeOf(() => selectArtifact([], { os: 'any', arch: 'any' }))).toBe('no_matching_artifact');
  });
});

describe('hostPlatform', () => {
  it('maps Node names and turns anything else into any', () => {
    expect(hostPlatform('linux', 'x64')).toEqual({ os: 'linux', arch: 'x64' });
    expect(hostPlatform('darwin', 'arm64')).toEqual({ os: 'darwin', arch: 'arm64' });
    expect(hostPlatform('win32', 'x64')).toEqual({ os: 'win32', arch: 'x64' });
    expect(hostPlatform('freebsd', 'ia32')).toEqual({ os: 'any', arch: 'any' });
    expect(hostPlatform('toString', 'constructor')).toEqual({ os: 'any', arch: 'any' });
  });

  it('parsePlatformId splits os-arch', () => {
    expect(parsePlatformId('linux-x64')).toEqual({ os: 'linux', arch: 'x64' });
    expect(parsePlatformId('any-any')).toEqual({ os: 'any', arch: 'any' });
    expect(parsePlatformId('linux')).toBeNull();
    expect(parsePlatformId('-x64')).toBeNull();
  });
});

function pkg(versions: string[], latest: string | null): PackageDocument {
  return {
    schema_version: 1,
    kind: 'bundle',
    name: '@acme/echo',
    scope: 'acme',
    description: 'x',
    keywords: [],
    tools: [],
    prompts: [],
    latest,
    repository: { name: 'acme/echo', id: '1' },
    created_at: '2024-01-01T00:00:00Z',
    updated_at: '2024-01-01T00:00:00Z',
    versions: versions.map((version) => ({
      version,
      prerelease: version.includes('-'),
      published_at: '2024-01-01T00:00:00Z',
      platforms: [{ os: 'any', arch: 'any' }],
      path: `v1/bundles/@acme/echo/versions/${version}.json`,
      status: 'active' as const,
    })),
    status: 'active',
  };
}

describe('resolveVersion', () => {
  const p = pkg(['2.0.0-beta.1', '1.2.0', '1.1.5', '1.0.0', '0.9.0'], '1.2.0');

  it('resolves latest', () => {
    expect(resolveVersion(p)).toBe('1.2.0');
    expect(resolveVersion(p, 'latest')).toBe('1.2.0');
    expect(resolveVersion(p, '')).toBe('1.2.0');
  });

  it('resolves exact versions, including prereleases', () => {
    expect(resolveVersion(p, '1.0.0')).toBe('1.0.0');
    expect(resolveVersion(p, '2.0.0-beta.1')).toBe('2.0.0-beta.1');
  });

  it('resolves ranges to the highest satisfying release', () => {
    expect(resolveVersion(p, '^1')).toBe('1.2.0');
    expect(resolveVersion(p, '^1.1')).toBe('1.2.0');
    expect(resolveVersion(p, '~1.1')).toBe('1.1.5');
    expect(resolveVersion(p, '<1')).toBe('0.9.0');
    expect(resolveVersion(p, '1.x')).toBe('1.2.0');
    expect(resolveVersion(p, '*')).toBe('1.2.0');
  });

  it('includes prereleases only when the range asks', () => {
    expect(codeOf(() => resolveVersion(p, '^2'))).toBe('not_found');
    expect(resolveVersion(p, '^2.0.0-beta.0')).toBe('2.0.0-beta.1');
    expect(resolveVersion(p, '>=2.0.0-alpha')).toBe('2.0.0-beta.1');
  });

  it('reports missing versions and bad input', () => {
    expect(codeOf(() => resolveVersion(p, '3.0.0'))).toBe('not_found');
    expect(codeOf(() => resolveVersion(p, '^5'))).toBe('not_found');
    expect(codeOf(() => resolveVersion(p, 'not a version!'))).toBe('invalid_version');
    expect(codeOf(() => resolveVersion(pkg([], null)))).toBe('not_found');
  });

  it('falls back to the newest prerelease when there is no release', () => {
    expect(resolveVersion(pkg(['1.0.0-rc.2', '1.0.0-rc.1'], null))).toBe('1.0.0-rc.2');
  });
});
