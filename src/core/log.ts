/**
 * Structured logs: one JSON object per line, written the same way by the Lambda function and by
 * `shelf serve`, so that the same CloudWatch metric filters (`infra/shelf-stack.ts`) and the same
 * `jq` one-liners read both. Lines are built from named fields only (never from request headers
 * or bodies as a whole), so a token can never reach a log.
 *
 * @module
 */

/** One log line: a flat object of JSON values. `type` says which kind of line it is. */
export interface LogLine {
  /** `request` (an announce or status request), `access` (a read), `event` (start-up, a job). */
  type: 'request' | 'access' | 'event';
  /** When the line was written, ISO 8601 UTC. */
  time: string;
  [field: string]: unknown;
}

/** Where log lines go. */
export type LogSink = (line: LogLine) => void;

/** A sink that drops every line (tests, embedding). */
export const silentLog: LogSink = () => undefined;

/**
 * A sink writing one JSON line per call to `write` (default: standard output, written directly
 * so that the Lambda runtime stores each line as it is and JSON metric filters can read it).
 */
export function jsonLines(write: (text: string) => void = (text) => void process.stdout.write(text)): LogSink {
  return (line) => write(`${JSON.stringify(line)}\n`);
}

/** The longest string a log line keeps of a value that came from a request. */
export const MAX_LOGGED_STRING = 256;

/** A value from a request, fit for a log line: strings cut to {@link MAX_LOGGED_STRING}, anything else dropped. */
export function loggable(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return value.length > MAX_LOGGED_STRING ? `${value.slice(0, MAX_LOGGED_STRING)}…` : value;
}
