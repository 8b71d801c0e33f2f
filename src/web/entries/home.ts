/**
 * The script of the home page (`assets/home.<hash>.js`).
 *
 * Browser entry point.
 *
 * @module
 */
import { startPage } from '../app.ts';
import { startHomePage } from '../home.ts';

startPage(startHomePage);
