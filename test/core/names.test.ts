import { describe, expect, it } from 'vitest';
import { isShelfError } from '../../src/core/errors.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';

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
});
