/**
 * Builds the prebuilt MiniSearch index of a kind from its catalog: a pure function, so the index
 * written after an announce is byte-for-byte what a full rebuild would write.
 *
 * @module
 */
import MiniSearch from 'minisearch';
import type { Kind } from '../core/names.ts';
import { SCHEMA_VERSION, type CatalogDocument, type PackageSummary, type SearchIndexDocument } from '../core/schemas.ts';
import { indexOptions, SEARCH_FIELDS, STORE_FIELDS, type SearchDocument } from '../core/search-options.ts';

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

/** Builds the search index document for a catalog. */
export function buildSearchIndex(kind: Kind, catalog: CatalogDocument | null): SearchIndexDocument {
  const search = new MiniSearch<SearchDocument>(indexOptions());
  search.addAll((catalog?.packages ?? []).map(searchDocument));
  return {
    schema_version: SCHEMA_VERSION,
    kind,
    engine: 'minisearch@7',
    fields: [...SEARCH_FIELDS],
    store_fields: [...STORE_FIELDS],
    document_count: search.documentCount,
    index: search.toJSON() as unknown as Record<string, unknown>,
  };
}
