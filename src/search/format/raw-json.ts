/** A file's JSON written from pre-serialised parts: exactly what `JSON.stringify` would give. @module */

/** Pre-serialised JSON text of a whole file. */
export class RawJson {
  constructor(readonly text: string) {}
}
