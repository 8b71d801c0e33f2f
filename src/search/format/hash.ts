/**
 * The hashes of the sharded index: content names of files, stable document ids, and the boundary
 * hash of content-defined chunking. Builder-side (`node:crypto`): the client never hashes.
 *
 * @module
 */
import { createHash } from 'node:crypto';

/** The name of an immutable file: 80 bits of the SHA-256 of its bytes (equal content, equal name). */
export function contentName(content: string): string {
  return createHash('sha256').update(content, 'utf8').digest('hex').slice(0, 20);
}

/**
 * The stable id of a document: 52 bits of the SHA-256 of its name, the same in every build (unlike
 * MiniSearch's sequential ids) and a safe integer. Two names collide with probability ≈ n²/2⁵³.
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
