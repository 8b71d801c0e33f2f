/**
 * Search and the lifecycle: a deprecated package is marked in its result and ranks below an
 * otherwise equal active package, in the sharded reader and the bench's whole-index reference alike; its
 * flag in the document entries does not disturb the platform filters. (Yanked versions and
 * removed packages never reach the index: see `summarize` in `test/announce/status.test.ts`.)
 */
import { describe, expect, it } from 'vitest';
import { referenceSearch } from '../../bench/lib/reference.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { indexDocument } from '../../src/search/format/indexed-document.ts';
import { DocEntry } from '../../src/search/format/wire.ts';
import { DEPRECATED_RELEVANCE } from '../../src/search/query.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { makeSummary, SMALL_POLICY } from './corpus.ts';
import { bucketWith } from './helpers.ts';

const BASE = 'http://registry.test';

function pkg(name: string, description: string, deprecated = false): PackageSummary {
  return makeSummary(name, description, {
    tools: name.endsWith('/echo') ? ['echo_text'] : [],
    ...(deprecated ? { status: 'deprecated' as const, status_message: 'Moved to @b/echo.' } : {}),
  });
}

// "@a/echo" sorts first by name: on a tie it would come first, were it not deprecated.
const corpus = [pkg('@a/echo', 'Echoes text back.', true), pkg('@b/echo', 'Echoes text back.'), pkg('@c/other', 'Something else entirely.')];
for (let i = 0; i < 40; i++) corpus.push(pkg(`@f${i}/filler-${i}`, `filler words ${i}`));

describe('a deprecated package in search', () => {
  it('ranks below an otherwise equal active package, marked, in the sharded reader and the whole-index reference', async () => {
    const bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
    const sharded = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch });
    const whole = referenceSearch(corpus);
    for (const hits of [await sharded.search('echo'), whole.search('echo')]) {
      expect(hits.map((h) => h.name)).toEqual(['@b/echo', '@a/echo']);
      expect(hits[1]).toMatchObject({ status: 'deprecated', status_message: 'Moved to @b/echo.' });
      expect(hits[0]!.status).toBeUndefined();
      expect(hits[1]!.score).toBeCloseTo(hits[0]!.score * DEPRECATED_RELEVANCE, 9);
    }
    // Listing orders are not relevance: by name, it comes first.
    expect((await sharded.search('', { sort: 'name', limit: 2 })).map((h) => h.name)).toEqual(['@a/echo', '@b/echo']);
  });

  it('keeps its platforms: the flag is not a platform, and old readers ignore it', async () => {
    const entry = indexDocument(corpus[0]!).entry;
    expect(DocEntry.deprecated(entry)).toBe(true);
    expect(DocEntry.platformMask(entry)).toBe(DocEntry.platformMask(indexDocument(corpus[1]!).entry));
    expect(DocEntry.deprecated(indexDocument(corpus[1]!).entry)).toBe(false);
    const bucket = await bucketWith(corpus, { policy: SMALL_POLICY });
    const sharded = await ShardedSearch.open({ baseUrl: BASE, kind: 'bundle', fetch: bucket.fetch });
    expect((await sharded.search('echo', { os: 'linux', arch: 'x64' })).map((h) => h.name)).toEqual(['@b/echo', '@a/echo']);
    expect(await sharded.search('echo', { os: 'darwin' })).toEqual([]);
  });
});
