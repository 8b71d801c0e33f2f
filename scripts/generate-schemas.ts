/**
 * Writes `index-schema/*.schema.json` from the zod schemas in `src/core/schemas.ts`.
 * `npm run schemas` after changing a schema; a test fails while the committed files differ.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateSchemas } from '../src/registry/json-schemas.ts';

const dir = fileURLToPath(new URL('../index-schema/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(generateSchemas())) {
  writeFileSync(`${dir}${file}`, text);
  console.log(`wrote index-schema/${file}`);
}
