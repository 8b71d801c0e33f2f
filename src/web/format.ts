/**
 * Pure formatting for the web pages: sizes, dates, platforms, GitHub links, the pull command.
 * Links built from package data are only ever http(s) URLs to fixed hosts, built from values
 * checked against the shapes GitHub uses; anything else is shown as plain text.
 *
 * Pure module: no DOM, no Node APIs.
 *
 * @module
 */
import type { Kind } from '../core/names.ts';
import { PACKAGE_NAME } from '../core/package.ts';

/**
 * The registry the `shelf` CLI reads when given no `--registry` (mirrors `DEFAULT_REGISTRY` in
 * `src/cli/common.ts`, which imports Node modules and so cannot be bundled; a test keeps them equal).
 */
export const CLI_DEFAULT_REGISTRY = 'http://127.0.0.1:8787';

/**
 * True for URLs safe to put in `href`/`src`: http(s), or relative (resolved against http). Refuses
 * `javascript:`, `data:` and every other scheme, and strings with control characters (which URL
 * parsers strip, so `java\tscript:` would otherwise slip through).
 */
export function isSafeUrl(url: string): boolean {
  if (typeof url !== 'string' || /[\u0000-\u001f\u007f]/.test(url)) return false;
  try {
    const parsed = new URL(url, 'http://relative.invalid/');
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}

/** An absolute http(s) URL from package data, or null (relative URLs from a package mean nothing here). */
export function externalUrl(value: unknown): string | null {
  if (typeof value !== 'string' || !/^https?:\/\//i.test(value.trim())) return null;
  return isSafeUrl(value.trim()) ? value.trim() : null;
}

/** `512 bytes`, `1.5 KiB`, `12.3 MiB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return String(bytes);
  if (bytes < 1024) return `${bytes} ${bytes === 1 ? 'byte' : 'bytes'}`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** `2025-03-01` (UTC): dates are shown the same in every time zone. Unparseable input is returned as is. */
export function formatDate(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 10);
}

const OS_LABELS: Record<string, string> = { darwin: 'macOS', linux: 'Linux', win32: 'Windows', any: 'Any OS' };

/** `Linux x64`, `macOS arm64`, `Any platform` for universal builds. */
export function platformLabel(os: string, arch: string): string {
  if (os === 'any' && arch === 'any') return 'Any platform';
  const osLabel = OS_LABELS[os] ?? os;
  return arch === 'any' ? `${osLabel}, any arch` : `${osLabel} ${arch}`;
}

/** A platform id such as `linux-x64` as a label (see {@link platformLabel}). */
export function platformIdLabel(id: string): string {
  const dash = id.indexOf('-');
  return dash > 0 ? platformLabel(id.slice(0, dash), id.slice(dash + 1)) : id;
}

const REPOSITORY_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;
const SHA_RE = /^[0-9a-f]{7,64}$/i;

/** `https://github.com/owner/repo`, or null when `repository` is not an `owner/repo` GitHub name. */
export function githubRepoUrl(repository: string): string | null {
  return REPOSITORY_RE.test(repository) && !repository.split('/')[1]!.startsWith('.') ? `https://github.com/${repository}` : null;
}

/** `https://github.com/owner`, or null when `owner` is not a GitHub login. */
export function githubOwnerUrl(owner: string): string | null {
  return /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/.test(owner) ? `https://github.com/${owner}` : null;
}

/** The commit page, or null when either part is malformed. */
export function githubCommitUrl(repository: string, sha: string): string | null {
  const repo = githubRepoUrl(repository);
  return repo && SHA_RE.test(sha) ? `${repo}/commit/${sha.toLowerCase()}` : null;
}

/** The workflow run page (with its attempt when known), or null when malformed. */
export function githubRunUrl(repository: string, runId: string | undefined, attempt?: string): string | null {
  const repo = githubRepoUrl(repository);
  if (!repo || runId === undefined || !/^\d{1,20}$/.test(runId)) return null;
  const suffix = attempt !== undefined && /^\d{1,5}$/.test(attempt) && attempt !== '1' ? `/attempts/${attempt}` : '';
  return `${repo}/actions/runs/${runId}${suffix}`;
}

/** `7c1e2ab`: the usual short form of a commit id. */
export function shortSha(sha: string): string {
  return sha.slice(0, 7);
}

/** A workflow reference split into its parts. */
export interface WorkflowRef {
  /** `owner/repo` the workflow file lives in (a reusable workflow may live elsewhere). */
  repository: string;
  /** `.github/workflows/release.yml` */
  path: string;
  /** `refs/tags/v1.2.0` */
  ref: string;
}

/**
 * Parses a `workflow_ref` / `job_workflow_ref` claim,
 * `owner/repo/.github/workflows/release.yml@refs/tags/v1`. Null when it has another shape.
 */
export function parseWorkflowRef(value: string | undefined): WorkflowRef | null {
  if (value === undefined) return null;
  const m = /^([^/@\s]+\/[^/@\s]+)\/(\.github\/workflows\/[^@\s]+)@(\S+)$/.exec(value);
  if (!m || githubRepoUrl(m[1]!) === null || m[2]!.split('/').some((s) => s === '..' || s === '')) return null;
  return { repository: m[1]!, path: m[2]!, ref: m[3]! };
}

/**
 * The workflow file as it was at the commit that ran it, or null when malformed. The path's
 * segments are percent-encoded, so nothing in it can change the URL's structure.
 */
export function githubWorkflowUrl(workflow: WorkflowRef, sha: string): string | null {
  const repo = githubRepoUrl(workflow.repository);
  if (!repo || !SHA_RE.test(sha)) return null;
  return `${repo}/blob/${sha.toLowerCase()}/${workflow.path.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The command that downloads a package with the `shelf` CLI, e.g.
 * `npx shelf-cli bundle pull @acme/echo` (the CLI's npm package: plain `npx shelf` would run an
 * unrelated package). A version is added when it is not the latest, and
 * `--registry` when the registry is not the CLI's default.
 */
export function pullCommand(kind: Kind, name: string, options: { version?: string | null; registry?: string } = {}): string {
  const spec = options.version ? `${name}@${options.version}` : name;
  const registry = options.registry?.replace(/\/+$/, '');
  const flag = registry && registry !== CLI_DEFAULT_REGISTRY ? ` --registry ${registry}` : '';
  return `npx ${PACKAGE_NAME} ${kind} pull ${spec}${flag}`;
}
