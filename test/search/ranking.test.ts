/**
 * The ranking rules (`src/search/ranking.ts`), one scenario per relevance class of issue 28, on a
 * small corpus: hand-made packages among generated ones. Each scenario asks the sharded reader
 * and the whole-index reference (`bench/lib/reference.ts`), which must agree.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceSearch, type ReferenceSearch } from '../../bench/lib/reference.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { isSwap, osaDistance, queryWords, stemOf, stemRange, suggestion, swapsOf } from '../../src/search/ranking.ts';
import { makeCorpus, makeSummary, SMALL_POLICY } from './corpus.ts';
import { bucketWith } from './helpers.ts';

const pkg = makeSummary;

const MINE: PackageSummary[] = [
  // transposed letters
  pkg('@acme/sentry-monitor', 'Error tracking for services'),
  pkg('@hosting/vercel-preview', 'Ship previews'),
  // stop words: the one package about markdown and pdf, among names the stop word "to" completes
  pkg('@docs/markdown-pdf', 'Render markdown as pdf documents'),
  pkg('@kit/tools', 'Assorted markdown helpers'),
  pkg('@kit/token-counter', 'Counts tokens of a pdf'),
  pkg('@kit/tooling-box', 'Helpers for builds'),
  // stemming
  pkg('@text/digest', 'Short texts from long ones', { tools: ['summarize_page'] }),
  pkg('@ops/shipit', 'Releases', { tools: ['deploy_app'] }),
  pkg('@find/engine', 'Full-text', { tools: ['index_documents'] }),
  // OR ranking: three words, held by one package, two packages, three packages
  pkg('@wx/all-three', 'Weather forecast alerts for farms'),
  pkg('@wx/forecast-alerts', 'Forecast alerts by text message'),
  pkg('@wx/weather-forecast', 'Weather forecast for sailors'),
  pkg('@wx/alert-weather', 'Weather alerts for hikers'),
  pkg('@wx/only-weather', 'Weather station readings'),
  pkg('@wx/only-alerts', 'Alerts for servers'),
  // rare near-miss: "planq" is one edit from the prefix "plann"; "planner" is common
  pkg('@med/planq', 'Planq medical texts'),
  ...['work', 'team', 'home', 'shared', 'family', 'school', 'office', 'sports'].map((w) => pkg(`@cal/${w}-diary`, `A planner for ${w} events`)),
  // scope twice: a scope's packages that only carry the word as their scope, and another's named by it
  pkg('@radar/alpha-beta', 'Generic helpers'),
  pkg('@radar/gamma-delta', 'More generic helpers'),
  pkg('@other/radar', 'Weather images'),
];

let summaries: PackageSummary[];
let client: ShardedSearch;
let reference: ReferenceSearch;

beforeAll(async () => {
  summaries = [...makeCorpus({ count: 160, seed: 28 }), ...MINE];
  const bucket = await bucketWith(summaries, { policy: SMALL_POLICY });
  client = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: bucket.fetch });
  reference = referenceSearch(summaries);
});

/** The names both engines answer (asserting they agree), best first. */
async function names(query: string, limit = 10): Promise<string[]> {
  const sharded = (await client.search(query, { limit })).map((h) => h.name);
  expect(reference.search(query, { limit }).map((h) => h.name)).toEqual(sharded);
  return sharded;
}

describe('transposed letters', () => {
  it('a word with two neighbouring letters swapped finds the word (one slip, though two edits)', async () => {
    expect((await names('sentyr'))[0]).toBe('@acme/sentry-monitor');
    expect((await names('vercle'))[0]).toBe('@hosting/vercel-preview');
    expect((await names('sentyr tracking'))[0]).toBe('@acme/sentry-monitor');
  });

  it('a swap is a typo: one swap away only for words with one edit allowed; optimal string alignment counts it once', () => {
    expect(isSwap('sentyr', 'sentry')).toBe(true);
    expect(isSwap('sentry', 'sentry')).toBe(false);
    expect(isSwap('snetyr', 'sentry')).toBe(false);
    expect(swapsOf('sentyr')).toContain('sentry');
    expect(swapsOf('ab')).toEqual([]); // no typo allowed below three letters
    expect(swapsOf('databases')).toEqual([]); // two edits allowed: Levenshtein covers a swap
    expect(osaDistance('snetyr', 'sentry', 3)).toBe(2);
    expect(osaDistance('abc', 'xyzw', 1)).toBe(2);
  });
});

describe('stop words', () => {
  it('"to" does not prefix-expand to tools and tokens and outrank the package about both words', async () => {
    const top = await names('convert markdown to pdf');
    expect(top[0]).toBe('@docs/markdown-pdf');
    expect(top).not.toContain('@kit/tooling-box');
  });

  it('a query of stop words only still searches them', () => {
    expect(queryWords(['convert', 'to', 'pdf', 'to'])).toEqual(['convert', 'pdf']);
    expect(queryWords(['to', 'the'])).toEqual(['to', 'the']);
  });
});

describe('stemming', () => {
  it('an inflected word finds the stem it shares with a term (summarization, deploying, indexing)', async () => {
    expect((await names('summarization'))[0]).toBe('@text/digest');
    expect((await names('deploying'))[0]).toBe('@ops/shipit');
    expect((await names('indexing'))[0]).toBe('@find/engine');
  });

  it('stems only plain words of four letters or more; the range to read is where the word and its stem agree', () => {
    expect(stemOf('summarization')).toBe(stemOf('summarize'));
    expect(stemOf('api')).toBeNull();
    expect(stemOf('v2api')).toBeNull();
    expect(stemRange('deploying')).toBe('deplo');
    expect(stemRange('indexing')).toBe('index');
  });
});

describe('OR ranking', () => {
  it('shows every package holding any of the words, those holding more of them first', async () => {
    const top = await names('weather forecast alerts', 20);
    const wx = top.filter((n) => n.startsWith('@wx/'));
    expect(wx[0]).toBe('@wx/all-three');
    expect(new Set(wx.slice(1, 4))).toEqual(new Set(['@wx/forecast-alerts', '@wx/weather-forecast', '@wx/alert-weather']));
    expect(new Set(wx.slice(4))).toEqual(new Set(['@wx/only-weather', '@wx/only-alerts']));
  });
});

describe('rare near-miss', () => {
  it('for a short prefix, the common word it completes ranks above a rare word one edit away', async () => {
    const top = await names('plann', 20);
    const planq = top.indexOf('@med/planq');
    const planners = top.filter((n) => n.startsWith('@cal/'));
    expect(planners).toHaveLength(8);
    expect(top.slice(0, 8)).toEqual(planners);
    expect(planq === -1 || planq > 7).toBe(true);
  });
});

describe('one weight per field', () => {
  it('a scope counts once: another publisher\'s package named by the word ranks above the scope\'s packages', async () => {
    const top = await names('radar');
    expect(top[0]).toBe('@other/radar');
    expect(top).toContain('@radar/alpha-beta');
  });
});

describe('did you mean', () => {
  it('suggests the nearest terms when nothing matches, and nothing when no term is near', async () => {
    expect(await names('snetyr')).toEqual([]);
    expect(await client.suggest('snetyr')).toBe('sentry');
    expect(reference.suggest('snetyr')).toBe('sentry');
    expect(await client.suggest('zzqqxxjj')).toBeNull();
  });

  it('keeps the words that are terms, and ties go to the commoner term', () => {
    expect(suggestion(['weather', 'snetyr'], ['weather', 'sentry'], () => 1)).toBe('weather sentry');
    expect(suggestion(['cat'], ['cut', 'cot'], (t) => (t === 'cut' ? 5 : 1))).toBe('cut');
    expect(suggestion(['weather'], ['weather'], () => 1)).toBeNull();
  });
});
