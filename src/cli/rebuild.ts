/**
 * `shelf rebuild [@scope/name] [--kind bundle|skill] [--json]`: recomputes the derived files of
 * the registry's bucket (the store `SHELF_STORE` / `SHELF_DATA_DIR` name) from its records, and
 * prints what it changed. An operator command: it writes to the bucket directly, not through the
 * announce function.
 *
 * @module
 */
import { ConfigError } from '../config.ts';
import { ShelfError } from '../core/errors.ts';
import type { Kind } from '../core/names.ts';
import { rebuild, type RebuildProgress } from '../registry/rebuild.ts';
import { storeFromEnv } from '../store/from-env.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { commandArgs, parsePackageSpec, usageError, type CommandContext } from './common.ts';
import { signersFromSettings, signingSettingsFor } from '../signing/from-config.ts';
import { readKeyList } from '../signing/key-list.ts';
import type { Signer } from '../signing/signer.ts';

/** Help of `shelf rebuild`. */
export const REBUILD_HELP = `Usage: shelf rebuild [@scope/name] [--kind bundle|skill] [--json]

Recomputes every derived file (the statuses in version documents, package documents, badges,
scope package lists, catalogs, search indexes, the recent list) from the records (version
documents, pins, lifecycle records), and writes only the files whose content changed; deletes
what a takedown left of a removed version. Idempotent: a second run changes nothing. Safe while
announces run.

Works on the bucket itself, chosen like "shelf serve" does: SHELF_STORE=s3://bucket/prefix (with
the AWS SDK's variables), else the folder SHELF_DATA_DIR (default ./.shelf).

Signs with the registry's current key (the first of v1/keys.json), found like "shelf serve" finds
it: SHELF_SIGNING_KMS_KEY_ID, else SHELF_SIGNING_KEY_FILE (default {data folder}/.signing/
registry-key.pem). Every artifact statement it has not validly signed is re-signed (after a key
rotation, or on a registry from before signing), and package documents are signed. A statement
whose signature verifies with no key of v1/keys.json was changed after signing: it is not signed
again, it is listed on stderr, and the exit status is 1 (restore the version record). On AWS, where
only the announce function may sign, invoke the function instead (infra/README.md).

Arguments:
  @scope/name       Only this package (and its entries in the shared files)

Options:
  --kind KIND       Only bundles or only skills
  --json            Print {changed, unchanged, packages} as JSON
  -h, --help        Show this help`;

/** Runs `shelf rebuild`; returns the exit code. */
export async function rebuildCommand(args: string[], ctx: CommandContext): Promise<number> {
  const parsed = commandArgs('shelf rebuild', args, { kind: { type: 'string' }, json: { type: 'boolean' } }, ctx, REBUILD_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const kind = parseKind('shelf rebuild', values.kind);
  const spec = positionals.length > 0 ? parsePackageSpec('shelf rebuild', positionals) : undefined;
  if (spec?.range !== undefined) throw usageError('shelf rebuild', 'a rebuild is per package, not per version; drop the "@version"');

  const store = await openStore(ctx);
  const signer = await openSigner(ctx, store);
  const progress = progressLine(ctx, values.json !== true);
  let result;
  try {
    result = await rebuild(store, {
      ...(spec ? { package: spec.name } : {}),
      ...(kind ? { kind } : {}),
      onProgress: progress.update,
      signer,
    });
  } finally {
    progress.finish();
  }
  // Statements changed after signing are not signed again: the records need restoring.
  const code = result.mismatched.length > 0 ? 1 : 0;
  if (code !== 0) {
    ctx.err(
      `shelf: ${result.mismatched.length} artifact ${result.mismatched.length === 1 ? 'statement does' : 'statements do'} not match the registry's signature (changed after signing) and ${result.mismatched.length === 1 ? 'was' : 'were'} not signed again; restore ${result.mismatched.length === 1 ? 'its version record' : 'their version records'} from the bucket's object versions, or publish again:\n${result.mismatched.map((m) => `  ${m.key} (${m.platform})`).join('\n')}`,
    );
  }
  if (values.json) {
    ctx.out(JSON.stringify(result, null, 2));
    return code;
  }
  const total = result.changed.length + result.unchanged.length;
  if (result.changed.length === 0) {
    ctx.out(`Every derived file already agreed with the records (${total} files, ${result.packages} packages, ${store.description}).`);
    return code;
  }
  ctx.out(`Rebuilt ${result.changed.length} of ${total} derived files (${result.packages} packages, ${store.description}):`);
  for (const key of result.changed) ctx.out(`  ${key}`);
  return code;
}

/**
 * The store `SHELF_STORE` / `SHELF_DATA_DIR` name.
 *
 * @throws ShelfError `invalid_config` naming the variable at fault, `store_unsupported`,
 *   `store_unavailable`
 */
export async function openStore(ctx: CommandContext): Promise<ObjectStore> {
  try {
    return await storeFromEnv(ctx.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new ShelfError('invalid_config', err.message);
    throw err;
  }
}

/**
 * The registry's signer, as `shelf serve` finds it (`SHELF_SIGNING_KMS_KEY_ID`, else the key
 * file), for the operator commands that write derived files (`rebuild`, `takedown`). A key file is created only for a registry that has never signed: otherwise a missing file
 * is an error, never a new key.
 *
 * @throws ShelfError `invalid_config`
 */
export async function openSigner(ctx: CommandContext, store: ObjectStore): Promise<Signer> {
  try {
    const settings = signingSettingsFor(store, ctx.env);
    const create = (await readKeyList(store)) === null;
    return (await signersFromSettings(settings, { create })).signer;
  } catch (err) {
    if (err instanceof ConfigError) throw new ShelfError('invalid_config', err.message);
    throw err;
  }
}

/** Validates `--kind`. @throws ShelfError `invalid_argument` */
export function parseKind(command: string, value: string | undefined): Kind | undefined {
  if (value === undefined) return undefined;
  if (value !== 'bundle' && value !== 'skill') throw usageError(command, `--kind must be bundle or skill; got "${value}"`);
  return value;
}

/**
 * A one-line "[done/total] key" display on standard error, redrawn in place; only on a
 * terminal, so logs and pipes get the result alone.
 */
export function progressLine(ctx: CommandContext, wanted: boolean): { update: (p: RebuildProgress) => void; finish: () => void } {
  if (!wanted || !ctx.stderrIsTTY) return { update: () => undefined, finish: () => undefined };
  let drawn = false;
  return {
    update: ({ done, total, key }) => {
      ctx.writeErr(`\r[${done}/${total}] ${key}\x1b[K`);
      drawn = true;
    },
    finish: () => {
      if (drawn) ctx.writeErr('\r\x1b[K');
      drawn = false;
    },
  };
}
