/**
 * The script of the scope page (`assets/scope.<hash>.js`).
 *
 * Browser entry point.
 *
 * @module
 */
import { startPage } from '../app.ts';
import { startScopePage } from '../scope-page.ts';

startPage(startScopePage);
