/**
 * The version a skill's discovery indexes offer (`discoveryVersion`): `latest`, else the highest
 * version (prereleases only); never a yanked or removed one; none for a skill taken down or whose
 * every version is yanked. A deprecated version is still offered.
 */
import { describe, expect, it } from 'vitest';
import type { PackageDocument } from '../../src/core/schemas.ts';
import { discoveryVersion } from '../../src/skills/discovery.ts';

const doc = (latest: string | null, versions: Array<[string, string]>, status = 'active') =>
  ({ latest, status, versions: versions.map(([version, s]) => ({ version, status: s })) }) as unknown as PackageDocument;

describe('the version discovery offers', () => {
  it('is latest, deprecated or not', () => {
    expect(discoveryVersion(doc('1.1.0', [['1.1.0', 'deprecated'], ['1.0.0', 'active']]))).toBe('1.1.0');
    expect(discoveryVersion(doc('1.1.0', [['1.1.0', 'active']], 'deprecated'))).toBe('1.1.0');
  });

  it('is, for prereleases only, the highest neither yanked nor removed', () => {
    expect(discoveryVersion(doc(null, [['2.0.0-rc.3', 'removed'], ['2.0.0-rc.2', 'yanked'], ['2.0.0-rc.1', 'active']]))).toBe('2.0.0-rc.1');
  });

  it('is none when every version is yanked, or the skill was taken down', () => {
    expect(discoveryVersion(doc(null, [['1.1.0', 'yanked'], ['1.0.0', 'yanked']]))).toBeNull();
    expect(discoveryVersion(doc(null, [['1.0.0', 'removed']], 'removed'))).toBeNull();
  });
});
