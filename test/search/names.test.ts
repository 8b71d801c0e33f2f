import { describe, expect, it } from 'vitest';
import { referenceSearch } from '../../bench/lib/reference.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { indexDocument } from '../../src/search/format/indexed-document.ts';
import { nameFieldTerms, ShardedSearch } from '../../src/search/read/reader.ts';
import { makeCorpus, SMALL_POLICY } from './corpus.ts';
import { bucketWith } from './helpers.ts';

const BASE = 'http://registry.test';
/** The ranking reference: one whole index over the same summaries. */
const wholeIndex = (summaries: PackageSummary[]) => referenceSearch(summaries);

function pkg(name: string, text: string, tools: string[] = []): PackageSummary {
  return {
    kind: 'bundle',
    name,
    display_name: name.split('/')[1]!,
    description: text,
    latest: '1.0.0',
    newest: '1.0.0',
    server_type: 'node',
    platforms: ['linux-x64'],
    tools,
    keywords: [],
    author: 'x',
    published_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    verified: true,
  };
}

describe('name-derived fields', () => {
  it('nameFieldTerms gives the name and scope postings and lengths MiniSearch indexes', () => {
    const names = ['@api-ai/api-gougris', '@x/node-node-mcp', '@a1/b_c-d', ...makeCorpus({ count: 60, seed: 4 }).map((s) => s.name)];
    for (const name of names) {
      const doc = indexDocument(pkg(name, 'words here'));
      for (const [fid, field] of [
        [0, 'name'],
        [5, 'scope'],
      ] as const) {
        const got = nameFieldTerms(name, field);
        const expected = new Map([...doc.postings].filter(([, f]) => f.has(fid)).map(([t, f]) => [t, f.get(fid)!]));
        expect(got.terms, `${name} ${field}`).toEqual(expected);
        expect(got.length, `${name} ${field}`).toBe(doc.lengths[fid]);
      }
    }
  });
});

describe('a common word read in part', () => {
  // "node" is in the name of every package; most also repeat it in their tools and description,
  // so a package whose name holds "node" and a rare typo neighbour ("lode") sits deep in the
  // pages of "node" by impact, yet ranks first in the whole index (the rare term weighs most).
  const corpus: PackageSummary[] = [];
  for (let i = 0; i < 400; i++) corpus.push(pkg(`@s${i}/node-${['alpha', 'beta', 'gamma', 'delta'][i % 4]}`, `node node helper ${i}`, ['node_run', 'node_stop']));
  corpus.push(pkg('@zed/node-lode', 'plain text'));
  // Packages named after the neighbour alone, more than one round of candidates scored again:
  // without the name fields of "node", the one above scores as they do over what was read, sorts
  // after them, and is never scored again.
  for (let i = 0; i < 150; i++) corpus.push(pkg(`@d${i}/lode-x${i}`, 'plain text'));

  it('scores a document found through one term with the name fields of the others', async () => {
    const bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
    // The word is paged, and the budget reads only a little of it.
    const client = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch, expansionBudget: 30_000 });
    const found = await client.search('node', { limit: 10 });
    const expected = wholeIndex(corpus).search('node', { limit: 10 });
    const hits = found.map((h) => h.name);
    const reference = expected.map((h) => h.name);
    expect(reference[0]).toBe('@zed/node-lode');
    // Not a complete read: the word's pages were read in part.
    expect(client.stats.keys.length).toBeLessThan(bucket.files.size / 4);
    // The first hit and its score are the whole index's (the others tie, and ties may differ).
    expect(hits[0]).toBe(reference[0]);
    expect(found[0]!.score).toBeCloseTo(expected[0]!.score, 9);
    expect(found[1]!.score).toBeCloseTo(expected[1]!.score, 9);
  });
});

describe('typo matches the dictionary ranges miss', () => {
  // "note" is one typo from "node", but the dictionary range of the first letters ("no…") is
  // capped, and hundreds of "no…" terms sort between "node" and "note"; its last letters differ
  // too. The name of a package read for "node" holds it, and that is how the client finds it.
  const corpus: PackageSummary[] = [];
  for (let i = 0; i < 60; i++) corpus.push(pkg(`@s${i}/node-alpha${i}`, `node helper ${i}`));
  corpus.push(pkg('@zed/node-note', 'plain text'));
  for (let i = 0; i < 3; i++) corpus.push(pkg(`@n${i}/note-x${i}`, `taking ${i}`));
  const letters = 'efghijklmnopqrs';
  for (let i = 0; i < 400; i++) {
    const w = `no${letters[i % letters.length]}${letters[Math.floor(i / letters.length) % letters.length]}${'abcdefghij'[i % 10]}`;
    corpus.push(pkg(`@f${i}/${w}-filler`, `filler ${w}`));
  }

  it('looks up the terms of the names read that match a query word', async () => {
    const bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
    const client = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch });
    const notes = (hits: { name: string }[]): string[] => hits.map((h) => h.name).filter((n) => n.includes('/note-'));
    const expected = notes(wholeIndex(corpus).search('node', { limit: 200 }));
    expect(expected).toHaveLength(3);
    expect(notes(await client.search('node', { limit: 200 })).sort()).toEqual(expected.sort());
  });
});
