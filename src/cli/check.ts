/**
 * `shelf check [--kind bundle|skill] [--artifacts] [--json]`: checks the registry in a bucket —
 * its configuration and pages, its records and artifacts, and its derived files — and exits with
 * a code that says what repairs it ({@link CHECK_EXIT}). Writes nothing.
 *
 * @module
 */
import { isShelfError } from '../core/errors.ts';
import { check, type CheckReport } from '../registry/check.ts';
import { commandArgs, usageError, type CommandContext } from './common.ts';
import { openStore, parseKind, progressLine } from './rebuild.ts';

/** Help of `shelf check`. */
export const CHECK_HELP = `Usage: shelf check [--kind bundle|skill] [--artifacts] [--json]

Checks the registry in a bucket, writing nothing:
  - v1/config.json and the web pages (with every asset they load) are there and valid;
  - every version record parses, and every artifact it records is in the bucket with its size
    (with --artifacts, also read whole and its sha256 compared);
  - every derived file (the statuses in version documents, package documents, badges, scope
    package lists, catalogs, search indexes, the recent list, the read APIs' files) agrees with
    the records (version documents, pins, lifecycle records with their statuses and tombstones);
    the files that are missing or stale are listed with the entries they lack, have in excess, or
    have out of date, and so are the files of removed versions still in the bucket.

Exit codes:
  0   everything is present and agrees
  1   derived files disagree with the records only: "shelf rebuild" repairs them
  2   usage error
  3   records, artifacts, the configuration or the pages are missing or damaged (an artifact
      statement that no longer matches the registry's signature included): a rebuild cannot
      repair these; restore the objects (the bucket's versions), re-run shelf serve or
      scripts/upload-assets.ts, or re-publish
  4   nothing to check: the store is missing, empty or unreachable (error[code] on stderr)

Works on the bucket itself, chosen like "shelf serve" does: SHELF_STORE=s3://bucket/prefix (with
the AWS SDK's variables), else the folder SHELF_DATA_DIR (default ./.shelf).

Options:
  --kind KIND       Only bundles or only skills (the recent list is always checked)
  --artifacts       Also hash every artifact (reads every byte of the bucket's artifacts)
  --json            Print the report {clean, checked, records, issues} as JSON
  -h, --help        Show this help`;

/** The exit codes of `shelf check`. */
export const CHECK_EXIT = { clean: 0, rebuild: 1, usage: 2, restore: 3, unavailable: 4 } as const;

/** Runs `shelf check`; returns one of {@link CHECK_EXIT}. */
export async function checkCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = commandArgs('shelf check', args, { kind: { type: 'string' }, artifacts: { type: 'boolean' }, json: { type: 'boolean' } }, ctx, CHECK_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw usageError('shelf check', `unexpected argument "${positionals[0]}"`);
  const kind = parseKind('shelf check', values.kind);
  const progress = progressLine(ctx, values.json !== true);
  let report: CheckReport;
  let where: string;
  try {
    const store = await openStore(ctx);
    where = store.description;
    report = await check(store, { ...(kind ? { kind } : {}), artifacts: values.artifacts ? 'sha256' : 'size', onProgress: progress.update });
  } catch (err) {
    // Nothing to check is not a clean registry.
    if (isShelfError(err, 'no_registry') || isShelfError(err, 'store_unavailable') || isShelfError(err, 'store_unsupported') || isShelfError(err, 'invalid_config')) {
      ctx.err(`error[${err.code}]: ${err.message}`);
      return CHECK_EXIT.unavailable;
    }
    throw err;
  } finally {
    progress.finish();
  }
  const code = report.clean ? CHECK_EXIT.clean : report.issues.some((i) => i.repair === 'restore') ? CHECK_EXIT.restore : CHECK_EXIT.rebuild;
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return code;
  }
  const verified = `${report.records.artifacts} artifacts ${report.records.verified === 'sha256' ? 'present, sized and hashed' : 'present and sized'}`;
  if (report.clean) {
    ctx.out(`All ${report.checked} derived files agree with the records; ${report.records.versions} version records valid, ${verified} (${where}).`);
    return code;
  }
  const restore = report.issues.filter((i) => i.repair === 'restore');
  const rebuild = report.issues.filter((i) => i.repair === 'rebuild');
  if (restore.length > 0) {
    ctx.out(`${restore.length} files are missing or damaged (${where}); a rebuild cannot repair them:`);
    for (const issue of restore) ctx.out(`  ${issue.problem.padEnd(15)}  ${issue.key}${issue.detail ? `  (${issue.detail})` : ''}`);
    ctx.out('Restore them from the bucket\'s object versions (see the README, "Rolling back"), re-run shelf serve or scripts/upload-assets.ts for the configuration and pages, or publish again.');
  }
  if (rebuild.length > 0) {
    ctx.out(`${rebuild.length} of ${report.checked} derived files disagree with the records (${where}):`);
    for (const issue of rebuild) {
      const parts = [
        issue.missing.length ? `missing ${issue.missing.join(', ')}` : '',
        issue.extra.length ? `extra ${issue.extra.join(', ')}` : '',
        issue.outdated.length ? `out of date ${issue.outdated.join(', ')}` : '',
      ].filter(Boolean);
      ctx.out(`  ${issue.problem.padEnd(7)}  ${issue.key}${parts.length ? `  (${parts.join('; ')})` : ''}`);
    }
    ctx.out('Run "shelf rebuild" to repair them.');
  }
  return code;
}
