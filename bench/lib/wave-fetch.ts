/**
 * A fetch that answers in waves, to count a client's sequential rounds of requests without a
 * clock: it holds every request until the client has gone quiet (no new request for a few turns
 * of the event loop), then answers them all at once, as a network whose every response takes the
 * same time would. A wave is one round of requests the client could not have sent earlier (what
 * its `await`s made sequential). Used by the relevance bench and the reader's tests.
 *
 * @module
 */

/** Connections a browser opens to one host over HTTP/1.1. */
export const CONNECTIONS = 6;
/** Turns of the event loop without a new request after which a wave is answered. */
const QUIET_TURNS = 8;

/** A fetch answering in waves. */
export interface WaveFetch {
  fetch: (url: string) => Promise<Response>;
  /** Waves answered so far. */
  waves(): number;
  /** The same with at most {@link CONNECTIONS} requests answered per round (HTTP/1.1 in a browser). */
  http1(): number;
  /** Every URL requested, with the wave (from 1) that answered it, in the order requested. */
  log: { url: string; wave: number }[];
}

/** Wraps `inner` so that it answers in waves. */
export function waveFetch(inner: (url: string) => Promise<Response>): WaveFetch {
  let waiting: (() => void)[] = [];
  let waves = 0;
  let http1 = 0;
  let arrived = 0;
  let watching = false;
  const log: { url: string; wave: number }[] = [];
  const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
  const watch = async (): Promise<void> => {
    watching = true;
    for (;;) {
      let seen = arrived;
      for (let quiet = 0; quiet < QUIET_TURNS; quiet++) {
        await turn();
        if (arrived !== seen) {
          seen = arrived;
          quiet = -1;
        }
      }
      if (waiting.length === 0) break;
      const wave = waiting;
      waiting = [];
      waves++;
      http1 += Math.ceil(wave.length / CONNECTIONS);
      for (const answer of wave) answer();
    }
    watching = false;
  };
  return {
    fetch: async (url) => {
      arrived++;
      const entry = { url, wave: 0 };
      log.push(entry);
      await new Promise<void>((r) => {
        waiting.push(r);
        if (!watching) void watch();
      });
      entry.wave = waves;
      return inner(url);
    },
    waves: () => waves,
    http1: () => http1,
    log,
  };
}
