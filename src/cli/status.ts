/**
 * `shelf yank`, `shelf unyank`, `shelf deprecate`, `shelf undeprecate`: a publisher changes the
 * status of a version (or deprecates a whole package) from a GitHub Actions job, with the same
 * OIDC token an announce uses. One implementation, four verbs:
 *
 * | command | sets | on |
 * |---|---|---|
 * | `shelf yank @s/n@1.2.0 [--message M]` | `yanked` | a version |
 * | `shelf unyank @s/n@1.2.0` | `active` | a version |
 * | `shelf deprecate @s/n[@1.2.0] --message M` | `deprecated` | a version, or the package |
 * | `shelf undeprecate @s/n[@1.2.0]` | `active` | a version, or the package |
 *
 * 1. Reads `v1/config.json`: the audience and the status URL; finds the package's kind (bundle or
 *    skill) from the registry's documents unless `--kind` says it.
 * 2. Requests an OIDC token for the audience and masks it in the job log.
 * 3. POSTs the change, retrying on network errors only.
 *
 * `--json` output: the registry's answer `{package, version?, status, message?, changed}`, plus
 * `attempts`.
 *
 * @module
 */
import { isShelfError } from '../core/errors.ts';
import { parseVersion, type Kind, type PackageName } from '../core/names.ts';
import { DEFAULT_MAX_ATTEMPTS, postStatus, type StatusBody } from '../client/announce.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { oidcRequestOf, requestOidcToken, retryOptions, WRITE_OPTIONS } from './announce.ts';
import { COMMON_OPTIONS, DEFAULT_REGISTRY, onlyKind, commandArgs, parsePackageSpec, usageError, type CommandContext } from './common.ts';
import { parseKind } from './rebuild.ts';

/** The four verbs, and what each sets. */
export const STATUS_VERBS = {
  yank: { status: 'yanked', version: 'required', summary: 'Yank a version: ranges and "latest" skip it; its exact version still downloads' },
  unyank: { status: 'active', version: 'required', summary: 'Undo a yank' },
  deprecate: { status: 'deprecated', version: 'optional', summary: 'Deprecate a version, or the whole package, with a message' },
  undeprecate: { status: 'active', version: 'optional', summary: 'Undo a deprecation' },
} as const;
/** A status verb. */
export type StatusVerb = keyof typeof STATUS_VERBS;

/** Help of one verb. */
export function statusHelp(verb: StatusVerb): string {
  const { version, summary } = STATUS_VERBS[verb];
  const target = version === 'required' ? '<@scope/name@version>' : '<@scope/name[@version]>';
  return `Usage: shelf ${verb} ${target} [options]

${summary}. Runs in a GitHub Actions job with "permissions: id-token: write", like "shelf
announce": the registry authorises it exactly like an announce of the package (the scope is the
token's repository owner, and only the repository the package is pinned to may change it).
${verb === 'deprecate' ? 'Without a version, the whole package is deprecated (e.g. "moved to @acme/echo-v2").\n' : ''}
Options:
  --message TEXT     Why, and what to use instead (plain text, at most 500 characters)${verb === 'deprecate' ? '; required' : ''}
  --kind KIND        bundle or skill (default: the kind the registry has the package as)
  --registry URL     Registry base URL (default: $SHELF_REGISTRY, else ${DEFAULT_REGISTRY})
  --max-attempts N   Attempts in all on network errors (default ${DEFAULT_MAX_ATTEMPTS})
  --retry-delay MS   First wait between attempts, doubled each time (default 3000)
  --json             Print the registry's answer {package, version, status, message, changed}
                     and attempts as JSON
  -h, --help         Show this help

Environment: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN (set by GitHub
Actions for jobs with id-token: write), GITHUB_ACTIONS.`;
}

/**
 * Runs one of the status verbs.
 *
 * @returns The exit code.
 */
export async function statusCommand(verb: StatusVerb, args: string[], ctx: CommandContext): Promise<number> {
  const command = `shelf ${verb}`;
  const parsed = commandArgs(command, args, {
    registry: COMMON_OPTIONS.registry,
    message: { type: 'string' },
    kind: { type: 'string' },
    ...WRITE_OPTIONS,
  }, ctx, statusHelp(verb));
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  // Every option is checked before any request is made.
  const rule = STATUS_VERBS[verb];
  const spec = parsePackageSpec(command, positionals);
  if (spec.range === undefined && rule.version === 'required') throw usageError(command, `name the version: ${spec.name.full}@<version>`);
  const version = spec.range === undefined ? undefined : exactVersion(command, spec.range);
  if (verb === 'deprecate' && !values.message) throw usageError(command, '--message is required: say why, and what to use instead');
  if (rule.status === 'active' && values.message !== undefined) throw usageError(command, '--message applies to yank and deprecate');
  const explicitKind = parseKind(command, values.kind);
  const { maxAttempts, retryDelayMs } = retryOptions(command, values);
  const { requestUrl, requestToken } = oidcRequestOf(command, ctx.env);

  const client = ctx.client(values.registry);
  const config = await client.config();
  const kind = explicitKind ?? (await onlyKind(spec.name, client.baseUrl, (k) => hasPackage(client, k, spec.name)));
  const plural = kind === 'bundle' ? 'bundles' : 'skills';
  const url = config.status?.[plural] ?? config.announce[plural].replace(/\/announce$/, '/status');
  const token = await requestOidcToken(requestUrl, requestToken, config.audience);
  if (ctx.env.GITHUB_ACTIONS === 'true') ctx.out(`::add-mask::${token}`);

  const body: StatusBody = { name: spec.name.full, status: rule.status, ...(version ? { version } : {}), ...(values.message !== undefined ? { message: values.message } : {}) };
  const label = `${spec.name.full}${version ? `@${version}` : ''}`;
  const result = await postStatus({
    url,
    token,
    body,
    maxAttempts,
    retryDelayMs,
    sleep: ctx.sleep,
    onRetry: ({ attempt, maxAttempts: max, delayMs, reason }) => ctx.err(`${verb} of ${label}, attempt ${attempt}/${max}: ${reason}. Retrying in ${(delayMs / 1000).toFixed(1)}s.`),
  });

  if (values.json) {
    ctx.out(JSON.stringify({ ...result.response, attempts: result.attempts }, null, 2));
    return 0;
  }
  const s = ctx.style;
  const r = result.response;
  const what = r.status === 'active' ? 'active again' : r.status;
  ctx.out(r.changed ? `${s.green('Done:')} ${s.bold(label)} (${kind}) is ${what}.` : `${s.bold(label)} (${kind}) was already ${what}; nothing changed.`);
  return 0;
}

/** A status names one exact version, never a range. */
function exactVersion(command: string, text: string): string {
  try {
    return parseVersion(text);
  } catch {
    throw usageError(command, `"${text}" is not an exact version (a status is set on one version, not a range)`);
  }
}

/** Whether the registry has a package document for the name as this kind. */
async function hasPackage(client: RegistryClient, kind: Kind, name: PackageName): Promise<boolean> {
  try {
    await client.getPackage(kind, name);
    return true;
  } catch (error) {
    if (isShelfError(error, 'not_found')) return false;
    throw error;
  }
}
