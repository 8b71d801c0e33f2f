/**
 * The sharded format's entries by field name, and its constants: what readers need of `wire.ts`
 * without its zod schemas (which re-export these). Entries are arrays on the wire; these name
 * their fields.
 *
 * Pure module: no Node APIs, no libraries.
 *
 * @module
 */
import type { DictEntryJson, DocEntryJson, RefJson, TermEntryJson, TermInfoJson, PostingsJson } from './wire.ts';

/** Version of the sharded format; in the root and in every file (`v`). Bumped on incompatible changes. */
export const SHARDED_FORMAT_VERSION = 1 as const;

/**
 * A flag above the platform bits of a document entry's mask: the package is deprecated (as a
 * whole, or the version its result shows), and search ranks it lower. Readers that predate it
 * ignore it (no platform filter names that bit).
 */
export const DEPRECATED_FLAG = 1 << 24;

/** The fields of a {@link DocEntryJson}, by name. */
export const DocEntry = {
  id: (d: DocEntryJson): string => d[0],
  name: (d: DocEntryJson): string => d[1],
  /** Its display file, `<id>-<display hash>` (`docs/<file>.json`). */
  displayFile: (d: DocEntryJson): string => `${d[0]}-${d[2]}`,
  updatedMs: (d: DocEntryJson): number => d[3],
  serverType: (d: DocEntryJson): string | null => d[4],
  platformMask: (d: DocEntryJson): number => d[5] & (DEPRECATED_FLAG - 1),
  /** Whether the package is deprecated (see {@link DEPRECATED_FLAG}). */
  deprecated: (d: DocEntryJson): boolean => (d[5] & DEPRECATED_FLAG) !== 0,
} as const;

/** The fields of a {@link RefJson}, by name. */
export const Ref = {
  firstKey: (r: RefJson): string => r[0],
  file: (r: RefJson): string => r[1],
  bytes: (r: RefJson): number => r[2],
} as const;

/** The fields of a {@link TermEntryJson}, by name. */
export const TermEntry = {
  term: (e: TermEntryJson): string => e[0],
  /** Inline postings: field id → flat `[id, tf, field_length, ...]`. */
  postings: (e: TermEntryJson): PostingsJson => e[1],
} as const;

/** The fields of a {@link TermInfoJson} and a {@link DictEntryJson}, by name. */
export const DictEntry = {
  file: (e: DictEntryJson): string => e[0],
  terms: (e: DictEntryJson): TermInfoJson[] => e[2],
  /** A term as the dictionary lists it. */
  term: (info: TermInfoJson): string => (typeof info === 'string' ? info : info[0]),
  /** A paged term's fields: field id → `[df, head_file, head_bytes]`; none for a term not paged. */
  paged: (info: TermInfoJson): Record<string, [number, string, number]> => (typeof info === 'string' ? {} : info[1]),
} as const;
