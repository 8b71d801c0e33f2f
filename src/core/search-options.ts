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
    tokenize: tokenizeText,
  };
}

/** Splits text into words: on white space, punctuation, and the "-", "/", "@" of names. */
const CHUNKS = /[\s\-/@.,;:!?'"()[\]{}|]+/u;

/**
 * The words of a text, and of each snake_case identifier in it (a tool name such as
 * `get_weather_forecast`) its {@link compoundTerm} as well: names are kebab-case and tools
 * snake_case, so both split into their words, and a query naming a tool exactly also matches the
 * package that has it as one rare term (docs/sharded-search.md, "Ranking").
 */
export function tokenizeText(text: string): string[] {
  const out: string[] = [];
  for (const chunk of text.split(CHUNKS)) {
    const parts = chunk.split('_').filter((t) => t.length > 0);
    out.push(...parts);
    if (parts.length >= 2) out.push(compoundTerm(parts));
  }
  return out;
}

/**
 * The term of a snake_case identifier: its words joined by "_" behind a leading "_"
 * (`_get_weather_forecast`). The leading "_" keeps compounds out of every word's prefix range (no
 * word starts with it), so `get` does not expand to every tool starting `get_`.
 */
export function compoundTerm(parts: readonly string[]): string {
  return `_${parts.join('_')}`;
}

/** Whether a term is a {@link compoundTerm}: matched exactly only (a tool name asks for that tool, not one extending it), never by prefix or typo. */
export function isCompound(term: string): boolean {
  return term.startsWith('_');
}

/** The fuzzy distance of a word, as a share of its length (MiniSearch's `fuzzy`); none for a {@link compoundTerm}. */
export const FUZZY = 0.2;

/**
 * Fields a query searches: every field but `scope`. The name field (`@scope/name`) holds the scope
 * already; searching the scope field too would count a scope twice, so a scope's weakest packages
 * would outrank other publishers' packages named by the word. The scope field stays in the index.
 */
export const SEARCHED_FIELDS: readonly string[] = SEARCH_FIELDS.filter((f) => f !== 'scope');

/**
 * Default query options: prefix and fuzzy matching (not of a tool name's compound term), boosts on the name and the tool names.
 * The name boost is the largest: a query naming a package should find that package first. The
 * scope's boost only orders the pages of its postings (`format/impact.ts`): it is not searched.
 */
export const DEFAULT_SEARCH_OPTIONS: SearchOptions = {
  prefix: (term) => !isCompound(term),
  fuzzy: (term) => (isCompound(term) ? false : FUZZY),
  combineWith: 'AND',
  // Queries reach the engine as words already (`tokenize`, then `queryWords`): a compound must stay one term.
  tokenize: (text) => text.split(/\s+/u).filter((t) => t.length > 0),
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
