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
import { indexCorpus, pairKeysOf } from '../format/indexed-document.ts';
import { displayKey, shardKey } from '../../core/paths.ts';
import type { DocEntryJson, PagedFieldJson, ShardedRoot } from '../format/wire.ts';
import { catalogByNameSpec, catalogByRecentSpec, recencyKey } from '../format/catalog-tree.ts';
import { ImpactTable, impactPart } from '../format/impact.ts';
import { decodePage, headsContent, pageEntry, pageTreeSpec, type PageEntry } from '../format/page-tree.ts';
import { checkShardingPolicy, DEFAULT_POLICY, type ShardingPolicy } from '../format/policy.ts';
import { reverseTerm } from '../format/reverse.ts';
import { postingCost } from '../format/sizes.ts';
import { placeTerms } from '../format/placement.ts';
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
      // Impacts are asked in posting order, and awaited only when one is a promise (an update's).
      const qs = [...postings.keys()].map(qOf);
      const known = qs.every((q) => typeof q === 'number') ? (qs as number[]) : await Promise.all(qs);
      let i = 0;
      const entries = [...postings].map(([id, [tf, len]]) => pageEntry(id, tf, len, known[i++]!, docOf(id)));
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
  // Every document's terms (by number, in MiniSearch's order) with their impact bases (for the
  // impact order of paged fields), and the terms of its name (for the name pairs), in one pass.
  const vocabulary = corpus.terms.map(([term]) => term);
  const termsOf = new Map<number, { terms: number[]; bases: number[] }>();
  const nameTermsOf = new Map<number, string[]>();
  corpus.terms.forEach(([term, byField], t) => {
    for (const [fid, ids] of byField) {
      for (const [id, [tf, len]] of ids) {
        let own = termsOf.get(id);
        if (!own) termsOf.set(id, (own = { terms: [], bases: [] }));
        if (own.terms.at(-1) !== t) {
          own.terms.push(t);
          own.bases.push(0);
        }
        own.bases[own.bases.length - 1]! += impactPart(fid, tf, len);
      }
    }
    for (const id of byField.get(0)?.keys() ?? []) {
      let list = nameTermsOf.get(id);
      if (!list) nameTermsOf.set(id, (list = []));
      list.push(term);
    }
  });
  // A term's impact for a document, once per document however many of its fields are paged.
  const impacts = new ImpactTable(vocabulary);
  const secondImpacts = impacts.twin();
  const impactOf = (term: string, table = impacts): ((id: number) => number) => {
    let over: ReturnType<ImpactTable['of']> | undefined;
    const known = new Map<number, number>();
    return (id) => {
      let q = known.get(id);
      if (q === undefined) {
        const own = termsOf.get(id)!;
        known.set(id, (q = (over ??= table.of(term))(own.terms, own.bases)));
      }
      return q;
    };
  };
  const sortedTerms = [...corpus.terms].sort((a, b) => compareKeys(a[0], b[0]));
  const built: TermEntry[] = [];
  for (const [term, byField] of sortedTerms) {
    const entry = await makeTermEntry(term, byField, docOf, impactOf(term), policy, names);
    await combineHeads(entry, readBuilt, names);
    built.push(entry);
  }
  // Tool names' compound terms go in the pair tree (`placeTerms`).
  const { terms: entries, pairs: compounds } = placeTerms(built, (e) => e.term);
  const terms = buildTree(termTreeSpec(policy), entries, names);

  // The name-pair index: "a b" for every two terms of a package's name.
  const pairs = new Map<string, Map<number, Posting>>();
  for (const [id, d] of corpus.documents) {
    for (const key of pairKeysOf(nameTermsOf.get(id) ?? [])) {
      let m = pairs.get(key);
      if (!m) pairs.set(key, (m = new Map()));
      m.set(id, [1, d.lengths[0]!]);
    }
  }
  const pairEntries: TermEntry[] = [];
  for (const [key, postings] of [...pairs].sort((a, b) => compareKeys(a[0], b[0]))) {
    const [a, b] = key.split(' ') as [string, string];
    const [qa, qb] = [impactOf(a), impactOf(b, secondImpacts)];
    pairEntries.push(await makeTermEntry(key, new Map([[0, postings]]), docOf, (id) => qa(id) + qb(id), policy, names));
  }
  const pairTree = buildTree(pairTreeSpec(policy), [...pairEntries, ...compounds].sort((a, b) => compareKeys(a.term, b.term)), names);
  const suffixes = buildTree(suffixTreeSpec(policy), entries.map((e) => reverseTerm(e.term)).sort(compareKeys), names);

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
