/** The reference levels every tree shares: `[first_key, file, bytes, weight]`. @module */
import { ShelfError } from '../../core/errors.ts';
import type { ChunkPolicy } from './chunker.ts';
import { SHARDED_FORMAT_VERSION, type RefJson } from './wire.ts';
import type { LevelSpec } from './tree.ts';
import { checkRefsFile, valid } from './validate.ts';
import { OVERHEAD, PlainAccumulator, jsonStringLength, numberLength } from './sizes.ts';

/** Level ≥ 1 (catalog, pages) or ≥ 2 (terms): `[first_key, file, bytes, weight]`. */
export function refsLevel(salt: string, policy: ChunkPolicy): LevelSpec<RefJson> {
  const weight = (e: RefJson): number => refJsonLength(e) + 1;
  return {
    salt,
    policy,
    key: (e) => e[0],
    weight,
    accumulator: () => new PlainAccumulator(OVERHEAD, weight),
    encode: (entries) => ({ v: SHARDED_FORMAT_VERSION, t: 'refs', e: entries }),
    decode: (file) => valid(checkRefsFile(file)).e,
    ref: (entries, file, bytes) => [entries[0]![0], file, bytes, entries.reduce((n, e) => n + weight(e), 0)],
    child: (e) => e[1],
    childWeight: (e) => e[3],
  };
}

/** `JSON.stringify(ref).length` of a reference `[first_key, file, bytes, weight]`, counted without building the text. */
export function refJsonLength(e: RefJson): number {
  if (e.length === 4) {
    const [key, file, bytes, weight] = e;
    if (typeof key === 'string' && typeof file === 'string' && typeof bytes === 'number' && Number.isFinite(bytes) && typeof weight === 'number' && Number.isFinite(weight)) {
      // 2 brackets, 3 commas.
      return 5 + jsonStringLength(key) + jsonStringLength(file) + numberLength(bytes) + numberLength(weight);
    }
  }
  return JSON.stringify(e).length;
}

export function notAReference(): never {
  throw new ShelfError('internal_error', 'Level 0 entries do not reference files.');
}
