/**
 * The one structured line the function writes per request (announce, status, or anything else
 * that reaches the handler's front door): who asked (repository, run), for what (kind, package,
 * version, platform), what came of it (status, outcome, error code), how long it took and how many
 * bytes were fetched from GitHub. The Lambda function and `shelf serve` write the same line.
 *
 * The facts are gathered without the pipelines' help: the front door wraps the token verifier and
 * the asset fetcher of the request's dependencies ({@link observeRequest}), so every pipeline
 * behind it, present or future, is logged alike. The token itself is never a field.
 *
 * @module
 */
import type { ShelfError } from '../core/errors.ts';
import { loggable, type LogLine } from '../core/log.ts';
import type { AnnounceDeps } from './announce.ts';

/** What a request's line says. Absent fields were not known (a request refused early). */
export interface RequestLogLine extends LogLine {
  type: 'request';
  request_id: string;
  method: string;
  path: string;
  status: number;
  /** `accepted` (2xx), `refused` (4xx: the request's fault), `failed` (5xx). */
  outcome: 'accepted' | 'refused' | 'failed';
  /** The answer's own status field on success (`created`, `unchanged`, ...). */
  result?: string;
  /** The stable error code of a refusal or failure. */
  code?: string;
  /** Its message, cut short. */
  message?: string;
  kind?: string;
  package?: string;
  version?: string;
  /** `os-arch` of the announced artifact. */
  platform?: string;
  /** From the verified token only. */
  repository?: string;
  run_id?: string;
  run_attempt?: string;
  workflow_ref?: string;
  duration_ms: number;
  /** Bytes of the release asset fetched from GitHub. */
  bytes_fetched?: number;
}

/** Facts gathered while one request runs. */
export interface RequestFacts {
  kind?: string;
  body?: unknown;
  claims?: { repository: string; run_id?: string | undefined; run_attempt?: string | undefined; workflow_ref?: string | undefined };
  bytesFetched?: number;
  error?: ShelfError;
}

/**
 * The request's dependencies, with the token verifier and the asset fetcher reporting what they
 * learn into `facts`. Nothing else changes.
 */
export function observeRequest(deps: AnnounceDeps, facts: RequestFacts): AnnounceDeps {
  return {
    ...deps,
    verifyToken: async (token) => {
      const claims = await deps.verifyToken(token);
      facts.claims = claims;
      return claims;
    },
    fetchAsset: async (request) => {
      const asset = await deps.fetchAsset(request);
      facts.bytesFetched = (facts.bytesFetched ?? 0) + asset.bytes.byteLength;
      return asset;
    },
  };
}

/** The line for a finished request. */
export function requestLine(
  request: { requestId: string; method: string; path: string },
  answer: { status: number; body: unknown },
  facts: RequestFacts,
  durationMs: number,
): RequestLogLine {
  const line: RequestLogLine = {
    type: 'request',
    time: new Date().toISOString(),
    request_id: request.requestId,
    method: request.method,
    path: loggable(request.path) ?? '',
    status: answer.status,
    outcome: answer.status < 400 ? 'accepted' : answer.status < 500 ? 'refused' : 'failed',
    duration_ms: Math.round(durationMs),
  };
  const set = (field: keyof RequestLogLine, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') (line as Record<string, unknown>)[field] = value;
  };
  if (answer.status < 400) set('result', loggable((answer.body as { status?: unknown } | null)?.status));
  if (facts.error) {
    set('code', facts.error.code);
    set('message', loggable(facts.error.message));
  }
  set('kind', facts.kind);
  // From the body: untrusted strings, cut short (JSON escapes the rest), logged to say what was asked.
  const body = (facts.body && typeof facts.body === 'object' ? facts.body : {}) as Record<string, unknown>;
  set('package', loggable(body.name));
  set('version', loggable(body.version));
  const artifact = (body.artifact && typeof body.artifact === 'object' ? body.artifact : {}) as Record<string, unknown>;
  const os = loggable(artifact.os);
  const arch = loggable(artifact.arch);
  if (os && arch) set('platform', `${os}-${arch}`);
  else if (facts.kind === 'skill' && body.artifact) set('platform', 'any-any');
  if (facts.claims) {
    set('repository', facts.claims.repository);
    set('run_id', facts.claims.run_id);
    set('run_attempt', facts.claims.run_attempt);
    set('workflow_ref', loggable(facts.claims.workflow_ref));
  }
  set('bytes_fetched', facts.bytesFetched);
  return line;
}
