/**
 * Merging what a query read into one MiniSearch instance with the registry's global statistics:
 * the selected terms' postings (inline, pages read, the delta's), the name fields of every document
 * read filled in, and the true document frequency of fields read in part. Pure module.
 *
 * @module
 */
import type MiniSearch from 'minisearch';
import { ShelfError } from '../../core/errors.ts';
import type { SearchDocument } from '../../core/search-options.ts';
import { decodeId } from '../format/ids.ts';
import { DocEntry, TermEntry } from '../format/wire-fields.ts';
import type { DocEntryJson, ShardedRoot } from '../format/wire.ts';
import { correctedDf, type DeltaView } from './delta-view.ts';
import { engineFrom, SizedMap, type TermPostings } from './engine.ts';
import { NAME_FIELDS, nameFieldTerms, pageFile, termsEntry, termsFile, type Candidate, type FieldPages } from './pieces.ts';

/** Builds the MiniSearch instance of a query from the selected terms' postings. */
export function assemble(
  root: ShardedRoot,
  selected: Candidate[],
  files: Map<string, unknown>,
  pages: Map<string, Map<number, FieldPages>>,
  delta: DeltaView | null,
  deltaOnly: string[],
): { engine: MiniSearch<SearchDocument>; docs: Map<string, DocEntryJson> } {
  const index = new Map<string, TermPostings>();
  const docs = new Map<number, DocEntryJson>();
  const lengths = new Map<number, number[]>();
  /** Short ids by file id: every posting names one, most of them many times. */
  const ids = new Map<string, number>();
  const trueDf: [string, number, number][] = [];
  const fieldOf = (entry: TermPostings, fid: number): Map<number, number> => {
    let postings = entry.get(fid);
    if (!postings) entry.set(fid, (postings = new Map()));
    return postings;
  };
  const add = (postings: Map<number, number>, fid: number, key: string, tf: number, len: number, doc: DocEntryJson | undefined, file: string): void => {
    if (!doc) throw new ShelfError('registry_unreachable', `The index file ${file} references document ${key} without its entry.`);
    // The delta holds this package now (or removed it): its base postings are stale.
    if (delta?.hiddenIds.has(key)) return;
    let id = ids.get(key);
    if (id === undefined) ids.set(key, (id = decodeId(key)));
    postings.set(id, tf);
    docs.set(id, doc);
    let l = lengths.get(id);
    if (!l) lengths.set(id, (l = root.search.fields.map(() => 0)));
    l[fid] = len;
  };
  // The delta's postings of a term: its documents are complete (every field, every term).
  const addDelta = (term: string, entry: TermPostings): void => {
    for (const [fid, freqs] of delta?.postings.get(term) ?? []) {
      const postings = fieldOf(entry, fid);
      for (const [shortId, tf] of freqs) {
        const id = Number(shortId);
        postings.set(id, tf);
        docs.set(id, delta!.docs.get(shortId)!);
        if (!lengths.has(id)) lengths.set(id, [...delta!.lengths.get(shortId)!]);
      }
    }
  };
  for (const c of selected) {
    const tf = termsFile(files, c.file);
    const raw = termsEntry(files, c.file, c.term);
    const entry: TermPostings = new Map();
    for (const [field, flat] of Object.entries(TermEntry.postings(raw))) {
      const fid = Number(field);
      const postings = fieldOf(entry, fid);
      for (let i = 0; i + 2 < flat.length; i += 3) {
        add(postings, fid, String(flat[i]), Number(flat[i + 1]), Number(flat[i + 2]), tf.docs.get(String(flat[i])), c.file);
      }
    }
    for (const [fid, field] of pages.get(c.term) ?? []) {
      const postings = new Map<number, number>();
      entry.set(fid, postings);
      for (const file of field.pages) {
        const page = pageFile(files, file, fid);
        for (const [key, freq, len] of page.e) add(postings, fid, key, freq, len, page.docs.get(key), file);
      }
      if (!field.complete) trueDf.push([c.term, fid, correctedDf(delta, c.term, fid, field.df)]);
    }
    addDelta(c.term, entry);
    index.set(c.term, entry);
  }
  for (const term of deltaOnly) {
    const entry: TermPostings = new Map();
    addDelta(term, entry);
    index.set(term, entry);
  }
  // A field read in part lacks documents deeper in its pages; `name` and `scope` derive from the
  // name every entry carries, so fill them in exactly (`@x/node-lode` found through `lode` scores for `node` too).
  const open = NAME_FIELDS.map(([fid, field]) => ({
    fid,
    field,
    terms: new Map(
      [...index].filter(([term]) => {
        const f = pages.get(term)?.get(fid);
        return f !== undefined && !f.complete;
      }),
    ),
  })).filter((o) => o.terms.size > 0);
  if (open.length > 0) {
    for (const [id, doc] of docs) {
      for (const { fid, field, terms } of open) {
        const counts = nameFieldTerms(DocEntry.name(doc), field);
        let added = false;
        for (const [term, tf] of counts.terms) {
          const entry = terms.get(term);
          if (entry === undefined) continue;
          const postings = fieldOf(entry, fid);
          if (postings.has(id)) continue;
          postings.set(id, tf);
          added = true;
        }
        if (added) lengths.get(id)![fid] = counts.length;
      }
    }
  }
  // Pages read in part hold only the best postings of a field; BM25's idf must still see the
  // true document frequency.
  for (const [term, fid, df] of trueDf) {
    const entry = index.get(term)!;
    const postings = entry.get(fid);
    if (postings) entry.set(fid, new SizedMap(postings, df));
  }
  const n = root.search.document_count;
  const engine = engineFrom({
    documentCount: n,
    averageFieldLength: root.search.field_length_total.map((t) => (n > 0 ? t / n : 0)),
    fields: root.search.fields,
    // Results carry the package name as their id.
    documents: [...docs].map(([id, d]) => [id, DocEntry.name(d)]),
    fieldLength: lengths,
    index,
  });
  return { engine, docs: new Map([...docs.values()].map((d) => [DocEntry.name(d), d])) };
}
