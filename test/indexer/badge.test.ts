/**
 * Badges: the SVG (text measured in Verdana 11px, escaped, deterministic), what it says for a
 * release, prereleases only and a deprecated package, and the derived file an announce writes,
 * rewrites only when it changes, serves with an ETag, and that a rebuild restores and a check
 * reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName } from '../../src/core/names.ts';
import { badgeKey, MUTABLE_CACHE } from '../../src/core/paths.ts';
import { BADGE_COLORS, packageBadge, renderBadge, verdanaWidth } from '../../src/indexer/badge.ts';
import { check } from '../../src/registry/check.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';

const svg = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const attr = (text: string, name: string) => Number(new RegExp(`<svg[^>]* ${name}="([0-9.]+)"`).exec(text)?.[1]);

describe('the badge SVG', () => {
  it('measures text with Verdana 11px advance widths, not one width per character', () => {
    // s h e l f in Verdana 11px: 5.73 + 6.96 + 6.55 + 3.02 + 3.87.
    expect(verdanaWidth('shelf')).toBeCloseTo(26.13, 5);
    expect(verdanaWidth('v1.2.0')).toBeCloseTo(6.51 + 6.99 + 4 + 6.99 + 4 + 6.99, 5);
    expect(verdanaWidth('iiii')).toBeLessThan(verdanaWidth('MMMM') / 2);
    // Outside printable ASCII: the widest capital, so nothing overflows.
    expect(verdanaWidth('é')).toBe(verdanaWidth('M'));
  });

  it('sizes each half to its text with 5 px either side, and names both in its title', () => {
    const text = svg(renderBadge({ label: 'shelf', message: 'v1.2.0', color: BADGE_COLORS.release }));
    expect(attr(text, 'width')).toBe(26 + 10 + 35 + 10);
    expect(text).toContain('<title>shelf: v1.2.0</title>');
    expect(text).toContain('textLength="261">shelf</text>');
    expect(text).toContain('textLength="355">v1.2.0</text>');
    expect(text).toContain(`fill="${BADGE_COLORS.release}"`);
    const wider = svg(renderBadge({ label: 'shelf', message: 'v10.20.30-beta.1', color: BADGE_COLORS.prerelease }));
    expect(attr(wider, 'width')).toBeGreaterThan(attr(text, 'width') + 40);
    // The same input, the same bytes.
    expect(renderBadge({ label: 'shelf', message: 'v1.2.0', color: BADGE_COLORS.release })).toEqual(renderBadge({ label: 'shelf', message: 'v1.2.0', color: BADGE_COLORS.release }));
  });

  it('escapes text and refuses a colour that is not #rrggbb', () => {
    const text = svg(renderBadge({ label: '<script>', message: 'a&"b', color: '#123abc' }));
    expect(text).not.toContain('<script>');
    expect(text).toContain('&#60;script&#62;');
    expect(text).toContain('a&#38;&#34;b');
    expect(() => renderBadge({ label: 'x', message: 'y', color: 'red" onload="x' })).toThrow(/"color"/);
  });

  it('shows the latest release in blue, the highest prerelease in orange, a deprecated package in red', () => {
    const versions = [{ version: '2.0.0-beta.1' }, { version: '1.2.0' }] as Parameters<typeof packageBadge>[0]['versions'];
    expect(packageBadge({ latest: '1.2.0', versions })).toEqual({ label: 'shelf', message: 'v1.2.0', color: BADGE_COLORS.release });
    expect(packageBadge({ latest: null, versions })).toEqual({ label: 'shelf', message: 'v2.0.0-beta.1', color: BADGE_COLORS.prerelease });
    expect(packageBadge({ latest: '1.2.0', versions }, 'deprecated')).toEqual({ label: 'shelf', message: 'v1.2.0 deprecated', color: BADGE_COLORS.deprecated });
  });
});

describe('the badge file', () => {
  let reg: TestRegistry;
  const echo = parsePackageName('@acme/echo');
  beforeAll(async () => {
    reg = await startTestRegistry();
  }, 60_000);
  afterAll(() => reg?.close());

  it('is written by an announce, served with a short cache and an ETag, and rewritten only when the latest version changes', async () => {
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.2.0' }))).status).toBe(201);
    const first = (await reg.store.get(badgeKey('bundle', echo)))!;
    expect(first.contentType).toBe('image/svg+xml');
    expect(first.cacheControl).toBe(MUTABLE_CACHE);
    expect(svg(first.body)).toContain('<title>shelf: v1.2.0</title>');
    const res = await fetch(`${reg.url}/${badgeKey('bundle', echo)}`);
    expect(res.headers.get('content-type')).toBe('image/svg+xml');
    expect(await res.text()).toBe(svg(first.body));
    expect((await fetch(`${reg.url}/${badgeKey('bundle', echo)}`, { headers: { 'if-none-match': res.headers.get('etag')! } })).status).toBe(304);

    // A prerelease does not change what the badge says: the file is not rewritten.
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.3.0-rc.1', prerelease: true }))).status).toBe(201);
    expect((await reg.store.get(badgeKey('bundle', echo)))!.etag).toBe(first.etag);
    // A new release does.
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.3.0' }))).status).toBe(201);
    expect(svg((await reg.store.get(badgeKey('bundle', echo)))!.body)).toContain('<title>shelf: v1.3.0</title>');

    expect((await announcePrepared(reg, await prepareSkill(reg, {}))).status).toBe(201);
    expect(svg((await reg.store.get(badgeKey('skill', parsePackageName('@acme/release-notes'))))!.body)).toContain('shelf: v1.0.0');
  }, 60_000);

  it('is reported by the check when lost or stale, and restored by the rebuild', async () => {
    const key = badgeKey('bundle', echo);
    const kept = (await reg.store.get(key))!;
    await reg.store.delete(key);
    let report = await check(reg.store);
    expect(report.issues).toEqual([{ key, problem: 'missing', repair: 'rebuild', missing: ['badge'], extra: [], outdated: [] }]);
    await reg.store.put(key, renderBadge({ label: 'shelf', message: 'v0.0.1', color: BADGE_COLORS.release }), { contentType: 'image/svg+xml', cacheControl: MUTABLE_CACHE });
    report = await check(reg.store);
    expect(report.issues).toEqual([{ key, problem: 'stale', repair: 'rebuild', missing: [], extra: [], outdated: ['badge'] }]);
    expect((await rebuild(reg.store)).changed).toEqual([key]);
    expect((await reg.store.get(key))!.body).toEqual(kept.body);
    expect((await rebuild(reg.store)).changed).toEqual([]);
  });
});
