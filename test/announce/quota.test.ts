/**
 * Per-scope daily quotas through the HTTP handler: an announce past a scope's limit is refused
 * with 429 quota_exceeded and a Retry-After until the next UTC day, writing nothing; retries of
 * what was published are free; the operator's limits in the scope record (`shelf quota`) win over
 * the registry's; a new UTC day starts afresh.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LogLine } from '../../src/core/log.ts';
import { readUsage, sweepQuota } from '../../src/announce/quota.ts';
import { scopeKey } from '../../src/core/paths.ts';
import { ScopeDocumentSchema } from '../../src/core/schemas.ts';
import { readJson } from '../../src/store/json-documents.ts';
import { shelf } from '../cli/helpers.ts';
import { announcePrepared, claimsFor, prepareBundle, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

let reg: TestRegistry;
const lines: LogLine[] = [];
let now = new Date('2031-05-04T22:00:00Z');
let first: Awaited<ReturnType<typeof prepareBundle>>;

beforeAll(async () => {
  reg = await startTestRegistry({
    env: { SHELF_QUOTA_ANNOUNCES_PER_DAY: '2' },
    wrapDeps: (deps) => ({ ...deps, now: () => now }),
    log: (l) => lines.push(l),
  });
});
afterAll(() => reg.close());

const scopeRecord = async (scope: string) => (await readJson(reg.store, scopeKey(scope), ScopeDocumentSchema))!.value;
const usageOf = async (scope: string) => {
  const { counted: _, ...usage } = await readUsage(reg.store, scope, now.toISOString().slice(0, 10));
  return usage;
};

describe('the daily announce quota', () => {
  it('takes announces up to the limit, then answers 429 quota_exceeded with Retry-After, writing nothing', async () => {
    const a = await prepareBundle(reg, { name: '@quota/one', version: '1.0.0' });
    const b = await prepareBundle(reg, { name: '@quota/one', version: '1.1.0' });
    const c = await prepareBundle(reg, { name: '@quota/two', version: '1.0.0' });
    expect((await announcePrepared(reg, a)).status).toBe(201);
    expect((await announcePrepared(reg, b)).status).toBe(201);
    first = a;
    expect((await usageOf('quota'))).toMatchObject({ day: '2031-05-04', announces: 2, bytes: a.size + b.size });

    const before = await reg.snapshot();
    const token = await reg.github.mint({ repository: c.repository, repository_owner: 'quota', repository_owner_id: (await scopeRecord('quota')).owner_id, repository_id: '77' });
    const res = await fetch(`${reg.url}/v1/bundles/announce`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(c.body),
    });
    const json = await res.json();
    expect(res.status).toBe(429);
    expect(json.error.code).toBe('quota_exceeded');
    // Two hours to the next UTC day.
    expect(res.headers.get('retry-after')).toBe('7200');
    expect(json.error.details).toEqual({ quota: 'announces_per_day', limit: 2, used: 2, retry_after_seconds: 7200 });
    expect(await reg.snapshot()).toEqual(before);
    expect(lines.at(-1)).toMatchObject({ type: 'request', status: 429, outcome: 'refused', code: 'quota_exceeded', package: '@quota/two' });
  });

  it('lets a status change through when the day is used up, and counts nothing: a yank is not an upload', async () => {
    const quotaRecords = async () => (await reg.store.list('private/quota/')).map((o) => o.key);
    const recorded = await quotaRecords();
    const yank = await reg.status('bundle', { name: first.body.name, version: first.body.version, status: 'yanked', message: 'Broken on Windows.' }, claimsFor(first.repository));
    expect(yank.status, JSON.stringify(yank.json)).toBe(200);
    expect(lines.at(-1)).toMatchObject({ type: 'request', path: '/v1/bundles/status', status: 200, outcome: 'accepted', package: first.body.name, version: first.body.version });
    const undo = await reg.status('bundle', { name: first.body.name, version: first.body.version, status: 'active' }, claimsFor(first.repository));
    expect(undo.status, JSON.stringify(undo.json)).toBe(200);
    expect(await quotaRecords()).toEqual(recorded);
    expect((await usageOf('quota'))?.announces).toBe(2);
  });

  it('lets a retry of a published artifact through (200 unchanged): only new artifacts count', async () => {
    const res = await announcePrepared(reg, first);
    expect(res.status).toBe(200);
    expect(res.json.status).toBe('unchanged');
    expect((await usageOf('quota'))?.announces).toBe(2);
  });

  it("obeys the scope's own limits, set by the operator with shelf quota", async () => {
    const env = { SHELF_DATA_DIR: `${reg.dir}/bucket`, SHELF_QUOTA_ANNOUNCES_PER_DAY: '2' };
    const set = await shelf(['quota', '@quota', '--announces-per-day', '3', '--bytes-per-day', '1GiB', '--json'], { env });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ scope: '@quota', limits: { announces_per_day: 3, bytes_per_day: 1024 ** 3 }, own: { announces_per_day: 3 } });
    expect((await scopeRecord('quota')).quota).toEqual({ announces_per_day: 3, bytes_per_day: 1024 ** 3 });

    const c = await prepareBundle(reg, { name: '@quota/two', version: '1.0.0' });
    expect((await announcePrepared(reg, c)).status).toBe(201);
    // The byte limit, lowered below what one more artifact needs.
    const used = (await usageOf('quota'))!.bytes;
    expect((await shelf(['quota', '@quota', '--announces-per-day', 'unlimited', '--bytes-per-day', String(used + 10)], { env })).code).toBe(0);
    const d = await prepareBundle(reg, { name: '@quota/two', version: '1.1.0' });
    const refused = await announcePrepared(reg, d);
    expect(refused.status).toBe(429);
    expect(refused.json.error.details).toMatchObject({ quota: 'bytes_per_day', limit: used + 10, used });

    const text = await shelf(['quota', '@quota'], { env });
    // (The command's "today" is the real one, not the test's 2031.)
    expect(text.stdout).toMatch(/announces {2}\d+ of unlimited {2}\(the scope's own\)/);
    expect((await shelf(['quota', '@quota', '--bytes-per-day', 'lots'], { env })).code).toBe(2);
    expect((await shelf(['quota', '@quota', '--bytes-per-day', 'default', '--announces-per-day', 'default'], { env })).code).toBe(0);
    expect((await scopeRecord('quota')).quota).toBeUndefined();
  });

  it('starts afresh on the next UTC day', async () => {
    now = new Date('2031-05-05T00:00:01Z');
    const d = await prepareBundle(reg, { name: '@quota/two', version: '1.1.0' });
    expect((await announcePrepared(reg, d)).status).toBe(201);
    expect(await usageOf('quota')).toEqual({ day: '2031-05-05', announces: 1, bytes: d.size });
    // The day before yesterday's records go in a sweep; yesterday's stay.
    expect(await sweepQuota(reg.store, new Date('2031-05-05T12:00:00Z'))).toBe(0);
    expect(await sweepQuota(reg.store, new Date('2031-05-06T00:00:00Z'))).toBe(3);
    expect((await reg.store.list('private/quota/')).map((o) => o.key.split('/')[2])).toEqual(['2031-05-05']);
  });
});
