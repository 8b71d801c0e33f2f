/**
 * Forcing one interleaving of concurrent writers, deterministically: a {@link Pause} is a point a
 * pipeline waits at (from its `afterStep` hook, or from a store write through
 * {@link pausingStore}) until the test lets it go, so a test can run another writer while the
 * first one stands exactly there.
 */
import type { ObjectStore, PutOptions } from '../../src/store/object-store.ts';

/** A point one writer waits at until {@link Pause.release}. */
export class Pause {
  /** Resolves when a writer reached the point (and is waiting there). */
  readonly reached: Promise<void>;
  #reach!: () => void;
  #release!: () => void;
  readonly #released: Promise<void>;

  constructor() {
    this.reached = new Promise((resolve) => (this.#reach = resolve));
    this.#released = new Promise((resolve) => (this.#release = resolve));
  }

  /** Called by the writer: marks the point reached and waits for the release. */
  async wait(): Promise<void> {
    this.#reach();
    await this.#released;
  }

  /** Lets the writer go on (harmless when none reached the point). */
  release(): void {
    this.#release();
  }
}

/**
 * A store that holds the first write `when` matches at `pause` (before sending it), and passes
 * everything else through.
 */
export function pausingStore(store: ObjectStore, when: (key: string, body: Uint8Array, options: PutOptions) => boolean, pause: Pause): ObjectStore {
  let armed = true;
  return {
    description: store.description,
    get: (key) => store.get(key),
    head: (key) => store.head(key),
    list: (prefix) => store.list(prefix),
    delete: (key) => store.delete(key),
    ...(store.purge ? { purge: (key: string) => store.purge!(key) } : {}),
    async put(key, body, options) {
      if (armed && when(key, body, options)) {
        armed = false;
        await pause.wait();
      }
      return store.put(key, body, options);
    },
  };
}
