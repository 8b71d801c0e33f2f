/**
 * The client's side of a delta segment (`src/search/write/delta.ts`): the delta's packages indexed
 * with MiniSearch and the shared options as one whole index indexes them, their base postings
 * hidden, and each term's document frequency corrected. Pure module (the web page imports it).
 *
 * @module
 */
import type { AsPlainObject } from 'minisearch';
import type { PackageSummary } from '../../core/schemas.ts';
import { summaryIndex } from './engine.ts';
import { decodeId } from '../format/ids.ts';
import { matchOf } from '../ranking.ts';
import { DocEntry } from '../format/wire-fields.ts';
import type { DeltaFileJson, DocEntryJson } from '../format/wire.ts';

/** Postings of one term in the delta: field id → (MiniSearch short id → term frequency). */
export type DeltaPostings = Map<number, Map<string, number>>;

/** What a query needs of one `delta` file. */
export interface DeltaView {
  /** Base document ids (base 36) the delta replaces or removes: their base postings are stale. */
  hiddenIds: Set<string>;
  /** The names of those packages: their base catalog entries and name pairs are stale too. */
  hiddenNames: Set<string>;
  /** The delta's packages now (the removed ones are absent), sorted by name. */
  summaries: PackageSummary[];
  /** Their document entries, by MiniSearch short id (the decoded document id). */
  docs: Map<string, DocEntryJson>;
  /** Their field lengths, by short id. */
  lengths: Map<string, number[]>;
  /** Their postings, by term. */
  postings: Map<string, DeltaPostings>;
  /** Per term and field, how many of the hidden base versions hold it. */
  removed: Map<string, Map<number, number>>;
  /** Their summaries by display file name (`<id>-<hash>`): a client never fetches those files. */
  displays: Map<string, PackageSummary>;
}

/** Builds the view of a parsed `delta` file. */
export function deltaView(file: DeltaFileJson): DeltaView {
  const hiddenIds = new Set<string>();
  const hiddenNames = new Set<string>();
  const removed = new Map<string, Map<number, number>>();
  const summaries: PackageSummary[] = [];
  const docs = new Map<string, DocEntryJson>();
  const displays = new Map<string, PackageSummary>();
  const shortIdOf = new Map<string, string>();
  for (const [name, id, summary, entry, baseTerms] of file.e) {
    hiddenIds.add(id);
    hiddenNames.add(name);
    for (const [fid, terms] of Object.entries(baseTerms ?? {})) {
      for (const term of terms) {
        let byField = removed.get(term);
        if (!byField) removed.set(term, (byField = new Map()));
        byField.set(Number(fid), (byField.get(Number(fid)) ?? 0) + 1);
      }
    }
    if (summary && entry) {
      const shortId = String(decodeId(id));
      summaries.push(summary);
      docs.set(shortId, entry);
      displays.set(DocEntry.displayFile(entry), summary);
      shortIdOf.set(name, shortId);
    }
  }
  const json = indexSummaries(summaries);
  const toShort = (localId: string): string => shortIdOf.get(String(json.documentIds[localId]))!;
  const lengths = new Map<string, number[]>();
  for (const [localId, l] of Object.entries(json.fieldLength)) lengths.set(toShort(localId), l);
  const postings = new Map<string, DeltaPostings>();
  for (const [term, fields] of json.index) {
    const byField: DeltaPostings = new Map();
    for (const [fid, freqs] of Object.entries(fields)) {
      byField.set(Number(fid), new Map(Object.entries(freqs).map(([localId, tf]) => [toShort(localId), tf])));
    }
    postings.set(term, byField);
  }
  return { hiddenIds, hiddenNames, summaries, docs, lengths, postings, removed, displays };
}

/** Summaries indexed by MiniSearch with the shared options, as one whole index indexes them, serialized. */
export function indexSummaries(summaries: readonly PackageSummary[]): AsPlainObject {
  return summaryIndex(summaries).toJSON() as AsPlainObject;
}

/** The delta's terms matching any of the words (exactly, by prefix or within the fuzzy distance). */
export function deltaTermsMatching(view: DeltaView, words: readonly string[]): string[] {
  return [...view.postings.keys()].filter((t) => words.some((w) => matchOf(w, t) !== null));
}

/** A term's document frequency in a field over the whole registry, from the base trees' one. */
export function correctedDf(view: DeltaView | null, term: string, fid: number, baseDf: number): number {
  if (!view) return baseDf;
  return baseDf - (view.removed.get(term)?.get(fid) ?? 0) + (view.postings.get(term)?.get(fid)?.size ?? 0);
}
