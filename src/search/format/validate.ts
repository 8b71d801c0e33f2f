/**
 * The validators of the search read path: every document `shelf search` and the web pages'
 * search read (the registry's `config.json`, each kind's root, every index file, the display
 * data of a result, the download totals `--sort downloads` orders by), checked by hand. The zod schemas (`wire.ts`, `core/schemas.ts`) stay the
 * published format and what the writers check; these accept exactly what they accept (a test
 * holds them together on every file of a build and on mutations of them), so a page or a search
 * loads neither zod nor a schema it does not need.
 *
 * Errors are data: each `check…` answers `{ ok: true, value }` or `{ ok: false, issue }`, the
 * issue naming the path and the problem (`search.layout: …`). Readers turn an issue into their
 * stable code (`registry_unreachable`, naming the file); writers, which only reread files they
 * wrote, use {@link valid}, which throws.
 *
 * What a check returns: the document as parsed, except a package summary, which is copied without
 * unknown keys in the schema's key order (results are printed as they are read, and zod's parse
 * did the same); summaries inside catalog and delta files likewise.
 *
 * Pure module: no Node APIs, no libraries (the web pages import it).
 *
 * @module
 */
import type { ConfigDocument, DownloadsIndex, PackageSummary } from '../../core/schemas.ts';
import { RETIRED_LAYOUT_MESSAGE, SCHEMA_VERSION } from '../../core/schema-constants.ts';
import { SHARDED_FORMAT_VERSION } from './wire-fields.ts';
import type { DeltaFileJson, DictEntryJson, DocEntryJson, PagedFieldJson, RefJson, ShardedRoot, TermEntryJson } from './wire.ts';

/** What is wrong with a document: where (dotted path, `(root)` for the whole) and what. */
export interface Issue {
  path: string;
  message: string;
}

/** A checked document, or the first issue found. */
export type Checked<T> = { ok: true; value: T } | { ok: false; issue: Issue };

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

/** A `dict`, `refs`, `suffixes`, `catalog` or `delta` file as validated. */
export interface DictFile {
  v: 1;
  t: 'dict';
  e: DictEntryJson[];
}
export interface RefsFile {
  v: 1;
  t: 'refs';
  e: RefJson[];
}
export interface SuffixesFile {
  v: 1;
  t: 'suffixes';
  e: string[];
}
export interface CatalogFile {
  v: 1;
  t: 'catalog';
  e: PackageSummary[];
}

/** Thrown by {@link valid}: the issue, as data. */
export class InvalidDocumentError extends Error {
  constructor(readonly issue: Issue) {
    super(describeIssue(issue));
    this.name = 'InvalidDocumentError';
  }
}

/** `path: message`. */
export function describeIssue(issue: Issue): string {
  return `${issue.path}: ${issue.message}`;
}

/**
 * The value of a check, or its issue thrown as an {@link InvalidDocumentError}: for writers,
 * which reread only files they wrote (a failure there is a bug, not bad input).
 */
export function valid<T>(checked: Checked<T>): T {
  if (!checked.ok) throw new InvalidDocumentError(checked.issue);
  return checked.value;
}

// ---------------------------------------------------------------------------------------------
// The primitives. Each mirrors one zod construct; `fail` throws inside a check, and `checking`
// turns that into data at the module's edge (a throw unwinds the deep loops of a `terms` file
// without a result per posting).

class Invalid {
  constructor(readonly path: string, readonly message: string) {}
}

const fail = (path: string, message: string): never => {
  throw new Invalid(path, message);
};

function checking<T>(json: unknown, check: (json: unknown) => T): Checked<T> {
  try {
    return { ok: true, value: check(json) };
  } catch (error) {
    if (error instanceof Invalid) return { ok: false, issue: { path: error.path === '' ? '(root)' : error.path, message: error.message } };
    throw error;
  }
}

const at = (path: string, key: string | number): string => (path === '' ? String(key) : `${path}.${key}`);

/** zod's object: any non-null, non-array object (unknown keys are allowed). */
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** zod's `z.number().int()`: a safe integer. */
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
/** `z.number().int().nonnegative()`. */
const isCount = (v: unknown): v is number => isInt(v) && v >= 0;

function object(v: unknown, path: string): Record<string, unknown> {
  if (!isObject(v)) fail(path, 'expected an object');
  return v as Record<string, unknown>;
}
function array(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, 'expected an array');
  return v as unknown[];
}
function tuple(v: unknown, length: number, path: string): unknown[] {
  const a = array(v, path);
  if (a.length !== length) fail(path, `expected a tuple of ${length} items`);
  return a;
}
function string(v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, 'expected a string');
  return v as string;
}
function optionalString(v: unknown, path: string): void {
  if (v !== undefined) string(v, path);
}
function stringArray(v: unknown, path: string): string[] {
  const a = array(v, path);
  for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'string') fail(at(path, i), 'expected a string');
  return a as string[];
}
function count(v: unknown, path: string): number {
  if (!isCount(v)) fail(path, 'expected an integer ≥ 0');
  return v as number;
}
function literal<T extends string | number>(v: unknown, expected: T, path: string, message?: string): T {
  if (v !== expected) fail(path, message ?? `expected ${JSON.stringify(expected)}`);
  return expected;
}
function oneOf<T extends string>(v: unknown, options: readonly T[], path: string): T {
  if (!(options as readonly unknown[]).includes(v)) fail(path, `expected one of ${options.map((o) => JSON.stringify(o)).join(', ')}`);
  return v as T;
}
/** `^[0-9a-f]{n}$`, without the regular expression. */
function isHex(v: unknown, n: number): v is string {
  if (typeof v !== 'string' || v.length !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}
/** `FileNameSchema`: 20 lower-case hex digits. */
function fileName(v: unknown, path: string): string {
  if (!isHex(v, 20)) fail(path, 'must be 20 lower-case hex digits');
  return v as string;
}
/** A document id, `^[0-9a-z]{1,11}$` (ids repeat in every posting: no regular expression). */
function isId(v: unknown): v is string {
  if (typeof v !== 'string' || v.length < 1 || v.length > 11) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a))) return false;
  }
  return true;
}
/** A field id key of a record, `^[0-9]+$`. */
function isFieldKey(k: string): boolean {
  if (k.length === 0) return false;
  for (let i = 0; i < k.length; i++) {
    const c = k.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
/** `z.record(z.string().regex(/^[0-9]+$/), value)`. */
function fieldRecord(v: unknown, path: string, value: (x: unknown, path: string) => void): void {
  const o = object(v, path);
  for (const k of Object.keys(o)) {
    if (!isFieldKey(k)) fail(at(path, k), 'the key is not a field id');
    value(o[k], at(path, k));
  }
}

// ---------------------------------------------------------------------------------------------
// Shared parts of the format.

/** `DocEntrySchema`: `[id, name, display, updated_ms, server_type, mask]`. */
function docEntry(d: unknown, path: string): void {
  if (!Array.isArray(d) || d.length !== 6) fail(path, 'a document entry is not a 6-tuple');
  const [id, name, display, updated, type, mask] = d as unknown[];
  if (!isId(id) || typeof name !== 'string' || !isHex(display, 10)) fail(path, 'a document entry has a bad id, name or display');
  if (!isInt(updated) || (type !== null && typeof type !== 'string') || !isCount(mask)) fail(path, 'a document entry has a bad date, type or mask');
}

/** The `docs` of a file: document entries. */
function docs(v: unknown, path: string): DocEntryJson[] {
  const list = array(v, path);
  for (let i = 0; i < list.length; i++) docEntry(list[i], at(path, i));
  return list as DocEntryJson[];
}

/** `{v: 1, t: type, e: [...]}`: the entries. */
function header(json: unknown, type: string): unknown[] {
  const o = object(json, '');
  literal(o.v, SHARDED_FORMAT_VERSION, 'v', `unsupported version ${JSON.stringify(o.v)}`);
  literal(o.t, type, 't', `not a ${type} file`);
  return array(o.e, 'e');
}

/** `PostingsSchema`: field id → flat `[id, tf ≥ 1, field_length, ...]` triples. */
function postings(v: unknown, path: string): void {
  fieldRecord(v, path, (flat, p) => {
    const a = array(flat, p);
    if (a.length % 3 !== 0) fail(p, 'must be [id, tf ≥ 1, field_length] triples');
    for (let i = 0; i < a.length; i += 3) {
      if (!isId(a[i]) || !isCount(a[i + 1]) || (a[i + 1] as number) < 1 || !isCount(a[i + 2])) fail(at(p, i), 'must be [id, tf ≥ 1, field_length] triples');
    }
  });
}

/** `TreeSchema`. */
function tree(v: unknown, path: string): void {
  const o = object(v, path);
  if (!isInt(o.height) || o.height < 1) fail(at(path, 'height'), 'expected an integer ≥ 1');
  array(o.top, at(path, 'top'));
}

/** `PagedFieldSchema`. */
function pagedField(v: unknown, path: string): void {
  const o = object(v, path);
  count(o.n, at(path, 'n'));
  count(o.w, at(path, 'w'));
  const h = tuple(o.h, 2, at(path, 'h'));
  fileName(h[0], at(path, 'h.0'));
  count(h[1], at(path, 'h.1'));
  tree(o.t, at(path, 't'));
}

/** `PagePostingSchema`s: `[id, tf ≥ 1, field_length, impact]`. */
function pagePostings(v: unknown, path: string): PageFile['e'] {
  const e = array(v, path);
  for (let i = 0; i < e.length; i++) {
    const p = e[i];
    if (!Array.isArray(p) || p.length !== 4 || !isId(p[0]) || !isCount(p[1]) || p[1] < 1 || !isCount(p[2]) || !isCount(p[3])) fail(at(path, i), 'a page posting is malformed');
  }
  return e as PageFile['e'];
}

/** `RefSchema`: `[first_key, file, bytes, weight]`. */
function ref(v: unknown, path: string): void {
  const r = tuple(v, 4, path);
  string(r[0], at(path, 0));
  fileName(r[1], at(path, 1));
  count(r[2], at(path, 2));
  count(r[3], at(path, 3));
}

/** `TermInfoSchema`: a term, or `[term, {field id: [df, head_file, head_bytes]}]`. */
function termInfo(v: unknown, path: string): void {
  if (typeof v === 'string') return;
  const t = tuple(v, 2, path);
  string(t[0], at(path, 0));
  fieldRecord(t[1], at(path, 1), (head, p) => {
    const h = tuple(head, 3, p);
    count(h[0], at(p, 0));
    fileName(h[1], at(p, 1));
    count(h[2], at(p, 2));
  });
}

const KINDS = ['bundle', 'skill'] as const;

/** `PackageSummarySchema`, copied without unknown keys in the schema's key order. */
function summary(v: unknown, path: string): PackageSummary {
  const o = object(v, path);
  const s: Record<string, unknown> = { kind: oneOf(o.kind, KINDS, at(path, 'kind')), name: string(o.name, at(path, 'name')) };
  optionalString(o.display_name, at(path, 'display_name'));
  if (o.display_name !== undefined) s.display_name = o.display_name;
  s.description = string(o.description, at(path, 'description'));
  if (o.latest !== null) string(o.latest, at(path, 'latest'));
  s.latest = o.latest;
  s.newest = string(o.newest, at(path, 'newest'));
  optionalString(o.server_type, at(path, 'server_type'));
  if (o.server_type !== undefined) s.server_type = o.server_type;
  s.platforms = stringArray(o.platforms, at(path, 'platforms'));
  if (o.status !== undefined) s.status = literal(o.status, 'deprecated', at(path, 'status'));
  optionalString(o.status_message, at(path, 'status_message'));
  if (o.status_message !== undefined) s.status_message = o.status_message;
  s.tools = stringArray(o.tools, at(path, 'tools'));
  s.keywords = stringArray(o.keywords, at(path, 'keywords'));
  optionalString(o.author, at(path, 'author'));
  if (o.author !== undefined) s.author = o.author;
  s.published_at = string(o.published_at, at(path, 'published_at'));
  s.updated_at = string(o.updated_at, at(path, 'updated_at'));
  if (typeof o.verified !== 'boolean') fail(at(path, 'verified'), 'expected a boolean');
  s.verified = o.verified;
  return s as PackageSummary;
}

// ---------------------------------------------------------------------------------------------
// The documents.

/** `{bundles, skills}` of strings. */
function perKind(v: unknown, path: string): void {
  const o = object(v, path);
  string(o.bundles, at(path, 'bundles'));
  string(o.skills, at(path, 'skills'));
}

/** `v1/config.json`, as `ConfigDocumentSchema`; a registry of the retired layout is named as such. */
export function checkConfig(json: unknown): Checked<ConfigDocument> {
  return checking(json, (j) => {
    const o = object(j, '');
    literal(o.schema_version, SCHEMA_VERSION, 'schema_version');
    literal(o.registry, 'shelf', 'registry');
    optionalString(o.public_url, 'public_url');
    perKind(o.announce, 'announce');
    if (o.status !== undefined) perKind(o.status, 'status');
    string(o.audience, 'audience');
    string(o.oidc_issuer, 'oidc_issuer');
    const search = object(o.search, 'search');
    literal(search.layout, 'sharded', 'search.layout', RETIRED_LAYOUT_MESSAGE);
    string(search.bundles, 'search.bundles');
    string(search.skills, 'search.skills');
    string(object(o.catalog, 'catalog').recent, 'catalog.recent');
    const layout = object(o.layout, 'layout');
    for (const key of ['package', 'version', 'scope']) string(layout[key], at('layout', key));
    optionalString(layout.lifecycle, 'layout.lifecycle');
    optionalString(o.keys, 'keys');
    return o as unknown as ConfigDocument;
  });
}

/** A kind's download totals (`v1/downloads/{kind}.json`), as `DownloadsIndexSchema`. */
export function checkDownloadsIndex(json: unknown): Checked<DownloadsIndex> {
  return checking(json, (j) => {
    const o = object(j, '');
    string(o.through, 'through');
    const packages = object(o.packages, 'packages');
    for (const name of Object.keys(packages)) {
      const p = object(packages[name], at('packages', name));
      count(p.total, at(at('packages', name), 'total'));
      count(p.last_30_days, at(at('packages', name), 'last_30_days'));
    }
    return o as unknown as DownloadsIndex;
  });
}

function chunkPolicy(v: unknown, path: string): void {
  const o = object(v, path);
  for (const key of ['min', 'target', 'max']) count(o[key], at(path, key));
}

/** A kind's `root.json`, as `ShardedRootSchema`. */
export function checkRoot(json: unknown): Checked<ShardedRoot> {
  return checking(json, (j) => {
    const o = object(j, '');
    literal(o.schema_version, 1, 'schema_version');
    literal(o.format, 'shelf-sharded@1', 'format');
    oneOf(o.kind, KINDS, 'kind');
    literal(o.engine, 'minisearch@7', 'engine');
    const policy = object(o.policy, 'policy');
    for (const key of ['terms', 'dict', 'refs', 'pages', 'catalog']) chunkPolicy(policy[key], at('policy', key));
    if (policy.later_pages !== undefined) chunkPolicy(policy.later_pages, 'policy.later_pages');
    for (const key of ['page_threshold', 'root_max', 'paged_root_max']) count(policy[key], at('policy', key));
    if (policy.delta_max !== undefined) count(policy.delta_max, 'policy.delta_max');
    const search = object(o.search, 'search');
    stringArray(search.fields, 'search.fields');
    count(search.document_count, 'search.document_count');
    array(search.field_length_total, 'search.field_length_total').forEach((n, i) => count(n, at('search.field_length_total', i)));
    for (const key of ['terms', 'suffixes', 'pairs']) tree(search[key], at('search', key));
    const catalog = object(o.catalog, 'catalog');
    count(catalog.count, 'catalog.count');
    tree(catalog.by_name, 'catalog.by_name');
    tree(catalog.by_recent, 'catalog.by_recent');
    if (o.delta !== undefined) {
      const delta = object(o.delta, 'delta');
      fileName(delta.file, 'delta.file');
      count(delta.bytes, 'delta.bytes');
      count(delta.count, 'delta.count');
      const base = object(delta.base, 'delta.base');
      count(base.document_count, 'delta.base.document_count');
      array(base.field_length_total, 'delta.base.field_length_total').forEach((n, i) => count(n, at('delta.base.field_length_total', i)));
      count(base.catalog_count, 'delta.base.catalog_count');
    }
    return o as unknown as ShardedRoot;
  });
}

/** A display file (`docs/<id>-<hash>.json`), as `PackageSummarySchema`: a copy without unknown keys. */
export function checkSummary(json: unknown): Checked<PackageSummary> {
  return checking(json, (j) => summary(j, ''));
}

/** A `terms` file. */
export function checkTermsFile(json: unknown): Checked<TermsFile> {
  return checking(json, (j) => {
    const e = header(j, 'terms');
    for (let i = 0; i < e.length; i++) {
      const entry = e[i];
      if (!Array.isArray(entry) || (entry.length !== 2 && entry.length !== 3) || typeof entry[0] !== 'string') fail(at('e', i), 'a term entry is malformed');
      const te = entry as unknown[];
      postings(te[1], `e.${i}.1`);
      if (te.length === 3) fieldRecord(te[2], `e.${i}.2`, pagedField);
    }
    return { v: 1, t: 'terms', e: e as TermEntryJson[], docs: docs((j as Record<string, unknown>).docs, 'docs') };
  });
}

/** A `page` file. */
export function checkPageFile(json: unknown): Checked<PageFile> {
  return checking(json, (j) => {
    const e = pagePostings(header(j, 'page'), 'e');
    return { v: 1, t: 'page', e, docs: docs((j as Record<string, unknown>).docs, 'docs') };
  });
}

/** A `heads` file. */
export function checkHeadsFile(json: unknown): Checked<HeadsFile> {
  return checking(json, (j) => {
    const e = header(j, 'heads');
    for (let i = 0; i < e.length; i++) {
      const field = tuple(e[i], 2, at('e', i));
      count(field[0], `e.${i}.0`);
      pagePostings(field[1], `e.${i}.1`);
    }
    return { v: 1, t: 'heads', e: e as HeadsFile['e'], docs: docs((j as Record<string, unknown>).docs, 'docs') };
  });
}

/** A `dict` file. */
export function checkDictFile(json: unknown): Checked<DictFile> {
  return checking(json, (j) => {
    const e = header(j, 'dict');
    for (let i = 0; i < e.length; i++) {
      const entry = tuple(e[i], 3, at('e', i));
      fileName(entry[0], `e.${i}.0`);
      count(entry[1], `e.${i}.1`);
      const infos = array(entry[2], `e.${i}.2`);
      if (infos.length === 0) fail(`e.${i}.2`, 'expected at least one term');
      for (let k = 0; k < infos.length; k++) termInfo(infos[k], `e.${i}.2.${k}`);
    }
    return { v: 1, t: 'dict', e: e as DictEntryJson[] };
  });
}

/** A `refs` file (an inner level of a tree). */
export function checkRefsFile(json: unknown): Checked<RefsFile> {
  return checking(json, (j) => {
    const e = header(j, 'refs');
    for (let i = 0; i < e.length; i++) ref(e[i], at('e', i));
    return { v: 1, t: 'refs', e: e as RefJson[] };
  });
}

/** A `suffixes` file. */
export function checkSuffixesFile(json: unknown): Checked<SuffixesFile> {
  return checking(json, (j) => ({ v: 1, t: 'suffixes', e: stringArray(header(j, 'suffixes'), 'e') }));
}

/** A `catalog` file: its summaries copied as {@link checkSummary} copies one. */
export function checkCatalogFile(json: unknown): Checked<CatalogFile> {
  return checking(json, (j) => ({ v: 1, t: 'catalog', e: header(j, 'catalog').map((s, i) => summary(s, at('e', i))) }));
}

/** A `delta` file: its summaries copied as {@link checkSummary} copies one. */
export function checkDeltaFile(json: unknown): Checked<DeltaFileJson> {
  return checking(json, (j) => {
    const e = header(j, 'delta').map((entry, i) => {
      const p = at('e', i);
      const [name, id, s, doc, baseTerms] = tuple(entry, 5, p);
      string(name, at(p, 0));
      if (!isId(id)) fail(at(p, 1), 'must be a base-36 document id');
      if (doc !== null) docEntry(doc, at(p, 3));
      if (baseTerms !== null) fieldRecord(baseTerms, at(p, 4), stringArray);
      return [name, id, s === null ? null : summary(s, at(p, 2)), doc, baseTerms];
    });
    return { v: 1, t: 'delta', e } as DeltaFileJson;
  });
}

/** Any immutable index file, by its `t`, as `ShardFileSchema`. */
export function checkShardFile(json: unknown): Checked<TermsFile | PageFile | HeadsFile | DictFile | RefsFile | SuffixesFile | CatalogFile | DeltaFileJson> {
  const t = isObject(json) ? json.t : undefined;
  switch (t) {
    case 'terms':
      return checkTermsFile(json);
    case 'page':
      return checkPageFile(json);
    case 'heads':
      return checkHeadsFile(json);
    case 'dict':
      return checkDictFile(json);
    case 'refs':
      return checkRefsFile(json);
    case 'suffixes':
      return checkSuffixesFile(json);
    case 'catalog':
      return checkCatalogFile(json);
    case 'delta':
      return checkDeltaFile(json);
    default:
      return { ok: false, issue: { path: isObject(json) ? 't' : '(root)', message: isObject(json) ? 'not an index file type' : 'expected an object' } };
  }
}

/** The paged fields of a term entry, typed. */
export const pagedOf = (entry: TermEntryJson): Record<string, PagedFieldJson> | undefined => (entry.length === 3 ? entry[2] : undefined);
