/**
 * Builds the prebuilt MiniSearch index of a kind from its catalog: a pure function, so the index
 * written after an announce is byte-for-byte what a full rebuild would write.
 *
 * @module
 */
import MiniSearch from 'minisearch';
import type { Kind } from '../core/names.ts';
import { SCHEMA_VERSION, type CatalogDocument, type SearchIndexDocument } from '../core/schemas.ts';
import { indexOptions, searchDocument, SEARCH_FIELDS, STORE_FIELDS, type SearchDocument } from '../core/search-options.ts';

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
