/**
 * `shelf announce <file>`: publishes an artifact that is already attached to a GitHub release,
 * from inside a GitHub Actions job.
 *
 * 1. Reads `v1/config.json` of the registry: the audience tokens must carry and the announce URLs.
 * 2. Requests an OIDC token for that audience from `ACTIONS_ID_TOKEN_REQUEST_URL` with
 *    `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (both exist only with `permissions: id-token: write`), and
 *    masks it in the job log (`::add-mask::`). The token is never printed otherwise.
 * 3. Builds the body from the file: a bundle's `manifest.json` (read from inside the `.mcpb`) or
 *    a skill's `SKILL.md` front matter, the file's size and sha256, the release tag, the
 *    prerelease flag and the platform.
 * 4. POSTs it, retrying with backoff while the registry says the asset is `not found in release`
 *    (release assets take a moment to appear), on 429/5xx and on network errors.
 *
 * `--json` output: the registry's answer, `{package, version, artifact, status, total_artifacts}`,
 * plus `attempts`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import semver from 'semver';
import { ShelfError, isShelfError } from '../core/errors.ts';
import { fetchWithDeadline, type WholeAnswer } from '../core/read-bounds.ts';
import { OSES, parsePackageName, parseVersion, type Kind } from '../core/names.ts';
import { readArtifactMetadata } from '../archive/artifact-metadata.ts';
import { DEFAULT_MAX_ATTEMPTS, buildAnnounceBody, postAnnounce } from '../client/announce.ts';
import { COMMON_OPTIONS, DEFAULT_REGISTRY, integerOption, parseArch, commandArgs, parseOs, usageError, type CommandContext } from './common.ts';

/**
 * What `shelf announce` says in a job that may not request an OIDC token. `action.yml` checks the
 * same before it packs or uploads anything, and says the same, word for word (tested).
 */
export const OIDC_UNAVAILABLE_MESSAGE = oidcUnavailableMessage('shelf announce');

/** The options every write from a job takes (`shelf announce`, `shelf yank`...): retries and `--json`. */
export const WRITE_OPTIONS = {
  'max-attempts': { type: 'string' },
  'retry-delay': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/**
 * The retry options of a write, validated: `--max-attempts` (at least 1) and `--retry-delay` (ms).
 *
 * @throws ShelfError `invalid_argument` naming the flag
 */
export function retryOptions(command: string, values: { 'max-attempts'?: string | undefined; 'retry-delay'?: string | undefined }): { maxAttempts: number; retryDelayMs: number } {
  return {
    maxAttempts: integerOption(command, '--max-attempts', values['max-attempts'], 1, DEFAULT_MAX_ATTEMPTS),
    retryDelayMs: integerOption(command, '--retry-delay', values['retry-delay'], 0, 3000),
  };
}

/**
 * Where the job requests its OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL` and `_TOKEN`).
 *
 * @throws ShelfError `oidc_unavailable` outside a job with `id-token: write`
 */
export function oidcRequestOf(command: string, env: Record<string, string | undefined>): { requestUrl: string; requestToken: string } {
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!requestUrl || !requestToken) throw new ShelfError('oidc_unavailable', oidcUnavailableMessage(command));
  return { requestUrl, requestToken };
}

/** What a command that needs an OIDC token says in a job that may not request one. */
export function oidcUnavailableMessage(command: string): string {
  return (
    `ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set. "${command}" runs in a GitHub Actions job ` +
    'that may request an OIDC token: add "permissions: id-token: write" to the job (or workflow).'
  );
}

/** Help text of `shelf announce`. */
export function announceHelp(): string {
  return `Usage: shelf announce <file.mcpb|file.skill> [options]

Publishes a bundle or skill that is attached to a GitHub release, from a GitHub Actions job
with "permissions: id-token: write". Reads the registry's audience and announce URL from its
v1/config.json, requests an OIDC token for that audience (masked in the log), and announces
the file: its manifest.json (bundles) or SKILL.md front matter (skills), size and sha256. The
registry downloads the asset from the release itself and checks it. While the asset is not yet
visible in the release, the announce is retried with backoff.

Options:
  --registry URL     Registry base URL (default: $SHELF_REGISTRY, else ${DEFAULT_REGISTRY})
  --release-tag T    Release the file is attached to (default: $GITHUB_REF_NAME)
  --filename NAME    The asset's name in the release (default: the file's name)
  --name @s/n        Package name (default: the manifest's or front matter's name, scoped by
                     $GITHUB_REPOSITORY_OWNER when it has no scope)
  --os OS            Bundles: darwin, linux, win32 or any. Default: the manifest's
                     compatibility.platforms when it names exactly one OS, else any
  --arch ARCH        Bundles: x64, arm64 or any (default: any)
  --prerelease       Mark the version as a prerelease (default: when the version has a
                     prerelease part, e.g. 1.0.0-beta.1)
  --kind KIND        bundle or skill (default: from the extension, .mcpb or .skill)
  --max-attempts N   Attempts in all while the asset is not yet in the release (default ${DEFAULT_MAX_ATTEMPTS})
  --retry-delay MS   First wait between attempts, doubled each time (default 3000)
  --json             Print the registry's answer {package, version, artifact, status,
                     total_artifacts} and attempts as JSON
  -h, --help         Show this help

Environment: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (set by GitHub
Actions for jobs with id-token: write), GITHUB_REF_NAME, GITHUB_REPOSITORY_OWNER, GITHUB_ACTIONS.`;
}

/**
 * Announces an artifact.
 *
 * @returns The exit code.
 */
export async function announceCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf announce';
  const parsed = commandArgs(command, args, {
    registry: COMMON_OPTIONS.registry,
    'release-tag': { type: 'string' },
    filename: { type: 'string' },
    name: { type: 'string' },
    os: { type: 'string' },
    arch: { type: 'string' },
    prerelease: { type: 'boolean' },
    kind: { type: 'string' },
    ...WRITE_OPTIONS,
  }, ctx, announceHelp());
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  // Every option is checked before any file is read or request made.
  if (positionals.length !== 1) throw usageError(command, positionals.length === 0 ? 'missing the file to announce' : 'expected one file');
  const file = resolve(ctx.cwd, positionals[0]!);
  const kind = parseKind(command, values.kind, file);
  const os = parseOs(command, values.os);
  const arch = parseArch(command, values.arch);
  if (kind === 'skill' && (os !== undefined || arch !== undefined)) throw usageError(command, '--os/--arch apply to bundles only (skills are universal)');
  const { maxAttempts, retryDelayMs } = retryOptions(command, values);
  const releaseTag = values['release-tag'] ?? ctx.env.GITHUB_REF_NAME;
  if (!releaseTag) throw usageError(command, 'no release tag: pass --release-tag or run in a GitHub Actions job for a tag (GITHUB_REF_NAME)');
  const filename = values.filename ?? basename(file);
  const { requestUrl, requestToken } = oidcRequestOf(command, ctx.env);

  // The artifact: bytes, digest, and what it says about itself.
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new ShelfError('invalid_argument', `Cannot read ${file}: ${(error as Error).message}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const { metadata } = await readArtifactMetadata(kind, bytes);
  const name = packageName(values.name, metadata, ctx.env.GITHUB_REPOSITORY_OWNER);
  const version = packageVersion(kind, metadata, releaseTag);
  const prerelease = values.prerelease === true || semver.prerelease(version) !== null;
  const platform = kind === 'bundle' ? { os: os ?? defaultOs(metadata), arch: arch ?? 'any' } : {};
  const body = buildAnnounceBody({
    kind,
    name,
    version,
    metadata,
    releaseTag,
    prerelease,
    artifact: { filename, sha256, size: bytes.byteLength, ...platform },
  });

  const client = ctx.client(values.registry);
  const config = await client.config();
  const token = await requestOidcToken(requestUrl, requestToken, config.audience);
  // GitHub hides masked values in the rest of the log; the token itself is printed nowhere else.
  if (ctx.env.GITHUB_ACTIONS === 'true') ctx.out(`::add-mask::${token}`);

  const label = `${name}@${version}${kind === 'bundle' ? ` (${platform.os}-${platform.arch})` : ''}`;
  const announceUrl = kind === 'bundle' ? config.announce.bundles : config.announce.skills;
  const result = await postAnnounce({
    url: announceUrl,
    token,
    body,
    maxAttempts,
    retryDelayMs,
    sleep: ctx.sleep,
    onRetry: ({ attempt, maxAttempts: max, delayMs, reason }) =>
      ctx.err(`Announce of ${label}, attempt ${attempt}/${max}: ${reason}. Retrying in ${(delayMs / 1000).toFixed(1)}s.`),
  });

  if (values.json) {
    ctx.out(JSON.stringify({ ...result.response, attempts: result.attempts }, null, 2));
    return 0;
  }
  const s = ctx.style;
  const r = result.response;
  ctx.out(
    `${s.green('Announced')} ${s.bold(label)}: ${r.status === 'created' ? s.green('created') : 'unchanged (already published)'}; ` +
      `${r.total_artifacts} ${r.total_artifacts === 1 ? 'artifact' : 'artifacts'} in this version.`,
  );
  return 0;
}

/** Longest wait for the Actions token service's whole answer (it answers in well under a second). */
export const OIDC_TIMEOUT_MS = 30_000;
/** Largest token-service answer read (a token is a few kilobytes). */
export const MAX_OIDC_ANSWER_BYTES = 64 * 1024;

/**
 * Asks the GitHub Actions token service for an OIDC token with `audience`.
 *
 * @param options - `timeoutMs`: longest wait for the whole answer, a positive integer (default
 *   {@link OIDC_TIMEOUT_MS}); `fetch`: the fetch implementation (default the global one).
 * @throws ShelfError `oidc_request_failed` (HTTP error, no answer in time, an answer over
 *   {@link MAX_OIDC_ANSWER_BYTES}, no `value` in the answer). Messages never contain the request
 *   token or the issued token. `invalid_argument` for a `timeoutMs` that is not a positive integer.
 */
export async function requestOidcToken(
  requestUrl: string,
  requestToken: string,
  audience: string,
  options: { timeoutMs?: number; fetch?: typeof fetch } = {},
): Promise<string> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? OIDC_TIMEOUT_MS;
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new ShelfError('oidc_request_failed', 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL.');
  }
  // The service's URL already carries a query (api-version); the audience is one more parameter.
  url.searchParams.set('audience', audience);
  let answer: WholeAnswer;
  try {
    answer = await fetchWithDeadline(fetchImpl, url.href, {
      headers: { authorization: `bearer ${requestToken}`, accept: 'application/json' },
      timeoutMs,
      maxBytes: MAX_OIDC_ANSWER_BYTES,
    });
  } catch (error) {
    if (isShelfError(error, 'invalid_argument')) throw error;
    const reason = isShelfError(error, 'registry_unreachable')
      ? `no whole answer within ${timeoutMs} ms`
      : isShelfError(error, 'document_too_large')
        ? `the answer is larger than ${MAX_OIDC_ANSWER_BYTES} bytes`
        : (error as Error).message;
    throw new ShelfError('oidc_request_failed', `The OIDC token request to ${url.origin} failed: ${reason}`);
  }
  if (!answer.ok) {
    throw new ShelfError('oidc_request_failed', `The OIDC token request answered HTTP ${answer.status}; does the job have "permissions: id-token: write"?`);
  }
  const text = new TextDecoder().decode(answer.bytes);
  let value: unknown;
  try {
    value = (JSON.parse(text) as { value?: unknown }).value;
  } catch {
    value = undefined;
  }
  if (typeof value !== 'string' || value.split('.').length !== 3) {
    throw new ShelfError('oidc_request_failed', 'The OIDC token request did not return a token ({"value": "<jwt>"}).');
  }
  return value;
}

function parseKind(command: string, value: string | undefined, file: string): Kind {
  if (value !== undefined) {
    if (value !== 'bundle' && value !== 'skill') throw usageError(command, `--kind must be bundle or skill; got "${value}"`);
    return value;
  }
  if (file.endsWith('.mcpb')) return 'bundle';
  if (file.endsWith('.skill')) return 'skill';
  throw usageError(command, `cannot tell whether ${basename(file)} is a bundle or a skill from its extension; pass --kind`);
}


function packageName(explicit: string | undefined, metadata: Record<string, unknown>, owner: string | undefined): string {
  if (explicit !== undefined) return parsePackageName(explicit).full;
  const own = metadata.name;
  if (typeof own !== 'string' || own === '') throw new ShelfError('invalid_manifest', 'The artifact names no package; pass --name @scope/name.');
  if (own.startsWith('@')) return parsePackageName(own).full;
  if (!owner) {
    throw new ShelfError('invalid_argument', `The name "${own}" has no scope and GITHUB_REPOSITORY_OWNER is not set; pass --name @scope/${own}.`);
  }
  return parsePackageName(`@${owner}/${own}`).full;
}

function packageVersion(kind: Kind, metadata: Record<string, unknown>, releaseTag: string): string {
  if (kind === 'bundle') {
    if (typeof metadata.version !== 'string') throw new ShelfError('invalid_manifest', 'The manifest has no version.');
    return parseVersion(metadata.version);
  }
  const meta = metadata.metadata;
  const declared = typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>).version : undefined;
  if (typeof declared === 'string') return parseVersion(declared);
  // A skill without metadata.version is versioned by its release: v1.2.0 → 1.2.0.
  const fromTag = releaseTag.replace(/^v/, '');
  if (semver.valid(fromTag) === fromTag) return parseVersion(fromTag);
  throw new ShelfError('invalid_skill', `The skill has no metadata.version and the release tag "${releaseTag}" is not a version.`);
}

/** A manifest limited to exactly one OS (as platform-specific builds are) is announced for it. */
function defaultOs(manifest: Record<string, unknown>): string {
  const compatibility = manifest.compatibility;
  const platforms = typeof compatibility === 'object' && compatibility !== null ? (compatibility as Record<string, unknown>).platforms : undefined;
  if (Array.isArray(platforms) && platforms.length === 1 && (OSES as readonly string[]).includes(String(platforms[0]))) return String(platforms[0]);
  return 'any';
}
