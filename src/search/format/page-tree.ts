/**
 * The page trees of paged fields (postings by impact, best first) and the `heads` file of a term
 * paged in several fields.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import type { ChunkPolicy } from './chunker.ts';
import { decodeId } from './ids.ts';
import { RawJson } from './raw-json.ts';
import { SHARDED_FORMAT_VERSION, type DocEntryJson, type RefJson } from './wire.ts';
import type { LevelSpec, TreeSpec } from './tree.ts';
import { checkPageFile, valid } from './validate.ts';
import { DEFAULT_POLICY, type ShardingPolicy } from './policy.ts';
import { notAReference, refsLevel } from './refs-level.ts';
import { OneDocAccumulator, OVERHEAD, digits, postingCost } from './sizes.ts';
import { docsTail } from './term-tree.ts';

/** One posting of a paged field, in memory. */
export interface PageEntry {
  id: number;
  tf: number;
  len: number;
  /** Impact of the term for this document over all its fields ({@link impact}). */
  q: number;
  doc: DocEntryJson;
  /** Impact order: best first, then by id. */
  key: string;
}

/** A page entry. */
export function pageEntry(id: number, tf: number, len: number, q: number, doc: DocEntryJson): PageEntry {
  return { id, tf, len, q, doc, key: `${String(99_999_999 - q).padStart(8, '0')}${String(id).padStart(16, '0')}` };
}

export function pagesLevel(head: ChunkPolicy, later: ChunkPolicy): LevelSpec<PageEntry> {
  const own = (e: PageEntry): number => e.doc[0].length + digits(e.tf) + digits(e.len) + digits(e.q) + 8;
  return {
    salt: 'pages/0',
    policy: later,
    firstPolicy: head,
    key: (e) => e.key,
    weight: (e) => postingCost(e.tf, e.len, e.doc),
    accumulator: () => new OneDocAccumulator<PageEntry>(OVERHEAD, own, (e) => [e.id, e.doc]),
    encode: (entries) =>
      new RawJson(
        `{"v":${SHARDED_FORMAT_VERSION},"t":"page","e":[${entries.map((e) => `[${JSON.stringify(e.doc[0])},${e.tf},${e.len},${e.q}]`).join(',')}]` +
          docsTail(new Map(entries.map((e) => [e.id, e.doc]))),
      ),
    decode: (file) => {
      const parsed = valid(checkPageFile(file));
      const docs = new Map(parsed.docs.map((d) => [d[0], d]));
      return parsed.e.map(([key, tf, len, q]) => {
        const doc = docs.get(key);
        if (!doc) throw new ShelfError('internal_error', `A page references document ${key} without its entry.`);
        return pageEntry(decodeId(key), tf, len, q, doc);
      });
    },
    ref: (entries, file, bytes): RefJson => [entries[0]!.key, file, bytes, entries.reduce((n, e) => n + postingCost(e.tf, e.len, e.doc), 0)],
    child: notAReference,
    childWeight: notAReference,
  };
}

/** The `heads` file of a term (JSON text): the head page, its tree's first leaf, of each paged field by field id. */
export function headsContent(leaves: ReadonlyMap<number, readonly PageEntry[]>): string {
  const docs = new Map<number, DocEntryJson>();
  const fields: string[] = [];
  for (const [fid, entries] of [...leaves].sort((a, b) => a[0] - b[0])) {
    for (const e of entries) docs.set(e.id, e.doc);
    fields.push(`[${fid},[${entries.map((e) => `[${JSON.stringify(e.doc[0])},${e.tf},${e.len},${e.q}]`).join(',')}]]`);
  }
  return `{"v":${SHARDED_FORMAT_VERSION},"t":"heads","e":[${fields.join(',')}]${docsTail(docs)}\n`;
}

/** The entries of a `page` file (validated). */
export const decodePage = (file: unknown): PageEntry[] => pagesLevel(DEFAULT_POLICY.pages, DEFAULT_POLICY.pages).decode(file);

/** The page tree of a paged field (the same for every field: entries carry their own order). */
export function pageTreeSpec(policy: ShardingPolicy): TreeSpec {
  const leaf = pagesLevel(policy.pages, policy.later_pages ?? policy.pages) as LevelSpec<unknown>;
  const refs = refsLevel('pages/n', policy.refs) as LevelSpec<unknown>;
  return { name: 'paged postings', rootMax: policy.paged_root_max, level: (l) => (l === 0 ? leaf : refs) };
}
