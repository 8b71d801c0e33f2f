/**
 * Storage keys of the sharded index, re-exported from `src/core/paths.ts` (where every key is
 * built) for the modules of `src/search/`.
 *
 * Layout, per kind (`bundles` or `skills`):
 * - `v1/search/{kind}s/root.json` — the generation pointer: mutable, small, revalidated.
 * - `v1/search/{kind}s/shards/<hash>.json` — every tree file (terms, dictionary, pages, catalog
 *   pages, inner levels): immutable, content-addressed, cached forever.
 * - `v1/search/{kind}s/docs/<hash>.json` — one package's display data: immutable too.
 *
 * @module
 */
export { displayKey, shardedRootKey, shardKey, IMMUTABLE_CACHE as SHARD_CACHE } from '../core/paths.ts';
