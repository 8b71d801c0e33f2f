/**
 * `shelf search`, `shelf bundle search`, `shelf skill search`: query the prebuilt index.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * {
 *   "kind": "bundle",
 *   "query": "weather forecast",
 *   "results": [ { ...PackageSummary (see core/schemas.ts), "score": 12.3 } ]
 * }
 * ```
 * `results` is in the requested order and holds at most `--limit` entries. With `--sort downloads`,
 * each result also has `downloads: {total, last_30_days}` (zeros for a package never counted).
 * A deprecated package carries `status: "deprecated"` (and `status_message`), is marked in the
 * text output, and ranks below an otherwise equal active package; yanked versions and removed
 * packages are never shown. When a query matches nothing, `suggestion` holds the query with its
 * words replaced by the nearest words of the index ("did you mean"), or null when none is near.
 *
 * @module
 */
import { KIND_PLURAL, type Kind } from '../core/names.ts';
import { DEFAULT_SEARCH_LIMIT, SEARCH_SORTS, SERVER_TYPES, type SearchHit, type SearchSort } from '../search/query.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatTable,
  parseArch,
  commandArgs,
  parseOs,
  truncate,
  usageError,
  type CommandContext,
} from './common.ts';
import type { Style } from './style.ts';

/** Matches ranked by downloads: the whole result set of any registry this CLI is meant for. */
const MAX_MATCHES = 100_000;

/** Help text of the search command for a kind. */
export function searchHelp(kind: Kind): string {
  const plural = KIND_PLURAL[kind];
  const usage =
    kind === 'bundle'
      ? `Usage: shelf search [words...] [options]
       shelf bundle search [words...] [options]`
      : `Usage: shelf skill search [words...] [options]`;
  return `${usage}

Searches the registry's ${plural}. Words match by prefix and stem and tolerate typos; ${plural}
holding more of the words come first. Without words, lists every ${kind}.

Options:
${kind === 'bundle' ? `  --type TYPE      Only bundles whose server type is TYPE: ${SERVER_TYPES.join(', ')}\n` : ''}\
  --os OS          Only ${plural} with a build for OS: darwin, linux, win32 (universal builds match)
  --arch ARCH      Only ${plural} with a build for ARCH: x64, arm64 (universal builds match)
  --sort ORDER     relevance (default), recent (last updated first), name, or downloads (most
                   downloaded first, from the registry's published counts)
  --limit N        Show at most N results (default ${DEFAULT_SEARCH_LIMIT})
  --json           Print {kind, query, results} as JSON
${COMMON_HELP}`;
}

/**
 * Runs a search and prints the hits.
 *
 * @param args - The arguments after the command words.
 * @returns The exit code.
 */
export async function searchCommand(kind: Kind, args: string[], ctx: CommandContext): Promise<number> {
  const command = kind === 'bundle' ? 'shelf search' : 'shelf skill search';
  const parsed = commandArgs(command, args, {
    ...COMMON_OPTIONS,
    type: { type: 'string' },
    os: { type: 'string' },
    arch: { type: 'string' },
    sort: { type: 'string' },
    limit: { type: 'string' },
    json: { type: 'boolean' },
  }, ctx, searchHelp(kind));
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  // Validated before any request, so a mistyped flag never costs a download.
  const type = values.type;
  if (type !== undefined) {
    if (kind === 'skill') throw usageError(command, '--type applies to bundles only');
    if (!(SERVER_TYPES as readonly string[]).includes(type)) {
      throw usageError(command, `--type must be one of ${SERVER_TYPES.join(', ')}; got "${type}"`);
    }
  }
  const os = parseOs(command, values.os);
  const arch = parseArch(command, values.arch);
  const sort = values.sort;
  const byDownloads = sort === 'downloads';
  if (sort !== undefined && !byDownloads && !(SEARCH_SORTS as readonly string[]).includes(sort)) {
    throw usageError(command, `--sort must be one of ${[...SEARCH_SORTS, 'downloads'].join(', ')}; got "${sort}"`);
  }
  let limit: number | undefined;
  if (values.limit !== undefined) {
    limit = /^\d+$/.test(values.limit) ? Number(values.limit) : NaN;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw usageError(command, `--limit must be a positive integer; got "${values.limit}"`);
    }
  }
  const query = positionals.join(' ');
  const client = ctx.client(values.registry, { offline: values.offline });

  let hits: Array<SearchHit & { downloads?: { total: number; last_30_days: number } }>;
  if (byDownloads) {
    // Every match, then the most downloaded first (ties by relevance), cut to the limit.
    const [all, index] = await Promise.all([client.search(kind, query, { type, os, arch, limit: MAX_MATCHES }), client.getDownloadsIndex(kind)]);
    const counted = all.map((h) => ({ ...h, downloads: index?.packages[h.name] ?? { total: 0, last_30_days: 0 } }));
    hits = counted.map((h, i) => ({ h, i })).sort((a, b) => b.h.downloads.total - a.h.downloads.total || a.i - b.i).map(({ h }) => h).slice(0, limit ?? DEFAULT_SEARCH_LIMIT);
  } else {
    hits = await client.search(kind, query, { type, os, arch, sort: sort as SearchSort | undefined, limit });
  }

  // Nothing matched: the nearest words of the index, as "did you mean".
  const suggestion = hits.length === 0 && query.trim() !== '' ? await client.suggest(kind, query) : null;
  if (values.json) {
    ctx.out(JSON.stringify({ kind, query, results: hits, ...(hits.length === 0 && query.trim() !== '' ? { suggestion } : {}) }, null, 2));
    return 0;
  }
  if (hits.length === 0) {
    ctx.out(query === '' ? `No ${KIND_PLURAL[kind]} found.` : `No ${KIND_PLURAL[kind]} match "${query}".${suggestion ? ` Did you mean "${suggestion}"?` : ''}`);
    return 0;
  }
  ctx.out(renderHits(kind, hits, ctx.style));
  return 0;
}

function renderHits(kind: Kind, hits: Array<SearchHit & { downloads?: { total: number } }>, s: Style): string {
  const counts = hits.some((h) => h.downloads !== undefined);
  const header = [...(kind === 'bundle' ? ['NAME', 'VERSION', 'TYPE', 'PLATFORMS'] : ['NAME', 'VERSION']), ...(counts ? ['DOWNLOADS'] : []), 'DESCRIPTION'].map((h) => s.bold(h));
  const rows = hits.map((h) => {
    const shown = h.latest !== null ? s.green(h.latest) : s.yellow(`${h.newest} (pre)`);
    // Marked, and ranked lower by the search itself; `show` prints the message.
    const version = h.status === 'deprecated' ? `${shown} ${s.yellow('deprecated')}` : shown;
    const name = h.verified ? `${s.bold(s.cyan(h.name))} ${s.green('✓')}` : s.bold(s.cyan(h.name));
    const downloads = counts ? [String(h.downloads?.total ?? 0)] : [];
    return kind === 'bundle'
      ? [name, version, h.server_type ?? '-', h.platforms.join(','), ...downloads, s.dim(truncate(h.description, 60))]
      : [name, version, ...downloads, s.dim(truncate(h.description, 70))];
  });
  const count = `${hits.length} ${hits.length === 1 ? kind : KIND_PLURAL[kind]}; ✓ = published from GitHub Actions with a verified OIDC token.`;
  return `${formatTable([header, ...rows])}\n\n${s.dim(count)}`;
}
