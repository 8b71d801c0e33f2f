/**
 * Content-defined chunking of a sorted sequence into files of bounded size: a chunk is cut before
 * entry `e` when adding it would exceed `max` bytes, or when the chunk has `min` bytes and `e` is
 * a *natural boundary* (a hash of its key under a probability proportional to its size). Cuts
 * depend on the entries alone, so a build and any sequence of updates agree, and an update falls
 * back into step with the old chunks at the next boundary both agree on.
 *
 * @module
 */
import { ShelfError } from '../../core/errors.ts';
import { fnv1a32 } from './hash.ts';

/** Size bounds of the files of one tree level, in bytes of JSON. */
export interface ChunkPolicy {
  /** A chunk is never cut at a natural boundary before it has this many bytes. */
  min: number;
  /** Expected size of a chunk. */
  target: number;
  /** A chunk never exceeds this many bytes, unless a single entry alone does. */
  max: number;
}

/** Tracks the size of the file a chunk would serialise to as entries are added. */
export interface Accumulator<E> {
  /** Bytes of the chunk so far (including the file's fixed overhead). */
  readonly size: number;
  /** Bytes the chunk would have with `entry` added. */
  sizeWith(entry: E): number;
  /** Adds an entry. */
  add(entry: E): void;
}

/** How a level's entries are keyed and measured. */
export interface ChunkCodec<E> {
  /** Distinguishes levels and trees, so their boundaries are independent. */
  readonly salt: string;
  /** The sort key; unique within a level. */
  key(entry: E): string;
  /** The entry's own serialised size (with anything it drags into the file); drives boundary odds. */
  weight(entry: E): number;
  /** A fresh, empty accumulator. */
  accumulator(): Accumulator<E>;
}

/** Validates a policy eagerly, naming the option at fault. @throws ShelfError `invalid_argument` */
export function checkPolicy(name: string, policy: ChunkPolicy): void {
  const { min, target, max } = policy ?? ({} as ChunkPolicy);
  for (const [field, value] of Object.entries({ min, target, max })) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new ShelfError('invalid_argument', `The "${name}.${field}" option must be a positive integer; got ${String(value)}.`);
    }
  }
  if (!(min < target && target < max)) {
    throw new ShelfError('invalid_argument', `The "${name}" option must have min < target < max; got ${min}, ${target}, ${max}.`);
  }
}

/** True when `entry` is a natural boundary: odds grow with its weight so chunks average `target` bytes. */
export function isNaturalBoundary<E>(codec: ChunkCodec<E>, policy: ChunkPolicy, entry: E): boolean {
  const p = 1 - Math.exp(-codec.weight(entry) / (policy.target - policy.min));
  return fnv1a32(`${codec.salt}\u0000${codec.key(entry)}`) < p * 4294967296;
}

/** A streaming chunker: push entries in key order, collect closed chunks (a function of what was pushed since the last cut). */
export class Chunker<E> {
  private acc: Accumulator<E>;
  private current: E[] = [];
  /** The bounds of the chunk being filled: `first` until the first cut, then `policy`. */
  private bounds: ChunkPolicy;

  /** @param first Bounds of the first chunk only (default `policy`); a chunker resuming past a level's first file gets `policy`. */
  constructor(
    private readonly codec: ChunkCodec<E>,
    private readonly policy: ChunkPolicy,
    first: ChunkPolicy = policy,
  ) {
    this.acc = codec.accumulator();
    this.bounds = first;
  }

  /** True when pushing `entry` would first close the current chunk. */
  wouldCut(entry: E): boolean {
    if (this.current.length === 0) return false;
    if (this.acc.sizeWith(entry) > this.bounds.max) return true;
    return this.acc.size >= this.bounds.min && isNaturalBoundary(this.codec, this.bounds, entry);
  }

  /** Adds an entry; returns the chunk it closed, if any. */
  push(entry: E): E[] | null {
    let closed: E[] | null = null;
    if (this.wouldCut(entry)) closed = this.cut();
    this.acc.add(entry);
    this.current.push(entry);
    return closed;
  }

  /** Closes the current chunk (null when empty). */
  cut(): E[] | null {
    if (this.current.length === 0) return null;
    const chunk = this.current;
    this.current = [];
    this.acc = this.codec.accumulator();
    this.bounds = this.policy;
    return chunk;
  }

  /** Whether the current chunk is empty. */
  get empty(): boolean {
    return this.current.length === 0;
  }
}

/** Cuts a whole sorted sequence into chunks (the first with the bounds `first`, default `policy`). */
export function chunkAll<E>(codec: ChunkCodec<E>, policy: ChunkPolicy, entries: Iterable<E>, first: ChunkPolicy = policy): E[][] {
  const chunker = new Chunker(codec, policy, first);
  const out: E[][] = [];
  for (const e of entries) {
    const closed = chunker.push(e);
    if (closed) out.push(closed);
  }
  const last = chunker.cut();
  if (last) out.push(last);
  return out;
}
