/**
 * The class of every file of a sharded search generation, for counting a query's requests and a
 * build's storage by what the files are. A shard's name is its content hash, so neither the name
 * nor (for `refs`, `dict`, `terms` and `page` files, which several trees share) the file's type `t`
 * tells which tree it belongs to: the classes are found by walking every tree from the root, as
 * the reader does, and labelling each file by the tree and level that references it.
 *
 * Classes: the root and the page's config; the delta; for the term and name-pair trees, their
 * node files (`dict` and `refs` levels) and their leaves (`terms` files); the suffix tree (every
 * level: its leaves are a dictionary too); a paged field's head page (the first `page` of its tree,
 * or the `heads` file holding a term's head pages), its further pages and its tree's `refs` files;
 * the catalog trees' leaves and nodes; the display files. A query's requests split the display
 * files into those of the results it shows and those it read only to score candidates exactly
 * (`display, not shown`: a request class, never a stored one).
 *
 * @module
 */
import { gzipSync } from 'node:zlib';
import { configKey, displayKey, shardKey, shardedRootKey } from '../../src/core/paths.ts';
import type { Kind } from '../../src/core/names.ts';
import type { ShardedRoot, TreeJson } from '../../src/search/format/wire.ts';

/** The classes, in the order the tables list them. */
export const FILE_CLASSES = [
  'config',
  'root',
  'delta',
  'term tree nodes',
  'terms',
  'pair tree nodes',
  'pair terms',
  'suffix tree',
  'head pages',
  'further pages',
  'page tree nodes',
  'catalog tree nodes',
  'catalog',
  'display',
  'display, not shown',
  'other',
] as const;
export type FileClass = (typeof FILE_CLASSES)[number];

type TreeName = 'term' | 'pair' | 'suffix' | 'page' | 'catalog';

/** The class of a tree's leaf files and of its inner files. */
const TREE_CLASSES: Record<TreeName, { leaf: FileClass; node: FileClass }> = {
  term: { leaf: 'terms', node: 'term tree nodes' },
  pair: { leaf: 'pair terms', node: 'pair tree nodes' },
  suffix: { leaf: 'suffix tree', node: 'suffix tree' },
  page: { leaf: 'further pages', node: 'page tree nodes' },
  catalog: { leaf: 'catalog', node: 'catalog tree nodes' },
};

const HASH = /^[0-9a-f]{20}$/;
const isHash = (v: unknown): v is string => typeof v === 'string' && HASH.test(v);

/**
 * Every file of a generation by key → its class. `files` holds the generation's files by key (the
 * root's included or not); files no tree references (none in a fresh build) are `other`.
 */
export function classifyFiles(kind: Kind, root: ShardedRoot, files: ReadonlyMap<string, string>): Map<string, FileClass> {
  const classes = new Map<string, FileClass>();
  const heads = new Set<string>();
  const parsed = (key: string): { t?: string; e?: unknown[] } => JSON.parse(files.get(key) ?? '{}') as { t?: string; e?: unknown[] };

  /** The paged fields of a term entry of a `terms` file: their head files and page trees. */
  const pagedFields = (entry: unknown[]): void => {
    const paged = entry[2] as Record<string, { h: [string, number]; t: TreeJson }> | undefined;
    if (!paged || typeof paged !== 'object') return;
    for (const field of Object.values(paged)) {
      heads.add(shardKey(kind, field.h[0]));
      walk(field.t, 'page');
    }
  };

  /** The entries of level `level` of tree `tree`: label the files they reference and descend. */
  const visit = (entries: unknown[], level: number, tree: TreeName): void => {
    for (const entry of entries) {
      if (!Array.isArray(entry)) continue;
      if (level === 0) {
        if (tree === 'term' || tree === 'pair') pagedFields(entry);
        continue;
      }
      // A reference `[first_key, file, bytes, weight]`, or a dictionary entry `[file, bytes, terms]`
      // whose paged terms name their head files `[term, {field: [df, head, bytes]}]`.
      const child = isHash(entry[1]) ? entry[1] : isHash(entry[0]) && Array.isArray(entry[2]) ? entry[0] : null;
      if (child === null) continue;
      if (child === entry[0]) {
        for (const info of entry[2] as unknown[]) {
          if (!Array.isArray(info)) continue;
          for (const paged of Object.values(info[1] as Record<string, unknown[]>)) if (isHash(paged[1])) heads.add(shardKey(kind, paged[1]));
        }
      }
      const key = shardKey(kind, child);
      if (classes.has(key)) continue;
      classes.set(key, level === 1 ? TREE_CLASSES[tree].leaf : TREE_CLASSES[tree].node);
      visit(parsed(key).e ?? [], level - 1, tree);
    }
  };
  const walk = (t: TreeJson, tree: TreeName): void => visit(t.top, t.height, tree);

  classes.set(configKey(), 'config');
  classes.set(shardedRootKey(kind), 'root');
  if (root.delta) classes.set(shardKey(kind, root.delta.file), 'delta');
  walk(root.search.terms, 'term');
  walk(root.search.pairs, 'pair');
  walk(root.search.suffixes, 'suffix');
  walk(root.catalog.by_name, 'catalog');
  walk(root.catalog.by_recent, 'catalog');
  // A head page is also its tree's first page; a `heads` file only a head.
  for (const key of heads) classes.set(key, 'head pages');
  const displayFolder = displayKey(kind, 'x').slice(0, -'x.json'.length);
  for (const key of files.keys()) if (!classes.has(key)) classes.set(key, key.startsWith(displayFolder) ? 'display' : 'other');
  return classes;
}

/** The class of a requested key (`other` when the generation does not hold it). */
export function classOf(classes: ReadonlyMap<string, FileClass>, key: string): FileClass {
  return classes.get(key) ?? 'other';
}

/** What the files of one class hold: count, raw bytes, and the sum of each file's gzip (level 9) bytes. */
export interface ClassStorage {
  files: number;
  bytes: number;
  gzip: number;
  /** Document entries (`docs` of `terms`, `page` and `heads` files): how many, and their bytes (an entry and its comma). */
  docEntries: number;
  docBytes: number;
}

/** Storage of a generation by file class, and the document entries' repetition across files. */
export interface StorageByClass {
  classes: Partial<Record<FileClass, ClassStorage>>;
  total: ClassStorage;
  /** Distinct documents the `docs` arrays reference, and the bytes their entries would take stored once each. */
  docs: { distinct: number; onceBytes: number };
}

/**
 * Counts a generation's files by class (the root included, as its JSON text): files, raw bytes,
 * gzip bytes (each file alone, level 9, as a store serving `Content-Encoding: gzip` would keep it),
 * and the bytes of the document entries repeated in every `terms`, `page` and `heads` file whose
 * postings reference them. `gzip` false skips the compression (zero).
 */
export function storageByClass(kind: Kind, root: ShardedRoot, files: ReadonlyMap<string, string>, gzip = true): StorageByClass {
  const all = new Map(files);
  all.set(shardedRootKey(kind), `${JSON.stringify(root)}\n`);
  const classes = classifyFiles(kind, root, all);
  const empty = (): ClassStorage => ({ files: 0, bytes: 0, gzip: 0, docEntries: 0, docBytes: 0 });
  const out: Partial<Record<FileClass, ClassStorage>> = {};
  const total = empty();
  const once = new Map<string, number>();
  for (const [key, content] of all) {
    const fc = classOf(classes, key);
    const s = (out[fc] ??= empty());
    const bytes = Buffer.byteLength(content, 'utf8');
    const gz = gzip ? gzipSync(content, { level: 9 }).length : 0;
    let docEntries = 0;
    let docBytes = 0;
    if (content.includes('"docs":[')) {
      const docs = (JSON.parse(content) as { docs?: unknown[][] }).docs ?? [];
      for (const d of docs) {
        const n = Buffer.byteLength(JSON.stringify(d), 'utf8') + 1;
        docEntries++;
        docBytes += n;
        once.set(String(d[0]), n);
      }
    }
    for (const t of [s, total]) {
      t.files++;
      t.bytes += bytes;
      t.gzip += gz;
      t.docEntries += docEntries;
      t.docBytes += docBytes;
    }
  }
  let onceBytes = 0;
  for (const n of once.values()) onceBytes += n;
  return { classes: out, total, docs: { distinct: once.size, onceBytes } };
}

/** The storage as a markdown table, classes in {@link FILE_CLASSES} order. */
export function storageTable(packages: number, storage: StorageByClass): string {
  const mb = (b: number): string => (b / 1e6).toFixed(2);
  const n = (x: number): string => x.toLocaleString('en-US');
  const share = (b: number): string => `${Math.round((b / storage.total.bytes) * 100)}%`;
  const row = (name: string, s: ClassStorage): string =>
    `| ${n(packages)} | ${name} | ${n(s.files)} | ${mb(s.bytes)} | ${share(s.bytes)} | ${mb(s.gzip)} | ${s.docEntries ? `${n(s.docEntries)}, ${mb(s.docBytes)}` : ''} |`;
  const lines = ['| packages | file class | files | MB raw | share of raw | MB gzip | document entries: count, MB raw |', '|---:|---|---:|---:|---:|---:|---|'];
  for (const fc of FILE_CLASSES) {
    const s = storage.classes[fc];
    if (s) lines.push(row(fc, s));
  }
  lines.push(row('**total**', storage.total));
  return lines.join('\n');
}
