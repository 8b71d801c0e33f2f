/**
 * zod schemas of the sharded search index and sharded catalog: the one mutable root per kind and
 * the immutable, content-addressed files it points to. They are the single source of the wire
 * format (see `docs/sharded-search.md`): the builder and the update produce values of these
 * types, the client parses what it downloads with them, and they can be turned into JSON Schemas
 * for `index-schema/` like the schemas of `src/core/schemas.ts`.
 *
 * Every file is compact JSON: entries are arrays, not objects, because they repeat hundreds of
 * thousands of times and the first query's download is the quantity this format optimises.
 *
 * Pure module: no Node APIs. The readers do not load it (only its types): they check files by hand
 * (`validate.ts`) and read entries through `wire-fields.ts`.
 *
 * @module
 */
import * as z from 'zod';
import { PackageSummarySchema } from '../../core/schemas.ts';
import { SHARDED_FORMAT_VERSION } from './wire-fields.ts';

export { DEPRECATED_FLAG, DictEntry, DocEntry, Ref, SHARDED_FORMAT_VERSION, TermEntry } from './wire-fields.ts';

/** Name of an immutable file: the first 20 hex digits (80 bits) of the SHA-256 of its bytes. */
export const FileNameSchema = z
  .string()
  .regex(/^[0-9a-f]{20}$/, 'must be 20 lower-case hex digits')
  .describe('Content hash of the file: the first 20 hex digits of the SHA-256 of its bytes');
export type FileName = z.infer<typeof FileNameSchema>;

/** A stable document id in base 36: 52 bits of the SHA-256 of the package name (see `ids.ts`). */
const DocId = z.string().regex(/^[0-9a-z]{1,11}$/, 'must be a base-36 document id');

const count = z.number().int().nonnegative();
const tf = z.number().int().positive().describe('Term frequency in the field');
const fieldLength = count.describe("The document's length of the field (MiniSearch's fieldLength)");

/**
 * What filtering, sorting and display need of one document, repeated in every file whose
 * postings reference it: `[id, name, display, updated_ms, server_type, platform_mask]`.
 */
export const DocEntrySchema = z
  .tuple([
    DocId,
    z.string().describe('Package name, the MiniSearch document id'),
    z.string().regex(/^[0-9a-f]{10}$/).describe('Display file `docs/<id>-<display>.json` of the package (its summary)'),
    z.number().int().describe('updated_at of the summary, epoch milliseconds (sort "recent")'),
    z.string().nullable().describe('server_type, or null (filter "type")'),
    count.describe('Platforms of the newest version as a bit mask (filters "os"/"arch", see platforms.ts), and bit 24 when the package is deprecated'),
  ])
  .describe('A document as filters, sorts and display need it');
export type DocEntryJson = z.infer<typeof DocEntrySchema>;

/** The documents a file's postings reference, sorted by id. */
const DocsSchema = z.array(DocEntrySchema);

const ID_RE = /^[0-9a-z]{1,11}$/;
const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Postings of one field: flat `[id, tf, field_length, id, tf, field_length, ...]`, sorted by id. */
const FlatPostings = z
  .array(z.union([DocId, count]))
  .refine(
    (a) => a.length % 3 === 0 && a.every((v, i) => (i % 3 === 0 ? typeof v === 'string' && ID_RE.test(v) : isCount(v) && (i % 3 !== 1 || (v as number) >= 1))),
    'must be [id, tf ≥ 1, field_length] triples',
  );

/** Postings of one term: field id → flat `[id, tf, field_length, ...]` triples, sorted by id. */
export const PostingsSchema = z.record(z.string().regex(/^[0-9]+$/), FlatPostings);
export type PostingsJson = z.infer<typeof PostingsSchema>;

/**
 * A multi-level tree of immutable files, inlined in its parent: `top` holds the entries of level
 * `height` (the level just below is referenced by file name). See `src/search/format/tree.ts`.
 */
export const TreeSchema = z.object({
  height: z.number().int().positive().describe('Level of the inline entries; 1 means they reference leaf files'),
  top: z.array(z.unknown()).describe('The inline entries of level `height`'),
});
export type TreeJson = z.infer<typeof TreeSchema>;

/** A reference to a file of a tree level ≥ 1: `[first_key, file, bytes, weight]`. */
export const RefSchema = z.tuple([
  z.string().describe('First key of the referenced file'),
  FileNameSchema,
  count.describe('Size of the referenced file in bytes'),
  count.describe('Sum of the inline sizes of its entries (decides when a level can be folded into its parent)'),
]);
export type RefJson = z.infer<typeof RefSchema>;

/**
 * A field of a term whose postings are too large to be inline: paged by impact (best first)
 * in a tree of `page` files; a client reads only the head page.
 */
export const PagedFieldSchema = z.object({
  n: count.describe('Document frequency of the term in this field (all pages): BM25 needs the true value'),
  w: count.describe('Sum of the inline sizes of every posting with its document entry'),
  h: z
    .tuple([FileNameSchema, count])
    .describe('The head page (highest impact postings) and its size in bytes: the first `page` of the tree, or, for a term with two or more paged fields, the `heads` file holding all of their head pages'),
  t: TreeSchema.describe('Every page, ordered by impact'),
});
export type PagedFieldJson = z.infer<typeof PagedFieldSchema>;

/** A term entry of a `terms` file: `[term, inline_postings]` or, when some field is paged, `[term, inline_postings, paged_fields]`. */
export const TermEntrySchema = z.union([
  z.tuple([z.string(), PostingsSchema]),
  z.tuple([z.string(), PostingsSchema, z.record(z.string().regex(/^[0-9]+$/), PagedFieldSchema)]),
]);
export type TermEntryJson = z.infer<typeof TermEntrySchema>;

/** How the dictionary lists a term: the term, or `[term, {field id: [df, head_file, head_bytes]}]` when paged. */
export const TermInfoSchema = z.union([
  z.string(),
  z.tuple([z.string(), z.record(z.string().regex(/^[0-9]+$/), z.tuple([count, FileNameSchema, count]))]),
]);
export type TermInfoJson = z.infer<typeof TermInfoSchema>;

/** A dictionary entry: one `terms` file and every term in it, `[file, bytes, terms]`. */
export const DictEntrySchema = z.tuple([FileNameSchema, count, z.array(TermInfoSchema).min(1)]);
export type DictEntryJson = z.infer<typeof DictEntrySchema>;

/** `shards/<hash>.json`, type `terms`: term entries (sorted) and the documents they reference. */
export const TermsFileSchema = z.object({
  v: z.literal(SHARDED_FORMAT_VERSION),
  t: z.literal('terms'),
  e: z.array(TermEntrySchema),
  docs: DocsSchema,
});
/** `shards/<hash>.json`, type `dict`: dictionary entries (terms grouped by the `terms` file holding them). */
export const DictFileSchema = z.object({ v: z.literal(SHARDED_FORMAT_VERSION), t: z.literal('dict'), e: z.array(DictEntrySchema) });
/**
 * `shards/<hash>.json`, type `suffixes`: every term spelled backwards, sorted. Clients find typos
 * in a word's first letters here (the forward dictionary only holds the terms sharing them).
 */
export const SuffixesFileSchema = z.object({ v: z.literal(SHARDED_FORMAT_VERSION), t: z.literal('suffixes'), e: z.array(z.string()) });
/** `shards/<hash>.json`, type `refs`: an inner level of a tree. */
export const RefsFileSchema = z.object({ v: z.literal(SHARDED_FORMAT_VERSION), t: z.literal('refs'), e: z.array(RefSchema) });
const PagePostingSchema = z.tuple([DocId, tf, fieldLength, count.describe('Impact of the posting (sort key, best first)')]);
/** `shards/<hash>.json`, type `page`: postings `[id, tf, field_length, impact]` of one paged field, best first, and their documents. */
export const PageFileSchema = z.object({
  v: z.literal(SHARDED_FORMAT_VERSION),
  t: z.literal('page'),
  e: z.array(PagePostingSchema),
  docs: DocsSchema,
});
/**
 * `shards/<hash>.json`, type `heads`: the head pages of every paged field of one term (a term
 * with two or more), `[field_id, postings]` by field id, and their documents: the same postings
 * as the first `page` file of each field's tree, in one request.
 */
export const HeadsFileSchema = z.object({
  v: z.literal(SHARDED_FORMAT_VERSION),
  t: z.literal('heads'),
  e: z.array(z.tuple([count.describe('Field id'), z.array(PagePostingSchema)])),
  docs: DocsSchema,
});
/** `shards/<hash>.json`, type `catalog`: package summaries in the tree's order. */
export const CatalogFileSchema = z.object({
  v: z.literal(SHARDED_FORMAT_VERSION),
  t: z.literal('catalog'),
  e: z.array(PackageSummarySchema),
});

/**
 * One package changed since the base generation (see `src/search/write/delta.ts`):
 * `[name, id, summary, entry, base_terms]`.
 */
export const DeltaEntrySchema = z
  .tuple([
    z.string().describe('Package name'),
    DocId.describe('Its document id (the same in the base)'),
    PackageSummarySchema.nullable().describe('Its summary now, or null when it was removed'),
    DocEntrySchema.nullable().describe('Its document entry now (null when removed)'),
    z
      .record(z.string().regex(/^[0-9]+$/), z.array(z.string()))
      .nullable()
      .describe("The base generation's terms of the package by field id (sorted), or null when the base does not hold it"),
  ])
  .describe('A package whose base postings, catalog entries and name pairs the delta replaces');
export type DeltaEntryJson = z.infer<typeof DeltaEntrySchema>;

/**
 * `shards/<hash>.json`, type `delta`: the packages announced since the base generation was last
 * compacted, sorted by name. A client reads it whole: it hides these packages' base postings,
 * indexes their summaries itself and corrects document frequencies with `base_terms`.
 */
export const DeltaFileSchema = z.object({ v: z.literal(SHARDED_FORMAT_VERSION), t: z.literal('delta'), e: z.array(DeltaEntrySchema) });
export type DeltaFileJson = z.infer<typeof DeltaFileSchema>;

/** Any immutable tree file. */
export const ShardFileSchema = z
  .discriminatedUnion('t', [TermsFileSchema, DictFileSchema, SuffixesFileSchema, RefsFileSchema, PageFileSchema, HeadsFileSchema, CatalogFileSchema, DeltaFileSchema])
  .meta({ title: 'Sharded index file (immutable, content-addressed)' });
export type ShardFile = z.infer<typeof ShardFileSchema>;

const chunkPolicy = z.object({ min: count, target: count, max: count });

/** The size bounds the files were cut with; an update must use the same ones as the build. */
export const PolicySchema = z
  .object({
    terms: chunkPolicy,
    dict: chunkPolicy,
    refs: chunkPolicy,
    pages: chunkPolicy.describe('`page` files: the head page of a paged field, and later pages unless `later_pages` is given'),
    later_pages: chunkPolicy.optional().describe('`page` files after the head page of a paged field; absent: `pages`'),
    catalog: chunkPolicy,
    page_threshold: count.describe('A field of a term is paged when its postings and documents exceed this many bytes'),
    root_max: count.describe('Inline budget of the trees of the root, in bytes'),
    paged_root_max: count.describe('Inline budget of the tree of a paged field, in bytes'),
    delta_max: count
      .optional()
      .describe('Packages the delta holds before an update compacts it into the base; absent or 0: no delta, every update rewrites the base'),
  })
  .describe('Size bounds of the files, in bytes of JSON');

/** `v1/search/{kind}s/root.json`: the one mutable file of a kind, the generation pointer. */
export const ShardedRootSchema = z
  .object({
    schema_version: z.literal(1),
    format: z.literal('shelf-sharded@1'),
    kind: z.enum(['bundle', 'skill']),
    engine: z.literal('minisearch@7').describe('Scores are MiniSearch 7 BM25 over the merged pieces'),
    policy: PolicySchema,
    search: z.object({
      fields: z.array(z.string()).describe('Indexed fields, in field id order'),
      document_count: count,
      field_length_total: z.array(count).describe('Sum over documents of each field length'),
      terms: TreeSchema.describe('The term tree: level 0 `terms`, level 1 `dict`, levels ≥ 2 `refs`'),
      suffixes: TreeSchema.describe('Every term spelled backwards: level 0 `suffixes`, levels ≥ 1 `refs`'),
      pairs: TreeSchema.describe('Name-pair index: pseudo-terms "a b" for two terms of a package name, and the compound terms of tool names ("_get_weather"), as the term tree'),
    }),
    catalog: z.object({
      count: count.describe('Number of packages'),
      by_name: TreeSchema.describe('Summaries by name: level 0 `catalog`, levels ≥ 1 `refs`'),
      by_recent: TreeSchema.describe('Summaries by updated_at, newest first, then name'),
    }),
    delta: z
      .object({
        file: FileNameSchema.describe('The `delta` file'),
        bytes: count.describe('Its size in bytes'),
        count: count.describe('Its entries'),
        base: z
          .object({ document_count: count, field_length_total: z.array(count), catalog_count: count })
          .describe("The base trees' own statistics (`search` and `catalog.count` above include the delta)"),
      })
      .optional()
      .describe('Packages changed since the base trees were written; absent when there are none'),
  })
  .meta({ title: 'Sharded search and catalog root (generation pointer)' });
export type ShardedRoot = z.infer<typeof ShardedRootSchema>;

/** `v1/search/{kind}s/docs/<id>-<hash>.json`: what a result list shows of one package. */
export const DisplayFileSchema = PackageSummarySchema.meta({ title: 'Display data of one package (immutable)' });

/** The schemas to publish under `index-schema/`, by file name. */
export const SHARDED_SCHEMAS = {
  'sharded-root.schema.json': ShardedRootSchema,
  'sharded-file.schema.json': ShardFileSchema,
  'sharded-display.schema.json': DisplayFileSchema,
} as const;
