/**
 * The script of the package page (`assets/package.<hash>.js`).
 *
 * Browser entry point.
 *
 * @module
 */
import { startPage } from '../app.ts';
import { startPackagePage } from '../package-page.ts';

startPage(startPackagePage);
