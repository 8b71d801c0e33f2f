/**
 * The embedded registry's compactor: where the AWS stack runs `shelf compact` on a schedule,
 * `shelf serve` runs it shortly after announces. Every announce (or status change) nudges it; a
 * nudge starts one run after {@link DEFAULT_COMPACT_DELAY_MS}, so a burst of announces leads to
 * one run, after their responses. A run compacts each kind whose delta holds `policy.delta_max`
 * packages and writes nothing otherwise (`src/registry/compact.ts`); one nudged while it runs
 * starts another after it. A failed run is logged and changes nothing: the next nudge tries again,
 * and announces compact inline past the delta's hard cap meanwhile.
 *
 * @module
 */
import { silentLog, type LogSink } from '../core/log.ts';
import { compact } from '../registry/compact.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Default wait between a nudge and the run it starts, ms. */
export const DEFAULT_COMPACT_DELAY_MS = 250;

/** Options of {@link BackgroundCompactor}. */
export interface BackgroundCompactorOptions {
  /** Wait between a nudge and the run it starts, ms. Default {@link DEFAULT_COMPACT_DELAY_MS}. */
  delayMs?: number;
  /** Where a line per run that compacted, or failed, goes. Default nowhere. */
  log?: LogSink;
}

/** Runs the compactor after announces, one run at a time. */
export class BackgroundCompactor {
  readonly #store: ObjectStore;
  readonly #delayMs: number;
  readonly #log: LogSink;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = false;
  /** Runs finished (compacting or not, failed included). */
  runs = 0;

  constructor(store: ObjectStore, options: BackgroundCompactorOptions = {}) {
    const delayMs = options.delayMs ?? DEFAULT_COMPACT_DELAY_MS;
    if (!Number.isSafeInteger(delayMs) || delayMs < 0) throw new TypeError(`"delayMs" option must be a non-negative integer, got ${String(delayMs)}`);
    this.#store = store;
    this.#delayMs = delayMs;
    this.#log = options.log ?? silentLog;
  }

  /** Something was announced: run the compactor soon (once for a burst of nudges). */
  nudge(): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#start();
    }, this.#delayMs);
  }

  /** Resolves once no run is waiting or running (tests; `close`). */
  async idle(): Promise<void> {
    while (this.#timer || this.#running) {
      if (this.#timer) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#start();
      }
      await this.#running;
    }
  }

  /** Stops taking nudges and waits for the run in progress, if any (a waiting one is dropped). */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#again = false;
    await this.#running;
  }

  #start(): void {
    this.#running = this.#run().finally(() => {
      this.#running = undefined;
      this.runs++;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.nudge();
      }
    });
  }

  async #run(): Promise<void> {
    try {
      const report = await compact(this.#store);
      const done = report.kinds.filter((k) => k.compacted);
      if (done.length > 0) this.#log({ type: 'event', time: new Date().toISOString(), event: 'compact', kinds: done });
    } catch (err) {
      this.#log({ type: 'event', time: new Date().toISOString(), event: 'compact', error: err instanceof Error ? err.message : String(err), code: (err as { code?: unknown }).code });
    }
  }
}
