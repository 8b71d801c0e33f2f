/**
 * The search engines compared, each behind the same small interface: build an index from the
 * catalog and serialise it (what would be uploaded), load it from those bytes (what a client
 * does after the download), and answer a query with ranked package names.
 *
 * Every engine gets the same documents (the fields Shelf indexes: name, display name,
 * description, keywords, tool names, scope), the same tokenisation of them and of the queries,
 * and the same field weights where it supports weights. Each is configured the way a user wanting a package
 * search box would configure it — prefix matching and one typo forgiven where the engine
 * offers them — with defaults elsewhere:
 *
 * - `minisearch`: one whole MiniSearch index with Shelf's options, the ranking reference of
 *   `lib/reference.ts` (what the retired `single` layout published; it validates every stored
 *   summary at load; the ranking rules of `src/search/ranking.ts`). Shelf's own sharded index is measured
 *   through the real client in `search.ts`.
 * - `lunr`: each term as exact (boost 10) + trailing wildcard + edit distance 1 (5+ letters); OR.
 *   Stores no documents, so a result list also needs the catalog.
 * - `flexsearch`: a Document index, `tokenize: "forward"` (prefixes), the `LatinBalance` encoder
 *   (its fuzzy-ish normalisation); every word required, then `suggest: true` (partial matches)
 *   when that finds nothing (Shelf ranks the documents holding every word first); per-field result lists merged by weighted reciprocal
 *   rank. Stores no documents (catalog needed).
 * - `fuse`: fuzzy scan (Bitap), `threshold: 0.3`, `ignoreLocation: true`, weighted keys; its
 *   serialised index is loaded together with the documents (the catalog).
 * - `orama`: `tolerance: 1`, field boosts, prefix matching (its default); every word required
 *   (`threshold: 0`), then any word when that finds nothing (Shelf ranks the documents holding every word first); stores documents.
 * - `substring`: no index — the catalog, and every query word must occur as a substring of some
 *   field (what `ILIKE '%word%'` in a simple registry API does); ranked by the weights of the
 *   fields it occurs in.
 *
 * @module
 */
import { create, insertMultiple, load as oramaLoad, save as oramaSave, search as oramaSearch } from '@orama/orama';
import { Charset, Document } from 'flexsearch';
import Fuse from 'fuse.js';
import lunr from 'lunr';
import MiniSearch, { type AsPlainObject } from 'minisearch';
import type { PackageSummary } from '../src/core/schemas.ts';
import { indexOptions, searchDocument } from '../src/core/search-options.ts';
import { encodeJson } from '../src/store/json-documents.ts';
import { buildReferenceIndex, CatalogSchema, ReferenceIndexSchema, ReferenceSearch, type Catalog } from './lib/reference.ts';

/** Field weights, Shelf's (`DEFAULT_SEARCH_OPTIONS.boost`), given to every engine that takes weights. */
export const WEIGHTS = { name: 4, display_name: 3, tool_text: 2, keyword_text: 1.5, scope: 1.5, description: 1 } as const;
type Field = keyof typeof WEIGHTS;
const FIELDS = Object.keys(WEIGHTS) as Field[];

/** Shelf's tokenizer (`indexOptions().tokenize`), so every engine splits text the same way. */
export function tokenize(text: string): string[] {
  return (indexOptions().tokenize as (t: string) => string[])(text);
}

/** A document as given to the other engines: Shelf's indexed fields, pre-tokenised and joined by spaces. */
export interface PlainDocument {
  [field: string]: string;
  id: string;
  name: string;
  display_name: string;
  description: string;
  keyword_text: string;
  tool_text: string;
  scope: string;
}

/** The searchable text of a summary, tokenised with Shelf's tokenizer. */
export function plainDocument(summary: PackageSummary): PlainDocument {
  const d = searchDocument(summary);
  const t = (s: string | undefined) => tokenize(s ?? '').join(' ');
  return {
    id: d.id,
    name: t(d.name),
    display_name: t(d.display_name),
    description: t(d.description),
    keyword_text: t(d.keyword_text),
    tool_text: t(d.tool_text),
    scope: t(d.scope),
  };
}

/** A loaded index. */
export interface LoadedEngine {
  /** Package names, best first, at most `limit`. */
  search(query: string, limit: number): string[];
}

/**
 * What a client downloads for an engine. Indexes that serialise to several parts keep them as
 * separate files (a single string could exceed V8's ~512 MiB string limit at 100k packages).
 */
export interface EnginePayload {
  /** The engine's own serialised index, one string per file. */
  index: string[];
  /** Anything else needed to show a result list (the catalog), when the index does not store it. */
  display?: string;
}

/** One engine. */
export interface EngineAdapter {
  name: string;
  /** Builds and serialises the index. */
  build(catalog: Catalog, catalogJson: string): EnginePayload;
  /** Parses and loads what `build` produced (and the catalog, when needed), ready to query. */
  load(payload: EnginePayload): LoadedEngine;
}

/** One whole MiniSearch index with Shelf's options: the ranking reference (`lib/reference.ts`). */
export const minisearchEngine: EngineAdapter = {
  name: 'minisearch',
  build: (catalog) => ({ index: [new TextDecoder().decode(encodeJson(ReferenceIndexSchema.parse(buildReferenceIndex('bundle', catalog))))] }),
  load: ({ index }) => {
    const engine = new ReferenceSearch(ReferenceIndexSchema.parse(JSON.parse(index[0]!)));
    return { search: (q, limit) => engine.search(q, { limit }).map((h) => h.name) };
  },
};

/** MiniSearch's own `loadJS` after `JSON.parse`, without the client's validation: the engine's floor. */
export function loadMinisearchBare(payload: EnginePayload): MiniSearch {
  const doc = JSON.parse(payload.index[0]!) as { index: AsPlainObject };
  return MiniSearch.loadJS(doc.index, indexOptions());
}

/** Keeps lunr's tokenizer in step with Shelf's (lunr splits on whitespace and "-" only). */
function lunrSetup(): void {
  const separator = /[\s\-_/@.,;:!?'"()[\]{}|]+/;
  lunr.tokenizer.separator = separator;
  (lunr as unknown as { QueryLexer: { termSeparator: RegExp } }).QueryLexer.termSeparator = separator;
}

export const lunrEngine: EngineAdapter = {
  name: 'lunr',
  build: (catalog, catalogJson) => {
    lunrSetup();
    const docs = catalog.packages.map(plainDocument);
    const idx = lunr(function () {
      this.ref('id');
      for (const f of FIELDS) this.field(f, { boost: WEIGHTS[f] });
      for (const d of docs) this.add(d);
    });
    return { index: [JSON.stringify(idx)], display: catalogJson };
  },
  load: ({ index, display }) => {
    lunrSetup();
    const idx = lunr.Index.load(JSON.parse(index[0]!));
    const summaries = summariesOf(display);
    return {
      search: (q, limit) => {
        const terms = tokenize(q.toLowerCase());
        const hits = idx.query((query) => {
          for (const term of terms) {
            query.term(term, { boost: 10 });
            query.term(term, { wildcard: lunr.Query.wildcard.TRAILING, usePipeline: false, boost: 1 });
            if (term.length >= 5) query.term(term, { editDistance: 1, usePipeline: false, boost: 0.5 });
          }
        });
        return hits.slice(0, limit).map((h) => summaries.get(h.ref)?.name ?? h.ref);
      },
    };
  },
};

function flexsearchIndex(): Document<PlainDocument> {
  return new Document<PlainDocument>({
    tokenize: 'forward',
    encoder: Charset.LatinBalance,
    document: { id: 'id', index: [...FIELDS] },
  });
}

export const flexsearchEngine: EngineAdapter = {
  name: 'flexsearch',
  build: (catalog, catalogJson) => {
    const idx = flexsearchIndex();
    for (const d of catalog.packages.map(plainDocument)) idx.add(d);
    // FlexSearch exports its index as key/data parts; each part is one file.
    const parts: string[] = [];
    idx.export((key, data) => void parts.push(JSON.stringify([key, data])));
    return { index: parts, display: catalogJson };
  },
  load: ({ index, display }) => {
    const idx = flexsearchIndex();
    for (const part of index) {
      const [key, data] = JSON.parse(part) as [string, string];
      idx.import(key, data);
    }
    const summaries = summariesOf(display);
    return {
      search: (q, limit) => {
        const text = tokenize(q).join(' ');
        type PerField = { field?: string; result: (string | number)[] }[];
        // Every word first (Shelf ranks those first); partial matches only when that finds nothing.
        let perField = idx.search(text, { limit: Math.max(limit, 50) }) as PerField;
        if (perField.every((f) => f.result.length === 0)) perField = idx.search(text, { limit: Math.max(limit, 50), suggest: true }) as PerField;
        const scores = new Map<string, number>();
        for (const { field, result } of perField) {
          const w = WEIGHTS[field as Field] ?? 1;
          result.forEach((id, rank) => scores.set(String(id), (scores.get(String(id)) ?? 0) + w / (rank + 1)));
        }
        return rankByScore(scores, limit).map((id) => summaries.get(id)?.name ?? id);
      },
    };
  },
};

const FUSE_OPTIONS = {
  keys: FIELDS.map((f) => ({ name: f, weight: WEIGHTS[f] })),
  threshold: 0.3,
  ignoreLocation: true,
  includeScore: true,
};

export const fuseEngine: EngineAdapter = {
  name: 'fuse',
  build: (catalog, catalogJson) => {
    const docs = catalog.packages.map(plainDocument);
    return { index: [JSON.stringify(Fuse.createIndex(FUSE_OPTIONS.keys, docs).toJSON())], display: catalogJson };
  },
  load: ({ index, display }) => {
    const catalog = CatalogSchema.parse(JSON.parse(display!));
    const docs = catalog.packages.map(plainDocument);
    const fuse = new Fuse(docs, FUSE_OPTIONS, Fuse.parseIndex(JSON.parse(index[0]!)));
    const summaries = new Map(catalog.packages.map((p) => [p.name, p]));
    return { search: (q, limit) => fuse.search(tokenize(q).join(' '), { limit }).map((r) => summaries.get(r.item.id)?.name ?? r.item.id) };
  },
};

const ORAMA_SCHEMA = {
  id: 'string',
  name: 'string',
  display_name: 'string',
  description: 'string',
  keyword_text: 'string',
  tool_text: 'string',
  scope: 'string',
} as const;

export const oramaEngine: EngineAdapter = {
  name: 'orama',
  build: (catalog) => {
    const db = create({ schema: ORAMA_SCHEMA });
    // Orama stores whole documents, so the summary rides along for the result list.
    const result = insertMultiple(db, catalog.packages.map((p) => ({ ...plainDocument(p), summary: p })) as never[], 1000);
    if (result instanceof Promise) throw new Error('orama insertMultiple unexpectedly went async');
    // One file per top-level part of Orama's raw data (documents, index, sorting...).
    return { index: Object.entries(oramaSave(db)).map((entry) => JSON.stringify(entry)) };
  },
  load: ({ index }) => {
    const db = create({ schema: ORAMA_SCHEMA });
    oramaLoad(db, Object.fromEntries(index.map((part) => JSON.parse(part) as [string, unknown])) as unknown as ReturnType<typeof oramaSave>);
    return {
      search: (q, limit) => {
        const run = (threshold: number) => {
          const result = oramaSearch(db, { term: tokenize(q).join(' '), properties: [...FIELDS], boost: { ...WEIGHTS }, tolerance: 1, threshold, limit });
          if (result instanceof Promise) throw new Error('orama search unexpectedly went async');
          return result;
        };
        // Every word first (threshold 0), any word when that finds nothing (Shelf ranks those holding every word first).
        let result = run(0);
        if (result.hits.length === 0) result = run(1);
        return result.hits.map((h) => (h.document as unknown as { summary: PackageSummary }).summary.name);
      },
    };
  },
};

export const substringEngine: EngineAdapter = {
  name: 'substring',
  build: (_catalog, catalogJson) => ({ index: [catalogJson] }),
  load: ({ index }) => {
    const catalog = CatalogSchema.parse(JSON.parse(index[0]!));
    const rows = catalog.packages.map((p) => {
      const d = searchDocument(p);
      return { name: p.name, fields: FIELDS.map((f) => [(d[f] ?? '').toLowerCase(), WEIGHTS[f]] as const) };
    });
    return {
      search: (q, limit) => {
        const words = tokenize(q.toLowerCase());
        if (words.length === 0) return [];
        const scored = new Map<string, number>();
        for (const row of rows) {
          let score = 0;
          let all = true;
          for (const w of words) {
            let best = 0;
            for (const [text, weight] of row.fields) if (weight > best && text.includes(w)) best = weight;
            if (best === 0) {
              all = false;
              break;
            }
            score += best;
          }
          if (all) scored.set(row.name, score);
        }
        return rankByScore(scored, limit);
      },
    };
  },
};

/** Every engine, the whole-index reference first. */
export const ENGINES: readonly EngineAdapter[] = [minisearchEngine, lunrEngine, flexsearchEngine, fuseEngine, oramaEngine, substringEngine];

/** The summaries a result list shows, by package name. */
function summariesOf(catalogJson: string | undefined): Map<string, PackageSummary> {
  const catalog = CatalogSchema.parse(JSON.parse(catalogJson ?? 'null'));
  return new Map(catalog.packages.map((p) => [p.name, p]));
}

/** Highest score first, ties by name, so results are deterministic. */
function rankByScore(scores: Map<string, number>, limit: number): string[] {
  return [...scores]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([id]) => id);
}
