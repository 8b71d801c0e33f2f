/**
 * Document ids in files: base 36 (at most 11 characters for 52 bits), a third shorter than
 * decimal in postings that repeat millions of times. Pure module.
 *
 * @module
 */

/** The file form of a document id. */
export function encodeId(id: number): string {
  return id.toString(36);
}

/** The number of a document id read from a file (exact: ids stay below 2⁵³). */
export function decodeId(text: string): number {
  return parseInt(text, 36);
}
