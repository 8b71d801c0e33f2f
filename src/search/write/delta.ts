/**
 * The delta segment of a sharded index: a small second generation that announces update instead
 * of the base trees, compacted into the base off the announce path (a log-structured merge, as
 * Lucene's segments). A base update rewrites files along every term of the package, more the larger
 * the registry; a delta update rewrites one file and the root. The compactor (`compact.ts`) merges
 * the delta once it holds `policy.delta_max` packages; an announce compacts inline only when the
 * delta would pass its hard cap ({@link deltaHardCap}), a backstop for a compactor that stopped.
 * The format and what a client does with it: docs/sharded-search.md, "The delta segment".
 *
 * Compaction applies the delta's packages to the base trees one by one with
 * {@link updateShardedIndex}, in memory: the files a sequence of base updates would have written,
 * so the result still equals a build from scratch. Pure: reads through a function, writes nothing.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { compareKeys } from './build.ts';
import { indexDocument, type IndexedDocument } from '../format/indexed-document.ts';
import { contentName, fileContent } from '../format/hash.ts';
import { encodeId } from '../format/ids.ts';
import { shardKey } from '../../core/paths.ts';
import { DeltaFileSchema, SHARDED_FORMAT_VERSION, type DeltaEntryJson, type ShardedRoot } from '../format/wire.ts';
import { catalogByNameSpec } from '../format/catalog-tree.ts';
import { checkShardingPolicy, MAX_DELTA, type ShardingPolicy } from '../format/policy.ts';
import { overlayReader, TreeNavigator } from '../format/tree.ts';
import { reachableKeys } from './reach.ts';
import { generationFiles, required, statisticsWith, updateInput, updateShardedIndex, type KeyReader, type ShardedUpdate } from './update.ts';

/** The result of {@link updateDelta}: a {@link ShardedUpdate}, and whether the delta was compacted. */
export interface DeltaUpdate extends ShardedUpdate {
  /** True when this update merged the delta into the base trees (past its hard cap, or disabled). */
  compacted: boolean;
}

/**
 * The most packages an announce leaves in the delta: twice `policy.delta_max` (at most
 * {@link MAX_DELTA}); 0 when the policy has no delta. The compactor merges the delta once it holds
 * `delta_max`, so an announce meets the cap only when the compactor falls behind or stopped, and
 * then compacts inline. Twice, not more: every first query reads the whole delta file, and the
 * inline compaction of a delta at the cap must still fit in the announce's time limit (it costs
 * about one base update per package).
 */
export function deltaHardCap(policy: ShardingPolicy): number {
  return Math.min(2 * (checkShardingPolicy(policy).delta_max ?? 0), MAX_DELTA);
}

/** The terms of a package by field id, sorted: what a delta entry records of a base version. */
export function termsByField(doc: IndexedDocument): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [term, fields] of doc.postings) for (const fid of fields.keys()) (out[String(fid)] ??= []).push(term);
  const sorted: Record<string, string[]> = {};
  for (const fid of Object.keys(out).sort((a, b) => Number(a) - Number(b))) sorted[fid] = out[fid]!.sort(compareKeys);
  return sorted;
}

/** The `delta` file of some entries (sorted by name here): its content name and bytes. */
export function deltaFile(entries: readonly DeltaEntryJson[]): { file: string; content: string } {
  const sorted = [...entries].sort((a, b) => compareKeys(a[0], b[0]));
  const content = fileContent({ v: SHARDED_FORMAT_VERSION, t: 'delta', e: sorted });
  return { file: contentName(content), content };
}

/** The entries of a root's delta (empty without one). @throws ShelfError `internal_error` when the file is missing or malformed */
export async function readDelta(root: ShardedRoot, read: KeyReader): Promise<DeltaEntryJson[]> {
  if (!root.delta) return [];
  const parsed = DeltaFileSchema.safeParse(await required(read(shardKey(root.kind, root.delta.file)), `${root.kind} delta file ${root.delta.file}`));
  if (!parsed.success) throw new ShelfError('internal_error', `The ${root.kind} delta file ${root.delta.file} is malformed.`);
  return parsed.data.e;
}

/** The root of the base trees alone: the root without its delta, with the base's statistics. */
export function baseRoot(root: ShardedRoot): ShardedRoot {
  if (!root.delta) return root;
  const { delta, ...rest } = root;
  return {
    ...rest,
    search: { ...rest.search, document_count: delta.base.document_count, field_length_total: [...delta.base.field_length_total] },
    catalog: { ...rest.catalog, count: delta.base.catalog_count },
  };
}

/**
 * The files of `files` a root reaches. Files already stored never name new ones (names are content
 * hashes), so the walk reads only `files`; what it does not reach was written by one update of a
 * batch and replaced by a later one.
 */
async function reachableNew(root: ShardedRoot, files: Map<string, string>): Promise<Map<string, string>> {
  const { keys } = await reachableKeys(root.kind, root, async (key) => {
    const content = files.get(key);
    return content === undefined ? null : JSON.parse(content);
  });
  return new Map([...files].filter(([key]) => keys.has(key)));
}

/**
 * Merges a root's delta into its base trees: every entry applied with {@link updateShardedIndex},
 * in name order, in memory. Returns the root without a delta and the files the updates wrote that
 * it reaches (an inner file rewritten by several updates of the batch is written once).
 *
 * @throws ShelfError `internal_error` when a file is missing or the statistics do not add up
 */
export async function compactDelta(root: ShardedRoot, read: KeyReader, entries?: readonly DeltaEntryJson[]): Promise<{ root: ShardedRoot; files: Map<string, string> }> {
  const list = entries ?? (await readDelta(root, read));
  const files = new Map<string, string>();
  const reader = overlayReader(files, read);
  let current = baseRoot(root);
  for (const [name, , summary] of list) {
    const update = await updateShardedIndex(current, name, summary, reader);
    current = update.root;
    for (const [key, content] of update.files) files.set(key, content);
  }
  const same =
    current.search.document_count === root.search.document_count &&
    current.catalog.count === root.catalog.count &&
    current.search.field_length_total.length === root.search.field_length_total.length &&
    current.search.field_length_total.every((v, i) => v === root.search.field_length_total[i]);
  if (!same) throw new ShelfError('internal_error', `The ${root.kind} delta does not add up to the root's statistics; run \`shelf rebuild\`.`);
  return { root: current, files: await reachableNew(current, files) };
}

/**
 * The announce's update (arguments as {@link updateShardedIndex}'s): writes the package into the
 * delta, reading its base version from the catalog when the delta does not hold it yet; when the
 * delta would hold more than its hard cap ({@link deltaHardCap}; or the policy has no delta),
 * compacts it, this package included, into the base trees instead.
 *
 * @throws ShelfError as {@link updateShardedIndex}
 */
export async function updateDelta(root: unknown, name: string, summary: PackageSummary | null, read: KeyReader): Promise<DeltaUpdate> {
  const { current, next } = updateInput(root, name, summary, read);
  const max = deltaHardCap(current.policy);
  if (max === 0 && !current.delta) return { ...(await updateShardedIndex(current, name, summary, read)), compacted: false };

  const entries = await readDelta(current, read);
  const held = entries.find((e) => e[0] === name);
  let baseTerms: DeltaEntryJson[4];
  let previous: PackageSummary | null;
  if (held) {
    baseTerms = held[4];
    previous = held[2];
  } else {
    const byName = new TreeNavigator(catalogByNameSpec(current.policy), current.catalog.by_name, generationFiles(current.kind, read));
    previous = ((await byName.get(name)) as PackageSummary | null) ?? null;
    baseTerms = previous ? termsByField(indexDocument(previous)) : null;
  }
  const before = previous ? indexDocument(previous) : null;
  const after = next ? indexDocument(next) : null;
  if (before?.display.file === after?.display.file) return { root: current, files: new Map(), previous, changed: false, compacted: false };

  // The package's entry now; none when neither the base nor anything since holds it.
  const rest = entries.filter((e) => e[0] !== name);
  const id = encodeId((after ?? before)!.id);
  const nextEntries = after || baseTerms ? [...rest, [name, id, after?.summary ?? null, after?.entry ?? null, baseTerms] as DeltaEntryJson] : rest;

  const stats = statisticsWith(current, before, after);
  const whole: ShardedRoot = {
    ...current,
    search: { ...current.search, document_count: stats.documents, field_length_total: stats.totals },
    catalog: { ...current.catalog, count: current.catalog.count + stats.change },
  };
  const base = current.delta?.base ?? {
    document_count: current.search.document_count,
    field_length_total: [...current.search.field_length_total],
    catalog_count: current.catalog.count,
  };

  if (nextEntries.length > max) {
    const sorted = [...nextEntries].sort((a, b) => compareKeys(a[0], b[0]));
    const compacted = await compactDelta({ ...whole, delta: { file: '0'.repeat(20), bytes: 0, count: sorted.length, base } }, read, sorted);
    return { root: compacted.root, files: compacted.files, previous, changed: true, compacted: true };
  }
  if (nextEntries.length === 0) {
    const { delta: _dropped, ...withoutDelta } = whole;
    return { root: withoutDelta, files: new Map(), previous, changed: true, compacted: false };
  }
  const { file, content } = deltaFile(nextEntries);
  const files = new Map([[shardKey(current.kind, file), content]]);
  const newRoot: ShardedRoot = { ...whole, delta: { file, bytes: new TextEncoder().encode(content).length, count: nextEntries.length, base } };
  return { root: newRoot, files, previous, changed: true, compacted: false };
}
