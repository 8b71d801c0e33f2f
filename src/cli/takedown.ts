/**
 * `shelf takedown <@scope/name[@version]> --reason "..." [--undo]`: the operator removes a
 * version (every platform) or a whole package from the registry's bucket, for a malware report or
 * a legal notice, and purges the CDN (see `registry/takedown.ts`). Works on the bucket itself,
 * chosen like `shelf rebuild` does.
 *
 * `--json` output: `{action, package, version, changed, deleted, cdn_paths, invalidation,
 * distribution}`.
 *
 * @module
 */
import { ConfigError } from '../config.ts';
import { ShelfError } from '../core/errors.ts';
import { parseVersion } from '../core/names.ts';
import { lifecycleKey, packageKey, versionsPrefix } from '../core/paths.ts';
import { cloudFrontInvalidator, findDistribution } from '../registry/cdn.ts';
import { takedown } from '../registry/takedown.ts';
import { onlyKind, commandArgs, parsePackageSpec, usageError, type CommandContext } from './common.ts';
import { openSigner, openStore, parseKind } from './rebuild.ts';
import { readKeyList } from '../signing/key-list.ts';

/** Help of `shelf takedown`. */
export const TAKEDOWN_HELP = `Usage: shelf takedown <@scope/name[@version]> --reason "..." [options]
       shelf takedown <@scope/name[@version]> --undo

For the registry operator: removes a version (all its platforms) or a whole package. Deletes the
artifacts, README and version documents; keeps a tombstone (the reason and the time, shown as
"removed by the registry operator: <reason>"); blocks the name, so the version (or package) can
never be announced again; rebuilds the package's derived files and takes it out of search; and
purges the CDN, where artifacts are cached for a year: it prints the paths to invalidate, and
creates a CloudFront invalidation when the distribution is known (--distribution, else
SHELF_CLOUDFRONT_DISTRIBUTION_ID, else private/cdn.json, which "npm run deploy" writes).

--undo lifts the block (a package's undo also lifts the versions removed with it): the name can
be announced again. Deleted files are not restored. Running either again is harmless: it
finishes what a crashed run left undone.

Works on the bucket itself, chosen like "shelf serve" does: SHELF_STORE=s3://bucket/prefix (with
the AWS SDK's variables), else the folder SHELF_DATA_DIR (default ./.shelf). Signs the package
document it rewrites with the registry's current key, found like "shelf rebuild" finds it
(SHELF_SIGNING_KMS_KEY_ID, else SHELF_SIGNING_KEY_FILE; on AWS the stack's
TakedownOperatorPolicy allows signing with its key).

Options:
  --reason TEXT        Why (plain text, at most 500 characters); required unless --undo
  --undo               Lift an earlier takedown instead
  --kind KIND          bundle or skill (default: the kind the bucket has the package as)
  --distribution ID    The CloudFront distribution to invalidate
  --no-invalidate      Print the CDN paths only; create no invalidation
  --json               Print {action, package, version, changed, deleted, cdn_paths,
                       invalidation, distribution} as JSON
  -h, --help           Show this help`;

/** Runs `shelf takedown`; returns the exit code. */
export async function takedownCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf takedown';
  const parsed = commandArgs(command, args, {
    reason: { type: 'string' },
    undo: { type: 'boolean' },
    kind: { type: 'string' },
    distribution: { type: 'string' },
    'no-invalidate': { type: 'boolean' },
    json: { type: 'boolean' },
  }, ctx, TAKEDOWN_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  const spec = parsePackageSpec(command, positionals);
  let version = null;
  if (spec.range !== undefined) {
    try {
      version = parseVersion(spec.range);
    } catch {
      throw usageError(command, `"${spec.range}" is not an exact version (a takedown removes one version, or the whole package)`);
    }
  }
  if (values.undo && values.reason !== undefined) throw usageError(command, '--reason applies to a takedown, not to --undo');
  if (!values.undo && !values.reason?.trim()) throw usageError(command, '--reason is required: it is shown as "removed by the registry operator: <reason>"');
  const explicitKind = parseKind(command, values.kind);

  const store = await openStore(ctx);
  const kind =
    explicitKind ??
    (await onlyKind(spec.name, store.description, async (k) => {
      const [doc, record, versions] = await Promise.all([store.head(packageKey(k, spec.name)), store.head(lifecycleKey(k, spec.name)), store.list(versionsPrefix(k, spec.name))]);
      return doc !== null || record !== null || versions.length > 0;
    }));
  // Before anything is written: the package document the takedown rewrites is signed with the
  // registry's key (a registry that has never signed stays unsigned).
  const signer = (await readKeyList(store)) ? await openSigner(ctx, store) : undefined;
  let distribution: string | null = null;
  let invalidate;
  try {
    distribution = values['no-invalidate'] ? null : await findDistribution({ flag: values.distribution, env: ctx.env, store });
    invalidate = distribution ? await cloudFrontInvalidator(distribution, ctx.env) : undefined;
  } catch (err) {
    if (err instanceof ConfigError) throw new ShelfError('invalid_config', err.message);
    throw err;
  }
  const result = await takedown(store, { kind, pkg: spec.name, version, ...(signer ? { signer } : {}), ...(values.undo ? { undo: true } : { reason: values.reason! }), ...(invalidate ? { invalidate } : {}) });

  if (values.json) {
    ctx.out(JSON.stringify({ ...result, distribution }, null, 2));
    return 0;
  }
  const s = ctx.style;
  const label = `${result.package}${result.version ? `@${result.version}` : ''} (${kind})`;
  if (result.action === 'takedown') {
    ctx.out(result.changed ? `${s.red('Took down')} ${s.bold(label)}: removed by the registry operator: ${values.reason!.trim()}` : `${s.bold(label)} was already taken down; finished what was left.`);
  } else {
    ctx.out(result.changed ? `${s.green('Lifted')} the takedown of ${s.bold(label)}: the name can be announced again (deleted files are not restored).` : `${s.bold(label)} was not taken down; nothing to lift.`);
  }
  if (result.deleted.length > 0) ctx.out(`Deleted ${result.deleted.length} ${result.deleted.length === 1 ? 'file' : 'files'} (${store.description}):\n${result.deleted.map((k) => `  ${k}`).join('\n')}`);
  ctx.out(`CDN paths to invalidate:\n${result.cdn_paths.map((p) => `  ${p}`).join('\n')}`);
  if (result.invalidation) ctx.out(`${s.green('Created')} CloudFront invalidation ${result.invalidation.id} (${result.invalidation.status}) on distribution ${distribution}.`);
  else if (!values['no-invalidate']) ctx.out(s.yellow('No CloudFront distribution is known (--distribution, SHELF_CLOUDFRONT_DISTRIBUTION_ID, private/cdn.json): invalidate these paths on your CDN.'));
  return 0;
}
