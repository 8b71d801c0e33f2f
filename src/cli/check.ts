/**
 * `shelf check [--kind bundle|skill] [--json]`: reports every derived file of the registry's
 * bucket that disagrees with the records, and exits 1 when any does. Writes nothing; `shelf
 * rebuild` repairs what it reports.
 *
 * @module
 */
import { check } from '../registry/check.ts';
import { parseCommandArgs, usageError, type CommandContext } from './common.ts';
import { openStore, parseKind, progressLine } from './rebuild.ts';

/** Help of `shelf check`. */
export const CHECK_HELP = `Usage: shelf check [--kind bundle|skill] [--json]

Compares every derived file (the statuses in version documents, package documents, badges,
scope package lists, catalogs, search indexes, the recent list) with what the records (version
documents, pins, lifecycle records with their statuses and tombstones) give, and lists the files
that are missing or stale, with the entries they lack, have in excess, or have out of date, and
the files of removed versions still in the bucket. Writes nothing. Exits 1 when anything
disagrees; "shelf rebuild" repairs it.

Works on the bucket itself, chosen like "shelf serve" does: SHELF_STORE=s3://bucket/prefix (with
the AWS SDK's variables), else the folder SHELF_DATA_DIR (default ./.shelf).

Options:
  --kind KIND       Only bundles or only skills (the recent list is always checked)
  --json            Print the report {clean, checked, issues} as JSON
  -h, --help        Show this help`;

/** Runs `shelf check`; returns 0 when everything agrees, 1 otherwise. */
export async function checkCommand(args: string[], ctx: CommandContext): Promise<number> {
  const { values, positionals } = parseCommandArgs('shelf check', {
    args,
    options: { kind: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    ctx.out(CHECK_HELP);
    return 0;
  }
  if (positionals.length > 0) throw usageError('shelf check', `unexpected argument "${positionals[0]}"`);
  const kind = parseKind('shelf check', values.kind);
  const store = await openStore(ctx);
  const progress = progressLine(ctx, values.json !== true);
  let report;
  try {
    report = await check(store, { ...(kind ? { kind } : {}), onProgress: progress.update });
  } finally {
    progress.finish();
  }
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return report.clean ? 0 : 1;
  }
  if (report.clean) {
    ctx.out(`All ${report.checked} derived files agree with the records (${store.description}).`);
    return 0;
  }
  ctx.out(`${report.issues.length} of ${report.checked} derived files disagree with the records (${store.description}):`);
  for (const issue of report.issues) {
    const parts = [
      issue.missing.length ? `missing ${issue.missing.join(', ')}` : '',
      issue.extra.length ? `extra ${issue.extra.join(', ')}` : '',
      issue.outdated.length ? `out of date ${issue.outdated.join(', ')}` : '',
    ].filter(Boolean);
    ctx.out(`  ${issue.problem.padEnd(7)}  ${issue.key}${parts.length ? `  (${parts.join('; ')})` : ''}`);
  }
  ctx.out('Run "shelf rebuild" to repair them.');
  return 1;
}
