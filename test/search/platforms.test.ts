import { describe, expect, it } from 'vitest';
import { parsePlatformId } from '../../src/search/platforms.ts';
import { ARCHES, OSES } from '../../src/core/names.ts';
import { filterMask, platformMask } from '../../src/search/platforms.ts';

/** The rule of the whole-index reference (`ReferenceSearch`): OS and architecture match on the same platform entry, `any` matches all. */
function reference(platforms: string[], os: string | undefined, arch: string | undefined): boolean {
  if (os === undefined && arch === undefined) return true;
  return platforms.some((id) => {
    const p = parsePlatformId(id);
    if (!p) return false;
    return (os === undefined || p.os === os || p.os === 'any') && (arch === undefined || p.arch === arch || p.arch === 'any');
  });
}

describe('platform masks', () => {
  const ids = [...OSES.flatMap((o) => ARCHES.map((a) => `${o}-${a}`)), 'freebsd-x64', 'linux-riscv64', 'bogus', '-x64'];
  const lists: string[][] = [[], ...ids.map((i) => [i]), ['linux-x64', 'darwin-arm64'], ['win32-any', 'any-arm64'], ['freebsd-x64', 'darwin-any']];

  it('filter exactly as the whole index does, for every os/arch filter and platform list', () => {
    let checked = 0;
    for (const os of [undefined, ...OSES]) {
      for (const arch of [undefined, ...ARCHES]) {
        const fm = filterMask(os, arch);
        for (const list of lists) {
          const got = fm === null || (platformMask(list) & fm) !== 0;
          expect(got, `${JSON.stringify(list)} os=${os} arch=${arch}`).toBe(reference(list, os, arch));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(300);
  });
});
