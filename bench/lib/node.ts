/**
 * Running TypeScript children: the `--import` flag that loads tsx, resolved from this
 * repository (not from the working directory), so workers start the same wherever the bench
 * or the test runs.
 *
 * @module
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

/** `--import <tsx loader URL>`: node arguments that let a child run `.ts` files. */
export const TSX_IMPORT: readonly string[] = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href];
