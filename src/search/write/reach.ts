/**
 * What a generation of the sharded index reaches: every immutable file (tree files under
 * `shards/`, display files under `docs/`) a client holding its root may read. `shelf gc` keeps
 * exactly these, so the walk reads every file of the generation and follows every name in it; a
 * file it cannot read is reported, never guessed. Which entries name files: docs/sharded-search.md,
 * "Garbage collection".
 *
 * @module
 */
import type { Kind } from '../../core/names.ts';
import { displayFileOf } from '../format/indexed-document.ts';
import { displayKey, shardKey } from '../../core/paths.ts';
import { DocEntry, type DocEntryJson, type ShardedRoot, type TreeJson } from '../format/wire.ts';
import type { KeyReader } from './update.ts';

/** What {@link reachableKeys} found. */
export interface Reach {
  /** Every key the root reaches, tree files and display files. */
  keys: Set<string>;
  /** Keys the root reaches that are absent or not a file of the format (a rebuild restores them). */
  broken: string[];
}

/** Files read at once. */
const CONCURRENCY = 32;

/**
 * Every key a root reaches. `children` caches, per tree file, the keys it names: immutable
 * files never change, so a second walk (of a newer root) reads only the files it has not seen.
 */
export async function reachableKeys(kind: Kind, root: ShardedRoot, read: KeyReader, children: Map<string, string[]> = new Map()): Promise<Reach> {
  const keys = new Set<string>();
  const broken: string[] = [];
  const queue: string[] = [];
  const reach = (key: string, isTreeFile: boolean): void => {
    if (keys.has(key)) return;
    keys.add(key);
    if (isTreeFile) queue.push(key);
  };
  const file = (name: string): void => reach(shardKey(kind, name), true);
  const names = (tree: TreeJson, termTree: boolean): void => {
    for (const e of tree.top as unknown[][]) namesOfEntry(e, termTree && tree.height === 1 ? 'dict' : 'ref', file);
  };
  names(root.search.terms, true);
  names(root.search.pairs, true);
  names(root.search.suffixes, false);
  names(root.catalog.by_name, false);
  names(root.catalog.by_recent, false);
  if (root.delta) file(root.delta.file);

  const worker = async (): Promise<void> => {
    for (let key = queue.pop(); key !== undefined; key = queue.pop()) {
      let named = children.get(key) ?? null;
      if (!named) {
        named = namesOfFile(kind, await read(key).catch(() => null));
        if (!named) {
          broken.push(key);
          continue;
        }
        children.set(key, named);
      }
      for (const k of named) reach(k, k.includes('/shards/'));
    }
  };
  // A worker stops when the queue is empty; the files the others are reading may add more.
  while (queue.length > 0) await Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker));
  return { keys, broken: broken.sort() };
}

/** The names one entry of a tree level holds: a `dict` entry's terms file and head files, or a ref's file. */
function namesOfEntry(e: unknown[], level: 'dict' | 'ref', add: (name: string) => void): void {
  if (level === 'ref') {
    add(e[1] as string);
    return;
  }
  add(e[0] as string);
  for (const info of e[2] as unknown[]) {
    if (typeof info === 'string') continue;
    for (const head of Object.values((info as [string, Record<string, [number, string, number]>])[1])) add(head[1]);
  }
}

/** The keys a tree file names, or null when it is not a file of the format. */
function namesOfFile(kind: Kind, json: unknown): string[] | null {
  const f = json as { t?: unknown; e?: unknown; docs?: unknown } | null;
  if (!f || typeof f !== 'object' || !Array.isArray(f.e)) return null;
  const out: string[] = [];
  const file = (name: string): void => void out.push(shardKey(kind, name));
  const docs = (list: unknown): void => {
    for (const d of (Array.isArray(list) ? list : []) as DocEntryJson[]) out.push(displayKey(kind, DocEntry.displayFile(d)));
  };
  try {
    switch (f.t) {
      case 'refs':
      case 'dict':
        for (const e of f.e as unknown[][]) namesOfEntry(e, f.t === 'dict' ? 'dict' : 'ref', file);
        break;
      case 'terms':
        for (const e of f.e as unknown[][]) {
          for (const paged of Object.values((e[2] ?? {}) as Record<string, { h: [string, number]; t: TreeJson }>)) {
            file(paged.h[0]);
            for (const r of paged.t.top as unknown[][]) namesOfEntry(r, 'ref', file);
          }
        }
        docs(f.docs);
        break;
      case 'page':
      case 'heads':
        docs(f.docs);
        break;
      case 'catalog':
        for (const s of f.e as Parameters<typeof displayFileOf>[0][]) out.push(displayKey(kind, displayFileOf(s)));
        break;
      case 'delta': // its summaries are inline: it names no display file
      case 'suffixes':
        break;
      default:
        return null;
    }
  } catch {
    return null;
  }
  return out;
}
