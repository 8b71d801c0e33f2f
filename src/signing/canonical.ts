/**
 * Canonical JSON (RFC 8785, JCS, for the values Shelf signs): object keys sorted by UTF-16 code
 * units, no whitespace, strings and numbers as `JSON.stringify` writes them. Two parties that hold
 * the same JSON value get the same bytes, whatever order or spacing the document was served in,
 * so a signature is over the value, not over one serialisation of it.
 *
 * Pure module: no Node APIs (the web pages verify too).
 *
 * @module
 */

/**
 * The canonical serialisation of a JSON value.
 *
 * @throws TypeError for values JSON cannot represent (undefined, functions, non-finite numbers)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: numbers must be finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: cannot serialise a ${typeof value}`);
}

/** The UTF-8 bytes of `prefix` followed by the canonical JSON of `value`: what is signed. */
export function signingInput(prefix: string, value: unknown): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(`${prefix}\n${canonicalJson(value)}`);
}
