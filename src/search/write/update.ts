/**
 * The incremental update of a kind's sharded index for ONE package: pure (reads through a
 * function, writes nothing), it returns the new root and files; the caller writes the files
 * create-only and swaps the root by compare-and-swap (`publish.ts`). What it reads and rewrites is
 * bounded by the package, not the registry, and the result equals a build from scratch
 * ({@link buildShardedIndex}) byte for byte.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import { parsePackageName, type Kind } from '../../core/names.ts';
import type { PackageSummary } from '../../core/schemas.ts';
import { combineHeads, compareKeys, makeTermEntry, rootDocument } from './build.ts';
import { canonicalSummary, indexDocument, pairKeys, type IndexedDocument } from '../format/indexed-document.ts';
import { displayKey, shardKey } from '../../core/paths.ts';
import { DocEntry, ShardedRootSchema, type DocEntryJson, type PagedFieldJson, type ShardedRoot } from '../format/wire.ts';
import { catalogByNameSpec, catalogByRecentSpec, recencyKey } from '../format/catalog-tree.ts';
import { documentTerms, termImpact, type DocumentTerms } from '../format/impact.ts';
import { pageEntry, pageTreeSpec, type PageEntry } from '../format/page-tree.ts';
import { placeTerms } from '../format/placement.ts';
import { checkShardingPolicy, type ShardingPolicy } from '../format/policy.ts';
import { reverseTerm } from '../format/reverse.ts';
import { postingCost } from '../format/sizes.ts';
import { pairTreeSpec, suffixTreeSpec, termTreeSpec, type Posting, type TermEntry } from '../format/term-tree.ts';
import { firstLeaf, overlayReader, TreeNavigator, updateTree, type Change, type DecodeCache, type FileReader, type FileSink, type Tree, type TreeSpec } from '../format/tree.ts';

/** Reads a stored JSON file by storage key; resolves to null when it does not exist. */
export type KeyReader = (key: string) => Promise<unknown | null>;

/** The JSON `read` resolves to; a missing file is an `internal_error` naming `what`. */
export async function required(read: Promise<unknown>, what: string): Promise<unknown> {
  const json = await read;
  if (json === null || json === undefined) throw new ShelfError('internal_error', `The ${what} is missing.`);
  return json;
}

/** The files of a kind's generation by name, each read once through `read`. */
export function generationFiles(kind: Kind, read: KeyReader): FileReader {
  const reads = new Map<string, Promise<unknown>>();
  return (file) => {
    let p = reads.get(file);
    if (!p) reads.set(file, (p = required(read(shardKey(kind, file)), `${kind} index file ${file}`)));
    return p;
  };
}

/** Validates an update's input: root, package (`@scope/name`, lower-case), summary (null: removed), reader. @throws ShelfError `invalid_argument` */
export function updateInput(root: unknown, name: string, summary: PackageSummary | null, read: KeyReader): { current: ShardedRoot; next: PackageSummary | null } {
  const parsedRoot = ShardedRootSchema.safeParse(root);
  if (!parsedRoot.success) throw new ShelfError('invalid_argument', 'The "root" option is not a sharded index root.');
  const current = parsedRoot.data;
  if (parsePackageName(name).full !== name) throw new ShelfError('invalid_argument', `The "name" option must be lower-case; got "${name}".`);
  const next = summary === null ? null : canonicalSummary(summary);
  if (next && next.name !== name) throw new ShelfError('invalid_argument', `The summary is of ${next.name}, not ${name}.`);
  if (next && next.kind !== current.kind) throw new ShelfError('invalid_argument', `The summary is of a ${next.kind}, this index holds ${current.kind}s.`);
  if (typeof read !== 'function') throw new ShelfError('invalid_argument', 'The "read" option must be a function.');
  return { current, next };
}

/**
 * The whole registry's statistics once a package's old version is replaced by its new one (either
 * may be null): exact integer sums, so the order of updates cannot drift them.
 */
export function statisticsWith(root: ShardedRoot, before: IndexedDocument | null, after: IndexedDocument | null): { documents: number; totals: number[]; change: number } {
  const totals = [...root.search.field_length_total];
  before?.lengths.forEach((len, i) => (totals[i] = (totals[i] ?? 0) - len));
  after?.lengths.forEach((len, i) => (totals[i] = (totals[i] ?? 0) + len));
  const change = (after ? 1 : 0) - (before ? 1 : 0);
  return { documents: root.search.document_count + change, totals, change };
}

/** The result of {@link updateShardedIndex}. */
export interface ShardedUpdate {
  /** The new root, to write with compare-and-swap over the one the update started from. */
  root: ShardedRoot;
  /** New immutable files by storage key, to write create-only before the root. */
  files: Map<string, string>;
  /** The package's summary before the update (null when it was not in the index). */
  previous: PackageSummary | null;
  /** False when the index already held exactly this summary (nothing to write). */
  changed: boolean;
}

/**
 * Updates the base trees of a kind's sharded index for one package: `summary` null removes it,
 * `read` reads a file of the generation by storage key.
 *
 * @throws ShelfError `invalid_argument` as {@link updateInput} says, or for a root with a delta;
 *   `internal_error` when a file the root references is missing or malformed.
 */
export async function updateShardedIndex(root: unknown, name: string, summary: PackageSummary | null, read: KeyReader): Promise<ShardedUpdate> {
  const { current, next } = updateInput(root, name, summary, read);
  // Rewriting the base trees of a root with a delta would drop the delta: delta.ts compacts first.
  if (current.delta) throw new ShelfError('invalid_argument', 'The "root" option has a delta; update it with updateDelta (src/search/write/delta.ts).');
  const policy = checkShardingPolicy(current.policy);
  const kind = current.kind;
  const sink: FileSink = new Map();
  const readFile = overlayReader(sink, generationFiles(kind, read));

  // Files read by one navigator and rewritten by another are decoded once.
  const decoded: DecodeCache = new Map();
  const byNameSpec = catalogByNameSpec(policy);
  const byName = new TreeNavigator(byNameSpec, current.catalog.by_name, readFile, decoded);
  const previous = ((await byName.get(name)) as PackageSummary | null) ?? null;
  const before = previous ? indexDocument(previous) : null;
  const after = next ? indexDocument(next) : null;
  if (before?.display.file === after?.display.file) return { root: current, files: new Map(), previous, changed: false };
  const id = (after ?? before)!.id;

  const displays = new Map<string, Promise<DocumentTerms>>();
  const ctx: TermContext = {
    id,
    name,
    before,
    after,
    termsBefore: before ? documentTerms(before.postings, before.lengths) : { terms: [], fields: () => [] },
    termsAfter: after ? documentTerms(after.postings, after.lengths) : { terms: [], fields: () => [] },
    policy,
    read: readFile,
    sink,
    decoded,
    termsOf: (doc) => {
      const file = DocEntry.displayFile(doc);
      let p = displays.get(file);
      if (!p) {
        p = required(read(displayKey(kind, file)), `${kind} display file ${file}`).then((json) => {
          const d = indexDocument(json);
          return documentTerms(d.postings, d.lengths);
        });
        displays.set(file, p);
      }
      return p;
    },
  };
  // The terms, then the name pairs, the package had or has: their entries read in parallel (each
  // file once: on S3 latency, not size, dominates), then updated.
  const changesOf = async (spec: TreeSpec, tree: Tree, keys: Iterable<string>, source: (key: string) => KeySource): Promise<{ existing: unknown[]; changes: Change[] }> => {
    const sorted = [...new Set(keys)].sort(compareKeys);
    const nav = new TreeNavigator(spec, tree, readFile, decoded);
    const existing = (await Promise.all(sorted.map((k) => nav.get(k)))) as (TermEntry | null)[];
    const updated = await Promise.all(sorted.map((k, i) => updateTerm(existing[i]!, k, ctx, source(k))));
    return { existing, changes: sorted.map((key, i) => ({ key, entry: updated[i] })) };
  };
  const termSpec = termTreeSpec(policy);
  const pairSpec = pairTreeSpec(policy);
  // Tool names' compound terms live in the pair tree (`placeTerms`), as the builder puts them.
  const placed = placeTerms([...(before?.postings.keys() ?? []), ...(after?.postings.keys() ?? [])], (t) => t);
  const termUpdate = await changesOf(termSpec, current.search.terms, placed.terms, termSource);
  const compounds = new Set(placed.pairs);
  const pairKeysBoth = [...(before ? pairKeys(before.postings) : []), ...(after ? pairKeys(after.postings) : [])];
  const pairUpdate = await changesOf(pairSpec, current.search.pairs, [...pairKeysBoth, ...compounds], (k) => (compounds.has(k) ? termSource(k) : pairSource(k)));
  // The vocabulary changes only when a term appears or disappears.
  const suffixChanges = termUpdate.changes.flatMap(({ key, entry }, i) =>
    (termUpdate.existing[i] === null) !== (entry === null) ? [{ key: reverseTerm(key), entry: entry ? reverseTerm(key) : null }] : [],
  );

  // Catalog: one entry in each order.
  const nameChanges: Change[] = [{ key: name, entry: next }];
  const recentChanges = new Map<string, PackageSummary | null>();
  if (previous) recentChanges.set(recencyKey(previous), null);
  if (next) recentChanges.set(recencyKey(next), next);
  const recent = [...recentChanges].map(([key, entry]) => ({ key, entry }));
  const [terms, pairs, suffixes, catalogByName, catalogByRecent] = await Promise.all([
    updateTree(termSpec, current.search.terms, termUpdate.changes, readFile, sink, decoded),
    updateTree(pairSpec, current.search.pairs, pairUpdate.changes, readFile, sink, decoded),
    updateTree(suffixTreeSpec(policy), current.search.suffixes, suffixChanges, readFile, sink, decoded),
    updateTree(byNameSpec, current.catalog.by_name, nameChanges, readFile, sink, decoded),
    updateTree(catalogByRecentSpec(policy), current.catalog.by_recent, recent, readFile, sink, decoded),
  ]);

  const stats = statisticsWith(current, before, after);
  const files = new Map<string, string>();
  for (const [file, content] of sink) files.set(shardKey(kind, file), content);
  if (after) files.set(displayKey(kind, after.display.file), after.display.content);
  const catalog = { count: current.catalog.count + stats.change, by_name: catalogByName, by_recent: catalogByRecent };
  return { root: rootDocument(kind, policy, stats.documents, stats.totals, { terms, suffixes, pairs }, catalog), files, previous, changed: true };
}

/** What `updateTerm` needs beyond the term: the package before and after, and shared state. */
interface TermContext {
  id: number;
  name: string;
  before: IndexedDocument | null;
  after: IndexedDocument | null;
  /** Terms of the package before and after (for impacts). */
  termsBefore: DocumentTerms;
  termsAfter: DocumentTerms;
  policy: ShardingPolicy;
  read: FileReader;
  sink: FileSink;
  /** Decoded files, shared by every navigator of the update. */
  decoded: DecodeCache;
  /** Terms of another document, read from its display file (when a field must be paged). */
  termsOf: (doc: DocEntryJson) => Promise<DocumentTerms>;
}

/** What a key of a term-like tree holds for a document, and its impact. */
interface KeySource {
  /** The postings of the key for the document, by field. */
  postings(doc: IndexedDocument | null): Map<number, Posting>;
  /** The key's impact for a document (the page order). */
  impact(terms: DocumentTerms): number;
}

/** A term of the term tree. */
function termSource(term: string): KeySource {
  return {
    postings: (doc) => new Map([...(doc?.postings.get(term) ?? [])].map(([fid, tf]) => [fid, [tf, doc!.lengths[fid]!] as Posting])),
    impact: (terms) => termImpact(term, terms),
  };
}

/** A pseudo-term `"a b"` of the name-pair tree: one posting in the name field (tf 1). */
function pairSource(key: string): KeySource {
  const [a, b] = key.split(' ') as [string, string];
  return {
    postings: (doc) => (doc && pairKeys(doc.postings).includes(key) ? new Map([[0, [1, doc.lengths[0]!] as Posting]]) : new Map()),
    impact: (terms) => termImpact(a, terms) + termImpact(b, terms),
  };
}

/** The new entry of one key after the package changed (null when no posting is left). */
async function updateTerm(existing: TermEntry | null, term: string, ctx: TermContext, source: KeySource): Promise<TermEntry | null> {
  const { id, name, before, after, policy, read, sink, decoded } = ctx;
  const collision = existing?.docs.get(id);
  if (collision && collision[1] !== name) {
    throw new ShelfError('internal_error', `The document ids of ${collision[1]} and ${name} collide.`);
  }
  const oldP = source.postings(before);
  const newP = source.postings(after);
  const qOld = before ? source.impact(ctx.termsBefore) : 0;
  const qNew = after ? source.impact(ctx.termsAfter) : 0;

  const docs = new Map<number, DocEntryJson>(existing?.docs ?? []);
  docs.delete(id);
  if (after) docs.set(id, after.entry);
  const docOf = (d: number): DocEntryJson => {
    const entry = docs.get(d);
    if (!entry) throw new ShelfError('internal_error', `The term "${term}" references document ${d} without its entry.`);
    return entry;
  };

  // Paged fields: edit the page tree; fold it back inline when it shrinks under the threshold.
  const pagedOut = new Map<number, PagedFieldJson>();
  const fields = new Map<number, Map<number, Posting>>();
  const pageImpact = new Map<number, number>();
  const spec = pageTreeSpec(policy);
  for (const [fid, field] of existing?.paged ?? []) {
    const changes = new Map<string, PageEntry | null>();
    let { n, w } = field;
    const o = oldP.get(fid);
    if (o && before) {
      changes.set(pageEntry(id, o[0], o[1], qOld, before.entry).key, null);
      n -= 1;
      w -= postingCost(o[0], o[1], before.entry);
    }
    const p = newP.get(fid);
    if (p && after) {
      const now = pageEntry(id, p[0], p[1], qNew, after.entry);
      changes.set(now.key, now);
      n += 1;
      w += postingCost(p[0], p[1], after.entry);
    }
    const tree = await updateTree(spec, field.t, [...changes].map(([key, entry]) => ({ key, entry })), read, sink, decoded);
    if (w > policy.page_threshold) {
      pagedOut.set(fid, { n, w, h: (await firstLeaf(spec, tree, read, decoded))!, t: tree });
      continue;
    }
    const postings = new Map<number, Posting>();
    for await (const e of new TreeNavigator(spec, tree, read, decoded).range('')) {
      const pe = e as PageEntry;
      postings.set(pe.id, [pe.tf, pe.len]);
      docs.set(pe.id, pe.doc);
      pageImpact.set(pe.id, pe.q);
    }
    fields.set(fid, postings);
  }

  // Inline fields: edit the postings, then page by the build's rule. A field paged now needs every
  // document's impact: pages carry theirs, the rest come from display files (few: it was under the threshold).
  for (const fid of new Set([...(existing?.inline.keys() ?? []), ...newP.keys()])) {
    if (existing?.paged.has(fid)) continue;
    const postings = new Map(existing?.inline.get(fid) ?? []);
    postings.delete(id);
    const p = newP.get(fid);
    if (p) postings.set(id, p);
    fields.set(fid, postings);
  }
  const qOf = async (d: number): Promise<number> => {
    if (d === id) return qNew;
    return pageImpact.get(d) ?? source.impact(await ctx.termsOf(docOf(d)));
  };
  const entry = await makeTermEntry(term, fields, docOf, qOf, policy, sink);
  for (const [fid, field] of pagedOut) entry.paged.set(fid, field);
  if (entry.inline.size === 0 && entry.paged.size === 0) return null;
  await combineHeads(entry, read, sink, existing?.paged.values().next().value?.h[0]);
  return entry;
}
