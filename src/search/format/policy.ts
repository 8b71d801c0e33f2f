/** The size bounds every file is cut with (the policy a root records). @module */
import { ShelfError } from '../../core/errors.ts';
import { checkPolicy, type ChunkPolicy } from './chunker.ts';

/** Size bounds of every kind of file, in bytes of JSON. Recorded in the root: an update uses the root's. */
export interface ShardingPolicy {
  /** `terms` files (postings and their documents). */
  terms: ChunkPolicy;
  /** `dict` files (the dictionary). */
  dict: ChunkPolicy;
  /** `refs` files (inner levels of every tree). */
  refs: ChunkPolicy;
  /** `page` files of paged fields: the head page, and the pages after it unless `later_pages` is given. */
  pages: ChunkPolicy;
  /**
   * `page` files after a paged field's head page (default: `pages`). A first query always reads
   * the head pages of the words it looks up and later pages only within its byte budget, so
   * larger later pages mean fewer requests for the same bytes without growing what every query reads.
   */
  later_pages?: ChunkPolicy;
  /** `catalog` files (summaries). */
  catalog: ChunkPolicy;
  /** A field of a term is paged when its postings and their documents exceed this many bytes. */
  page_threshold: number;
  /** Inline budget of the root's trees, in bytes. */
  root_max: number;
  /** Inline budget of a paged field's tree (inside its term entry), in bytes. */
  paged_root_max: number;
  /**
   * Packages a delta holds before an update compacts it into the base trees (`src/search/write/delta.ts`).
   * Absent or 0 (the default): no delta, every update rewrites the base trees directly.
   */
  delta_max?: number;
}

/** The policy tuned on the benchmark corpus (its figures: bench/shard/MEASUREMENTS.md). */
export const DEFAULT_POLICY: ShardingPolicy = Object.freeze({
  terms: { min: 3_000, target: 9_000, max: 16_000 },
  dict: { min: 2_500, target: 6_000, max: 12_000 },
  refs: { min: 1_500, target: 4_000, max: 8_000 },
  pages: { min: 2_000, target: 5_000, max: 9_000 },
  later_pages: { min: 6_000, target: 15_000, max: 27_000 },
  catalog: { min: 8_000, target: 24_000, max: 48_000 },
  page_threshold: 7_000,
  root_max: 6_000,
  paged_root_max: 1_500,
  delta_max: 8,
});

/** Most packages a delta may hold: every first query downloads the whole delta file. */
export const MAX_DELTA = 64;

/** Validates a policy eagerly, naming the option at fault. @throws ShelfError `invalid_argument` */
export function checkShardingPolicy(policy: ShardingPolicy): ShardingPolicy {
  if (typeof policy !== 'object' || policy === null) throw new ShelfError('invalid_argument', 'The "policy" option must be an object.');
  for (const name of ['terms', 'dict', 'refs', 'pages', 'catalog'] as const) checkPolicy(`policy.${name}`, policy[name]);
  if (policy.later_pages !== undefined) checkPolicy('policy.later_pages', policy.later_pages);
  for (const name of ['page_threshold', 'root_max', 'paged_root_max'] as const) {
    const v = policy[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 256) {
      throw new ShelfError('invalid_argument', `The "policy.${name}" option must be an integer ≥ 256; got ${String(v)}.`);
    }
  }
  if (policy.delta_max !== undefined && (typeof policy.delta_max !== 'number' || !Number.isInteger(policy.delta_max) || policy.delta_max < 0 || policy.delta_max > MAX_DELTA)) {
    throw new ShelfError('invalid_argument', `The "policy.delta_max" option must be an integer from 0 to ${MAX_DELTA}; got ${String(policy.delta_max)}.`);
  }
  if (policy.page_threshold >= policy.terms.max) {
    throw new ShelfError('invalid_argument', 'The "policy.page_threshold" option must be below "policy.terms.max".');
  }
  return policy;
}
