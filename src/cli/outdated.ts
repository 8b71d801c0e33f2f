/**
 * `shelf bundle outdated` and `shelf bundle update [@scope/name[@range]]`: compare the bundles
 * kept in the cache (by `shelf bundle run` and `shelf bundle pull --cache`) with the registry,
 * and bring them up to date.
 *
 * A cached bundle is outdated when the registry has a higher version satisfying the range it was
 * asked for (`wanted`) or a higher latest release (`latest`). `update` moves each to `wanted`
 * (downloaded and verified into the cache), keeping its range; `update @scope/name@range`
 * changes the range first.
 *
 * `outdated --json` output (stable; fields are only ever added):
 * ```json
 * { "registry": "https://...", "bundles": [
 *   { "name": "@acme/echo", "os": "linux", "arch": "x64", "range": "^1.2", "current": "1.2.0",
 *     "wanted": "1.3.0", "latest": "2.0.0", "outdated": true, "status": "active" } ] }
 * ```
 * `os`/`arch` are the platform the bundle was requested for. `wanted`/`latest` are null when the
 * registry has no matching version (ranges skip yanked and removed versions). `status` is the
 * cached version's (`active`, `deprecated`, `yanked`, `removed`; with `status_message` when there
 * is one). An entry whose package is gone has `"error": {code, message}`.
 *
 * `update --json` output:
 * ```json
 * { "registry": "https://...", "updated": [ { "name", "os", "arch", "range", "from", "to", "file", "verified" } ],
 *   "current": [ { "name", "os", "arch", "range", "version" } ] }
 * ```
 *
 * @module
 */
import { ShelfError, isShelfError } from '../core/errors.ts';
import { parsePackageName } from '../core/names.ts';
import { checkUpdate, type UpdateStatus } from '../client/updates.ts';
import type { Verification } from '../client/trust.ts';
import { statusNotice } from '../core/lifecycle.ts';
import { statusJson } from './status-notice.ts';
import { obtainArtifact } from './artifact-cache.ts';
import { listBundleRecords, writeBundleRecord, type BundleRecord } from './bundle-records.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  formatTable,
  commandArgs,
  parsePackageSpec,
  requireCacheDir,
  usageError,
  type CommandContext,
} from './common.ts';

/** Help text of `shelf bundle outdated`. */
export function outdatedHelp(): string {
  return `Usage: shelf bundle outdated [options]

Lists the cached bundles (kept by "shelf bundle run" and "shelf bundle pull --cache") that the
registry has newer versions of: WANTED is the highest version in the range each was asked for,
LATEST the registry's latest release (neither is ever a yanked version). Cached versions that
were since deprecated, yanked or removed by the registry operator are listed too, with a
warning on stderr saying why. Only bundles cached from this registry are compared.

Options:
  --json           Print {registry, bundles: [{name, os, arch, range, current, wanted, latest, outdated, status}]}
                   for every cached bundle, outdated or not
${COMMON_HELP}`;
}

/** Help text of `shelf bundle update`. */
export function updateHelp(): string {
  return `Usage: shelf bundle update [@scope/name[@range]] [options]

Updates the cached bundles (or only the one named) to the highest version in the range each was
asked for, downloading and verifying it into the cache; the next "shelf bundle run" uses it.
Naming a range (@^2) changes the bundle's range first.

Options:
  --json           Print {registry, updated: [{name, os, arch, range, from, to, file, verified}], current: [...]}
${COMMON_HELP}`;
}

interface Row {
  record: BundleRecord;
  status: UpdateStatus | null;
  error: ShelfError | null;
}

/** Fetches each cached bundle's package document and compares. */
async function compare(ctx: CommandContext, registry: string | undefined, offline: boolean, records: BundleRecord[]): Promise<Row[]> {
  const client = ctx.client(registry, { offline });
  const rows: Row[] = [];
  for (const record of records) {
    try {
      const pkg = await client.getPackage('bundle', record.name);
      rows.push({ record, status: checkUpdate(pkg, record.version, record.range), error: null });
    } catch (error) {
      // One package gone (or malformed) must not hide the state of the others.
      if (!isShelfError(error) || error.code === 'registry_unreachable' || error.code === 'not_cached') throw error;
      rows.push({ record, status: null, error });
    }
  }
  return rows;
}

/**
 * Lists outdated cached bundles.
 *
 * @returns The exit code (0 whether or not something is outdated).
 */
export async function outdatedCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf bundle outdated';
  const parsed = commandArgs(command, args, { ...COMMON_OPTIONS, json: { type: 'boolean' } }, ctx, outdatedHelp());
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw usageError(command, 'takes no package names');
  const registry = ctx.registryUrl(values.registry);
  const records = await listBundleRecords(requireCacheDir(ctx), registry);
  const rows = await compare(ctx, values.registry, values.offline === true || ctx.globalOffline, records);

  if (values.json) {
    const bundles = rows.map(({ record, status, error }) => ({
      name: record.name,
      os: record.want.os,
      arch: record.want.arch,
      range: record.range,
      current: record.version,
      wanted: status?.wanted ?? null,
      latest: status?.latest ?? null,
      outdated: status?.outdated ?? false,
      ...(status ? statusJson(status.status) : {}),
      ...(error ? { error: { code: error.code, message: error.message } } : {}),
    }));
    ctx.out(JSON.stringify({ registry, bundles }, null, 2));
    return 0;
  }
  if (rows.length === 0) {
    ctx.out(`No bundles from ${registry} in the cache. "shelf bundle run" and "shelf bundle pull --cache" keep them there.`);
    return 0;
  }
  const s = ctx.style;
  // A cached version that was yanked, deprecated or removed is listed even when nothing is newer.
  const shown = rows.filter((r) => r.error || r.status?.outdated || (r.status && r.status.status.status !== 'active'));
  for (const { record, status } of shown) {
    const notice = status && statusNotice(record.name, record.version, status.status);
    if (notice) ctx.err(`${ctx.errStyle.yellow('warning:')} ${notice}`);
  }
  if (shown.length === 0) {
    ctx.out(`${s.green('✓')} All ${rows.length} cached ${rows.length === 1 ? 'bundle is' : 'bundles are'} up to date.`);
    return 0;
  }
  const table = shown.map(({ record, status, error }) => [
    s.bold(record.name),
    `${record.want.os}-${record.want.arch}`,
    record.range,
    record.version,
    error ? s.red(error.code) : status!.wanted === null ? s.dim('none') : status!.wanted !== record.version ? s.green(status!.wanted) : status!.wanted,
    status?.latest ? (status.latest !== record.version ? s.yellow(status.latest) : status.latest) : s.dim('-'),
    !status || status.status.status === 'active' ? '' : status.status.status === 'deprecated' ? s.yellow('deprecated') : s.red(status.status.status),
  ]);
  ctx.out(formatTable([['NAME', 'PLATFORM', 'RANGE', 'CURRENT', 'WANTED', 'LATEST', 'STATUS'].map((h) => s.bold(h)), ...table]));
  ctx.out(`\nRun "shelf bundle update" to move to WANTED; name a range (@^2) to go beyond it.`);
  return 0;
}

/**
 * Updates cached bundles to the highest version in their range.
 *
 * @returns The exit code.
 */
export async function updateCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf bundle update';
  const parsed = commandArgs(command, args, { ...COMMON_OPTIONS, json: { type: 'boolean' } }, ctx, updateHelp());
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const offline = values.offline === true || ctx.globalOffline;
  if (offline) throw usageError(command, 'cannot update offline');
  const cacheDir = requireCacheDir(ctx);
  const registry = ctx.registryUrl(values.registry);
  const spec = positionals.length > 0 ? parsePackageSpec(command, positionals) : undefined;
  let records = await listBundleRecords(cacheDir, registry);
  if (spec) {
    records = records.filter((r) => r.name === spec.name.full);
    if (records.length === 0) {
      throw new ShelfError('not_cached', `${spec.name.full} is not in the cache; "shelf bundle run" or "shelf bundle pull --cache" it first.`);
    }
    if (spec.range !== undefined) records = records.map((r) => ({ ...r, range: spec.range! }));
  }

  const client = ctx.client(values.registry);
  const updated: Array<{ name: string; os: string; arch: string; range: string; from: string; to: string; file: string; verified: Verification }> = [];
  const current: Array<{ name: string; os: string; arch: string; range: string; version: string }> = [];
  for (const row of await compare(ctx, values.registry, false, records)) {
    const { record, status, error } = row;
    if (error) throw error;
    const target = status!.wanted;
    if (target === null) {
      throw new ShelfError('not_found', `${record.name} has no version matching ${record.range} any more.`);
    }
    if (target === record.version) {
      current.push({ name: record.name, os: record.want.os, arch: record.want.arch, range: record.range, version: record.version });
      // A new range that the current version satisfies is still worth remembering.
      if (spec?.range !== undefined) await writeBundleRecord(cacheDir, parsePackageName(record.name), record);
      continue;
    }
    const got = await obtainArtifact({
      client,
      cacheDir,
      kind: 'bundle',
      name: parsePackageName(record.name),
      range: target,
      want: record.want,
      offline: false,
      progress: { write: ctx.writeErr, enabled: ctx.stderrIsTTY },
    });
    await writeBundleRecord(cacheDir, parsePackageName(record.name), {
      ...record,
      version: got.version.version,
      os: got.artifact.os,
      arch: got.artifact.arch,
      sha256: got.artifact.sha256,
      size: got.artifact.size,
      file: got.file,
      cached_at: new Date().toISOString(),
    });
    updated.push({ name: record.name, os: record.want.os, arch: record.want.arch, range: record.range, from: record.version, to: got.version.version, file: got.file, verified: got.verified });
  }

  if (values.json) {
    ctx.out(JSON.stringify({ registry, updated, current }, null, 2));
    return 0;
  }
  const s = ctx.style;
  if (updated.length === 0) {
    ctx.out(records.length === 0 ? `No bundles from ${registry} in the cache.` : `${s.green('✓')} Everything is up to date.`);
    return 0;
  }
  ctx.out(
    formatTable(
      updated.map((u) => [s.green('Updated'), s.bold(u.name), `${u.os}-${u.arch}`, `${u.from} → ${s.cyan(u.to)}`]),
    ),
  );
  return 0;
}
