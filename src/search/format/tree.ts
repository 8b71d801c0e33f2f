/**
 * A sorted map stored as a tree of immutable, content-addressed files: the structure under the
 * term index, the paged postings of common terms and the catalog. Level 0 holds the entries, cut
 * by {@link Chunker}; each file of level L is referenced by one entry of level L + 1, keyed by its
 * first key; the top level (`height`, the lowest whose entries fit in `rootMax` bytes) is inlined
 * in the parent. The shape is a pure function of the entries, so a build and any sequence of
 * updates agree byte for byte. {@link updateTree} rewrites only the paths from changed entries to
 * the top, plus the neighbours the chunker rescans to fall back into step.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import { chunkAll, Chunker, type ChunkCodec, type ChunkPolicy } from './chunker.ts';
import { contentName, fileContent } from './hash.ts';
import { RawJson } from './raw-json.ts';
import type { TreeJson } from './wire.ts';

/** How the entries of one level are keyed, measured, stored and referenced. */
export interface LevelSpec<E> extends ChunkCodec<E> {
  /** Size bounds of this level's files. */
  readonly policy: ChunkPolicy;
  /** Size bounds of the level's first file only (default: `policy`): the head page of a paged field. */
  readonly firstPolicy?: ChunkPolicy;
  /** The JSON value of a file holding `entries`. */
  encode(entries: E[]): unknown;
  /** The entries of a file of this level (validated). */
  decode(file: unknown): E[];
  /** The level L + 1 entry referencing a file of this level. */
  ref(entries: E[], file: string, bytes: number): unknown;
  /** For entries that reference a file (levels ≥ 1): that file's name. */
  child(entry: E): string;
  /** For entries of levels ≥ 2: the inline size of the referenced file's entries (see RefSchema). */
  childWeight(entry: E): number;
}

/** A tree description: its levels and the inline budget of its top. */
export interface TreeSpec {
  /** For messages. */
  readonly name: string;
  /** The spec of level `level` (0 = entries). */
  level(level: number): LevelSpec<unknown>;
  /** Largest inline size of the top level, in bytes. */
  readonly rootMax: number;
}

/** A tree as inlined in its parent: the entries of level `height`. */
export type Tree = TreeJson;

/** Reads an immutable file by name and returns its parsed JSON. */
export type FileReader = (file: string) => Promise<unknown>;

/** Decoded files shared by the navigators of one run, by the level's `decode` then file name: each is decoded once. */
export type DecodeCache = Map<LevelSpec<unknown>['decode'], Map<string, Promise<unknown[]>>>;

/** Files produced by a build or an update: name → content (JSON text ending in a newline). */
export type FileSink = Map<string, string>;

/** One change of a level: the entry with `key` becomes `entry`, or is removed when `entry` is null. */
export interface Change {
  key: string;
  entry: unknown;
}

/** Writes one chunk of a level as a file and returns the entry referencing it. */
export function writeChunk(spec: LevelSpec<unknown>, entries: unknown[], files: FileSink): unknown {
  const value = spec.encode(entries);
  const content = value instanceof RawJson ? `${value.text}\n` : fileContent(value);
  const name = contentName(content);
  files.set(name, content);
  return spec.ref(entries, name, Buffer.byteLength(content, 'utf8'));
}

function inlineSize(spec: LevelSpec<unknown>, entries: readonly unknown[]): number {
  let size = 0;
  for (const e of entries) size += spec.weight(e);
  return size;
}

/** Builds a tree from level-0 entries sorted by key (keys unique). */
export function buildTree(spec: TreeSpec, entries: readonly unknown[], files: FileSink): Tree {
  if (entries.length === 0) return { height: 1, top: [] };
  const leaf = spec.level(0);
  let top = chunkAll(leaf, leaf.policy, entries, leaf.firstPolicy).map((chunk) => writeChunk(leaf, chunk, files));
  let height = 1;
  while (inlineSize(spec.level(height), top) > spec.rootMax) {
    const level = spec.level(height);
    top = chunkAll(level, level.policy, top, level.firstPolicy).map((chunk) => writeChunk(level, chunk, files));
    height++;
  }
  return { height, top };
}

/** A loaded node: the entries of a file (or of the inline top) and where it hangs. */
interface Node {
  level: number;
  entries: unknown[];
  parent: Node | null;
  index: number;
  children: Map<number, Promise<Node>>;
}

/** The file of level `node.level - 1` referenced by `node.entries[i]`. */
interface Pos {
  node: Node;
  i: number;
}

/** Walks a tree lazily, reading each file at most once (the writers' walker; the reader has its own). */
export class TreeNavigator {
  readonly root: Node;

  constructor(
    readonly spec: TreeSpec,
    tree: Tree,
    private readonly read: FileReader,
    private readonly decoded?: DecodeCache,
  ) {
    this.root = { level: tree.height, entries: tree.top, parent: null, index: -1, children: new Map() };
  }

  /** Key of the entry at a position of a node. */
  keyAt(node: Node, i: number): string {
    return this.spec.level(node.level).key(node.entries[i]);
  }

  /** The node a position references (its file, loaded and decoded). */
  child(node: Node, i: number): Promise<Node> {
    let p = node.children.get(i);
    if (!p) {
      const file = this.spec.level(node.level).child(node.entries[i]);
      const decode = this.spec.level(node.level - 1).decode;
      let byFile = this.decoded?.get(decode);
      if (this.decoded && !byFile) this.decoded.set(decode, (byFile = new Map()));
      let entries = byFile?.get(file);
      if (!entries) {
        entries = this.read(file).then((json) => {
          let decodedEntries: unknown[];
          try {
            decodedEntries = decode(json);
          } catch (error) {
            throw new ShelfError('internal_error', `The ${this.spec.name} file ${file} is malformed (${(error as Error).message}).`);
          }
          if (decodedEntries.length === 0) throw new ShelfError('internal_error', `The ${this.spec.name} file ${file} is empty.`);
          return decodedEntries;
        });
        byFile?.set(file, entries);
      }
      p = entries.then((decodedEntries) => ({ level: node.level - 1, entries: decodedEntries, parent: node, index: i, children: new Map() }));
      node.children.set(i, p);
    }
    return p;
  }

  /** The file of level `level` whose key range holds `key` (the first file for keys before all). */
  async locate(level: number, key: string): Promise<Pos | null> {
    let node = this.root;
    if (level + 1 > node.level) throw new ShelfError('internal_error', `Level ${level} is not below the top of ${this.spec.name}.`);
    for (;;) {
      if (node.entries.length === 0) return null;
      const i = this.indexFor(node, key);
      if (node.level === level + 1) return { node, i };
      node = await this.child(node, i);
    }
  }

  /** The next file of the same level, or null at the end. */
  async next(pos: Pos): Promise<Pos | null> {
    if (pos.i + 1 < pos.node.entries.length) return { node: pos.node, i: pos.i + 1 };
    if (!pos.node.parent) return null;
    const up = await this.next({ node: pos.node.parent, i: pos.node.index });
    if (!up) return null;
    return { node: await this.child(up.node, up.i), i: 0 };
  }

  /** The previous file of the same level, or null at the start. */
  async prev(pos: Pos): Promise<Pos | null> {
    if (pos.i > 0) return { node: pos.node, i: pos.i - 1 };
    if (!pos.node.parent) return null;
    const up = await this.prev({ node: pos.node.parent, i: pos.node.index });
    if (!up) return null;
    const node = await this.child(up.node, up.i);
    return { node, i: node.entries.length - 1 };
  }

  /** Every level-0 entry with a key in [from, to) (to = undefined: to the end), in order. */
  async *range(from: string, to?: string): AsyncGenerator<unknown> {
    let pos = await this.locate(0, from);
    const spec0 = this.spec.level(0);
    while (pos) {
      const chunk = await this.child(pos.node, pos.i);
      for (const e of chunk.entries) {
        const k = spec0.key(e);
        if (k < from) continue;
        if (to !== undefined && k >= to) return;
        yield e;
      }
      pos = await this.next(pos);
    }
  }

  /** The level-0 entry with this key, or null. */
  async get(key: string): Promise<unknown> {
    for await (const e of this.range(key)) return this.spec.level(0).key(e) === key ? e : null;
    return null;
  }

  private indexFor(node: Node, key: string): number {
    let lo = 0;
    let hi = node.entries.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.keyAt(node, mid) <= key) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

/** Applies changes (any order, each key once) to a tree, writing only files whose content changes; returns the new tree. */
export async function updateTree(
  spec: TreeSpec,
  tree: Tree,
  changes: readonly Change[],
  read: FileReader,
  files: FileSink,
  decoded?: DecodeCache,
): Promise<Tree> {
  const nav = new TreeNavigator(spec, tree, read, decoded);
  let pending = sortChanges(spec, changes);
  for (let level = 0; level < tree.height && pending.length > 0; level++) pending = await rechunkLevel(nav, level, pending, files);
  if (pending.length === 0) return tree;
  // `pending` now holds changes of the top level's entries.
  const topSpec = spec.level(tree.height);
  let top = applyToSorted(topSpec, tree.top, pending);
  let height = tree.height;
  while (inlineSize(spec.level(height), top) > spec.rootMax) {
    const l = spec.level(height);
    top = chunkAll(l, l.policy, top, l.firstPolicy).map((chunk) => writeChunk(l, chunk, files));
    height++;
  }
  // Fold the top level back into the root while the level below fits (after removals).
  while (height >= 2) {
    const l = spec.level(height);
    let below = 0;
    for (const e of top) below += l.childWeight(e);
    if (below > spec.rootMax) break;
    const node: Node = { level: height, entries: top, parent: null, index: -1, children: new Map() };
    const children = await Promise.all(top.map((_, i) => nav.child(node, i)));
    top = children.flatMap((c) => c.entries);
    height--;
  }
  return { height, top };
}

function sortChanges(spec: TreeSpec, changes: readonly Change[]): Change[] {
  const sorted = [...changes].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) throw new ShelfError('internal_error', `Two changes of ${spec.name} have the key "${sorted[i]!.key}".`);
  }
  return sorted;
}

function applyToSorted(spec: LevelSpec<unknown>, entries: readonly unknown[], changes: readonly Change[]): unknown[] {
  const out: unknown[] = [];
  let ci = 0;
  for (const e of entries) {
    const k = spec.key(e);
    while (ci < changes.length && changes[ci]!.key < k) {
      if (changes[ci]!.entry !== null) out.push(changes[ci]!.entry);
      ci++;
    }
    if (ci < changes.length && changes[ci]!.key === k) {
      if (changes[ci]!.entry !== null) out.push(changes[ci]!.entry);
      ci++;
    } else out.push(e);
  }
  for (; ci < changes.length; ci++) if (changes[ci]!.entry !== null) out.push(changes[ci]!.entry);
  return out;
}

/**
 * Re-cuts level `level` around the changed keys and returns the resulting changes of level
 * `level + 1` (references removed, added or replaced).
 */
async function rechunkLevel(nav: TreeNavigator, level: number, changes: Change[], files: FileSink): Promise<Change[]> {
  const spec = nav.spec.level(level);
  const parentSpec = nav.spec.level(level + 1);
  const removed = new Map<string, unknown>();
  const added: unknown[] = [];
  const produced: FileSink = new Map();
  const emit = (chunk: unknown[] | null): void => {
    if (chunk) added.push(writeChunk(spec, chunk, produced));
  };
  const parentKey = (pos: Pos): string => parentSpec.key(pos.node.entries[pos.i]);
  /** Where the rescan for a change must start: the file holding its key, or the one before when the key is that file's first. */
  const startFor = async (key: string): Promise<Pos | null> => {
    const pos = await nav.locate(level, key);
    if (pos && key <= parentKey(pos)) return (await nav.prev(pos)) ?? pos;
    return pos;
  };

  let ci = 0;
  while (ci < changes.length) {
    let pos = await startFor(changes[ci]!.key);
    // The level's first file has bounds of its own: a rescan starting there starts with them.
    const chunker = new Chunker(spec, spec.policy, !pos || isFirstFile(pos) ? spec.firstPolicy : spec.policy);
    const push = (entry: unknown): void => emit(chunker.push(entry));
    let old: unknown[] = [];
    if (pos) {
      removed.set(parentKey(pos), pos.node.entries[pos.i]);
      old = (await nav.child(pos.node, pos.i)).entries;
    }
    let oi = 0;
    for (;;) {
      if (oi < old.length) {
        const oldKey = spec.key(old[oi]);
        const change = changes[ci];
        if (change && change.key <= oldKey) {
          ci++;
          if (change.key === oldKey) oi++;
          if (change.entry !== null) push(change.entry);
        } else push(old[oi++]);
        continue;
      }
      // The current old file is exhausted: move on to the next one, or stop where the new cut
      // coincides with an old one and no change is left before it.
      const next = pos ? await nav.next(pos) : null;
      if (!next) {
        for (; ci < changes.length; ci++) if (changes[ci]!.entry !== null) push(changes[ci]!.entry);
        emit(chunker.cut());
        break;
      }
      const nextKey = parentKey(next);
      const change = changes[ci];
      if (change && change.key < nextKey) {
        ci++;
        if (change.entry !== null) push(change.entry);
        continue;
      }
      const nextEntries = (await nav.child(next.node, next.i)).entries;
      if (!(change && change.key === nextKey) && chunker.wouldCut(nextEntries[0])) {
        emit(chunker.cut());
        if (ci >= changes.length) break;
        const resume = await startFor(changes[ci]!.key);
        if (!resume || resume.node !== next.node || resume.i !== next.i) break;
      }
      pos = next;
      removed.set(nextKey, next.node.entries[next.i]);
      old = nextEntries;
      oi = 0;
    }
  }

  // Files that come out identical to the ones they replace are neither written nor re-referenced.
  const out = new Map<string, unknown>();
  for (const [k] of removed) out.set(k, null);
  for (const ref of added) {
    const k = parentSpec.key(ref);
    const before = removed.get(k);
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(ref)) {
      out.delete(k);
      continue;
    }
    const file = parentSpec.child(ref);
    files.set(file, produced.get(file)!);
    out.set(k, ref);
  }
  return sortChanges(nav.spec, [...out].map(([key, entry]) => ({ key, entry })));
}

/** Whether `pos` is the first file of its level (first at every level above it too). */
function isFirstFile(pos: Pos): boolean {
  if (pos.i !== 0) return false;
  for (let node: Node = pos.node; node.parent; node = node.parent) if (node.index !== 0) return false;
  return true;
}

/** The first level-0 file of a tree whose levels ≥ 1 are refs, as `[file, bytes]`; null for an empty tree. */
export async function firstLeaf(spec: TreeSpec, tree: Tree, read: FileReader, decoded?: DecodeCache): Promise<[string, number] | null> {
  if (tree.top.length === 0) return null;
  const nav = new TreeNavigator(spec, tree, read, decoded);
  let node = nav.root;
  while (node.level > 1) node = await nav.child(node, 0);
  const ref = node.entries[0] as [string, string, number, number];
  return [ref[1], ref[2]];
}

/** A reader that serves files produced in this run first, then falls back to `read`. */
export function overlayReader(files: FileSink, read: FileReader): FileReader {
  return async (file) => {
    const content = files.get(file);
    return content !== undefined ? JSON.parse(content) : read(file);
  };
}
