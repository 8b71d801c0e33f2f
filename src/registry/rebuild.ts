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
import { KINDS, parseVersion, platformId, type Kind, type PackageName } from '../core/names.ts';
import { parseVersionKey, versionsPrefix } from '../core/paths.ts';
import { VersionDocumentSchema } from '../core/schemas.ts';
import { eachLimited } from '../core/concurrency.ts';
import { DEFAULT_RETRY, updateDerived, type RetryPolicy } from '../store/json-documents.ts';
import { isSignedBy, signArtifact, type Signer } from '../signing/signer.ts';
import { listedKeys, mayResign, type KeyMap } from '../signing/trust.ts';
import { publishSigningKey, requireCurrentKey } from '../signing/key-list.ts';
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
  /**
   * The registry's signer: artifacts whose statement it has not validly signed are re-signed (in
   * their version records), and package documents are signed. It must be the key `v1/keys.json`
   * lists first (a registry without a key list gets one naming it). Without a signer nothing is
   * signed, and documents are written unsigned.
   */
  signer?: Signer;
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
  /**
   * Artifact statements whose signature verifies with no key of `v1/keys.json` (with a signer
   * only): they were changed after signing, and are not signed again (that would launder the
   * change). The version record needs restoring from the bucket's versions, or re-publishing.
   */
  mismatched: Array<{ key: string; platform: string }>;
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

  const { signer } = options;
  const keys = signer ? await checkSigner(store, signer) : null;

  const result: RebuildResult = { changed: [], unchanged: [], packages: targets.length, mismatched: [] };
  const run: RebuildRun = {
    store,
    targets,
    scopes: [...scopes].sort(),
    // With one package, the kinds it has records in; its shared files are updated, not rebuilt.
    kinds: onePackage ? [...new Set(targets.map((t) => t.kind))] : kinds,
    onePackage,
    retry,
    concurrency,
    signer,
    record: (key, changed) => {
      (changed ? result.changed : result.unchanged).push(key);
      const done = result.changed.length + result.unchanged.length;
      // The read APIs' files are counted as they come (a server has one per version).
      onProgress?.({ done, total: Math.max(total, done), key, changed });
    },
  };
  const total = PRODUCERS.reduce((sum, p) => sum + p.count(run), 0);
  // Signatures of the records first: every artifact statement signed by the current key.
  if (signer && keys) {
    await eachLimited(targets, concurrency, async ({ kind: k, pkg }) => {
      const { written, mismatched } = await resignVersions(store, k, pkg, signer, keys, retry);
      for (const key of written) run.record(key, true);
      result.mismatched.push(...mismatched);
    });
    result.mismatched.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.platform < b.platform ? -1 : 1));
  }
  // Records written before skills had a derived archive get one (derived from the stored artifact).
  await deriveMissingSkillsArchives(run);
  // In order: each producer reads what those before it wrote (package documents first).
  for (const producer of PRODUCERS) await producer.rebuild(run);
  // Last, once the sharded roots exist: the config names them, and the retired files go.
  if (retired) for (const key of await migrateRetiredLayout(store, retry)) run.record(key, true);
  return result;
}

/**
 * A rebuild signs only with the registry's current key, the first of `v1/keys.json`; a registry
 * that has never signed gets a key list naming the signer.
 *
 * @returns The registry's keys, by id.
 * @throws ShelfError `invalid_config` when the signer is not the current key
 */
async function checkSigner(store: ObjectStore, signer: Signer): Promise<KeyMap> {
  return listedKeys((await requireCurrentKey(store, signer)) ?? (await publishSigningKey(store, signer)));
}

/**
 * Re-signs the artifacts of a package's version records that lack a valid signature by `signer`
 * (a registry from before signing, or a rotated key), by compare-and-swap. The statements are the
 * same facts: only the signature changes. A statement whose signature verifies with no listed key
 * was changed after signing: it is left as it is, and returned (`mayResign`).
 *
 * @returns The version documents written, and the statements left.
 */
async function resignVersions(
  store: ObjectStore,
  kind: Kind,
  pkg: PackageName,
  signer: Signer,
  keys: KeyMap,
  retry: RetryPolicy,
): Promise<{ written: string[]; mismatched: RebuildResult['mismatched'] }> {
  const written: string[] = [];
  const mismatched = new Map<string, RebuildResult['mismatched']>();
  for (const { key } of await store.list(versionsPrefix(kind, pkg))) {
    const parsed = parseVersionKey(key);
    if (!parsed) continue;
    const owner = { kind, name: pkg.full, version: parseVersion(parsed.version) };
    const changed = await updateDerived(
      store,
      key,
      VersionDocumentSchema,
      async (current) => {
        if (!current) return null; // the record is gone
        const left: RebuildResult['mismatched'] = [];
        const artifacts = await Promise.all(
          current.artifacts.map(async (a) => {
            if (await isSignedBy(signer, owner, a)) return a;
            if (await mayResign(keys, owner, a)) return signArtifact(signer, owner, a);
            left.push({ key, platform: platformId(a) });
            return a;
          }),
        );
        mismatched.set(key, left);
        return { ...current, artifacts };
      },
      { retry, strict: true },
    );
    if (changed) written.push(key);
  }
  return { written, mismatched: [...mismatched.values()].flat() };
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
