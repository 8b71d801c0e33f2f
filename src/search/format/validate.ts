/**
 * Fast validation of the index files a first query reads (`terms`, `page` and `heads`, which hold
 * thousands of postings each; `refs`, `dict`, `suffixes` and display files, read by the dozen):
 * the same rules as their zod schemas (which stay the published format), checked with plain loops
 * because a first query parses a few hundred kilobytes of them.
 *
 * Pure module: no Node APIs.
 *
 * @module
 */
import * as z from 'zod';
import { PackageSummarySchema, type PackageSummary } from '../../core/schemas.ts';
import {
  CatalogFileSchema,
  DictFileSchema,
  PagedFieldSchema,
  RefsFileSchema,
  SuffixesFileSchema,
  type DictEntryJson,
  type DocEntryJson,
  type PagedFieldJson,
  type PostingsJson,
  type RefJson,
  type TermEntryJson,
} from './wire.ts';

/** A `terms` file as validated. */
export interface TermsFile {
  v: 1;
  t: 'terms';
  e: TermEntryJson[];
  docs: DocEntryJson[];
}

/** A `page` file as validated. */
export interface PageFile {
  v: 1;
  t: 'page';
  e: [string, number, number, number][];
  docs: DocEntryJson[];
}

/** A `heads` file as validated: the head page of each paged field of one term, by field id. */
export interface HeadsFile {
  v: 1;
  t: 'heads';
  e: [number, PageFile['e']][];
  docs: DocEntryJson[];
}

const ID = /^[0-9a-z]{1,11}$/;
const FIELD = /^[0-9]+$/;

/** `^[0-9a-f]{n}$`, without the regular expression. */
const isHex = (v: unknown, n: number): v is string => {
  if (typeof v !== 'string' || v.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
};
const isHex10 = (v: unknown): v is string => isHex(v, 10);

class Invalid extends Error {}

const fail = (what: string): never => {
  throw new Invalid(what);
};
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
/** `ID.test(v)` for a string, without the regular expression (ids repeat in every posting). */
const isId = (v: unknown): v is string => {
  if (typeof v !== 'string' || v.length < 1 || v.length > 11) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
};

function checkDocs(docs: unknown): DocEntryJson[] {
  if (!Array.isArray(docs)) fail('docs is not an array');
  for (const d of docs as unknown[]) {
    if (!Array.isArray(d) || d.length !== 6) fail('a document entry is not a 6-tuple');
    const [id, name, display, updated, type, mask] = d as unknown[];
    if (!isId(id) || typeof name !== 'string' || !isHex10(display)) fail('a document entry has a bad id, name or display');
    if (typeof updated !== 'number' || !Number.isInteger(updated) || (type !== null && typeof type !== 'string') || !isCount(mask)) {
      fail('a document entry has a bad date, type or mask');
    }
  }
  return docs as DocEntryJson[];
}

function checkHeader(json: unknown, type: string): { e: unknown[]; docs: DocEntryJson[] } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('not an object');
  const o = json as Record<string, unknown>;
  if (o.v !== 1) fail(`unsupported version ${String(o.v)}`);
  if (o.t !== type) fail(`not a ${type} file`);
  if (!Array.isArray(o.e)) fail('e is not an array');
  return { e: o.e as unknown[], docs: checkDocs(o.docs) };
}

function checkPostings(p: unknown): PostingsJson {
  if (typeof p !== 'object' || p === null || Array.isArray(p)) fail('postings are not an object');
  const o = p as Record<string, unknown>;
  for (const fid of Object.keys(o)) {
    const flat = o[fid];
    if (!FIELD.test(fid) || !Array.isArray(flat) || flat.length % 3 !== 0) fail('postings of a field are not [id, tf, length] triples');
    const a = flat as unknown[];
    for (let i = 0; i < a.length; i += 3) {
      if (!isId(a[i]) || !isCount(a[i + 1]) || (a[i + 1] as number) < 1 || !isCount(a[i + 2])) fail('a posting is malformed');
    }
  }
  return p as PostingsJson;
}

const PagedFields = z.record(z.string().regex(FIELD), PagedFieldSchema);

// ---------------------------------------------------------------------------------------------
// Fast acceptance. Each check below accepts only values its zod schema accepts and returns what
// the schema's parse would give, as JSON (same values, same key order); anything it does not
// accept goes to the schema, which decides (and names the problem) exactly as before.

/** A plain object as JSON.parse makes them (zod's records and objects accept at least these). */
const isJsonObject = (v: unknown): v is Record<string, unknown> => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
};
/** zod's `z.number().int().nonnegative()`. */
const isZodCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
/** `FileNameSchema`: 20 lower-case hex digits. */
const isFileName = (v: unknown): v is string => isHex(v, 20);
const isFieldKey = (k: string): boolean => {
  if (k.length === 0) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
};
/** Every own key of a plain object is a field id (`^[0-9]+$`), and every value passes `value`. */
const isFieldRecord = (v: unknown, value: (x: unknown) => boolean): boolean => {
  if (!isJsonObject(v)) return false;
  for (const k in v) if (!Object.prototype.hasOwnProperty.call(v, k) || !isFieldKey(k) || !value(v[k])) return false;
  return true;
};
/** `PagedFieldSchema` (extra keys are allowed, as the schema strips them). */
const isPagedField = (v: unknown): boolean => {
  if (!isJsonObject(v)) return false;
  const { n, w, h, t } = v as Record<string, unknown>;
  if (!isZodCount(n) || !isZodCount(w)) return false;
  if (!Array.isArray(h) || h.length !== 2 || !isFileName(h[0]) || !isZodCount(h[1])) return false;
  if (!isJsonObject(t)) return false;
  const { height, top } = t;
  return typeof height === 'number' && Number.isSafeInteger(height) && height > 0 && Array.isArray(top);
};
/** The paged fields of a term entry: `z.record(z.string().regex(FIELD), PagedFieldSchema)`. */
const isPagedFields = (v: unknown): boolean => isFieldRecord(v, isPagedField);

/** The `{v: 1, t, e: [...]}` header of a file, or null. */
function fastHeader(json: unknown, type: string): unknown[] | null {
  if (!isJsonObject(json) || json.v !== 1 || json.t !== type || !Array.isArray(json.e)) return null;
  return json.e as unknown[];
}

/** `RefSchema`: `[first_key, file, bytes, weight]`. */
const isRef = (v: unknown): boolean => Array.isArray(v) && v.length === 4 && typeof v[0] === 'string' && isFileName(v[1]) && isZodCount(v[2]) && isZodCount(v[3]);
/** `TermInfoSchema`: a term, or `[term, {field id: [df, head_file, head_bytes]}]`. */
const isHead = (v: unknown): boolean => Array.isArray(v) && v.length === 3 && isZodCount(v[0]) && isFileName(v[1]) && isZodCount(v[2]);
const isTermInfo = (v: unknown): boolean => typeof v === 'string' || (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && isFieldRecord(v[1], isHead));
/** `DictEntrySchema`: `[file, bytes, term infos (at least one)]`. */
const isDictEntry = (v: unknown): boolean => {
  if (!Array.isArray(v) || v.length !== 3 || !isFileName(v[0]) || !isZodCount(v[1]) || !Array.isArray(v[2]) || v[2].length === 0) return false;
  for (const info of v[2] as unknown[]) if (!isTermInfo(info)) return false;
  return true;
};

/**
 * The entries of a `refs` file, parsed like `RefsFileSchema.parse(json).e`.
 *
 * @throws the schema's error.
 */
export function parseRefsEntries(json: unknown): RefJson[] {
  const e = fastHeader(json, 'refs');
  if (e && e.every(isRef)) return e as RefJson[];
  return RefsFileSchema.parse(json).e;
}

/**
 * The entries of a `dict` file, parsed like `DictFileSchema.parse(json).e`.
 *
 * @throws the schema's error.
 */
export function parseDictEntries(json: unknown): DictEntryJson[] {
  const e = fastHeader(json, 'dict');
  if (e && e.every(isDictEntry)) return e as DictEntryJson[];
  return DictFileSchema.parse(json).e;
}

/**
 * The entries of a `suffixes` file, parsed like `SuffixesFileSchema.parse(json).e`.
 *
 * @throws the schema's error.
 */
export function parseSuffixesEntries(json: unknown): string[] {
  const e = fastHeader(json, 'suffixes');
  if (e && e.every((x) => typeof x === 'string')) return e as string[];
  return SuffixesFileSchema.parse(json).e;
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const isOptionalString = (v: unknown): boolean => v === undefined || typeof v === 'string';

/**
 * One package's display data (a `docs/` file), parsed like
 * `PackageSummarySchema.parse(json)`: a result list fetches dozens of them per query, and zod
 * was the client's largest allocator at 100,000 packages. Builds a new object in the schema's
 * key order without unknown keys, as the schema's parse does.
 *
 * @throws the schema's error.
 */
export function parseSummary(json: unknown): PackageSummary {
  if (isJsonObject(json)) {
    const o = json;
    if (
      (o.kind === 'bundle' || o.kind === 'skill') &&
      typeof o.name === 'string' &&
      isOptionalString(o.display_name) &&
      typeof o.description === 'string' &&
      (o.latest === null || typeof o.latest === 'string') &&
      typeof o.newest === 'string' &&
      isOptionalString(o.server_type) &&
      isStringArray(o.platforms) &&
      (o.status === undefined || o.status === 'deprecated') &&
      isOptionalString(o.status_message) &&
      isStringArray(o.tools) &&
      isStringArray(o.keywords) &&
      isOptionalString(o.author) &&
      typeof o.published_at === 'string' &&
      typeof o.updated_at === 'string' &&
      typeof o.verified === 'boolean'
    ) {
      const s: Record<string, unknown> = { kind: o.kind, name: o.name };
      if (o.display_name !== undefined) s.display_name = o.display_name;
      s.description = o.description;
      s.latest = o.latest;
      s.newest = o.newest;
      if (o.server_type !== undefined) s.server_type = o.server_type;
      s.platforms = o.platforms;
      if (o.status !== undefined) s.status = o.status;
      if (o.status_message !== undefined) s.status_message = o.status_message;
      s.tools = o.tools;
      s.keywords = o.keywords;
      if (o.author !== undefined) s.author = o.author;
      s.published_at = o.published_at;
      s.updated_at = o.updated_at;
      s.verified = o.verified;
      return s as PackageSummary;
    }
  }
  return PackageSummarySchema.parse(json);
}

/**
 * The summaries of a `catalog` file, parsed like `CatalogFileSchema.parse(json).e`. Always
 * through the schema: a summary's rules (ISO dates, the kind) are not copied by hand, and an
 * update reads only a few catalog files.
 *
 * @throws the schema's error.
 */
export function parseCatalogEntries(json: unknown): PackageSummary[] {
  return CatalogFileSchema.parse(json).e;
}

/**
 * Validates a `terms` file.
 *
 * @throws Error naming the first problem.
 */
export function parseTermsFile(json: unknown): TermsFile {
  const { e, docs } = checkHeader(json, 'terms');
  for (const entry of e) {
    if (!Array.isArray(entry) || (entry.length !== 2 && entry.length !== 3) || typeof entry[0] !== 'string') fail('a term entry is malformed');
    const te = entry as unknown[];
    checkPostings(te[1]);
    if (te.length === 3 && !isPagedFields(te[2]) && !PagedFields.safeParse(te[2]).success) fail(`the paged fields of "${String(te[0])}" are malformed`);
  }
  return { v: 1, t: 'terms', e: e as TermEntryJson[], docs };
}

/**
 * Validates a `page` file.
 *
 * @throws Error naming the first problem.
 */
export function parsePageFile(json: unknown): PageFile {
  const { e, docs } = checkHeader(json, 'page');
  checkPagePostings(e);
  return { v: 1, t: 'page', e: e as PageFile['e'], docs };
}

/**
 * Validates a `heads` file.
 *
 * @throws Error naming the first problem.
 */
export function parseHeadsFile(json: unknown): HeadsFile {
  const { e, docs } = checkHeader(json, 'heads');
  for (const field of e) {
    if (!Array.isArray(field) || field.length !== 2 || !isCount(field[0]) || !Array.isArray(field[1])) fail('a head page is not [field, postings]');
    checkPagePostings((field as unknown[])[1] as unknown[]);
  }
  return { v: 1, t: 'heads', e: e as HeadsFile['e'], docs };
}

function checkPagePostings(e: unknown[]): void {
  for (const p of e) {
    if (!Array.isArray(p) || p.length !== 4 || !isId(p[0]) || !isCount(p[1]) || p[1] < 1 || !isCount(p[2]) || !isCount(p[3])) fail('a page posting is malformed');
  }
}

/** Whether an error comes from these validators. */
export const isInvalid = (error: unknown): boolean => error instanceof Invalid;

/** The paged fields of a term entry, typed. */
export const pagedOf = (entry: TermEntryJson): Record<string, PagedFieldJson> | undefined => (entry.length === 3 ? entry[2] : undefined);
