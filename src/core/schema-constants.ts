/**
 * The constants of the document formats, without the zod schemas of `schemas.ts` (which
 * re-exports them): code that reads documents without zod (the JSON fetch, the search read path,
 * the web pages) imports them from here.
 *
 * Pure module: no Node APIs, no libraries.
 *
 * @module
 */

/** Schema version of every static document. Bumped only on incompatible changes. */
export const SCHEMA_VERSION = 1 as const;

/**
 * The retired whole-index search layout, which a registry's `v1/config.json` may still name: its
 * operator migrates it with one `shelf rebuild` (README, "Search layout").
 */
export const RETIRED_LAYOUT_MESSAGE =
  'this registry still publishes the retired "single" search layout, which Shelf no longer reads; its operator migrates it with one `shelf rebuild`';
