/**
 * The CloudFront Function's source (viewer request, `cloudfront-js-2.0`), generated from the one
 * mapping the local server runs too (`src/edge/viewer-request.ts`): its types stripped by esbuild,
 * its `export` keywords removed, and a `handler` that calls {@link cloudFrontHandler}. Tests run
 * this exact text as a plain script with fake events against the mapping's table of cases.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { transformSync } from 'esbuild';

/** CloudFront's limit on a function's code, in bytes. */
export const MAX_FUNCTION_BYTES = 10 * 1024;

/** The function's code. @throws Error when it outgrows CloudFront's limit */
export function viewerRequestFunctionCode(): string {
  const source = readFileSync(new URL('../src/edge/viewer-request.ts', import.meta.url), 'utf8');
  const { code } = transformSync(source, { loader: 'ts', target: 'es2015', minifyWhitespace: true, legalComments: 'none' });
  const script = `${code.replace(/(^|[;}\s])export\s+/g, '$1')}\nfunction handler(event){return cloudFrontHandler(event);}\n`;
  if (Buffer.byteLength(script) > MAX_FUNCTION_BYTES) throw new Error(`The viewer-request function is ${Buffer.byteLength(script)} bytes; CloudFront allows ${MAX_FUNCTION_BYTES}.`);
  return script;
}
