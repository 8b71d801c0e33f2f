/**
 * The npm package the `shelf` command is published as. Everything that tells people how to get
 * the command (the README, the web pages' copy buttons, the GitHub Action) uses this name; the
 * package's `package.json` carries the same one (a test holds them together).
 *
 * `shelf` itself is another, unrelated package on npm: `npx shelf ...` outside a checkout of this
 * repository would download and run it, so no instruction we print may say that.
 *
 * @module
 */

/** The npm package name of the Shelf command line (`npm install -g shelf-cli`, `npx shelf-cli ...`). */
export const PACKAGE_NAME = 'shelf-cli';
