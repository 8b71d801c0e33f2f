/**
 * `shelf gc [--kind bundle|skill] [--grace DURATION] [--writer-window DURATION] [--dry-run] [--json]`: deletes the search
 * index files no root reaches any more (see `src/registry/gc.ts`) and prints what it freed.
 *
 * @module
 */
import { DEFAULT_GC_GRACE_MS, DEFAULT_WRITER_WINDOW_MS, gc, MIN_SAFE_GC_GRACE_MS } from '../registry/gc.ts';
import { commandArgs, usageError, type CommandContext } from './common.ts';
import { formatBytes } from './progress.ts';
import { openStore, parseKind } from './rebuild.ts';
import { SLOW_COMMIT_MS } from '../search/write/publish.ts';

/** Help of `shelf gc`. */
export const GC_HELP = `Usage: shelf gc [--kind bundle|skill] [--grace DURATION] [--writer-window DURATION] [--dry-run] [--json]

Deletes the files of the search index (v1/search/) that no index root reaches any more and that
have been unreachable for longer than the grace period, and prints what it freed. Never deletes
anything a root reaches; safe while announces run. Each run records when it first saw each
unreachable file (v1/search/{bundles,skills}/gc.json), so a file is deleted by a run at least
the grace period after the one that first found it.

Works on the bucket itself, chosen like "shelf serve" does: SHELF_STORE=s3://bucket/prefix (with
the AWS SDK's variables), else the folder SHELF_DATA_DIR (default ./.shelf).

Options:
  --kind KIND       Only bundles or only skills
  --grace DURATION  How long a file stays after it became unreachable: 90s, 30m, 12h, 2d
                    (default 1d, or SHELF_GC_GRACE). Clients may hold a root for its max-age
                    (60 s); below 10m is only for registries no client reads meanwhile
  --writer-window DURATION
                    The longest an announce runs, from reading the index root to committing
                    (default 15m, the AWS Lambda limit; or SHELF_GC_WRITER_WINDOW). Files
                    younger than this when first seen unreachable wait one run longer
  --dry-run         Report what would be deleted; delete and record nothing
  --json            Print the report as JSON
  -h, --help        Show this help`;

/** Runs `shelf gc`; returns the exit code. */
export async function gcCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = commandArgs('shelf gc', args, {
    kind: { type: 'string' },
    grace: { type: 'string' },
    'writer-window': { type: 'string' },
    'dry-run': { type: 'boolean' },
    json: { type: 'boolean' },
  }, ctx, GC_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw usageError('shelf gc', `unexpected argument "${positionals[0]}"`);
  const kind = parseKind('shelf gc', values.kind);
  const graceText = values.grace ?? ctx.env.SHELF_GC_GRACE;
  const graceMs = graceText === undefined ? DEFAULT_GC_GRACE_MS : parseDuration(graceText, values.grace !== undefined ? '--grace' : 'SHELF_GC_GRACE');
  const windowText = values['writer-window'] ?? ctx.env.SHELF_GC_WRITER_WINDOW;
  const writerWindowMs = windowText === undefined ? DEFAULT_WRITER_WINDOW_MS : parseDuration(windowText, values['writer-window'] !== undefined ? '--writer-window' : 'SHELF_GC_WRITER_WINDOW');
  if (graceMs < MIN_SAFE_GC_GRACE_MS && !values.json) {
    ctx.err(`shelf gc: warning: a grace period under 10m can delete files a client still reads.`);
  }
  if (writerWindowMs < SLOW_COMMIT_MS && !values.json) {
    ctx.err(`shelf gc: warning: a writer window under 1m can delete files an announce is about to commit.`);
  }
  const store = await openStore(ctx);
  const report = await gc(store, { ...(kind ? { kind } : {}), graceMs, writerWindowMs, dryRun: values['dry-run'] === true });
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return 0;
  }
  const verb = values['dry-run'] ? 'Would free' : 'Freed';
  for (const k of report.kinds) {
    ctx.out(
      `${k.kind}s: ${verb.toLowerCase()} ${k.deleted.files} files (${formatBytes(k.deleted.bytes)}); ` +
        `live ${k.live.files} files (${formatBytes(k.live.bytes)}); ${k.pending.files} unreachable files (${formatBytes(k.pending.bytes)}) wait for their grace period` +
        (k.restored ? '; a root committed meanwhile reached a deleted file, which a rebuild restored' : ''),
    );
    if (k.broken.length > 0) ctx.out(`  ${k.broken.length} files the root reaches are missing or malformed; run "shelf rebuild".`);
  }
  ctx.out(`${verb} ${report.freed.files} files, ${formatBytes(report.freed.bytes)} (${store.description}).`);
  return 0;
}

/**
 * A duration such as `90s`, `30m`, `12h`, `2d` (or bare milliseconds), in milliseconds.
 *
 * @throws ShelfError `invalid_argument` naming where the value came from
 */
export function parseDuration(text: string, source: string): number {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw usageError('shelf gc', `${source} must be a duration such as 90s, 30m, 12h or 2d; got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(m[2] ?? 'ms') as 'ms'];
  return Number(m[1]) * unit;
}
