/**
 * Seeded randomness for the synthetic corpus: a small fast PRNG (sfc32) and a Zipf sampler. The
 * same seed gives the same corpus on every machine and Node version, so results are comparable
 * run to run.
 *
 * @module
 */

/** A seeded pseudo-random generator (sfc32, 32-bit state words). */
export class Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** @param seed Any integer; equal seeds give equal sequences. */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`"seed" must be an integer, got ${String(seed)}`);
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    // Discard the first outputs: sfc32 needs a few rounds to mix a low-entropy seed.
    for (let i = 0; i < 15; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** A uniformly chosen element. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('cannot pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** 1 + the number of failures before a success of probability `p`, at most `max`. */
  geometric(p: number, max: number): number {
    let k = 1;
    while (k < max && !this.chance(p)) k++;
    return k;
  }

  /** A new generator seeded from this one, so sub-streams stay stable when others change. */
  fork(): Random {
    return new Random(Math.floor(this.next() * 2 ** 31));
  }
}

/**
 * Samples ranks 0..n-1 with probability proportional to 1/(rank+1)^s: the frequency law of words
 * in natural text.
 */
export class Zipf {
  readonly #cdf: Float64Array;

  /**
   * @param n Number of ranks (a positive integer).
   * @param s Exponent; 1 is the classic law of word frequencies.
   */
  constructor(n: number, s = 1) {
    if (!Number.isInteger(n) || n < 1) throw new TypeError(`"n" must be a positive integer, got ${String(n)}`);
    if (!(s > 0)) throw new TypeError(`"s" must be positive, got ${String(s)}`);
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) this.#cdf[k] = sum += 1 / (k + 1) ** s;
    for (let k = 0; k < n; k++) this.#cdf[k]! /= sum;
  }

  /** A rank, by binary search of the cumulative distribution. */
  sample(random: Random): number {
    const u = random.next();
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
