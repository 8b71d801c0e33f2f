/**
 * The full rebuild: recomputes every derived file (each producer of `derived-files.ts`) from the
 * records, for the whole registry, one kind or one package. The producers are the announce's, so a
 * rebuild of a consistent registry writes nothing and one after a crash writes what a clean run
 * would have; every write is a compare-and-swap computed after reading its target's ETag, so a
 * rebuild may run while announces do.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import { KINDS, type Kind, type PackageName } from '../core/names.ts';
import { DEFAULT_RETRY, type RetryPolicy } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { migrateRetiredLayout, namesRetiredLayout } from './config-document.ts';
import { PRODUCERS, type RebuildRun } from './derived-files.ts';
import { deriveMissingSkillsArchives } from './interop.ts';
import { discoverPackages, discoverScopes, packageTargets, safeName } from './records.ts';

/** Options of {@link rebuild}. */
export interface RebuildOptions {
  /**
   * Only this package: its package document, its scope's package list, and its entries in the
   * catalog, search index and recent list. Default: every package.
   */
  package?: PackageName;
  /** Only this kind. Default both (with `package`: each kind the package has records in). */
  kind?: Kind;
  /** Called after each file, for a progress display. */
  onProgress?: (progress: RebuildProgress) => void;
  /** Compare-and-swap retry policy. Default {@link DEFAULT_RETRY}. */
  retry?: RetryPolicy;
  /** How many packages or scopes are rebuilt at once. Default 32. */
  concurrency?: number;
}

/** Progress of a rebuild, reported after each derived file. */
export interface RebuildProgress {
  /** Files done so far. */
  done: number;
  /** Files to do in all. */
  total: number;
  /** The file just done. */
  key: string;
  /** Whether it was written. */
  changed: boolean;
}

/** What a rebuild did. */
export interface RebuildResult {
  /** The derived files written, because they were missing or disagreed with the records. */
  changed: string[];
  /** The derived files that were already right, and were not written. */
  unchanged: string[];
  /** How many packages were rebuilt. */
  packages: number;
}

/**
 * Rebuilds derived files from the records. Idempotent: a second run changes nothing.
 *
 * @example
 * ```ts
 * const { changed } = await rebuild(store);                             // the whole registry
 * await rebuild(store, { package: parsePackageName('@acme/echo'), kind: 'bundle' });
 * ```
 * @throws TypeError for invalid options (naming the option)
 * @throws ShelfError `not_found` when `package` has no records; `write_contention` when a file
 *   could not be written within the retry policy
 */
export async function rebuild(store: ObjectStore, options: RebuildOptions = {}): Promise<RebuildResult> {
  const { kind, onProgress, retry = DEFAULT_RETRY, concurrency = 32 } = checkOptions(options);
  // A registry of the retired `single` layout is migrated by a whole rebuild (config-document.ts).
  const retired = await namesRetiredLayout(store);
  if (retired && (options.package || kind)) {
    throw new ShelfError('invalid_argument', 'This registry is in the retired "single" search layout: migrate it with a whole `shelf rebuild` (without --package or --kind) first.');
  }
  const kinds = kind ? [kind] : [...KINDS];
  const onePackage = options.package ?? null;
  const targets = onePackage ? await packageTargets(store, kinds, onePackage) : await discoverPackages(store, kinds);
  if (onePackage && targets.length === 0) {
    throw new ShelfError('not_found', `${onePackage.full} has no records${kind ? ` as a ${kind}` : ''}: nothing to rebuild.`);
  }
  const scopes = new Set(targets.map((t) => t.pkg.scope));
  if (!onePackage && !kind) for (const s of await discoverScopes(store)) scopes.add(s);

  const result: RebuildResult = { changed: [], unchanged: [], packages: targets.length };
  const run: RebuildRun = {
    store,
    targets,
    scopes: [...scopes].sort(),
    // With one package, the kinds it has records in; its shared files are updated, not rebuilt.
    kinds: onePackage ? [...new Set(targets.map((t) => t.kind))] : kinds,
    onePackage,
    retry,
    concurrency,
    record: (key, changed) => {
      (changed ? result.changed : result.unchanged).push(key);
      const done = result.changed.length + result.unchanged.length;
      // The read APIs' files are counted as they come (a server has one per version).
      onProgress?.({ done, total: Math.max(total, done), key, changed });
    },
  };
  const total = PRODUCERS.reduce((sum, p) => sum + p.count(run), 0);
  // Records written before skills had a derived archive get one (derived from the stored artifact).
  await deriveMissingSkillsArchives(run);
  // In order: each producer reads what those before it wrote (package documents first).
  for (const producer of PRODUCERS) await producer.rebuild(run);
  // Last, once the sharded roots exist: the config names them, and the retired files go.
  if (retired) for (const key of await migrateRetiredLayout(store, retry)) run.record(key, true);
  return result;
}

function checkOptions(options: RebuildOptions): RebuildOptions {
  if (!options || typeof options !== 'object') throw new TypeError('rebuild options must be an object');
  if (options.kind !== undefined && !KINDS.includes(options.kind)) {
    throw new TypeError(`"kind" option must be one of ${KINDS.join(', ')}, got ${JSON.stringify(options.kind)}`);
  }
  if (options.package !== undefined && (typeof options.package?.full !== 'string' || safeName(options.package.full)?.full !== options.package.full)) {
    throw new TypeError('"package" option must be a PackageName from parsePackageName');
  }
  if (options.concurrency !== undefined && (!Number.isInteger(options.concurrency) || options.concurrency < 1)) {
    throw new TypeError(`"concurrency" option must be a positive integer, got ${JSON.stringify(options.concurrency)}`);
  }
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw new TypeError('"onProgress" option must be a function');
  return options;
}
