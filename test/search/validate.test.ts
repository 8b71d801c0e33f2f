/**
 * The search read path's hand-written validators (`src/search/format/validate.ts`) accept exactly
 * what the published zod schemas accept: on every document a registry serves for a search (the
 * config, a root with a delta, every index file, every display file) and on mutations of them
 * (each path deleted or replaced by values of other types and shapes), both agree; what they
 * accept they return as the schema's parse does. A malformed file reaches a search as
 * `registry_unreachable`, naming the file and the problem.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { buildConfigDocument } from '../../src/registry/config-document.ts';
import { ConfigDocumentSchema, DownloadsIndexSchema, type PackageSummary } from '../../src/core/schemas.ts';
import { DisplayFileSchema, ShardedRootSchema, ShardFileSchema } from '../../src/search/format/wire.ts';
import { checkConfig, checkDownloadsIndex, checkRoot, checkShardFile, checkSummary, valid, InvalidDocumentError, type Checked } from '../../src/search/format/validate.ts';
import { ShardedSearch } from '../../src/search/read/reader.ts';
import { shardedRootKey } from '../../src/core/paths.ts';
import { makeCorpus, prng, SMALL_POLICY } from './corpus.ts';
import { bucketWith, expectError, type MemoryBucket } from './helpers.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Values a mutation puts in place of another: other types, and near misses of the format's shapes. */
const REPLACEMENTS: Json[] = [null, true, 'x', '', -1, 0, 1, 1.5, 2 ** 60, [], {}, ['x'], '0123456789abcdef0123', '0123456789ABCDEF0123', '0123456789', 'Not-An-Id', 'deprecated', 'bundle', 'sharded', 'single'];

/** Every path of a JSON value, as keys from the root (the root itself is `[]`). */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  return out;
}

/** A copy of `doc` with the value at `path` deleted (`undefined`) or replaced. */
function mutate(doc: Json, path: (string | number)[], replacement: Json | undefined): Json | undefined {
  if (path.length === 0) return replacement;
  const copy = structuredClone(doc) as Record<string | number, Json> | Json[];
  let parent: Record<string | number, Json> = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path.at(-1)!;
  if (replacement !== undefined) parent[last] = replacement;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy as Json;
}

/**
 * Both validators on `doc` and on mutations of it at `limit` paths (every path up to depth 2,
 * then paths drawn at random): they agree on every one; on what both accept, the values are the
 * same (with `copies`, key order included and unknown keys dropped; otherwise the hand check
 * keeps unknown keys where the schema strips them, which no reader reads).
 */
function expectAgreement(name: string, doc: Json, check: (j: unknown) => Checked<unknown>, schema: ZodType, limit: number, random: () => number, copies = false): number {
  const all = paths(doc);
  const shallow = all.filter((p) => p.length <= 2);
  const deep = all.filter((p) => p.length > 2);
  const chosen = [...shallow];
  while (chosen.length < limit && deep.length > 0) chosen.push(deep.splice(Math.floor(random() * deep.length), 1)[0]!);
  let compared = 0;
  for (const path of chosen) {
    for (const replacement of [undefined, ...REPLACEMENTS]) {
      const mutated = mutate(doc, path, replacement);
      const mine = check(mutated);
      const theirs = schema.safeParse(mutated);
      const what = `${name}: ${path.join('.') || '(root)'} ${replacement === undefined ? 'deleted' : `= ${JSON.stringify(replacement)}`}`;
      expect(mine.ok, `${what} (hand: ${mine.ok ? 'accepted' : `${mine.issue.path}: ${mine.issue.message}`})`).toBe(theirs.success);
      if (mine.ok && theirs.success) {
        if (copies) expect(JSON.stringify(mine.value), what).toBe(JSON.stringify(theirs.data));
        else expect(mine.value, what).toMatchObject(theirs.data as object);
      }
      compared++;
    }
  }
  return compared;
}

/** A registry's search documents: a build of 150 packages (some deprecated, with every optional field), then changes through the delta. */
let bucket: MemoryBucket;
beforeAll(async () => {
  const random = prng(7);
  const corpus: PackageSummary[] = makeCorpus({ count: 150, seed: 17 }).map((s, i) =>
    i % 9 === 0 ? { ...s, display_name: `Display ${i}`, author: `author ${i}`, status: 'deprecated', status_message: 'use @acme/other' } : s,
  );
  bucket = await bucketWith(corpus, { policy: { ...SMALL_POLICY, delta_max: 20 } });
  for (let i = 0; i < 6; i++) {
    const s = corpus[Math.floor(random() * corpus.length)]!;
    await bucket.applyDelta(s.name, i === 4 ? null : { ...s, description: `${s.description} revised ${i}`, newest: `9.${i}.0`, latest: `9.${i}.0` });
  }
  expect(bucket.root().delta).toBeDefined();
});

describe('the read path validators agree with the zod schemas', () => {
  it('on the config document, with and without its optional parts', () => {
    const built = buildConfigDocument({ audience: 'https://shelf.test', issuer: 'https://token.actions.githubusercontent.com', publicUrl: 'https://cdn.shelf.test' } as never, 'https://fn.shelf.test');
    // Every optional part present (a signing registry names its keys).
    const doc = { ...built, keys: 'v1/keys.json' } as unknown as Json;
    const random = prng(1);
    let n = expectAgreement('config', doc, checkConfig, ConfigDocumentSchema, 1_000, random);
    const { status: _s, public_url: _p, keys: _k, ...bare } = doc as Record<string, Json>;
    n += expectAgreement('config without optional keys', { ...bare, extra: { any: 1 } }, checkConfig, ConfigDocumentSchema, 1_000, random);
    expect(n).toBeGreaterThan(500);
  });

  it('on the download totals `--sort downloads` reads', () => {
    const doc: Json = { through: '2026-06-01', packages: { '@acme/echo': { total: 12, last_30_days: 3 }, '@acme/other': { total: 0, last_30_days: 0 } } };
    expect(expectAgreement('downloads', doc, checkDownloadsIndex, DownloadsIndexSchema, 100, prng(4))).toBeGreaterThan(150);
  });

  it('on a root with a delta', () => {
    const n = expectAgreement('root', bucket.root() as unknown as Json, checkRoot, ShardedRootSchema, 200, prng(2));
    expect(n).toBeGreaterThan(1_000);
  });

  it('on index files of every type, and on every display file', () => {
    const random = prng(3);
    const byType = new Map<string, number>();
    let displays = 0;
    for (const [key, text] of bucket.files) {
      if (key === shardedRootKey('bundle')) continue;
      const json = JSON.parse(text) as Json;
      if (key.includes('/docs/')) {
        // Each display file accepted as the schema accepts it; a few of them mutated.
        const mine = valid(checkSummary(json));
        expect(JSON.stringify(mine)).toBe(JSON.stringify(DisplayFileSchema.parse(json)));
        if (displays++ < 4) expectAgreement(key, json, checkSummary, DisplayFileSchema, 40, random, true);
        continue;
      }
      const t = (json as { t: string }).t;
      const seen = byType.get(t) ?? 0;
      byType.set(t, seen + 1);
      expect(checkShardFile(json).ok, key).toBe(true);
      // Two files of each type mutated: paths of a large file are drawn at random.
      if (seen < 2) expectAgreement(`${t} ${key}`, json, checkShardFile, ShardFileSchema, 40, random, t === 'catalog' || t === 'delta');
    }
    expect([...byType.keys()].sort()).toEqual(['catalog', 'delta', 'dict', 'heads', 'page', 'refs', 'suffixes', 'terms']);
    expect(displays).toBeGreaterThan(100);
  });

  it('on unknown keys: kept in what is not printed, dropped from a summary as the schema drops them', () => {
    const summary = JSON.parse([...bucket.files].find(([k]) => k.includes('/docs/'))![1]) as Record<string, Json>;
    const checked = valid(checkSummary({ extra: 1, ...summary, more: [2] }));
    expect(checked).toEqual(DisplayFileSchema.parse(summary));
    expect(Object.keys(checked)).toEqual(Object.keys(DisplayFileSchema.parse(summary)));
    expect(checkRoot({ ...bucket.root(), future: { x: 1 } }).ok).toBe(true);
  });
});

describe('issues are data', () => {
  it('name the path and the problem; valid() throws them as an InvalidDocumentError', () => {
    const doc = buildConfigDocument({ audience: 'a', issuer: 'i' } as never, 'https://fn.test');
    const retired = checkConfig({ ...doc, search: { ...doc.search, layout: 'single' } });
    expect(retired).toEqual({ ok: false, issue: { path: 'search.layout', message: expect.stringMatching(/retired "single" search layout.*shelf rebuild/) } });
    expect(checkConfig([])).toEqual({ ok: false, issue: { path: '(root)', message: 'expected an object' } });
    const error = (() => {
      try {
        valid(checkRoot({ ...bucket.root(), catalog: { ...bucket.root().catalog, count: -1 } }));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidDocumentError);
    expect((error as InvalidDocumentError).issue).toEqual({ path: 'catalog.count', message: 'expected an integer ≥ 0' });
  });

  it('a malformed root, index file or display file fails a search with registry_unreachable naming the file', async () => {
    const rootKey = shardedRootKey('bundle');
    const saved = new Map(bucket.files);
    try {
      bucket.files.set(rootKey, JSON.stringify({ ...bucket.root(), engine: 'lunr' }));
      await expectError(ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: bucket.fetch }), 'registry_unreachable');
      const message = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: bucket.fetch }).catch((e: Error) => e.message);
      expect(message).toBe(`The index file ${rootKey} is malformed (engine: expected "minisearch@7").`);
      bucket.files.set(rootKey, saved.get(rootKey)!);

      // Every display file gets a wrong type: the results of any query need one.
      for (const [key, text] of saved) if (key.includes('/docs/')) bucket.files.set(key, JSON.stringify({ ...JSON.parse(text), verified: 'yes' }));
      const search = await ShardedSearch.open({ baseUrl: 'http://registry.test', kind: 'bundle', fetch: bucket.fetch });
      const failed = await search.search('server').catch((e: unknown) => e);
      expect(failed).toMatchObject({ code: 'registry_unreachable', message: expect.stringMatching(/^The index file [0-9a-z]+-[0-9a-f]{10} is malformed \(verified: expected a boolean\)\.$/) });
    } finally {
      for (const [key, text] of saved) bucket.files.set(key, text);
    }
  });
});
