/** The size bounds every file is cut with (the policy a root records). @module */
import { ShelfError } from '../../core/errors.ts';
import type * as z from 'zod';
import { checkPolicy } from './chunker.ts';
import type { PolicySchema } from './wire.ts';

/**
 * Size bounds of every kind of file, in bytes of JSON, as the root records them (an update uses the
 * root's); each field is described in {@link PolicySchema}.
 */
export type ShardingPolicy = z.infer<typeof PolicySchema>;

/**
 * The policy tuned on the benchmark corpus (its figures: bench/shard/MEASUREMENTS.md). Pages after
 * a paged field's head page are larger: a first query reads them only within its byte budget, so
 * they cost fewer requests for the same bytes without growing what every query reads.
 */
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
