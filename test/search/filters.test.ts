import { describe, expect, it } from 'vitest';
import { hitFacts, orderHits, searchFilter, validateSearchOptions } from '../../src/search/query.ts';
import { isShelfError } from '../../src/core/errors.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';

const summary = (name: string, updated: string, server_type: string | undefined, platforms: string[]): PackageSummary =>
  ({
    kind: 'bundle',
    name,
    display_name: name,
    description: '',
    latest: '1.0.0',
    newest: '1.0.0',
    ...(server_type ? { server_type } : {}),
    platforms,
    tools: [],
    keywords: [],
    author: 'a',
    published_at: updated,
    updated_at: updated,
    verified: true,
  }) as PackageSummary;

describe('the filter and order shared by the whole-index reference and the sharded client', () => {
  const a = hitFacts(summary('@a/a', '2025-01-03T00:00:00.000Z', 'node', ['linux-x64']), 2);
  const b = hitFacts(summary('@b/b', '2025-01-01T00:00:00.000Z', 'python', ['any-any']), 2);
  const c = hitFacts(summary('@c/c', '2025-01-02T00:00:00.000Z', undefined, ['darwin-arm64', 'win32-any']), 5);

  it('orders by relevance, recency or name, ties by name, and keeps the first limit', () => {
    expect(orderHits([b, c, a], { sort: 'relevance', limit: 10 }).map((h) => h.name)).toEqual(['@c/c', '@a/a', '@b/b']);
    expect(orderHits([b, c, a], { sort: 'recent', limit: 10 }).map((h) => h.name)).toEqual(['@a/a', '@c/c', '@b/b']);
    expect(orderHits([c, b, a], { sort: 'name', limit: 2 }).map((h) => h.name)).toEqual(['@a/a', '@b/b']);
  });

  it('filters by server type, and by OS and architecture on the same platform entry', () => {
    const names = (o: Parameters<typeof searchFilter>[0]): string[] => [a, b, c].filter(searchFilter(o)).map((h) => h.name);
    expect(names({ type: undefined, os: undefined, arch: undefined })).toEqual(['@a/a', '@b/b', '@c/c']);
    expect(names({ type: 'node', os: undefined, arch: undefined })).toEqual(['@a/a']);
    expect(names({ type: undefined, os: 'linux', arch: undefined })).toEqual(['@a/a', '@b/b']);
    // win32-any and darwin-arm64: win32 + arm64 matches (win32-any), linux + arm64 does not.
    expect(names({ type: undefined, os: 'win32', arch: 'arm64' })).toEqual(['@b/b', '@c/c']);
    expect(names({ type: undefined, os: 'linux', arch: 'arm64' })).toEqual(['@b/b']);
  });

  it('validates options with invalid_argument', () => {
    expect(validateSearchOptions('q', undefined)).toEqual({ type: undefined, os: undefined, arch: undefined, sort: 'relevance', limit: 20 });
    for (const bad of [{ limit: 0 }, { os: 'plan9' }, { sort: 'size' }, { type: '' }]) {
      let error: unknown = null;
      try {
        validateSearchOptions('q', bad as never);
      } catch (e) {
        error = e;
      }
      expect(isShelfError(error) && (error as { code: string }).code, JSON.stringify(bad)).toBe('invalid_argument');
    }
  });
});
