/**
 * A query written as a tool name (`schedule_license_report`): the package with that tool comes
 * first, every hit holds all of its words, and the sharded reader (its common words read only in
 * part) answers as the whole-index reference does, even when the tool's words are so common that
 * its package is seen to hold none of them. Written as separate words, a query stays any-word.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceSearch, type ReferenceSearch } from '../../bench/lib/reference.ts';
import { isCompound, tokenizeText } from '../../src/core/search-options.ts';
import type { PackageSummary } from '../../src/core/schemas.ts';
import { maxDistance } from '../../src/search/format/matching.ts';
import { placeTerms } from '../../src/search/format/placement.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { buildShardedIndex } from '../../src/search/write/build.ts';
import { plainWords, queryWords, toolWords } from '../../src/search/ranking.ts';
import { makeCorpus, makeSummary, SMALL_POLICY } from './corpus.ts';
import { bucketWith, type MemoryBucket } from './helpers.ts';

const pkg = makeSummary;

/** The one package with the tool `schedule_license_report`, among many tools: its words weigh little there. */
const EXACT = pkg('@acme/backoffice', 'Office chores', {
  tools: ['schedule_license_report', 'open_ticket', 'close_ticket', 'list_users', 'sync_calendar', 'export_invoices', 'import_contacts', 'send_mail'],
});

const MINE: PackageSummary[] = [
  EXACT,
  // Every word of the tool name, in names and descriptions: each outranks it by words alone.
  pkg('@lic/schedule-license', 'Schedule a license report'),
  pkg('@lic/license-report', 'License report on a schedule'),
  pkg('@lic/report-schedule', 'Report on license schedules'),
  // All three words, many times over: the words are read in part, and these are seen to hold more of them.
  ...Array.from({ length: 40 }, (_, i) => pkg(`@all/schedule-${i}`, `License report schedule ${i}`, { keywords: ['schedule', 'license', 'report'] })),
  // Two of the words: the any-word rule shows them, a tool name does not.
  ...Array.from({ length: 30 }, (_, i) => pkg(`@two/schedule-report-${i}`, `Schedule report number ${i}`)),
  ...Array.from({ length: 30 }, (_, i) => pkg(`@two/license-${i}`, `License keys, batch ${i}`, { tools: [`report_${i}`] })),
  // A tool that only starts with the name: found by prefix, after the exact one.
  pkg('@acme/reports-plus', 'Reporting', { tools: ['schedule_license_report_weekly'] }),
];

let summaries: PackageSummary[];
let bucket: MemoryBucket;
let reference: ReferenceSearch;

beforeAll(async () => {
  summaries = [...makeCorpus({ count: 200, seed: 9 }), ...MINE];
  bucket = await bucketWith(summaries, { policy: SMALL_POLICY });
  reference = referenceSearch(summaries);
});

/** A fresh client that reads common words only in part (a small expansion budget). */
async function client(): Promise<ShardedSearch> {
  return ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: bucket.fetch, expansionBudget: 4_000 });
}

/** The top names both engines answer (asserting their top 5 agree), best first. */
async function names(query: string, limit = 5): Promise<string[]> {
  const sharded = (await (await client()).search(query, { limit })).map((h) => h.name);
  expect(sharded.slice(0, 5)).toEqual(reference.search(query, { limit: Math.min(5, limit) }).map((h) => h.name));
  return sharded;
}

const holds = (name: string, word: string): boolean => {
  const s = summaries.find((p) => p.name === name)!;
  return tokenizeText([s.name, s.display_name ?? '', s.description, s.tools.join(' '), s.keywords.join(' ')].join(' ').toLowerCase()).some((t) => t.startsWith(word));
};

describe('a query written as a tool name', () => {
  it('puts the package with that exact tool first (not one whose tool extends it), in the sharded reader as in the reference', async () => {
    const top = await names('schedule_license_report');
    expect(top[0]).toBe(EXACT.name);
    expect(top.slice(1)).toContain('@acme/reports-plus');
    expect((await names('Schedule_License_Report', 1))[0]).toBe(EXACT.name);
  });

  it('shows only packages holding every word of the tool name, where the same words apart show any of them', async () => {
    const tool = await names('schedule_license_report', 100);
    expect(tool.length).toBeGreaterThanOrEqual(5);
    for (const n of tool) for (const w of ['schedule', 'license', 'report']) expect(holds(n, w), `${n} holds ${w}`).toBe(true);
    const words = await names('schedule license report', 100);
    expect(words.some((n) => !holds(n, 'license'))).toBe(true);
  });

  it('with another word beside it: the tool name still decides, the other word is optional', async () => {
    expect((await names('office schedule_license_report'))[0]).toBe(EXACT.name);
  });

  it('a tool name nobody has falls back to its words, any of them', async () => {
    const top = await names('schedule_nothing_here');
    expect(top.length).toBeGreaterThan(0);
    expect(top.every((n) => holds(n, 'schedule') || holds(n, 'nothing') || holds(n, 'here'))).toBe(true);
  });
});

describe('compound terms', () => {
  it('a snake_case identifier gives its words and one compound term; kebab-case names only their words', () => {
    expect(tokenizeText('get_weather now')).toEqual(['get', 'weather', '_get_weather', 'now']);
    expect(tokenizeText('@acme/get-weather')).toEqual(['acme', 'get', 'weather']);
    expect(tokenizeText('_lead __double__ x_')).toEqual(['lead', 'double', 'x']);
    expect(isCompound('_get_weather')).toBe(true);
    expect(maxDistance('_get_weather_forecast')).toBe(0); // matched exactly or by prefix, never by a typo
    expect(maxDistance('forecast')).toBe(2);
    const words = queryWords(tokenizeText('convert_markdown_to_pdf'));
    expect(plainWords(words)).toEqual(['convert', 'markdown', 'pdf']);
    expect([...toolWords(words)]).toEqual(['convert', 'markdown', 'pdf']); // the stop word is not required
    expect(placeTerms(['get', '_get_weather', 'weather'], (t) => t)).toEqual({ terms: ['get', 'weather'], pairs: ['_get_weather'] });
  });

  it('live in the pair tree: the term and suffix trees every query walks are those of the same packages without them', async () => {
    const kebab = summaries.map((s) => ({ ...s, tools: s.tools.map((t) => t.replaceAll('_', '-')) }));
    const without = await buildShardedIndex('bundle', kebab, { policy: SMALL_POLICY });
    const root = bucket.root();
    expect(root.search.suffixes).toEqual(without.root.search.suffixes);
    expect(root.search.terms.height).toBe(without.root.search.terms.height);
    expect(JSON.stringify(root.search.pairs)).not.toBe(JSON.stringify(without.root.search.pairs));
  });

  it('an announced package is found by its tool name, from the delta and once merged into the base trees', async () => {
    const added = pkg('@new/keys', 'Key chores', { tools: ['rotate_license_keys', 'open_ticket', 'close_ticket', 'list_users'] });
    const after = referenceSearch([...summaries, added]);
    const viaDelta = await bucketWith(summaries, { policy: SMALL_POLICY });
    await viaDelta.applyDelta(added.name, added);
    const viaUpdate = await bucketWith(summaries, { policy: SMALL_POLICY });
    await viaUpdate.apply(added.name, added);
    for (const b of [viaDelta, viaUpdate]) {
      const c = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: b.fetch, expansionBudget: 4_000 });
      const top = (await c.search('rotate_license_keys', { limit: 5 })).map((h) => h.name);
      expect(top[0]).toBe(added.name);
      expect(top).toEqual(after.search('rotate_license_keys', { limit: 5 }).map((h) => h.name));
    }
  });
});

describe('a tool name whose words many packages hold in short fields', () => {
  // Hundreds of packages hold `convert`, `enum` and `resolve` in their name, keywords and tools:
  // those words are paged, and the one package with the tool `convert_enum_resolve` (its words
  // weigh little among eight tools) sits in their last pages, which a small budget leaves unread.
  // It is seen to hold the compound term only, so it ranks below every package seen to hold the
  // three words, beyond the first round of candidates scored again; only the reader's rule that
  // the packages holding the compound are scored again first (`order` in reader.ts) keeps it.
  const tool = pkg('@acme/codegen', 'Code chores', {
    tools: ['convert_enum_resolve', 'open_ticket', 'close_ticket', 'list_users', 'sync_calendar', 'export_invoices', 'import_contacts', 'send_mail'],
  });
  const wordy = Array.from({ length: 300 }, (_, i) =>
    pkg(`@enums${i % 7}/convert-enum-resolve-${i}`, `Convert enum resolve ${'fast '.repeat(i % 9)}`, { keywords: ['convert', 'enum', 'resolve'], tools: ['convert', 'enum', 'resolve'] }),
  );
  const corpus = [...makeCorpus({ count: 200, seed: 9 }), tool, ...wordy];
  let common: MemoryBucket;
  beforeAll(async () => {
    common = await bucketWith(corpus, { policy: SMALL_POLICY });
  });

  it('still puts that package first, as the whole index does, without scoring every package again', async () => {
    let displays = 0;
    const fetch = async (url: string): Promise<Response> => {
      if (url.includes('/docs/')) displays++;
      return common.fetch(url);
    };
    const c = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch, expansionBudget: 32_000 });
    const top = (await c.search('convert_enum_resolve', { limit: 5 })).map((h) => h.name);
    expect(top[0]).toBe(tool.name);
    expect(top).toEqual(referenceSearch(corpus).search('convert_enum_resolve', { limit: 5 }).map((h) => h.name));
    // The words were read in part: a pool of candidates was scored again, not the 300 holding them.
    expect(displays).toBeLessThan(wordy.length / 2);
  });
});
