/** The catalog trees: summaries by name and by recency. @module */
import type { PackageSummary } from '../../core/schemas.ts';
import type { ChunkPolicy } from './chunker.ts';
import { SHARDED_FORMAT_VERSION, type RefJson } from './wire.ts';
import type { LevelSpec, TreeSpec } from './tree.ts';
import { checkCatalogFile, valid } from './validate.ts';
import { type ShardingPolicy } from './policy.ts';
import { notAReference, refsLevel } from './refs-level.ts';
import { oncePerObject, OVERHEAD, PlainAccumulator } from './sizes.ts';
import { RawJson } from './raw-json.ts';

/** Largest `updated_at` the recency key can order (year 2286). */
export const MAX_MS = 9_999_999_999_999;

/** Key of a summary in the recency order: newest first, then by name. */
export function recencyKey(summary: PackageSummary): string {
  return recencyKeyOnce(summary);
}
/** Computed once per summary: sorts and cuts ask for it often. */
const recencyKeyOnce = oncePerObject((summary: PackageSummary) => `${String(MAX_MS - Date.parse(summary.updated_at)).padStart(13, '0')} ${summary.name}`);

/** `JSON.stringify` of a summary, computed once for both catalog trees. */
const summaryJson = oncePerObject((summary: PackageSummary) => JSON.stringify(summary));

export function catalogLevel(salt: string, key: (s: PackageSummary) => string, policy: ChunkPolicy): LevelSpec<PackageSummary> {
  const weight = (summary: PackageSummary): number => summaryJson(summary).length + 1;
  return {
    salt,
    policy,
    key,
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    // The text of `{ v, t: 'catalog', e: entries }`, from each summary's.
    encode: (entries) => new RawJson(`{"v":${SHARDED_FORMAT_VERSION},"t":"catalog","e":[${entries.map(summaryJson).join(',')}]}`),
    decode: (file) => valid(checkCatalogFile(file)).e,
    ref: (entries, file, bytes): RefJson => [key(entries[0]!), file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: notAReference,
    childWeight: notAReference,
  };
}

/** The catalog tree ordered by name. */
export function catalogByNameSpec(policy: ShardingPolicy): TreeSpec {
  const leaf = catalogLevel('name/0', (s) => s.name, policy.catalog) as LevelSpec<unknown>;
  const refs = refsLevel('name/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'catalog by name', rootMax: policy.root_max, level: (l) => (l === 0 ? leaf : refs) };
}

/** The catalog tree ordered by recency. */
export function catalogByRecentSpec(policy: ShardingPolicy): TreeSpec {
  const leaf = catalogLevel('recent/0', recencyKey, policy.catalog) as LevelSpec<unknown>;
  const refs = refsLevel('recent/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'catalog by recency', rootMax: policy.root_max, level: (l) => (l === 0 ? leaf : refs) };
}
