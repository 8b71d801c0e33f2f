/**
 * What every `shelf` command shares: the injected I/O, the command context, argument parsing
 * that turns mistakes into usage errors, and plain-text table formatting.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ShelfError } from '../core/errors.ts';
import { ARCHES, KINDS, OSES, parsePackageName, type Arch, type Kind, type Os, type PackageName } from '../core/names.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import { visibleLength, type Style } from './style.ts';

/** The registry used when neither `--registry` nor `SHELF_REGISTRY` is given (the dev server). */
export const DEFAULT_REGISTRY = 'http://127.0.0.1:8787';

/**
 * Where a command reads and writes. Tests inject this to capture output without spawning a
 * process; the defaults are the real process streams, working directory and environment.
 */
export interface CliIo {
  /** Receives standard output, in pieces that already end in newlines. */
  stdout: (s: string) => void;
  /** Receives standard error, likewise. */
  stderr: (s: string) => void;
  /** Directory relative paths resolve against; default `process.cwd()`. */
  cwd?: string;
  /** Environment (`SHELF_REGISTRY`); default `process.env`. */
  env?: Record<string, string | undefined>;
  /**
   * Whether standard output and standard error are terminals: text is coloured only on a
   * terminal (and without `NO_COLOR`), progress bars are drawn only when stderr is one. Default:
   * the process streams' `isTTY` when no `io` is given at all, otherwise false.
   */
  isTTY?: { stdout?: boolean; stderr?: boolean };
  /** Waits `ms` milliseconds (the announce retry backoff); tests inject one. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

/** What a command runs with. */
export interface CommandContext {
  /** Writes a line (or several) to standard output; a trailing newline is added. */
  out: (s: string) => void;
  /** Writes a line (or several) to standard error; a trailing newline is added. */
  err: (s: string) => void;
  /** Absolute working directory. */
  cwd: string;
  /** Environment. */
  env: Record<string, string | undefined>;
  /** `--registry` given before the command, if any. */
  globalRegistry: string | undefined;
  /** `--offline` given before the command, or `SHELF_OFFLINE=1`. */
  globalOffline: boolean;
  /** Colours for standard output (no-ops when it is not a terminal or `NO_COLOR` is set). */
  style: Style;
  /** Colours for standard error. */
  errStyle: Style;
  /** Whether standard error is a terminal (progress bars are drawn only then). */
  stderrIsTTY: boolean;
  /** Writes raw text to standard error, without adding a newline (progress bars). */
  writeErr: (s: string) => void;
  /** The cache directory (see `cache.ts`), or null when none can be determined. */
  cacheDir: string | null;
  /** Waits `ms` milliseconds. */
  sleep: (ms: number) => Promise<void>;
  /** The machine's platform, as the registry names it (default target of `pull`). */
  host: { os: Os; arch: Arch };
  /**
   * The registry's base URL, chosen by precedence: the command's `--registry`, then the one
   * given before the command, then `SHELF_REGISTRY`, then {@link DEFAULT_REGISTRY}.
   */
  registryUrl: (commandRegistry?: string) => string;
  /**
   * A client for the registry chosen as {@link CommandContext.registryUrl} says. Its documents
   * go through the on-disk cache (revalidated with ETags); with `offline` (or the global
   * `--offline`) they come from the cache alone.
   *
   * @throws ShelfError `invalid_argument` when the URL is not http(s), `cache_unavailable` when
   *   offline without a cache directory.
   */
  client: (commandRegistry?: string, options?: { offline?: boolean }) => RegistryClient;
}

/**
 * The cache directory, or a clear error when there is none.
 *
 * @throws ShelfError `cache_unavailable`
 */
export function requireCacheDir(ctx: CommandContext): string {
  if (ctx.cacheDir === null) {
    throw new ShelfError('cache_unavailable', 'No cache directory: set SHELF_CACHE_DIR (or XDG_CACHE_HOME or HOME).');
  }
  return ctx.cacheDir;
}

/** Options every command accepts. */
export const COMMON_OPTIONS = {
  registry: { type: 'string' },
  offline: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Help lines for {@link COMMON_OPTIONS}, appended to every command's help. */
export const COMMON_HELP = `  --registry URL   Registry base URL (default: $SHELF_REGISTRY, else ${DEFAULT_REGISTRY})
  --offline        Answer from the local cache only, without any request (also SHELF_OFFLINE=1)
  -h, --help       Show this help`;

/**
 * A command's arguments, by `node:util` parseArgs (strict, positionals allowed, `-h, --help`
 * added), its errors as usage errors naming the command (exit 2); null when they ask for the help,
 * which is then printed.
 */
export function commandArgs<const O extends NonNullable<ParseArgsConfig['options']>>(command: string, args: string[], options: O, ctx: CommandContext, help: string) {
  const config = { args, allowPositionals: true, options: { ...options, help: COMMON_OPTIONS.help } } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    throw usageError(command, error instanceof Error ? error.message : String(error));
  }
  if (!(parsed.values as { help?: boolean }).help) return parsed;
  ctx.out(help);
  return null;
}

/** A usage error (exit code 2) pointing at the command's help. */
export function usageError(command: string, message: string): ShelfError {
  return new ShelfError('invalid_argument', `${message.replace(/\.$/, '')}. Run "${command} --help" for usage.`);
}

/** Validates `--os`. @throws ShelfError `invalid_argument` */
export function parseOs(command: string, value: string | undefined): Os | undefined {
  if (value === undefined) return undefined;
  if (!(OSES as readonly string[]).includes(value)) {
    throw usageError(command, `--os must be one of ${OSES.join(', ')}; got "${value}"`);
  }
  return value as Os;
}

/** Validates `--arch`. @throws ShelfError `invalid_argument` */
export function parseArch(command: string, value: string | undefined): Arch | undefined {
  if (value === undefined) return undefined;
  if (!(ARCHES as readonly string[]).includes(value)) {
    throw usageError(command, `--arch must be one of ${ARCHES.join(', ')}; got "${value}"`);
  }
  return value as Arch;
}

/** A package argument: `@scope/name`, optionally followed by `@version` or `@range`. */
export interface PackageSpec {
  name: PackageName;
  /** The version or range after the name's `@`, if any. */
  range: string | undefined;
}

/**
 * Parses `@scope/name[@version|@range]`, requiring exactly one such positional.
 *
 * @throws ShelfError `invalid_argument` (missing or extra arguments), `invalid_name`
 */
export function parsePackageSpec(command: string, positionals: string[]): PackageSpec {
  if (positionals.length === 0) throw usageError(command, 'missing package name (@scope/name)');
  if (positionals.length > 1) throw usageError(command, `expected one package, got ${positionals.length}`);
  const arg = positionals[0]!;
  // The name starts with "@", so a version separator is any later "@".
  const at = arg.indexOf('@', 1);
  if (at === -1) return { name: parsePackageName(arg), range: undefined };
  const range = arg.slice(at + 1);
  if (range.trim() === '') throw usageError(command, `"${arg}" has an empty version after "@"`);
  return { name: parsePackageName(arg.slice(0, at)), range };
}

/**
 * Formats rows as left-aligned columns separated by two spaces; the last column is not padded.
 * Cells may be coloured: widths count visible characters only, so colour never breaks alignment.
 */
export function formatTable(rows: string[][], indent = ''): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, visibleLength(cell))));
  }
  const pad = (cell: string, width: number) => cell + ' '.repeat(Math.max(0, width - visibleLength(cell)));
  return rows
    .map((row) => {
      const line = indent + row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i]!))).join('  ');
      // Only plain trailing whitespace goes: a coloured last cell keeps its closing code.
      return line.replace(/\s+$/, '');
    })
    .join('\n');
}

/** Shortens text to `max` characters with an ellipsis, on one line. */
export function truncate(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/** `2024-05-01T12:00:00Z` → `2024-05-01`. */
export function day(iso: string): string {
  return iso.slice(0, 10);
}

/**
 * An integer option of at least `min`, or `fallback` when it is not given.
 *
 * @throws ShelfError `invalid_argument` naming the flag
 */
export function integerOption(command: string, flag: string, value: string | undefined, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw usageError(command, `${flag} must be an integer of at least ${min}; got "${value}"`);
  return n;
}

/**
 * The kind (bundle or skill) a package name has somewhere, for commands that take a name alone:
 * the one kind `has` finds.
 *
 * @param where - Where it was looked for, for messages (a registry URL, a bucket).
 * @throws ShelfError `not_found` (neither kind), `invalid_argument` (both: the command takes `--kind`)
 */
export async function onlyKind(name: PackageName, where: string, has: (kind: Kind) => Promise<boolean>): Promise<Kind> {
  const found: Kind[] = [];
  for (const kind of KINDS) if (await has(kind)) found.push(kind);
  if (found.length === 0) throw new ShelfError('not_found', `${name.full} is neither a bundle nor a skill of ${where}.`);
  if (found.length > 1) throw new ShelfError('invalid_argument', `${name.full} is both a bundle and a skill of ${where}; pass --kind bundle or --kind skill.`);
  return found[0]!;
}
