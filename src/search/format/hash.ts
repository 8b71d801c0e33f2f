/**
 * The hashes of the sharded index: content names of files, stable document ids, and the boundary
 * hash of content-defined chunking. Builder-side (`node:crypto`): the client never hashes.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/**
 * The name of an immutable file: the first 20 hex digits (80 bits) of the SHA-256 of its bytes.
 * Equal content always gets the same name, so writing it twice is harmless.
 */
export function contentName(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex').slice(0, 20);
}

/**
 * The stable short id of a document: 52 bits of the SHA-256 of the package name. MiniSearch's
 * sequential ids would change with insertion order; this one is the same in every generation and
 * every build, and stays a safe integer (MiniSearch parses `documentIds` keys as numbers).
 * Two names collide with probability about n²/2⁵³ (≈ 10⁻⁶ at 100,000 packages).
 */
export function documentId(name: string): number {
  return parseInt(createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 13), 16);
}

/** 32-bit FNV-1a of a string's UTF-16 code units, in [0, 2³²). Cheap, deterministic, well spread. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche (murmur3's fmix32): FNV alone spreads keys that share a long prefix poorly.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Serialises a file the one way every writer does (as `encodeJson`), so equal content means equal bytes. */
export function fileContent(value: unknown): string {
  return `${JSON.stringify(value)}\n`;
}
