/**
 * `shelf quota @scope [--announces-per-day N] [--bytes-per-day N] [--json]`: shows a scope's daily
 * quotas and what its announces used today, and sets the scope's own limits in its scope record
 * (compare-and-swap). An operator command on the bucket, like `shelf rebuild`.
 *
 * @module
 */
import { loadAnnounceConfig, type QuotaLimits } from '../config.ts';
import { ShelfError } from '../core/errors.ts';
import { parseScope } from '../core/names.ts';
import { scopeKey } from '../core/paths.ts';
import { ScopeDocumentSchema, type ScopeQuota } from '../core/schemas.ts';
import { readUsage, scopeLimits, utcDay } from '../announce/quota.ts';
import { readJson, updateJson } from '../store/json-documents.ts';
import { commandArgs, usageError, type CommandContext } from './common.ts';
import { openStore } from './rebuild.ts';

/** Help of `shelf quota`. */
export const QUOTA_HELP = `Usage: shelf quota @scope [--announces-per-day N] [--bytes-per-day N] [--json]

Shows a scope's daily quotas (new artifacts announced, and their bytes, per UTC day) and what its
announces used today. With an option, sets the scope's own limit in its scope record, over the
registry's default: a number, "unlimited", or "default" (the registry's again). Announces past a
limit are refused with 429 quota_exceeded and Retry-After (the next UTC day).

The defaults shown are SHELF_QUOTA_ANNOUNCES_PER_DAY and SHELF_QUOTA_BYTES_PER_DAY of this shell
(100 and 1 GiB when unset); a deployed function has its own (on AWS: the stack's context).
Works on the bucket itself, chosen like "shelf serve" does (SHELF_STORE, SHELF_DATA_DIR).

Options:
  --announces-per-day N   New artifacts a day (N, unlimited, default)
  --bytes-per-day N       Bytes of new artifacts a day (N with an optional KiB, MiB or GiB; unlimited; default)
  --json                  Print {scope, day, limits, own, usage} as JSON
  -h, --help              Show this help`;

/** Runs `shelf quota`; returns the exit code. */
export async function quotaCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = commandArgs('shelf quota', args, {
    'announces-per-day': { type: 'string' },
    'bytes-per-day': { type: 'string' },
    json: { type: 'boolean' },
  }, ctx, QUOTA_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw usageError('shelf quota', 'name one scope, e.g. "shelf quota @acme"');
  let scope: string;
  try {
    scope = parseScope(positionals[0]!.replace(/^@/, ''));
  } catch (err) {
    throw usageError('shelf quota', (err as Error).message);
  }
  const changes: Partial<Record<keyof ScopeQuota, number | null | 'default'>> = {};
  if (values['announces-per-day'] !== undefined) changes.announces_per_day = parseLimit('--announces-per-day', values['announces-per-day'], false);
  if (values['bytes-per-day'] !== undefined) changes.bytes_per_day = parseLimit('--bytes-per-day', values['bytes-per-day'], true);
  const defaults = registryDefaults(ctx.env);
  const store = await openStore(ctx);
  const key = scopeKey(scope);
  let doc = (await readJson(store, key, ScopeDocumentSchema))?.value ?? null;
  if (!doc) throw new ShelfError('not_found', `@${scope} has no scope record: nothing was published to it yet.`);
  if (Object.keys(changes).length > 0) {
    ({ value: doc } = await updateJson(store, key, ScopeDocumentSchema, (current) => {
      if (!current) throw new ShelfError('not_found', `@${scope} has no scope record.`);
      const own: ScopeQuota = { ...current.quota };
      for (const [name, value] of Object.entries(changes) as [keyof ScopeQuota, number | null | 'default'][]) {
        if (value === 'default') delete own[name];
        else own[name] = value;
      }
      const { quota: _old, ...rest } = current;
      return Object.keys(own).length > 0 ? { ...rest, quota: own } : rest;
    }));
  }
  const day = utcDay(new Date());
  const limits = scopeLimits(doc, defaults);
  const usage = await readUsage(store, scope, day);
  const report = { scope: `@${scope}`, day, limits: { announces_per_day: limits.announcesPerDay, bytes_per_day: limits.bytesPerDay }, own: doc.quota ?? {}, usage: { announces: usage.announces, bytes: usage.bytes } };
  if (values.json) {
    ctx.out(JSON.stringify(report, null, 2));
    return 0;
  }
  const show = (n: number | null) => (n === null ? 'unlimited' : String(n));
  const whose = (name: keyof ScopeQuota) => (doc!.quota?.[name] !== undefined ? "the scope's own" : 'the default');
  ctx.out(`@${scope} on ${day} (UTC):`);
  ctx.out(`  announces  ${usage.announces} of ${show(limits.announcesPerDay)}  (${whose('announces_per_day')})`);
  ctx.out(`  bytes      ${usage.bytes} of ${show(limits.bytesPerDay)}  (${whose('bytes_per_day')})`);
  return 0;
}

/** `N`, `unlimited` (null) or `default`; bytes may carry KiB, MiB or GiB. @throws ShelfError `invalid_argument` */
function parseLimit(option: string, raw: string, bytes: boolean): number | null | 'default' {
  const text = raw.trim();
  if (text === 'unlimited') return null;
  if (text === 'default') return 'default';
  const m = /^(\d+)\s*(KiB|MiB|GiB)?$/.exec(text);
  const unit = m?.[2] ? { KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[m[2] as 'KiB' | 'MiB' | 'GiB'] : 1;
  if (!m || (m[2] && !bytes) || !Number.isSafeInteger(Number(m[1]) * unit)) {
    throw usageError('shelf quota', `${option} must be a whole number${bytes ? ' (optionally with KiB, MiB or GiB)' : ''}, "unlimited" or "default"; got "${raw}"`);
  }
  return Number(m[1]) * unit;
}

/** The registry-wide defaults this shell's configuration gives. */
function registryDefaults(env: Record<string, string | undefined>): QuotaLimits {
  try {
    // Only the quota variables matter here; an audience is required by the loader, not by this command.
    return loadAnnounceConfig({ SHELF_AUDIENCE: 'shelf-quota', SHELF_QUOTA_ANNOUNCES_PER_DAY: env.SHELF_QUOTA_ANNOUNCES_PER_DAY, SHELF_QUOTA_BYTES_PER_DAY: env.SHELF_QUOTA_BYTES_PER_DAY }).quota;
  } catch (err) {
    throw new ShelfError('invalid_config', (err as Error).message);
  }
}
