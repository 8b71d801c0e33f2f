/**
 * `npm run build:web [-- --out DIR] [--registry-url URL]`: bundles the web pages (`src/web/`)
 * with esbuild into a folder, `dist/www/` by default: a script per page
 * (`assets/{home,package,scope}.<hash>.js`), their chunks (`assets/chunk.<hash>.js`),
 * `assets/style.<hash>.css`, the three HTML pages, and `assets.json` naming the current scripts,
 * chunks and style sheet. `publishWebAssets` reads that folder where esbuild is not installed.
 */
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { isShelfError } from '../src/core/errors.ts';
import { PREBUILT_DIR, writePrebuiltAssets } from '../src/registry/web-assets.ts';

const { values } = parseArgs({ options: { out: { type: 'string' }, 'registry-url': { type: 'string' } }, strict: true });
const out = values.out ? resolve(values.out) : PREBUILT_DIR;
try {
  const registryUrl = values['registry-url'];
  const written = await writePrebuiltAssets(out, registryUrl === undefined ? {} : { registryUrl });
  console.log(`Wrote ${written.length} files to ${out}:`);
  for (const file of written) console.log(`  ${file}`);
} catch (error) {
  if (!isShelfError(error)) throw error;
  console.error(`error[${error.code}]: ${error.message}`);
  process.exitCode = 1;
}
