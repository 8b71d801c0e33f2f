import { describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import semver from 'semver';
import { MAX_VERSION_LENGTH, parsePackageName, parseVersion } from '../../src/core/names.ts';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return isShelfError(err) ? err.code : 'not a ShelfError';
  }
  return 'no error';
};

describe('parsePackageName', () => {
  it('lower-cases names, which compare case-insensitively', () => {
    expect(parsePackageName('@Acme/Echo')).toEqual({ full: '@acme/echo', scope: 'acme', name: 'echo' });
  });

  it.each([
    ['acme/echo'],
    ['@acme'],
    ['@/echo'],
    ['@acme/'],
    ['@acme/echo/x'],
    ['@acme/../echo'],
    ['@acme/%2e%2e'],
    ['@-acme/echo'],
    ['@acme/-echo'],
    ['@acme/ech\u043E'], // Cyrillic o: a look-alike is refused, not folded
    ['@acme_co/echo'],
    [`@${'a'.repeat(40)}/echo`],
    [`@acme/${'a'.repeat(215)}`],
    [''],
  ])('refuses %j with invalid_name', (input) => {
    expect(codeOf(() => parsePackageName(input))).toBe('invalid_name');
  });

  it('refuses non-strings', () => {
    expect(codeOf(() => parsePackageName(42))).toBe('invalid_name');
  });
});

describe('parseVersion', () => {
  it.each(['1.2.3', '0.0.1', '1.0.0-beta.1', '10.20.30-rc.1.x-y'])('accepts %s', (v) => {
    expect(parseVersion(v)).toBe(v);
  });

  it.each(['1.2', 'v1.2.3', '1.2.3+build.5', '01.2.3', ' 1.2.3', `1.2.3-${'a'.repeat(130)}`, 'latest', ''])(
    'refuses %j with invalid_version',
    (v) => {
      expect(codeOf(() => parseVersion(v))).toBe('invalid_version');
    },
  );

  it('accepts exactly what semver accepts as a strict version, without build metadata (generated strings)', () => {
    // parseVersion checks the grammar itself (the web pages and `shelf search` load no semver):
    // it must agree with semver.valid on versions and near misses of them.
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const numbers = ['0', '1', '7', '10', '01', '00', '123', '9007199254740991', '9007199254740992', '99999999999999999999', ''];
    const identifiers = ['alpha', 'beta', '1', '0', '01', 'x-y', '-', 'a.b', '', 'RC', 'rc-1', '0a', '00a', 'é', ' '];
    const build = () => {
      const core = [pick(numbers), pick(numbers), pick(numbers)].slice(0, random() < 0.1 ? 2 : 3).join('.');
      let v = `${random() < 0.05 ? pick(['v', '=', ' ']) : ''}${core}`;
      if (random() < 0.6) v += `-${Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(identifiers)).join('.')}`;
      if (random() < 0.1) v += `+${pick(identifiers)}`;
      if (random() < 0.05) v += pick([' ', '.', '-', '\n']);
      return v;
    };
    let accepted = 0;
    for (let i = 0; i < 5_000; i++) {
      const v = build();
      const expected = v.length <= MAX_VERSION_LENGTH && !v.includes('+') && semver.valid(v, { loose: false }) === v;
      expect(codeOf(() => parseVersion(v)), JSON.stringify(v)).toBe(expected ? 'no error' : 'invalid_version');
      if (expected) accepted++;
    }
    expect(accepted).toBeGreaterThan(250);
  });
});
