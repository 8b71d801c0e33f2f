/**
 * What every read command says about a status that is not active: a warning on standard error
 * (standard output stays the command's result, and belongs to the server under `bundle run`),
 * and the fields `--json` output carries.
 *
 * @module
 */
import { effectiveStatus, statusNotice, type EffectiveStatus } from '../core/lifecycle.ts';
import type { PackageDocument } from '../core/schemas.ts';
import type { CommandContext } from './common.ts';

/**
 * Warns on standard error when `version` of `pkg` (or the package) is deprecated, yanked or
 * removed, and returns the status that applies.
 *
 * @param version - The version used, or null when only the package is shown.
 */
export function warnStatus(ctx: CommandContext, pkg: PackageDocument, version: string | null): EffectiveStatus {
  const status = version === null ? packageOnly(pkg) : effectiveStatus(pkg, version);
  const notice = statusNotice(pkg.name, version, status);
  if (notice) ctx.err(`${ctx.errStyle.yellow('warning:')} ${notice}${status.status === 'yanked' ? ' It is still downloadable by its exact version; ranges and "latest" skip it.' : ''}`);
  return status;
}

/** `{status, status_message?}`, as `--json` output carries a status. */
export function statusJson(status: EffectiveStatus): { status: EffectiveStatus['status']; status_message?: string } {
  return status.message === undefined ? { status: status.status } : { status: status.status, status_message: status.message };
}

function packageOnly(pkg: PackageDocument): EffectiveStatus {
  if (pkg.status === 'active') return { status: 'active', source: 'package' };
  const out: EffectiveStatus = { status: pkg.status, source: 'package' };
  if (pkg.status_message !== undefined) out.message = pkg.status_message;
  return out;
}
