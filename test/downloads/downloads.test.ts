/**
 * Download counts, from both sources: CloudFront's standard logs (parsed, each file counted once,
 * cache hits included, HEAD/304/206/errors and non-artifacts excluded) and the embedded server's
 * own artifact GETs through HTTP (a skill's archive for the skills CLI counts as its version's); then the published, bounded documents (total, last 30 days, per
 * version, per day), folding old days into the totals, and `shelf show` / `--json`.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, parseVersion, type Platform } from '../../src/core/names.ts';
import { artifactKey, downloadDayKey, downloadsIndexKey, downloadsKey, downloadTotalsKey, skillsArchiveKey } from '../../src/core/paths.ts';
import { PackageDownloadsSchema } from '../../src/core/schemas.ts';
import { ingestCloudFrontLogs, parseCloudFrontLog } from '../../src/downloads/cloudfront-log.ts';
import { publishDownloads, WINDOW_DAYS } from '../../src/downloads/publish.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from '../cli/helpers.ts';

const echo = parsePackageName('@acme/echo');
const art = (version: string, platform: Platform = { os: 'any', arch: 'any' }) => artifactKey('bundle', echo, parseVersion(version), platform);
const notes = parsePackageName('@acme/release-notes');
/** A skill's archive for the skills CLI: what `npx skills add` downloads. */
const skillsArchive = skillsArchiveKey(notes, parseVersion('1.0.0'), 'ab'.repeat(32));
const FIELDS =
  '#Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol cs-bytes time-taken';
const line = (date: string, method: string, path: string, status: number, result = 'Hit') =>
  [date, '10:00:00', 'FRA56-C1', '1000', '192.0.2.1', method, 'd111.cloudfront.net', path, String(status), '-', 'shelf/0.1', '-', '-', result, 'id', 'd111.cloudfront.net', 'https', '100', '0.001'].join('\t');
const log = (lines: string[]) => gzipSync(`#Version: 1.0\n${FIELDS}\n${lines.join('\n')}\n`);
const readDoc = async (store: ObjectStore, key: string) => PackageDownloadsSchema.parse(JSON.parse(new TextDecoder().decode((await store.get(key))!.body)));
const put = (store: ObjectStore, key: string, body: Uint8Array) => store.put(key, body, { contentType: 'application/gzip', cacheControl: 'no-cache' });

describe('counting from CloudFront standard logs', () => {
  const now = new Date('2026-12-05T12:00:00Z');

  it('counts whole GETs of artifacts, cache hits and misses alike, and nothing else', () => {
    const days = parseCloudFrontLog(
      [
        FIELDS,
        line('2026-12-05', 'GET', `/${art('1.2.0')}`, 200, 'Hit'),
        line('2026-12-05', 'GET', `/${art('1.2.0')}`, 200, 'Miss'),
        line('2026-12-05', 'GET', `/${art('1.2.0').replace('@', '%40')}`, 200, 'RefreshHit'),
        line('2026-12-05', 'HEAD', `/${art('1.2.0')}`, 200),
        line('2026-12-05', 'GET', `/${art('1.2.0')}`, 304),
        line('2026-12-05', 'GET', `/${art('1.2.0')}`, 206),
        line('2026-12-05', 'GET', `/${art('1.2.0')}`, 403, 'Error'),
        line('2026-12-05', 'GET', '/v1/bundles/@acme/echo.json', 200),
        line('2026-12-05', 'GET', '/index.html', 200),
        line('2026-12-04', 'GET', `/${art('1.1.0')}`, 200),
        line('2026-12-04', 'GET', `/${skillsArchive}`, 200),
        line('2026-12-04', 'GET', `/${skillsArchive.replace('skills-cli.', 'other.')}`, 200),
      ].join('\n'),
    );
    expect([...days.keys()].sort()).toEqual(['2026-12-04', '2026-12-05']);
    expect(Object.fromEntries(days.get('2026-12-05')!)).toEqual({ [art('1.2.0')]: 3 });
    expect(Object.fromEntries(days.get('2026-12-04')!)).toEqual({ [art('1.1.0')]: 1, [skillsArchive]: 1 });
  });

  it('counts each log file once, skips files named for older days, and publishes bounded per-package counts', async () => {
    const store = new MemoryStore();
    const logs = new MemoryStore();
    await put(logs, 'E2ABC.2026-12-05-10.aaaa.gz', log([line('2026-12-05', 'GET', `/${art('1.2.0')}`, 200), line('2026-12-05', 'GET', `/${art('1.2.0', { os: 'linux', arch: 'x64' })}`, 200)]));
    await put(logs, 'E2ABC.2026-12-04-23.bbbb.gz', log([line('2026-12-04', 'GET', `/${art('1.1.0')}`, 200), line('2026-12-05', 'GET', `/${art('1.2.0')}`, 200)]));
    await put(logs, 'E2ABC.2026-11-20-10.cccc.gz', log([line('2026-11-20', 'GET', `/${art('1.0.0')}`, 200)]));
    await put(logs, 'E2ABC.2026-12-05-11.dddd.gz', new TextEncoder().encode('not gzip'));
    expect(await ingestCloudFrontLogs(store, logs, now)).toEqual({ files: 2, downloads: 4 });
    // Again: nothing is counted twice.
    const before = (await store.list('')).map((o) => `${o.key} ${o.etag}`);
    expect(await ingestCloudFrontLogs(store, logs, now)).toEqual({ files: 0, downloads: 0 });
    expect((await store.list('')).map((o) => `${o.key} ${o.etag}`)).toEqual(before);

    const published = await publishDownloads(store, now);
    expect(published.packages).toBe(1);
    expect(published.written.sort()).toEqual([downloadsIndexKey('bundle'), downloadsIndexKey('skill'), downloadsKey('bundle', echo)].sort());
    const doc = await readDoc(store, downloadsKey('bundle', echo));
    expect(doc).toMatchObject({ package: '@acme/echo', kind: 'bundle', total: 4, last_30_days: 4, versions: { '1.2.0': 3, '1.1.0': 1 }, through: '2026-12-05' });
    expect(doc.days).toHaveLength(WINDOW_DAYS);
    expect(doc.days.at(-1)).toEqual({ day: '2026-12-05', downloads: 3 });
    expect(doc.days.at(-2)).toEqual({ day: '2026-12-04', downloads: 1 });
    // A second publish changes nothing.
    expect((await publishDownloads(store, now)).written).toEqual([]);

    // 40 days on: the days leave the window, their counts stay in the total.
    const later = new Date(now.getTime() + 40 * 86_400_000);
    const folded = await publishDownloads(store, later);
    expect(folded.folded.sort()).toEqual(['2026-12-04', '2026-12-05']);
    expect(await store.head(downloadDayKey('2026-12-05'))).toBeNull();
    expect(await store.head(downloadTotalsKey())).not.toBeNull();
    expect(await readDoc(store, downloadsKey('bundle', echo))).toMatchObject({ total: 4, last_30_days: 0, versions: { '1.2.0': 3, '1.1.0': 1 } });
    // Folding twice adds nothing.
    expect((await publishDownloads(store, later)).written).toEqual([]);
  });
});

describe('counting in the embedded server', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startTestRegistry({ downloadCounts: { flushMs: 50 } });
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.2.0' }))).status).toBe(201);
    // A second package, named to sort before echo, that nobody downloads.
    expect((await announcePrepared(reg, await prepareBundle(reg, { name: '@acme/aardvark', version: '0.1.0', repository: 'acme/aardvark' }))).status).toBe(201);
  });
  afterAll(() => reg?.close());

  it('counts whole artifact GETs through HTTP (not HEAD, not documents, not 304), publishes them, and shelf show prints them', async () => {
    const env = { SHELF_REGISTRY: reg.url, SHELF_CACHE_DIR: `${reg.dir}/cache` };
    // Nothing counted yet: no count, not zero.
    const before = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env: { ...env, SHELF_CACHE_DIR: `${reg.dir}/cache0` } });
    expect(JSON.parse(before.stdout).downloads).toBeNull();
    const url = `${reg.url}/${art('1.2.0')}`;
    for (let i = 0; i < 3; i++) expect((await (await fetch(url)).arrayBuffer()).byteLength).toBeGreaterThan(0);
    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const etag = head.headers.get('etag')!;
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);
    await (await fetch(`${reg.url}/v1/bundles/@acme/echo.json`)).text();
    let doc = null;
    for (let i = 0; i < 200 && doc?.total !== 3; i++) {
      const res = await fetch(`${reg.url}/${downloadsKey('bundle', echo)}`);
      doc = res.ok ? PackageDownloadsSchema.parse(await res.json()) : null;
      if (doc?.total !== 3) await new Promise((r) => setTimeout(r, 25));
    }
    expect(doc).toMatchObject({ total: 3, last_30_days: 3, versions: { '1.2.0': 3 } });

    const json = await shelf(['bundle', 'show', '@acme/echo', '--json'], { env });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).downloads).toMatchObject({ total: 3, last_30_days: 3 });
    const text = await shelf(['bundle', 'show', '@acme/echo'], { env });
    expect(text.stdout).toMatch(/Downloads:\s+3 \(3 in the last 30 days; 3 of 1\.2\.0\)/);

    // Sorted by downloads: echo first; by name: aardvark first.
    const byName = JSON.parse((await shelf(['search', '--sort', 'name', '--json'], { env })).stdout).results.map((h: { name: string }) => h.name);
    expect(byName).toEqual(['@acme/aardvark', '@acme/echo']);
    const byDownloads = await shelf(['search', '--sort', 'downloads', '--json'], { env });
    expect(byDownloads.code, byDownloads.stderr).toBe(0);
    expect(JSON.parse(byDownloads.stdout).results.map((h: { name: string; downloads: unknown }) => [h.name, h.downloads])).toEqual([
      ['@acme/echo', { total: 3, last_30_days: 3 }],
      ['@acme/aardvark', { total: 0, last_30_days: 0 }],
    ]);
    const table = await shelf(['search', '--sort', 'downloads', '--limit', '1'], { env });
    expect(table.stdout).toMatch(/DOWNLOADS/);
    expect(table.stdout).toMatch(/@acme\/echo.*\b3\b/);
    expect(table.stdout).not.toContain('aardvark');
  });

  it("counts a skill's archive for the skills CLI sent whole as a download of its skill version", async () => {
    const skill = await prepareSkill(reg);
    expect((await announcePrepared(reg, skill)).status).toBe(201);
    const version = (await (await fetch(`${reg.url}/v1/skills/@acme/release-notes/versions/${skill.body.version}.json`)).json()) as { artifacts: Array<{ skills_archive: { path: string } }> };
    const archive = version.artifacts[0]!.skills_archive.path;
    expect((await fetch(`${reg.url}/${archive}`, { method: 'HEAD' })).status).toBe(200);
    expect((await (await fetch(`${reg.url}/${archive}`)).arrayBuffer()).byteLength).toBeGreaterThan(0);
    let doc = null;
    for (let i = 0; i < 200 && doc?.total !== 1; i++) {
      const res = await fetch(`${reg.url}/${downloadsKey('skill', notes)}`);
      doc = res.ok ? PackageDownloadsSchema.parse(await res.json()) : null;
      if (doc?.total !== 1) await new Promise((r) => setTimeout(r, 25));
    }
    expect(doc).toMatchObject({ kind: 'skill', total: 1, versions: { [skill.body.version]: 1 } });
  });

  it('shelf downloads on a store without tallies publishes empty indexes only', async () => {
    const none = await shelf(['downloads', '--json'], { env: { SHELF_DATA_DIR: `${reg.dir}/elsewhere` } });
    expect(none.code, none.stderr).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ logs: null, packages: 0, written: [downloadsIndexKey('bundle'), downloadsIndexKey('skill')] });
  });
});
