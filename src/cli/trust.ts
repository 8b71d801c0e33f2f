/**
 * `shelf trust`: the explicit re-trust. Forgets what this machine pinned for a registry (its keys
 * and the signing times of documents it verified) and pins the keys the registry lists now in
 * `v1/keys.json`. Needed only when a registry changed its keys without endorsing the new one with
 * the old (a lost key, or a registry moved to another operator): until then every command refuses
 * its documents with `key_untrusted`.
 *
 * `--json` output (stable; fields are only ever added):
 * ```json
 * { "registry": "https://…", "signed": true,
 *   "keys": [{ "keyid": "<64 hex>", "valid_from": "…", "expires": "…"?, "new": true }],
 *   "forgotten": ["<64 hex>"] }
 * ```
 * `new`: not pinned before; `forgotten`: keys pinned before that the registry no longer lists.
 *
 * @module
 */
import { short } from '../signing/trust.ts';
import { COMMON_HELP, COMMON_OPTIONS, formatTable, commandArgs, usageError, type CommandContext } from './common.ts';
import { filePins } from './trust-pins.ts';

/** Help of `shelf trust`. */
export const TRUST_HELP = `Usage: shelf trust [--registry URL] [--json]

Pins the signing keys the registry lists now (v1/keys.json), forgetting the keys and document
signing times pinned before for it.

The first time shelf reads a registry it pins that registry's keys (kept with the cache). From
then on it verifies every package and version document against them before it trusts a sha256,
and accepts a new key only when a key it trusts endorsed it. A document signed by any other key
is refused (error[key_untrusted]). Run this command only when you know why the registry's keys
changed: it trusts whoever serves the registry now.

Options:
  --json           Print {registry, signed, keys, forgotten} as JSON
${COMMON_HELP}`;

/** Re-pins a registry's keys. @returns The exit code. */
export async function trustCommand(args: string[], ctx: CommandContext): Promise<number> {
  const command = 'shelf trust';
  const parsed = commandArgs(command, args, { ...COMMON_OPTIONS, json: { type: 'boolean' } }, ctx, TRUST_HELP);
  if (!parsed) return 0;
  const { values, positionals } = parsed;
  if (positionals.length > 0) throw usageError(command, `unexpected argument "${positionals[0]}"`);
  if (values.offline === true || ctx.globalOffline) throw usageError(command, 're-trusting reads the registry\'s keys; it cannot run --offline');
  const registry = ctx.registryUrl(values.registry);
  const before = new Set(Object.keys((await filePins(ctx.cacheDir, registry).load().catch(() => null))?.keys ?? {}));
  const client = ctx.client(values.registry);
  const { keys, signed } = await client.trust.retrust();
  const listed = keys.map((k) => ({ keyid: k.keyid, valid_from: k.valid_from, ...(k.expires ? { expires: k.expires } : {}), new: !before.has(k.keyid) }));
  const forgotten = [...before].filter((id) => !keys.some((k) => k.keyid === id));

  if (values.json) {
    ctx.out(JSON.stringify({ registry, signed, keys: listed, forgotten }, null, 2));
    return 0;
  }
  const s = ctx.style;
  if (!signed) {
    ctx.out(`${registry} publishes no signing keys: its documents are not signed, and nothing is pinned.`);
    return 0;
  }
  ctx.out(
    [
      `${s.green('Pinned')} ${keys.length} signing key${keys.length === 1 ? '' : 's'} of ${s.bold(registry)}`,
      formatTable(
        listed.map((k) => [short(k.keyid), `from ${k.valid_from}`, k.expires ? `expires ${k.expires}` : 'current', k.new ? s.yellow('new') : '']),
        '  ',
      ),
      ...(forgotten.length > 0 ? [`Forgotten: ${forgotten.map(short).join(', ')}`] : []),
    ].join('\n'),
  );
  return 0;
}
