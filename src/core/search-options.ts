/**
 * The MiniSearch configuration shared by the builder and every reader: both must use the same
 * fields and tokenizer, so they are defined once, here. Pure module.
 *
 * @module
 */
import type { Options, SearchOptions } from 'minisearch';
import type { PackageSummary } from './schemas.ts';

/** A document as indexed: the summary plus the text fields search looks at. */
export interface SearchDocument extends PackageSummary {
  /** `@scope/name`, also the document id. */
  id: string;
  /** The scope, without `@`. */
  scope: string;
  /** Tool names and descriptions, joined. */
  tool_text: string;
  /** Keywords, joined. */
  keyword_text: string;
}

/** Fields the index is built over. */
export const SEARCH_FIELDS = ['name', 'display_name', 'description', 'keyword_text', 'tool_text', 'scope'] as const;

/**
 * Options to construct or load an index with (MiniSearch requires the same options on load). No
 * field is stored: the sharded index keeps each package's summary in its display file.
 */
export function indexOptions(): Options<SearchDocument> {
  return {
    idField: 'id',
    fields: [...SEARCH_FIELDS],
    // Names are kebab-case: split on "-", "/", "@" and "_" as well as MiniSearch's defaults.
    tokenize: (text) => text.split(/[\s\-_/@.,;:!?'"()[\]{}|]+/u).filter((t) => t.length > 0),
  };
}

/**
 * Fields a query searches: every field but `scope`. The name field (`@scope/name`) holds the scope
 * already; searching the scope field too would count a scope twice, so a scope's weakest packages
 * would outrank other publishers' packages named by the word. The scope field stays in the index.
 */
export const SEARCHED_FIELDS: readonly string[] = SEARCH_FIELDS.filter((f) => f !== 'scope');

/**
 * Default query options: prefix and fuzzy matching, boosts on the name and the tool names.
 * The name boost is the largest: a query naming a package should find that package first. The
 * scope's boost only orders the pages of its postings (`format/impact.ts`): it is not searched.
 */
export const DEFAULT_SEARCH_OPTIONS: SearchOptions = {
  prefix: true,
  fuzzy: 0.2,
  combineWith: 'AND',
  fields: [...SEARCHED_FIELDS],
  boost: { name: 4, display_name: 3, tool_text: 2, keyword_text: 1.5, scope: 1.5, description: 1 },
};

/** The document indexed for one package. */
export function searchDocument(summary: PackageSummary): SearchDocument {
  return {
    ...summary,
    id: summary.name,
    scope: summary.name.slice(1, summary.name.indexOf('/')),
    tool_text: summary.tools.join(' '),
    keyword_text: summary.keywords.join(' '),
  };
}
