/**
 * Builds the sharded index and catalog of a kind from every package summary: a pure function
 * (no I/O), the reference an incremental {@link updateShardedIndex} must agree with byte for byte.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import type { Kind } from '../../core/names.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { SEARCH_FIELDS } from '../../core/search-options.ts';
import { indexCorpus, pairKeys } from '../format/indexed-document.ts';
import { displayKey, shardKey } from '../../core/paths.ts';
import type { DocEntryJson, PagedFieldJson, ShardedRoot } from '../format/wire.ts';
import { catalogByNameSpec, catalogByRecentSpec, recencyKey } from '../format/catalog-tree.ts';
import { termImpact, type DocumentTerms } from '../format/impact.ts';
import { decodePage, headsContent, pageEntry, pageTreeSpec, type PageEntry } from '../format/page-tree.ts';
import { checkShardingPolicy, DEFAULT_POLICY, type ShardingPolicy } from '../format/policy.ts';
import { reverseTerm } from '../format/reverse.ts';
import { postingCost } from '../format/sizes.ts';
import { pairTreeSpec, suffixTreeSpec, termTreeSpec, type Posting, type TermEntry } from '../format/term-tree.ts';
import { contentName } from '../format/hash.ts';
import { buildTree, firstLeaf, type FileReader, type FileSink } from '../format/tree.ts';

/** Options of {@link buildShardedIndex}. */
export interface BuildOptions {
  /** Size bounds of the files; default {@link DEFAULT_POLICY}. */
  policy?: ShardingPolicy;
}

/** A generation: the root and every file it references, by storage key. */
export interface ShardedGeneration {
  root: ShardedRoot;
  /** Storage key → content (JSON text). Every key but the root's is immutable. */
  files: Map<string, string>;
}

/** Byte order of strings (UTF-16 code units), the order of every tree. */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Builds a term entry from postings: fields whose postings (with their documents) exceed the
 * policy's threshold are paged, the others stay inline.
 *
 * @param byField - Field id → document id → posting, for every field not already paged.
 * @param qOf - The {@link termImpact} of the term for a document (read only for paged fields).
 */
export async function makeTermEntry(
  term: string,
  byField: Map<number, Map<number, Posting>>,
  docOf: (id: number) => DocEntryJson,
  qOf: (id: number) => number | Promise<number>,
  policy: ShardingPolicy,
  files: FileSink,
): Promise<TermEntry> {
  const entry: TermEntry = { term, inline: new Map(), paged: new Map(), docs: new Map() };
  for (const [fid, postings] of [...byField].sort((a, b) => a[0] - b[0])) {
    if (postings.size === 0) continue;
    let cost = 0;
    for (const [id, [tf, len]] of postings) cost += postingCost(tf, len, docOf(id));
    if (cost > policy.page_threshold) {
      const entries = await Promise.all([...postings].map(async ([id, [tf, len]]) => pageEntry(id, tf, len, await qOf(id), docOf(id))));
      entry.paged.set(fid, await pagedField(entries, cost, policy, files));
    } else {
      entry.inline.set(fid, postings);
      for (const id of postings.keys()) entry.docs.set(id, docOf(id));
    }
  }
  return entry;
}

/**
 * Gives a term with two or more paged fields one `heads` file holding every field's head page (one
 * request instead of one per field) and points each `h` at it. The head pages stay their trees'
 * first leaves, so the file is a function of those leaves, in a build and after any update.
 *
 * @param entry - A term entry whose paged fields' `h` name their trees' first leaves; changed in place.
 * @param stored - The term's heads file before an update, if any: not written again when unchanged.
 */
export async function combineHeads(entry: TermEntry, read: FileReader, files: FileSink, stored?: string): Promise<void> {
  if (entry.paged.size < 2) return;
  const leaves = new Map<number, PageEntry[]>();
  for (const [fid, field] of entry.paged) leaves.set(fid, decodePage(await read(field.h[0])));
  const content = headsContent(leaves);
  const name = contentName(content);
  if (name !== stored) files.set(name, content);
  const head: [string, number] = [name, Buffer.byteLength(content, 'utf8')];
  for (const [fid, field] of entry.paged) entry.paged.set(fid, { ...field, h: head });
}

/** Builds the page tree of a field from its postings. */
export async function pagedField(entries: PageEntry[], cost: number, policy: ShardingPolicy, files: FileSink): Promise<PagedFieldJson> {
  const spec = pageTreeSpec(policy);
  entries.sort((a, b) => compareKeys(a.key, b.key));
  const tree = buildTree(spec, entries, files);
  const head = (await firstLeaf(spec, tree, async (f) => JSON.parse(files.get(f)!)))!;
  return { n: entries.length, w: cost, h: head, t: tree };
}

/**
 * Builds every file of a kind's sharded index and catalog from all its package summaries.
 *
 * @throws ShelfError `invalid_argument` on an invalid kind, summary, duplicate name or policy.
 */
export async function buildShardedIndex(kind: Kind, summaries: readonly PackageSummary[], options: BuildOptions = {}): Promise<ShardedGeneration> {
  if (kind !== 'bundle' && kind !== 'skill') throw new ShelfError('invalid_argument', `The "kind" option must be bundle or skill; got "${String(kind)}".`);
  const policy = checkShardingPolicy(options.policy ?? DEFAULT_POLICY);
  const corpus = indexCorpus(summaries);
  const names: FileSink = new Map();
  const readBuilt = async (file: string): Promise<unknown> => JSON.parse(names.get(file)!);

  const docOf = (id: number): DocEntryJson => corpus.documents.get(id)!.entry;
  // Every document's terms, for the impact order of paged fields.
  const byTerm = new Map(corpus.terms);
  const termsOf = new Map<number, string[]>();
  for (const [term, byField] of corpus.terms) {
    for (const ids of byField.values()) {
      for (const id of ids.keys()) {
        let list = termsOf.get(id);
        if (!list) termsOf.set(id, (list = []));
        if (list.at(-1) !== term) list.push(term);
      }
    }
  }
  const documentTermsOf = (id: number): DocumentTerms => {
    const lengths = corpus.documents.get(id)!.lengths;
    return {
      terms: termsOf.get(id)!,
      fields: (t) => [...byTerm.get(t)!].flatMap(([fid, ids]) => (ids.has(id) ? [[fid, ids.get(id)!, lengths[fid]!] as [number, number, number]] : [])),
    };
  };
  const sortedTerms = [...corpus.terms].sort((a, b) => compareKeys(a[0], b[0]));
  const entries: TermEntry[] = [];
  for (const [term, byField] of sortedTerms) {
    const postings = new Map<number, Map<number, Posting>>();
    for (const [fid, tfs] of byField) {
      const m = new Map<number, Posting>();
      for (const [id, tf] of tfs) m.set(id, [tf, corpus.documents.get(id)!.lengths[fid]!]);
      postings.set(fid, m);
    }
    const entry = await makeTermEntry(term, postings, docOf, (id) => termImpact(term, documentTermsOf(id)), policy, names);
    await combineHeads(entry, readBuilt, names);
    entries.push(entry);
  }
  const terms = buildTree(termTreeSpec(policy), entries, names);

  // The name-pair index: "a b" for every two terms of a package's name.
  const pairs = new Map<string, Map<number, Posting>>();
  for (const [id, d] of corpus.documents) {
    const own = new Map<string, Map<number, number>>();
    for (const t of termsOf.get(id) ?? []) {
      const tf = byTerm.get(t)!.get(0)?.get(id);
      if (tf !== undefined) own.set(t, new Map([[0, tf]]));
    }
    for (const key of pairKeys(own)) {
      let m = pairs.get(key);
      if (!m) pairs.set(key, (m = new Map()));
      m.set(id, [1, d.lengths[0]!]);
    }
  }
  const pairEntries: TermEntry[] = [];
  for (const [key, postings] of [...pairs].sort((a, b) => compareKeys(a[0], b[0]))) {
    const [a, b] = key.split(' ') as [string, string];
    const qOf = (id: number): number => termImpact(a, documentTermsOf(id)) + termImpact(b, documentTermsOf(id));
    pairEntries.push(await makeTermEntry(key, new Map([[0, postings]]), docOf, qOf, policy, names));
  }
  const pairTree = buildTree(pairTreeSpec(policy), pairEntries, names);
  const suffixes = buildTree(suffixTreeSpec(policy), sortedTerms.map(([t]) => reverseTerm(t)).sort(compareKeys), names);

  const docs = [...corpus.documents.values()];
  const byName = docs.map((d) => d.summary).sort((a, b) => compareKeys(a.name, b.name));
  const byRecent = [...byName].sort((a, b) => compareKeys(recencyKey(a), recencyKey(b)));
  const catalogByName = buildTree(catalogByNameSpec(policy), byName, names);
  const catalogByRecent = buildTree(catalogByRecentSpec(policy), byRecent, names);

  const totals = SEARCH_FIELDS.map(() => 0);
  for (const d of docs) d.lengths.forEach((len, i) => (totals[i]! += len));

  const files = new Map<string, string>();
  for (const [name, content] of names) files.set(shardKey(kind, name), content);
  for (const d of docs) files.set(displayKey(kind, d.display.file), d.display.content);
  return {
    root: rootDocument(kind, policy, docs.length, totals, { terms, suffixes, pairs: pairTree }, { count: docs.length, by_name: catalogByName, by_recent: catalogByRecent }),
    files,
  };
}

/** Assembles a root document. */
export function rootDocument(
  kind: Kind,
  policy: ShardingPolicy,
  documentCount: number,
  totals: number[],
  trees: Pick<ShardedRoot['search'], 'terms' | 'suffixes' | 'pairs'>,
  catalog: ShardedRoot['catalog'],
): ShardedRoot {
  return {
    schema_version: 1,
    format: 'shelf-sharded@1',
    kind,
    engine: 'minisearch@7',
    policy,
    search: {
      fields: [...SEARCH_FIELDS],
      document_count: documentCount,
      field_length_total: totals,
      terms: trees.terms,
      suffixes: trees.suffixes,
      pairs: trees.pairs,
    },
    catalog,
  };
}
