/**
 * The error codes are listed in one place for people: the README's error tables. This keeps them
 * equal to the one place for code, `src/core/errors.ts`.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/core/errors.ts';

/** Rows of the README tables under "### Errors": status cell → codes in backticks. */
function readmeRows(): Array<{ statuses: number[]; codes: string[] }> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Errors');
  const section = readme.slice(start, readme.indexOf('\n## ', start));
  return section
    .split('\n')
    .filter((line) => /^\|\s*\d{3}/.test(line))
    .map((line) => {
      const [, status = '', codes = ''] = line.split('|');
      return {
        statuses: status.split('/').map((s) => Number(s.trim())),
        // Only the codes themselves: a backticked word outside the parentheses that explain them.
        codes: [...codes.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!),
      };
    });
}

describe('the README error tables', () => {
  it('list every code of src/core/errors.ts once, under its status', () => {
    const rows = readmeRows();
    expect(rows.length).toBeGreaterThan(5);
    const listed = rows.flatMap((r) => r.codes);
    const missing = Object.keys(ERRORS).filter((code) => !listed.includes(code));
    expect(missing, 'codes missing from the README error tables').toEqual([]);
    expect(listed.filter((code, i) => listed.indexOf(code) !== i), 'codes listed twice').toEqual([]);
    for (const row of rows) {
      for (const code of row.codes) {
        expect(Object.hasOwn(ERRORS, code), `README lists unknown code ${code}`).toBe(true);
        expect(row.statuses, `${code} is listed under ${row.statuses.join('/')}`).toContain(ERRORS[code as keyof typeof ERRORS].status);
      }
    }
  });
});
