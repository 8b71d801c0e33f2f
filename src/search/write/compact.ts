/**
 * The compactor of a kind's sharded index, off the announce path: read the root with its ETag →
 * is the delta due (it holds `policy.delta_max` packages, or any with `force`)? → merge it into
 * the base trees ({@link compactDelta}, pure) → write the new files create-only → swap the root
 * with `If-Match`. An announce that swapped the root meanwhile makes the swap fail; the compactor
 * then starts again from the new root, whose delta holds that announce's package, so nothing an
 * announce committed is ever lost. `shelf compact`, the stack's scheduled function and the
 * embedded registry all run it (docs/sharded-search.md, "The delta segment").
 *
 * @module
 */
import type { Kind } from '../../core/names.ts';
import { shardedRootKey } from '../../core/paths.ts';
import { retryOnConflict, type RetryPolicy } from '../../store/json-documents.ts';
import type { ObjectStore } from '../../store/object-store.ts';
import { checkShardingPolicy } from '../format/policy.ts';
import { compactDelta } from './delta.ts';
import { commitGeneration, readFrom, readShardedRoot } from './publish.ts';

/** Options of {@link compactStore}. */
export interface CompactOptions {
  /** Compact a delta of any size, not only one holding `policy.delta_max` packages. Default false. */
  force?: boolean;
  /** Compare-and-swap attempts of the root. Default `DEFAULT_RETRY` of json-documents. */
  retry?: RetryPolicy;
  /** Called after the new files are written and before the root swap (tests race announces here). */
  beforeCommit?: () => void | Promise<void>;
}

/** What {@link compactStore} did for one kind. */
export interface CompactResult {
  kind: Kind;
  /** True when the root was swapped for one without a delta. */
  compacted: boolean;
  /**
   * Why nothing was compacted: the kind has no index yet (`no_index`), its root has no delta
   * (`no_delta`), or the delta holds fewer than `delta_max` packages and `force` was not given
   * (`below_threshold`).
   */
  skipped?: 'no_index' | 'no_delta' | 'below_threshold';
  /** Packages the delta held when it was compacted (or when the compactor looked and left it). */
  packages: number;
  /** Immutable files created by the compaction that committed. */
  written: number;
  /** Attempts made (1 without contention). */
  attempts: number;
}

/**
 * Compacts a kind's delta into its base trees when it is due. Writes nothing when it is not.
 *
 * @throws ShelfError `write_contention` when every attempt lost the root's compare-and-swap to an
 *   announce (nothing is lost: the announces committed, the compactor's files are unreachable);
 *   `internal_error` when a file the root references is missing or malformed (run `shelf rebuild`)
 */
export async function compactStore(store: ObjectStore, kind: Kind, options: CompactOptions = {}): Promise<CompactResult> {
  return retryOnConflict(
    shardedRootKey(kind),
    async (attempt) => {
      const current = await readShardedRoot(store, kind);
      if (!current) return { kind, compacted: false, skipped: 'no_index', packages: 0, written: 0, attempts: attempt };
      const { root, etag } = current;
      const packages = root.delta?.count ?? 0;
      if (!root.delta) return { kind, compacted: false, skipped: 'no_delta', packages, written: 0, attempts: attempt };
      if (!options.force && packages < (checkShardingPolicy(root.policy).delta_max ?? 0)) {
        return { kind, compacted: false, skipped: 'below_threshold', packages, written: 0, attempts: attempt };
      }
      const generation = await compactDelta(root, readFrom(store));
      const written = await commitGeneration(store, kind, generation, etag, options.beforeCommit);
      return { kind, compacted: true, packages, written, attempts: attempt };
    },
    options.retry,
    'run the compactor again (`shelf compact`)',
  );
}
