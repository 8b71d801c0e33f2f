/**
 * `shelf compact [--kind bundle|skill] [--force] [--json]`: merges the search index's delta segment
 * into its base trees when it is due (see `src/search/write/compact.ts`) and prints what it did.
 *
 * @module
 */
import { compact } from '../registry/compact.ts';
import { commandArgs, usageError, type CommandContext } from './common.ts';
import { openStore, parseKind } from './rebuild.ts';

/** Help of `shelf compact`. */
export const COMPACT_HELP = `Usage: shelf compact [--kind bundle|skill] [--force] [--json]

Merges the delta segment of the search index (the packages announced since its base trees were
last written) into the base trees, once the delta holds policy.delta_max packages (8 by default).
Announces then stay fast: they only append to the delta, and compact it themselves only when it
passes twice that (when no compactor runs). Safe while announces run: an announce that commits
meanwhile makes this run start again from the new index, and nothing it announced is lost. On
AWS the stack runs it on a schedule; "shelf serve" runs it after announces.

Works on the bucket itself, chosen like "shelf serve" does: SHELF_STORE=s3://bucket/prefix (with
the AWS SDK's variables), else the folder SHELF_DATA_DIR (default ./.shelf).

Options:
  --kind KIND   Only bundles or only skills
  --force       Compact a delta of any size
  --json        Print the report as JSON
  -h, --help    Show this help`;

/** Runs `shelf compact`; returns the exit code. */
export async function compactCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = commandArgs('shelf compact', args, { kind: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } }, ctx, COMPACT_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw usageError('shelf compact', `unexpected argument "${positionals[0]}"`);
  const kind = parseKind('shelf compact', values.kind);
  const store = await openStore(ctx);
  const report = await compact(store, { ...(kind ? { kind } : {}), force: values.force === true });
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return 0;
  }
  for (const k of report.kinds) {
    const what =
      k.compacted ? `compacted ${k.packages} packages into the base trees (${k.written} files written, ${k.ms} ms${k.attempts > 1 ? `, ${k.attempts} attempts` : ''})`
      : k.skipped === 'no_index' ? 'no search index yet'
      : k.skipped === 'no_delta' ? 'nothing to compact'
      : `${k.packages} packages in the delta, below the threshold (use --force to compact them now)`;
    ctx.out(`${k.kind}s: ${what}`);
  }
  return 0;
}
