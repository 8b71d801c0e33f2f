/**
 * A one-line download progress bar for standard error. Drawn only when stderr is a terminal
 * (never into logs or pipes), redrawn at most once per percent, and erased when done so the
 * command's own output follows on a clean line.
 *
 * @module
 */

/** A progress bar: feed it byte counts, then finish it. */
export interface ProgressBar {
  /** Redraws for `received` of `total` bytes (only when the percentage changed). */
  update(received: number, total: number): void;
  /** Erases the bar. Safe to call more than once. */
  finish(): void;
}

/** Formats a byte count for people: `512 B`, `1.5 KiB`, `12.0 MiB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A progress bar writing to `write`, or a silent one when `enabled` is false.
 *
 * @param write - Raw writer (no newline added), e.g. `process.stderr.write`.
 * @param label - What is being downloaded, shown before the bar.
 * @param enabled - Whether to draw at all (stderr is a terminal).
 */
export function createProgressBar(write: (s: string) => void, label: string, enabled: boolean): ProgressBar {
  if (!enabled) return { update() {}, finish() {} };
  const width = 24;
  let lastPercent = -1;
  let drawn = false;
  return {
    update(received, total) {
      const percent = total > 0 ? Math.min(100, Math.floor((received / total) * 100)) : 100;
      if (percent === lastPercent) return;
      lastPercent = percent;
      const filled = Math.round((percent / 100) * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      // \r returns to the line start, \x1b[K clears what a longer previous line left.
      write(`\r${label} ${bar} ${String(percent).padStart(3)}% ${formatBytes(received)}/${formatBytes(total)}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (drawn) write('\r\x1b[K');
      drawn = false;
    },
  };
}
