/**
 * Storage keys of the sharded index. They belong in `src/core/paths.ts` (every key is built
 * there); they live here until the sharded index is wired into the announce path, so that this
 * module can be reviewed on its own.
 *
 * Layout, per kind (`bundles` or `skills`):
 * - `v1/search/{kind}s/root.json` — the generation pointer: mutable, small, revalidated.
 * - `v1/search/{kind}s/shards/<hash>.json` — every tree file (terms, dictionary, pages, catalog
 *   pages, inner levels): immutable, content-addressed, cached forever.
 * - `v1/search/{kind}s/docs/<hash>.json` — one package's display data: immutable too.
 *
 * Pure module: no Node APIs.
 *
 * @module
 */
import { KIND_PLURAL, type Kind } from '../core/names.ts';

/** The root (generation pointer) of a kind. */
export function shardedRootKey(kind: Kind): string {
  return `v1/search/${KIND_PLURAL[kind]}/root.json`;
}

/** A tree file of a kind. */
export function shardKey(kind: Kind, file: string): string {
  return `v1/search/${KIND_PLURAL[kind]}/shards/${file}.json`;
}

/** A display file of a kind. */
export function displayKey(kind: Kind, file: string): string {
  return `v1/search/${KIND_PLURAL[kind]}/docs/${file}.json`;
}

/** Cache-Control of the immutable files (the root uses the short, revalidated one). */
export const SHARD_CACHE = 'public, max-age=31536000, immutable';
