/**
 * The announce function as a standard AWS Lambda handler for a function URL (payload format 2.0).
 * The local server adapts plain HTTP requests to this same handler, so there is one code path.
 *
 * Routes: `POST /v1/bundles/announce`, `POST /v1/skills/announce` (the announce pipeline,
 * `announce.ts`), `POST /v1/bundles/status`, `POST /v1/skills/status` (the status pipeline,
 * `status.ts`). Everything else is 404/405. Both pipelines take the same dependencies.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import { silentLog, type LogSink } from '../core/log.ts';
import { announce, type AnnounceDeps } from './announce.ts';
import { observeRequest, requestLine, type RequestFacts, type RequestLogLine } from './request-log.ts';
import { changeStatus } from './status.ts';

/** The parts of a function URL event (payload 2.0) the handler reads. */
export interface FunctionUrlEvent {
  version?: string;
  rawPath: string;
  rawQueryString?: string;
  headers?: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded?: boolean;
  requestContext: { http: { method: string; path?: string; sourceIp?: string }; requestId?: string };
}

/** A function URL response. */
export interface FunctionUrlResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Largest accepted body: manifests are a few kB; 1 MiB leaves ample room and bounds parsing. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Deepest JSON nesting accepted; manifests are shallow, and deep nesting is a parser attack. */
export const MAX_JSON_DEPTH = 64;
/** Longest string (or key) accepted anywhere in a body: ample for a long description, not a payload. */
export const MAX_JSON_STRING_LENGTH = 64 * 1024;
/** Keys that could pollute prototypes if a body were ever merged into an object. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** The routes: each path's kind and pipeline. */
const ROUTES: Record<string, { kind: Kind; run: typeof announce | typeof changeStatus }> = {
  '/v1/bundles/announce': { kind: 'bundle', run: announce },
  '/v1/skills/announce': { kind: 'skill', run: announce },
  '/v1/bundles/status': { kind: 'bundle', run: changeStatus },
  '/v1/skills/status': { kind: 'skill', run: changeStatus },
};

/** Options of {@link createAnnounceHandler}. */
export interface AnnounceHandlerOptions {
  /** Where the one structured line per request goes ({@link RequestLogLine}). Default: nowhere. */
  log?: LogSink;
}

/**
 * Builds the handler around its dependencies: the front door every request goes through. It
 * routes the request, runs its pipeline with dependencies that note what the request was (see
 * `request-log.ts`), turns errors into answers, and writes one log line per request.
 */
export function createAnnounceHandler(deps: AnnounceDeps, options: AnnounceHandlerOptions = {}): (event: FunctionUrlEvent) => Promise<FunctionUrlResult> {
  const log = options.log ?? silentLog;
  return async (event) => {
    const started = performance.now();
    const facts: RequestFacts = {};
    const result = await handle(event, observeRequest(deps, facts), facts);
    const request = { requestId: event.requestContext.requestId ?? '', method: event.requestContext.http.method, path: event.rawPath };
    log(requestLine(request, { status: result.statusCode, body: safeParse(result.body) }, facts, performance.now() - started));
    return result;
  };
}

/** One request, from route to answer. */
async function handle(event: FunctionUrlEvent, deps: AnnounceDeps, facts: RequestFacts): Promise<FunctionUrlResult> {
  try {
    const path = event.rawPath.replace(/\/+$/, '');
    const route = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (!route) throw new ShelfError('route_not_found', `No route for ${event.rawPath}.`);
    facts.kind = route.kind;
    const method = event.requestContext.http.method.toUpperCase();
    if (method === 'OPTIONS') return { statusCode: 204, headers: corsHeaders(), body: '' };
    if (method !== 'POST') throw new ShelfError('method_not_allowed', `Use POST for ${event.rawPath}.`);
    const headers = lowerCaseKeys(event.headers ?? {});
    const body = parseBody(event, headers['content-type']);
    facts.body = body;
    const result = await route.run(route.kind, headers.authorization, body, deps);
    return json(result.statusCode, result.body);
  } catch (err) {
    if (err instanceof ShelfError) {
      facts.error = err;
      return errorAnswer(err);
    }
    // Unexpected: log for the operator, answer without internals.
    console.error('request failed', event.rawPath, event.requestContext.requestId ?? '', err);
    facts.error = new ShelfError('internal_error');
    return json(500, facts.error.toBody());
  }
}

/**
 * The answer to a refusal: its status and body, and a `Retry-After` when the error says when to
 * come back (a quota's next window).
 */
export function errorAnswer(err: ShelfError): FunctionUrlResult {
  const answer = json(err.status, err.toBody());
  const retryAfter = (err.details as { retry_after_seconds?: unknown } | undefined)?.retry_after_seconds;
  if (typeof retryAfter === 'number' && Number.isFinite(retryAfter)) answer.headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfter)));
  return answer;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function parseBody(event: FunctionUrlEvent, contentType: string | undefined): unknown {
  if (!/^application\/json\s*(;|$)/i.test(contentType ?? '')) {
    throw new ShelfError('unsupported_media_type', `Content-Type must be application/json, got ${JSON.stringify(contentType ?? null)}.`);
  }
  const raw = event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : (event.body ?? '');
  if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) {
    throw new ShelfError('body_too_large', `The body is larger than ${MAX_BODY_BYTES} bytes.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ShelfError('invalid_json');
  }
  checkJsonShape(value, 0);
  const duplicate = findDuplicateKey(raw);
  if (duplicate !== null) {
    throw new ShelfError('duplicate_key', `The body has the key ${JSON.stringify(duplicate.slice(0, 80))} twice in one object; JSON parsers disagree on which one wins.`);
  }
  return value;
}

/** Refuses deep nesting, huge strings and keys that could pollute prototypes when merged later. */
function checkJsonShape(value: unknown, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new ShelfError('invalid_body', `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  if (typeof value === 'string') {
    if (value.length > MAX_JSON_STRING_LENGTH) throw new ShelfError('invalid_body', `The body has a string longer than ${MAX_JSON_STRING_LENGTH} characters.`);
  } else if (Array.isArray(value)) {
    for (const item of value) checkJsonShape(item, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) throw new ShelfError('invalid_body', `The body contains the forbidden key "${key}".`);
      if (key.length > MAX_JSON_STRING_LENGTH) throw new ShelfError('invalid_body', `The body has a key longer than ${MAX_JSON_STRING_LENGTH} characters.`);
      checkJsonShape((value as Record<string, unknown>)[key], depth + 1);
    }
  }
}

/**
 * The first key that occurs twice in one object of `text` (valid JSON), or null. `JSON.parse`
 * silently keeps the last duplicate while other parsers keep the first, so a body with duplicates
 * could mean one thing here and another to whoever else reads it. One linear pass, no recursion.
 */
function findDuplicateKey(text: string): string | null {
  const objects: Array<Set<string> | null> = []; // one entry per open container; null for arrays
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b) objects.push(new Set());
    else if (c === 0x5b) objects.push(null);
    else if (c === 0x7d || c === 0x5d) objects.pop();
    else if (c === 0x22) {
      let end = i + 1;
      while (text.charCodeAt(end) !== 0x22) end += text.charCodeAt(end) === 0x5c ? 2 : 1;
      const keys = objects[objects.length - 1];
      let next = end + 1;
      while (next < text.length && ' \t\r\n'.includes(text[next]!)) next++;
      // In valid JSON a string followed by ":" is a key of the innermost object.
      if (keys && text[next] === ':') {
        const literal = text.slice(i, end + 1);
        const key = literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
        if (keys.has(key)) return key;
        keys.add(key);
      }
      i = end;
    }
  }
  return null;
}

function json(statusCode: number, body: unknown): FunctionUrlResult {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8', ...corsHeaders() }, body: JSON.stringify(body) };
}

function corsHeaders(): Record<string, string> {
  return {
    'access-control-allow-origin': '*',
    'access-control-allow-methods': 'POST, OPTIONS',
    'access-control-allow-headers': 'authorization, content-type',
  };
}

function lowerCaseKeys(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}
