import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateSchemas } from '../../src/registry/json-schemas.ts';

const dir = fileURLToPath(new URL('../../index-schema/', import.meta.url));

describe('index-schema/', () => {
  const generated = generateSchemas();

  it('holds exactly one committed schema per published schema', () => {
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).sort()).toEqual(Object.keys(generated).sort());
  });

  it.each(Object.keys(generated))('%s equals the schema generated from zod (run `npm run schemas`)', (file) => {
    expect(readFileSync(`${dir}${file}`, 'utf8')).toBe(generated[file]);
  });
});
