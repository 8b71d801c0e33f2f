/**
 * `shelf compact` on a registry: the compactor of each kind's sharded index in turn (see
 * `src/search/write/compact.ts`). The command line, the stack's scheduled function and the
 * embedded registry's background compactor all call {@link compact}.
 *
 * @module
 */
import { KINDS, type Kind } from '../core/names.ts';
import { compactStore, type CompactOptions, type CompactResult } from '../search/write/compact.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Options of {@link compact}. */
export interface RegistryCompactOptions extends Omit<CompactOptions, 'beforeCommit'> {
  /** Only this kind. Default both. */
  kind?: Kind;
}

/** What {@link compact} did: each kind's result, with how long it took (ms). */
export interface CompactReport {
  kinds: (CompactResult & { ms: number })[];
}

/**
 * Compacts the delta of every kind (or one) whose delta is due; writes nothing for the others.
 *
 * @throws ShelfError as {@link compactStore}: the first kind that fails stops the run (the kinds
 *   before it are compacted; running again finishes)
 */
export async function compact(store: ObjectStore, options: RegistryCompactOptions = {}): Promise<CompactReport> {
  const { kind, ...rest } = options;
  const report: CompactReport = { kinds: [] };
  for (const k of kind ? [kind] : KINDS) {
    const started = performance.now();
    const result = await compactStore(store, k, rest);
    report.kinds.push({ ...result, ms: Math.round(performance.now() - started) });
  }
  return report;
}
