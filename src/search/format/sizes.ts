/**
 * Sizes, all JSON lengths. A posting costs the same inline or paged, so the paging decision is the
 * same function of the postings in the build and in an update.
 *
 * @module
 */
import { type Accumulator } from './chunker.ts';
import { type DocEntryJson } from './wire.ts';

/**
 * `compute`, remembered per object: for values of entries, documents and summaries, which are never
 * changed once made and are measured or written many times over (a document is in many files).
 */
export function oncePerObject<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const values = new WeakMap<K, V>();
  return (key) => {
    let value = values.get(key);
    if (value === undefined) values.set(key, (value = compute(key)));
    return value;
  };
}

/** Bytes of a document entry in a `docs` list, measured once per entry. */
export function docCost(doc: DocEntryJson): number {
  return docCostOnce(doc);
}
const docCostOnce = oncePerObject((doc: DocEntryJson) => docJsonLength(doc) + 1);

/** `JSON.stringify` of a document entry, computed once per entry. */
export function docJson(doc: DocEntryJson): string {
  return docJsonOnce(doc);
}
const docJsonOnce = oncePerObject((doc: DocEntryJson) => JSON.stringify(doc));

/** `JSON.stringify(doc).length` without building the text (measured far more often than written); serialises anything ill-typed. */
export function docJsonLength(doc: DocEntryJson): number {
  if (doc.length === 6) {
    const [id, name, display, updated, type, mask] = doc;
    if (
      typeof id === 'string' &&
      typeof name === 'string' &&
      typeof display === 'string' &&
      typeof updated === 'number' &&
      Number.isFinite(updated) &&
      (type === null || typeof type === 'string') &&
      typeof mask === 'number' &&
      Number.isFinite(mask)
    ) {
      // 2 brackets, 5 commas.
      return (
        7 +
        jsonStringLength(id) +
        jsonStringLength(name) +
        jsonStringLength(display) +
        numberLength(updated) +
        (type === null ? 4 : jsonStringLength(type)) +
        numberLength(mask)
      );
    }
  }
  return JSON.stringify(doc).length;
}

/** 10⁰ … 10¹⁵ (every safe integer has at most 16 digits). */
export const POWERS_OF_TEN: readonly number[] = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** `JSON.stringify(n).length` of a finite number. */
export function numberLength(n: number): number {
  if (Number.isSafeInteger(n)) {
    const a = n < 0 ? -n : n;
    let len = 1;
    while (len < POWERS_OF_TEN.length && a >= POWERS_OF_TEN[len]!) len++;
    return n < 0 ? len + 1 : len;
  }
  return String(n).length;
}

/** `JSON.stringify(s).length` (UTF-16 code units, with the escapes JSON.stringify writes). */
export function jsonStringLength(s: string): number {
  let n = s.length + 2;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && (c < 0xd800 || c > 0xdfff)) continue;
    if (c === 0x22 || c === 0x5c || c === 0x08 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d) n += 1;
    else if (c < 0x20) n += 5;
    else if (c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
    else n += 5; // a lone surrogate: \udxxx
  }
  return n;
}

/** Bytes of one posting with its document: the unit the paging threshold counts. */
export function postingCost(tf: number, len: number, doc: DocEntryJson): number {
  return doc[0].length + digits(tf) + digits(len) + 5 + docCost(doc);
}

/** Decimal digits of a non-negative integer (its JSON length). */
export function digits(n: number): number {
  return n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length;
}

/** The documents an entry brings into a file: their ids and their sizes in the `docs` list. */
export interface EntryDocs {
  ids: number[];
  costs: number[];
  docs: DocEntryJson[];
}

/** Accumulates entries that each bring documents; every document is counted once per file. */
export class DocAccumulator<E> implements Accumulator<E> {
  size: number;
  private readonly seen = new Set<number>();
  /** The entry `sizeWith` last measured and its result, which `add` of that entry reuses. */
  private last: E | undefined = undefined;
  private lastSize = 0;
  constructor(
    overhead: number,
    private readonly own: (e: E) => number,
    private readonly docs: (e: E) => EntryDocs,
  ) {
    this.size = overhead;
  }
  sizeWith(e: E): number {
    let size = this.size + this.own(e);
    const { ids, costs } = this.docs(e);
    for (let i = 0; i < ids.length; i++) if (!this.seen.has(ids[i]!)) size += costs[i]!;
    this.last = e;
    this.lastSize = size;
    return size;
  }
  add(e: E): void {
    const { ids, costs } = this.docs(e);
    if (this.last === e) {
      for (let i = 0; i < ids.length; i++) this.seen.add(ids[i]!);
      this.size = this.lastSize;
    } else {
      let size = this.size + this.own(e);
      for (let i = 0; i < ids.length; i++) {
        if (this.seen.has(ids[i]!)) continue;
        this.seen.add(ids[i]!);
        size += costs[i]!;
      }
      this.size = size;
    }
    this.last = undefined;
  }
}

/** A {@link DocAccumulator} of entries that each bring one document (postings of a page): the same sizes, without a list per entry. */
export class OneDocAccumulator<E> implements Accumulator<E> {
  size: number;
  private readonly seen = new Set<number>();
  constructor(
    overhead: number,
    private readonly own: (e: E) => number,
    private readonly doc: (e: E) => [id: number, doc: DocEntryJson],
  ) {
    this.size = overhead;
  }
  sizeWith(e: E): number {
    const [id, doc] = this.doc(e);
    return this.size + this.own(e) + (this.seen.has(id) ? 0 : docCost(doc));
  }
  add(e: E): void {
    this.size = this.sizeWith(e);
    this.seen.add(this.doc(e)[0]);
  }
}

export class PlainAccumulator<E> implements Accumulator<E> {
  size: number;
  constructor(
    overhead: number,
    private readonly own: (e: E) => number,
  ) {
    this.size = overhead;
  }
  sizeWith(e: E): number {
    return this.size + this.own(e);
  }
  add(e: E): void {
    this.size += this.own(e);
  }
}

export const OVERHEAD = 40;

/** An entry's size in a list (its JSON and a comma), measured once per entry: entries are never changed once made. */
export function jsonWeight<E extends object>(): (entry: E) => number {
  return oncePerObject((e: E) => JSON.stringify(e).length + 1);
}
