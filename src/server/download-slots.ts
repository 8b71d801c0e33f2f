/**
 * A bound on the artifacts the embedded server holds in memory at once. The store reads an object
 * whole, and an artifact may be 100 MiB, so a burst of downloads could otherwise exhaust the
 * process: at most `slots` downloads are read and sent at once, up to `queue` more wait their
 * turn, and any beyond that are answered `503 server_busy` with `Retry-After`.
 *
 * @module
 */
import { ShelfError } from '../core/errors.ts';

/** Seconds a refused download is told to wait. */
export const BUSY_RETRY_AFTER_SECONDS = 2;

/** Slots for concurrent downloads, with a bounded queue. */
export class DownloadSlots {
  readonly #slots: number;
  readonly #queue: number;
  #busy = 0;
  readonly #waiting: Array<() => void> = [];

  /**
   * @param slots - Downloads sent at once (at least 1).
   * @param queue - Downloads that may wait for a slot (default four times `slots`).
   */
  constructor(slots: number, queue = slots * 4) {
    if (!Number.isSafeInteger(slots) || slots < 1) throw new TypeError(`"slots" must be a positive integer, got ${String(slots)}`);
    if (!Number.isSafeInteger(queue) || queue < 0) throw new TypeError(`"queue" must be a non-negative integer, got ${String(queue)}`);
    this.#slots = slots;
    this.#queue = queue;
  }

  /** Downloads in progress now. */
  get busy(): number {
    return this.#busy;
  }

  /**
   * Waits for a slot and returns its release (call it once, when the response is done).
   *
   * @throws ShelfError `server_busy` when the queue is full
   */
  async acquire(): Promise<() => void> {
    if (this.#busy >= this.#slots) {
      if (this.#waiting.length >= this.#queue) {
        throw new ShelfError('server_busy', `The server is sending ${this.#slots} downloads and has ${this.#queue} waiting; retry shortly.`, {
          retry_after_seconds: BUSY_RETRY_AFTER_SECONDS,
        });
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#busy++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next) next(); // the slot passes to the next in line
      else this.#busy--;
    };
  }
}
