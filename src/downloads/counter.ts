/**
 * The embedded server's download counter: `shelf serve` reports each artifact it sent whole
 * (a `GET` answered 200 to its last byte); the counter keeps them in memory and, every
 * {@link DEFAULT_FLUSH_MS} and when the server stops, adds them to the day's tally and publishes
 * the counts. A crash loses at most one interval's counts.
 *
 * @module
 */
import type { ObjectStore } from '../store/object-store.ts';
import { publishDownloads } from './publish.ts';
import { addDownloads, utcDayOf } from './tally.ts';

/** Default interval between two flushes, ms. */
export const DEFAULT_FLUSH_MS = 60_000;

/** Counts downloads in memory and flushes them to the store. */
export class DownloadCounter {
  readonly #store: ObjectStore;
  readonly #clock: () => Date;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  /**
   * @param store - The registry's store.
   * @param options.flushMs - Interval between flushes (default {@link DEFAULT_FLUSH_MS}); 0 flushes only when asked.
   * @param options.clock - The time (tests).
   */
  constructor(store: ObjectStore, options: { flushMs?: number; clock?: () => Date } = {}) {
    const flushMs = options.flushMs ?? DEFAULT_FLUSH_MS;
    if (!Number.isSafeInteger(flushMs) || flushMs < 0) throw new TypeError(`"flushMs" option must be a non-negative integer, got ${String(flushMs)}`);
    this.#store = store;
    this.#clock = options.clock ?? (() => new Date());
    if (flushMs > 0) {
      this.#timer = setInterval(() => void this.flush().catch(() => undefined), flushMs);
      this.#timer.unref();
    }
  }

  /** One complete download of the artifact at `key`. */
  count(key: string): void {
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
  }

  /** Adds what was counted to today's tally and publishes the counts (one flush at a time). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = this.#pending;
      this.#pending = new Map();
      const now = this.#clock();
      try {
        await addDownloads(this.#store, utcDayOf(now), batch);
      } catch (err) {
        // Kept for the next flush.
        for (const [key, n] of batch) this.#pending.set(key, (this.#pending.get(key) ?? 0) + n);
        throw err;
      }
      await publishDownloads(this.#store, now);
    });
    return this.#flushing;
  }

  /** Stops the timer and flushes what is left. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.flush();
  }
}
