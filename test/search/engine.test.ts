/**
 * engineFrom fills MiniSearch's own structures instead of going through loadJS's serialized
 * form: an instance built from the same postings and statistics must answer every query exactly
 * as the instance loadJS builds, and SizedMap must be what BM25 reads as document frequency.
 */
import MiniSearch from 'minisearch';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SEARCH_OPTIONS, indexOptions, SEARCH_FIELDS, type SearchDocument } from '../../src/core/search-options.ts';
import { searchDocument } from '../../src/core/search-options.ts';
import { engineFrom, internalsOf, SizedMap, type TermPostings } from '../../src/search/read/engine.ts';
import { makeCorpus } from './corpus.ts';

const QUERIES = ['weather', 'git', 'serv', 'wether', 'file system', 'api ai', 'node npm', 'convert enum'];

function built(): { reference: MiniSearch<SearchDocument>; json: ReturnType<MiniSearch['toJSON']> } {
  const reference = new MiniSearch<SearchDocument>({ ...indexOptions(), storeFields: [] });
  reference.addAll(makeCorpus({ count: 150, seed: 5 }).map(searchDocument));
  return { reference, json: reference.toJSON() };
}

/** The serialized form's postings as maps keyed by numbers, as the sharded client holds them. */
function partsOf(json: ReturnType<MiniSearch['toJSON']>, documentCount: number, averageFieldLength: number[]) {
  return {
    documentCount,
    averageFieldLength,
    fields: SEARCH_FIELDS,
    documents: Object.entries(json.documentIds).map(([id, name]) => [Number(id), String(name)] as [number, string]),
    fieldLength: Object.entries(json.fieldLength).map(([id, l]) => [Number(id), l] as [number, number[]]),
    index: json.index.map(
      ([term, fields]) =>
        [term, new Map(Object.entries(fields).map(([fid, p]) => [Number(fid), new Map(Object.entries(p).map(([id, tf]) => [Number(id), tf]))]))] as [string, TermPostings],
    ),
  };
}

const results = (engine: MiniSearch<SearchDocument>, q: string, combineWith: 'AND' | 'OR') =>
  engine.search({ queries: q.split(' '), combineWith }, DEFAULT_SEARCH_OPTIONS).map((r) => [r.id, r.score, r.terms]);

describe('engineFrom', () => {
  it('answers every query as the instance MiniSearch builds itself, and as loadJS with other statistics', () => {
    const { reference, json } = built();
    const same = engineFrom(partsOf(json, json.documentCount, json.averageFieldLength));
    for (const q of QUERIES) {
      expect(results(same, q, 'AND'), q).toEqual(results(reference, q, 'AND'));
      expect(results(same, q, 'OR'), q).toEqual(results(reference, q, 'OR'));
    }
    // The registry's statistics rather than the local ones: as loadJS given them.
    const averages = json.averageFieldLength.map((a, i) => a * (1 + i / 10));
    const viaLoadJS = MiniSearch.loadJS<SearchDocument>({ ...json, documentCount: 100_000, averageFieldLength: averages }, indexOptions());
    const global = engineFrom(partsOf(json, 100_000, averages));
    for (const q of QUERIES) expect(results(global, q, 'OR'), q).toEqual(results(viaLoadJS, q, 'OR'));
    expect(results(global, 'weather', 'OR')).not.toEqual(results(same, 'weather', 'OR')); // the statistics count
  });

  it('reads a SizedMap size as the document frequency', () => {
    const { reference, json } = built();
    const parts = partsOf(json, json.documentCount, json.averageFieldLength);
    const plain = engineFrom(parts);
    const term = json.index.find(([t]) => t === 'weather') ?? json.index[0]!;
    const sized = engineFrom({
      ...parts,
      index: parts.index.map(([t, fields]) => [t, t === term[0] ? new Map([...fields].map(([fid, p]) => [fid, new SizedMap(p, p.size * 50)])) : fields]),
    });
    const [a] = results(plain, term[0], 'OR');
    const [b] = results(sized, term[0], 'OR');
    expect(b![0]).toBe(a![0]);
    expect(Number(b![1])).toBeLessThan(Number(a![1])); // a commoner term weighs less
    expect(internalsOf(reference).postings(term[0])?.size).toBeGreaterThan(0);
  });
});

describe("MiniSearch's internals that engineFrom fills", () => {
  it('are those of the exact MiniSearch version package.json pins (bump both together, after this test passes)', async () => {
    const { readFile } = await import('node:fs/promises');
    // A development dependency: the published command line inlines it (scripts/build-cli.ts).
    const pinned = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')).devDependencies.minisearch as string;
    const installed = JSON.parse(await readFile(new URL('../../node_modules/minisearch/package.json', import.meta.url), 'utf8')).version as string;
    expect(pinned, 'minisearch must be pinned to an exact version: engine.ts fills its private fields').toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
    const { reference } = built();
    const internal = reference as unknown as Record<string, unknown>;
    for (const field of ['_documentIds', '_idToShortId', '_fieldLength']) {
      expect(internal[field], `MiniSearch.${field} is no longer a Map: engine.ts must change`).toBeInstanceOf(Map);
    }
    const index = internal._index as { get?: unknown; set?: unknown };
    expect(typeof index.get === 'function' && typeof index.set === 'function', 'MiniSearch._index lost get/set: engine.ts must change').toBe(true);
    // The postings it holds have the shape engineFrom writes: field id → short id → term frequency.
    const some = internalsOf(reference).postings('weather') ?? [...(internal._index as Iterable<[string, TermPostings]>)][0]![1];
    const [fid, postings] = [...some][0]!;
    expect(typeof fid).toBe('number');
    const [shortId, tf] = [...postings][0]!;
    expect([typeof shortId, typeof tf]).toEqual(['number', 'number']);
    expect(internalsOf(reference).documents.get(shortId)).toEqual(expect.any(String));
  });
});
