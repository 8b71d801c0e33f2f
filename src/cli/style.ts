/**
 * Terminal colours for the CLI's human-readable output. Colour is on only when the stream is a
 * terminal and `NO_COLOR` is not set (https://no-color.org); `FORCE_COLOR` (any value but `0`)
 * turns it on for pipes. `--json` output is never coloured.
 *
 * @module
 */

/** Wraps text in ANSI styles, or returns it unchanged when colour is off. */
export interface Style {
  /** Whether the functions below add escape codes. */
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/**
 * Decides whether to colour a stream.
 *
 * @param isTTY - Whether the stream is a terminal.
 * @param env - The environment (`NO_COLOR`, `FORCE_COLOR`).
 */
export function colorEnabled(isTTY: boolean, env: Record<string, string | undefined>): boolean {
  // NO_COLOR: "when present and not an empty string", regardless of its value.
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return isTTY;
}

/** A {@link Style} that colours when `enabled`. */
export function createStyle(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (text: string) => (enabled && text !== '' ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

const ANSI_RE = /\x1b\[[0-9;]*m/g;

/** Removes ANSI colour codes. */
export function stripAnsi(text: string): string {
  return text.replace(ANSI_RE, '');
}

/** The number of columns text takes on a terminal, ignoring colour codes. */
export function visibleLength(text: string): number {
  return [...stripAnsi(text)].length;
}
