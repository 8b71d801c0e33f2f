/**
 * Scoring what a query read: the registry's document frequencies of the selected terms, the exact
 * re-scoring of candidates from their summaries, and the order candidates are scored in for three
 * words or more. Pure module.
 *
 * @module
 */
import type { SearchResult } from 'minisearch';
import type { PackageSummary } from '../../core/schemas.ts';
import { DEFAULT_SEARCH_OPTIONS, searchDocument } from '../../core/search-options.ts';
import { hitFacts, rankScore, searchFilter, type HitFacts, type ValidSearchOptions } from '../query.ts';
import { engineQuery, plainWords, rankResult, type Alternative } from '../ranking.ts';
import { DocEntry, TermEntry } from '../format/wire-fields.ts';
import type { DocEntryJson, ShardedRoot } from '../format/wire.ts';
import { correctedDf, type DeltaView } from './delta-view.ts';
import { engineFrom, internalsOf, SizedMap, summaryIndex, type TermPostings } from './engine.ts';
import { compare, termsEntry, type Candidate, type FieldPages } from './pieces.ts';

/** Document frequency of each selected term, per field, over the whole registry. */
export function documentFrequencies(
  selected: Candidate[],
  files: Map<string, unknown>,
  pages: Map<string, Map<number, FieldPages>>,
  delta: DeltaView | null,
  deltaOnly: string[],
): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  const corrected = (term: string, base: Map<number, number>): Map<number, number> => {
    const df = new Map<number, number>();
    const fids = new Set([...base.keys(), ...(delta?.postings.get(term)?.keys() ?? [])]);
    for (const fid of fids) df.set(fid, correctedDf(delta, term, fid, base.get(fid) ?? 0));
    return df;
  };
  for (const c of selected) {
    const base = new Map<number, number>();
    for (const [fid, flat] of Object.entries(TermEntry.postings(termsEntry(files, c.file, c.term)))) base.set(Number(fid), flat.length / 3);
    for (const [fid, field] of pages.get(c.term) ?? []) base.set(fid, field.df);
    out.set(c.term, corrected(c.term, base));
  }
  for (const term of deltaOnly) out.set(term, corrected(term, new Map()));
  return out;
}

/**
 * Scores candidates exactly: MiniSearch indexes their summaries (each round only its own) and scores
 * with the registry's document count, average lengths and selected terms' document frequencies
 * (other terms dropped, as from the merged index), under the ranking rules, as one whole index does.
 */
export function rescorer(
  root: ShardedRoot,
  words: string[],
  alternatives: Map<string, Map<string, Alternative>>,
  df: Map<string, Map<number, number>>,
  o: ValidSearchOptions,
): Rescorer {
  const local = summaryIndex();
  const facts = new Map<string, HitFacts>();
  const passes = searchFilter(o);
  const filter = (r: SearchResult): boolean => {
    const f = facts.get(String(r.id));
    return f !== undefined && passes(f);
  };
  const options = { ...DEFAULT_SEARCH_OPTIONS, filter };
  const n = root.search.document_count;
  const plain = plainWords(words);
  return {
    add(summaries) {
      local.addAll(summaries.filter((s) => !facts.has(s.name)).map(searchDocument));
      for (const s of summaries) facts.set(s.name, hitFacts(s, 0));
    },
    score() {
      const parts = internalsOf(local);
      const index: [string, TermPostings][] = [];
      for (const [term, byField] of df) {
        const fields = parts.postings(term);
        if (!fields) continue;
        index.push([term, new Map([...fields].map(([fid, postings]) => [fid, new SizedMap(postings, byField.get(fid) ?? postings.size)]))]);
      }
      const engine = engineFrom({
        documentCount: n,
        averageFieldLength: root.search.field_length_total.map((t) => (n > 0 ? t / n : 0)),
        fields: root.search.fields,
        documents: parts.documents,
        fieldLength: parts.fieldLength,
        index,
      });
      const results = engine.search(engineQuery(words, alternatives), options).map((r) => ({ name: String(r.id), ...rankResult(r, words, alternatives) }));
      return { results, complete: results.filter((r) => plain.every((w) => r.held.has(w))).length };
    },
  };
}

/** Adds each round's summaries, then scores every candidate so far; `complete` counts those holding every plain word (`plainWords`). */
export interface Rescorer {
  add(summaries: PackageSummary[]): void;
  score(): { results: { name: string; score: number; tier: number; matched: number; held: Set<string> }[]; complete: number };
}

/** The `q`-quantile of some numbers (0 when there are none). */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** For a word a candidate was not seen to hold, the quantile of the word's known scores its score assumes. */
const UNSEEN_CONTRIBUTION_QUANTILE = 0.25;

/**
 * Orders the candidates to score again by their expected whole-index score: the chance they hold
 * every word (from the true document frequencies of the words not seen in them) times their score
 * if they do (an unseen word counted at a low quantile of its known scores). MiniSearch's order
 * over what was read puts a name holding one common word above a package holding all of them.
 */
export function likelyOrder(
  hits: Ranked[],
  words: string[],
  partial: Set<string>,
  searchWord: (word: string) => SearchResult[],
  selected: Candidate[],
  df: Map<string, Map<number, number>>,
  n: number,
): Ranked[] {
  if (words.length < 3 || n === 0) return hits;
  const perWord = words.map((w) => {
    const scores = new Map<string, number>();
    for (const r of searchWord(w)) scores.set(String(r.id), r.score);
    let none = 1;
    for (const c of selected) {
      if (!c.words.includes(w)) continue;
      for (const d of df.get(c.term)?.values() ?? []) none *= 1 - Math.min(1, d / n);
    }
    const seen = scores.size;
    const holders = (1 - none) * n;
    const p = partial.has(w) && n > seen ? Math.max(0, Math.min(1, (holders - seen) / (n - seen))) : 0;
    return { scores, p, typical: quantile([...scores.values()], UNSEEN_CONTRIBUTION_QUANTILE) };
  });
  const expected = new Map<string, number>();
  for (const h of hits) {
    let chance = 1;
    let score = 0;
    for (const w of perWord) {
      const s = w.scores.get(h.name);
      if (s !== undefined) score += s;
      else {
        chance *= w.p;
        score += w.typical;
      }
    }
    expected.set(h.name, chance * score);
  }
  const likely = [...hits].sort((a, b) => expected.get(b.name)! - expected.get(a.name)! || b.score - a.score || compare(a.name, b.name));
  // Both orders, alternately: the documents that score best over what was read (often a common
  // word in the name), and those most likely to hold every word.
  const out: Ranked[] = [];
  const taken = new Set<string>();
  for (let i = 0; out.length < hits.length; i++) {
    for (const h of [hits[i], likely[i]]) {
      if (h && !taken.has(h.name)) {
        taken.add(h.name);
        out.push(h);
      }
    }
  }
  return out;
}

/** A hit as the sharded client ranks it: the shared facts, and the document entry they come from. */
export interface Ranked extends HitFacts {
  doc: DocEntryJson;
  /** The query words it was seen to hold (`rankResult` in `ranking.ts`). */
  held?: ReadonlySet<string>;
}

/** The {@link HitFacts} of a document entry. */
export function entryFacts(doc: DocEntryJson, score: number, tier = 0): Ranked {
  const deprecated = DocEntry.deprecated(doc);
  return {
    id: DocEntry.name(doc),
    name: DocEntry.name(doc),
    score: rankScore(score, deprecated),
    tier,
    updated_ms: DocEntry.updatedMs(doc),
    server_type: DocEntry.serverType(doc),
    platform_mask: DocEntry.platformMask(doc),
    deprecated,
    doc,
  };
}
