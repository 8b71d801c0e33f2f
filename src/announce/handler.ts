/**
 * The announce function as a standard AWS Lambda handler for a function URL (payload format 2.0).
 * The local server adapts plain HTTP requests to this same handler, so there is one code path.
 *
 * Routes: `POST /v1/bundles/announce`, `POST /v1/skills/announce`. Everything else is 404/405.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import { announce, type AnnounceDeps } from './announce.ts';

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

const ROUTES: Record<string, Kind> = { '/v1/bundles/announce': 'bundle', '/v1/skills/announce': 'skill' };

/** Builds the handler around its dependencies. */
export function createAnnounceHandler(deps: AnnounceDeps): (event: FunctionUrlEvent) => Promise<FunctionUrlResult> {
  return async (event) => {
    try {
      const kind = ROUTES[event.rawPath.replace(/\/+$/, '')];
      if (!kind) throw new ShelfError('route_not_found', `No route for ${event.rawPath}.`);
      const method = event.requestContext.http.method.toUpperCase();
      if (method === 'OPTIONS') return { statusCode: 204, headers: corsHeaders(), body: '' };
      if (method !== 'POST') throw new ShelfError('method_not_allowed', `Use POST for ${event.rawPath}.`);
      const headers = lowerCaseKeys(event.headers ?? {});
      const body = parseBody(event, headers['content-type']);
      const result = await announce(kind, headers.authorization, body, deps);
      return json(result.statusCode, result.body);
    } catch (err) {
      if (err instanceof ShelfError) return json(err.status, err.toBody());
      // Unexpected: log for the operator, answer without internals.
      console.error('announce failed', event.requestContext.requestId ?? '', err);
      return json(500, new ShelfError('internal_error').toBody());
    }
  };
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
  return value;
}

/** Refuses deep nesting and keys that could pollute prototypes when merged later. */
function checkJsonShape(value: unknown, depth: number): void {
  if (depth > MAX_JSON_DEPTH) throw new ShelfError('invalid_body', `The body is nested deeper than ${MAX_JSON_DEPTH} levels.`);
  if (Array.isArray(value)) {
    for (const item of value) checkJsonShape(item, depth + 1);
  } else if (value && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
        throw new ShelfError('invalid_body', `The body contains the forbidden key "${key}".`);
      }
      checkJsonShape((value as Record<string, unknown>)[key], depth + 1);
    }
  }
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
