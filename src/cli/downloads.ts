/**
 * `shelf downloads [--logs s3://log-bucket/cdn/ | FOLDER] [--json]`: counts downloads from
 * CloudFront's standard logs into the registry's tallies (each log file once), then publishes
 * every package's counts (`src/downloads/`). On AWS the stack runs it hourly
 * (`SHELF_FUNCTION=downloads`); under `shelf serve` the server counts and publishes by itself.
 *
 * @module
 */
import { ConfigError } from '../config.ts';
import { ShelfError } from '../core/errors.ts';
import { ingestCloudFrontLogs, type IngestedLogs } from '../downloads/cloudfront-log.ts';
import { publishDownloads } from '../downloads/publish.ts';
import { storeFromEnv } from '../store/from-env.ts';
import { commandArgs, usageError, type CommandContext } from './common.ts';
import { openStore } from './rebuild.ts';

/** Help of `shelf downloads`. */
export const DOWNLOADS_HELP = `Usage: shelf downloads [--logs s3://log-bucket/cdn/ | FOLDER] [--json]

Publishes the download counts of every package (v1/downloads/...: total, last 30 days, per
version, per day), from the registry's private tallies. With --logs, first counts the downloads in
CloudFront's standard logs there (the stack's LogBucketName, folder cdn/): a GET of an artifact
answered 200, cache hits included; each log file once, those of the last 2 days only.

Works on the bucket itself, chosen like "shelf serve" does (SHELF_STORE, SHELF_DATA_DIR); the logs
are read with the same AWS credentials.

Options:
  --logs URL   Where CloudFront's logs are: s3://bucket/prefix, or a folder
  --json       Print {logs, packages, written} as JSON
  -h, --help   Show this help`;

/** Runs `shelf downloads`; returns the exit code. */
export async function downloadsCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = commandArgs('shelf downloads', args, { logs: { type: 'string' }, json: { type: 'boolean' } }, ctx, DOWNLOADS_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw usageError('shelf downloads', `unexpected argument "${positionals[0]}"`);
  const store = await openStore(ctx);
  let logs: IngestedLogs | null = null;
  if (values.logs !== undefined) {
    const spec = values.logs.trim();
    if (spec === '') throw usageError('shelf downloads', '--logs needs s3://bucket/prefix or a folder');
    let source;
    try {
      source = await storeFromEnv(spec.startsWith('s3://') ? { ...ctx.env, SHELF_STORE: spec } : { ...ctx.env, SHELF_STORE: '', SHELF_DATA_DIR: spec }, { probe: false });
    } catch (err) {
      if (err instanceof ConfigError) throw new ShelfError('invalid_config', `--logs: ${err.message}`);
      throw err;
    }
    logs = await ingestCloudFrontLogs(store, source);
  }
  const published = await publishDownloads(store);
  if (values.json) {
    ctx.out(JSON.stringify({ logs, packages: published.packages, written: published.written }, null, 2));
    return 0;
  }
  if (logs) ctx.out(`Counted ${logs.downloads} downloads from ${logs.files} new log files.`);
  ctx.out(`Published the download counts of ${published.packages} packages (${published.written.length} files changed, ${store.description}).`);
  return 0;
}
