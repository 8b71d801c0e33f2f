/**
 * The AWS Lambda entry point of the announce function, behind a function URL (payload 2.0), and
 * of the three jobs the stack runs on a schedule: the garbage collector (`SHELF_FUNCTION=gc`, see
 * {@link createGcHandler}), the search index's compactor (`SHELF_FUNCTION=compact`, see
 * {@link createCompactHandler}) and the download counts (`SHELF_FUNCTION=downloads`, see
 * {@link createDownloadsHandler}): one bundle, four functions.
 * `npm run build:lambda` bundles this file (and only what it imports) into
 * `dist/lambda/index.mjs`; the function's handler setting is `index.handler`.
 *
 * Everything is built once per container, during the INIT phase, with a top-level `await`: the
 * configuration (`SHELF_AUDIENCE` and friends, see the README), the store (`SHELF_STORE`,
 * probed for conditional writes) and the token verifier, whose JWKS cache then survives across
 * warm invocations. A misconfigured function therefore fails at INIT with a message naming the
 * variable, and never answers a request: there is no shared default audience to fall back to.
 *
 * @module
 */
import { announceDepsFromConfig } from './announce/from-config.ts';
import { withGithubTokenFromSecret } from './announce/github-token-secret.ts';
import { createAnnounceHandler, type FunctionUrlEvent, type FunctionUrlResult } from './announce/handler.ts';
import { ConfigError, loadAnnounceConfig } from './config.ts';
import { storeFromEnv } from './store/from-env.ts';
import { jsonLines } from './core/log.ts';
import { DEFAULT_GC_GRACE_MS, DEFAULT_WRITER_WINDOW_MS, gc } from './registry/gc.ts';
import { compact, type CompactReport } from './registry/compact.ts';
import { ingestCloudFrontLogs, type IngestedLogs } from './downloads/cloudfront-log.ts';
import { publishDownloads } from './downloads/publish.ts';
import { signersFromSettings } from './signing/from-config.ts';
import { publishSigningKey } from './signing/key-list.ts';
import type { Signer } from './signing/signer.ts';
import type { ObjectStore } from './store/object-store.ts';
import { rebuild } from './registry/rebuild.ts';
import { parsePackageName } from './core/names.ts';

/** What an operator sends to re-sign and rebuild on AWS: `aws lambda invoke --payload '{"shelf":"rebuild"}'`. */
export interface RebuildRequest {
  shelf: 'rebuild';
  /** Only this package (`@scope/name`). */
  package?: string;
}

function isRebuildRequest(event: unknown): boolean {
  const e = event as { shelf?: unknown; requestContext?: { http?: unknown } } | null;
  return e !== null && typeof e === 'object' && e.requestContext?.http === undefined && e.shelf === 'rebuild';
}

/** Runs `shelf rebuild` inside the function, with its signer, and answers what changed. */
async function runRebuild(
  store: ObjectStore,
  signer: Signer,
  request: RebuildRequest,
): Promise<{ changed: string[]; unchanged: number; packages: number; mismatched: Array<{ key: string; platform: string }> }> {
  const result = await rebuild(store, { signer, ...(typeof request.package === 'string' ? { package: parsePackageName(request.package) } : {}) });
  jsonLines()({ type: 'event', time: new Date().toISOString(), event: 'rebuild', changed: result.changed.length, unchanged: result.unchanged.length, packages: result.packages, mismatched: result.mismatched.length });
  return { changed: result.changed, unchanged: result.unchanged.length, packages: result.packages, mismatched: result.mismatched };
}

/** A function-URL handler, as the Lambda runtime calls it. */
export type LambdaHandler = (event: FunctionUrlEvent) => Promise<FunctionUrlResult>;

/**
 * Builds the handler from environment variables: configuration first (so a missing audience
 * never touches the bucket; the GitHub token read from `SHELF_GITHUB_TOKEN_SECRET` if set), then
 * the store, then the announce dependencies.
 *
 * On Lambda the store must be `s3://...`: the function's own filesystem is neither shared nor
 * durable, so a filesystem store there would silently lose every announce.
 *
 * @param env - The environment (`process.env` on Lambda).
 * @throws ConfigError naming the variable at fault; the store's own errors when it cannot start.
 */
export async function createLambdaHandler(env: Record<string, string | undefined>): Promise<LambdaHandler> {
  // The GitHub token, when the stack keeps it in Secrets Manager (never in the template).
  const config = loadAnnounceConfig(await withGithubTokenFromSecret(env));
  const storeUrl = env.SHELF_STORE?.trim() ?? '';
  if (!storeUrl.startsWith('s3://')) {
    throw new ConfigError(
      `SHELF_STORE must be an s3://bucket/prefix URL on Lambda (the function's filesystem is not durable), got ${JSON.stringify(env.SHELF_STORE ?? null)}.`,
    );
  }
  if (!config.signing.kmsKeyId) {
    throw new ConfigError('SHELF_SIGNING_KMS_KEY_ID is required on Lambda: the registry signs with a KMS key (the stack creates one); a key file would not survive the container.');
  }
  const store = await storeFromEnv(env);
  const { signer, previous } = await signersFromSettings(config.signing);
  await publishSigningKey(store, signer, { ...(previous ? { previous } : {}), overlapMs: config.signing.overlapMs });
  // One JSON line per request on standard output, read by the stack's metric filters.
  const announce = createAnnounceHandler(announceDepsFromConfig(config, store, signer), { log: jsonLines() });
  return async (event) => {
    // A direct invocation (IAM-authenticated; never a function URL request, which always carries
    // requestContext.http) may ask for a rebuild, signed with the function's key.
    if (isRebuildRequest(event)) return runRebuild(store, signer, event as unknown as RebuildRequest) as unknown as FunctionUrlResult;
    return announce(event);
  };
}

/**
 * The scheduled garbage collector (an EventBridge rule invokes it; the event is not read): runs
 * `shelf gc` on the bucket `SHELF_STORE` names and logs what it freed. `SHELF_GC_GRACE_MS` and
 * `SHELF_GC_WRITER_WINDOW_MS` override the defaults (1 day, 15 minutes). The store is not
 * probed: the probe deletes its own key, and this function's role may delete nothing outside
 * `v1/search/`.
 *
 * @throws ConfigError naming the variable at fault
 */
export async function createGcHandler(env: Record<string, string | undefined>): Promise<() => Promise<{ freed: { files: number; bytes: number } }>> {
  s3Url(env, 'SHELF_STORE');
  const ms = (name: string, fallback: number): number => {
    const text = env[name]?.trim();
    if (text === undefined || text === '') return fallback;
    if (!/^\d+$/.test(text)) throw new ConfigError(`${name} must be a whole number of milliseconds, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  const graceMs = ms('SHELF_GC_GRACE_MS', DEFAULT_GC_GRACE_MS);
  const writerWindowMs = ms('SHELF_GC_WRITER_WINDOW_MS', DEFAULT_WRITER_WINDOW_MS);
  const store = await storeFromEnv(env, { probe: false });
  return async () => {
    const report = await gc(store, { graceMs, writerWindowMs });
    jsonLines()({ type: 'event', time: new Date().toISOString(), event: 'gc', gc: report.kinds.map(({ deleted: { keys: _keys, ...deleted }, ...k }) => ({ ...k, deleted })), freed: report.freed });
    return { freed: report.freed };
  };
}

/**
 * The scheduled compactor of the search index (`shelf compact`; an EventBridge rule invokes it,
 * the event is not read): merges each kind's delta into its base trees when it holds
 * `policy.delta_max` packages, on the bucket `SHELF_STORE` names, and logs what it did. The store
 * is not probed: this function's role may write nothing outside `v1/search/`.
 *
 * @throws ConfigError naming the variable at fault
 */
export async function createCompactHandler(env: Record<string, string | undefined>): Promise<() => Promise<CompactReport>> {
  s3Url(env, 'SHELF_STORE');
  const store = await storeFromEnv(env, { probe: false });
  return async () => {
    const report = await compact(store);
    jsonLines()({ type: 'event', time: new Date().toISOString(), event: 'compact', kinds: report.kinds });
    return report;
  };
}

/**
 * The scheduled download counts (`shelf downloads --logs`; an EventBridge rule invokes it, the
 * event is not read): counts the new CloudFront standard logs in `SHELF_DOWNLOAD_LOGS`
 * (`s3://log-bucket/cdn`) into the day tallies of the registry `SHELF_STORE` names, then publishes
 * every package's counts, and logs what it counted. Neither store is probed: this function's role
 * may write only the counts and delete only day tallies it folded.
 *
 * @throws ConfigError naming the variable at fault
 */
export async function createDownloadsHandler(env: Record<string, string | undefined>): Promise<() => Promise<{ logs: IngestedLogs; packages: number }>> {
  s3Url(env, 'SHELF_STORE');
  const logsUrl = s3Url(env, 'SHELF_DOWNLOAD_LOGS');
  const [store, logs] = await Promise.all([storeFromEnv(env, { probe: false }), storeFromEnv({ ...env, SHELF_STORE: logsUrl }, { probe: false })]);
  return async () => {
    const counted = await ingestCloudFrontLogs(store, logs);
    const published = await publishDownloads(store);
    jsonLines()({ type: 'event', time: new Date().toISOString(), event: 'downloads', logs: counted, packages: published.packages, written: published.written.length, folded: published.folded.length });
    return { logs: counted, packages: published.packages };
  };
}

/** An `s3://bucket/prefix` variable, which every store on Lambda must be. @throws ConfigError */
function s3Url(env: Record<string, string | undefined>, name: string): string {
  const url = env[name]?.trim() ?? '';
  if (!url.startsWith('s3://')) throw new ConfigError(`${name} must be an s3://bucket/prefix URL on Lambda, got ${JSON.stringify(env[name] ?? null)}.`);
  return url;
}

type Handler = (event: never) => Promise<unknown>;
let built: Handler;
const role = process.env.SHELF_FUNCTION ?? 'announce';
try {
  if (role !== 'announce' && role !== 'gc' && role !== 'compact' && role !== 'downloads') throw new ConfigError(`SHELF_FUNCTION must be announce, gc, compact or downloads, got ${JSON.stringify(role)}`);
  built =
    role === 'gc' ? await createGcHandler(process.env)
    : role === 'compact' ? await createCompactHandler(process.env)
    : role === 'downloads' ? await createDownloadsHandler(process.env)
    : await createLambdaHandler(process.env);
} catch (err) {
  // Loud at INIT: the runtime records the failure and no request is ever answered.
  console.error(`shelf: the ${role} function cannot start: ${err instanceof Error ? err.message : String(err)}`);
  throw err;
}

/** The Lambda handler (`index.handler`): the announce function's, the collector's, the compactor's, or the download counts'. */
export const handler: LambdaHandler = (event) => built(event as never) as Promise<FunctionUrlResult>;
