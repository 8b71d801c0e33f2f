/**
 * Fast validation of the two large file types (`terms` and `page`), which hold thousands of
 * postings each: the same rules as their zod schemas in `schemas.ts` (which stay the published
 * format), checked with plain loops because a first query parses a few hundred kilobytes of them.
 *
 * Pure module: no Node APIs.
 *
 * @module
 */
import { z } from 'zod';
import { PagedFieldSchema, type DocEntryJson, type PagedFieldJson, type PostingsJson, type TermEntryJson } from './schemas.ts';

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

const ID = /^[0-9a-z]{1,11}$/;
const FIELD = /^[0-9]+$/;
const HEX10 = /^[0-9a-f]{10}$/;

class Invalid extends Error {}

const fail = (what: string): never => {
  throw new Invalid(what);
};
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && ID.test(v);

function checkDocs(docs: unknown): DocEntryJson[] {
  if (!Array.isArray(docs)) fail('docs is not an array');
  for (const d of docs as unknown[]) {
    if (!Array.isArray(d) || d.length !== 6) fail('a document entry is not a 6-tuple');
    const [id, name, display, updated, type, mask] = d as unknown[];
    if (!isId(id) || typeof name !== 'string' || typeof display !== 'string' || !HEX10.test(display)) fail('a document entry has a bad id, name or display');
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
  for (const [fid, flat] of Object.entries(p as Record<string, unknown>)) {
    if (!FIELD.test(fid) || !Array.isArray(flat) || flat.length % 3 !== 0) fail('postings of a field are not [id, tf, length] triples');
    const a = flat as unknown[];
    for (let i = 0; i < a.length; i += 3) {
      if (!isId(a[i]) || !isCount(a[i + 1]) || (a[i + 1] as number) < 1 || !isCount(a[i + 2])) fail('a posting is malformed');
    }
  }
  return p as PostingsJson;
}

const PagedFields = z.record(z.string().regex(FIELD), PagedFieldSchema);

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
    if (te.length === 3 && !PagedFields.safeParse(te[2]).success) fail(`the paged fields of "${String(te[0])}" are malformed`);
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
  for (const p of e) {
    if (!Array.isArray(p) || p.length !== 4 || !isId(p[0]) || !isCount(p[1]) || p[1] < 1 || !isCount(p[2]) || !isCount(p[3])) fail('a page posting is malformed');
  }
  return { v: 1, t: 'page', e: e as PageFile['e'], docs };
}

/** Whether an error comes from these validators. */
export const isInvalid = (error: unknown): boolean => error instanceof Invalid;

/** The paged fields of a term entry, typed. */
export const pagedOf = (entry: TermEntryJson): Record<string, PagedFieldJson> | undefined => (entry.length === 3 ? entry[2] : undefined);
