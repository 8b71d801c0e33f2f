/**
 * A file's JSON written by hand from pre-serialised parts, for the files that hold thousands of
 * entries: the text must be exactly what `JSON.stringify` would give for the same value.
 *
 * @module
 */

/** Pre-serialised JSON text of a whole file. */
export class RawJson {
  constructor(readonly text: string) {}
}
