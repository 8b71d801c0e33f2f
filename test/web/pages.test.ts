/**
 * The web pages in Chromium, against a registry seeded through the real announce path (packed
 * bundles, tokens from a fake GitHub issuer, assets fetched from a fake release): instant search,
 * filters and history, package pages with versions, files and provenance, scope pages, the
 * empty, not-found and unreachable states, hostile package text, and a phone-sized screen.
 */
import { mkdirSync } from 'node:fs';
import { rm, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { publishWebAssets } from '../../src/registry/web-assets.ts';
import { startLocalServer, type LocalServer } from '../../src/server/local-server.ts';
import { startRegistryServer, type RegistryServer } from '../../src/server/registry-server.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { parsePackageName, parseVersion } from '../../src/core/names.ts';
import { takedown } from '../../src/registry/takedown.ts';
import { announcePrepared, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { addDownloads } from '../../src/downloads/tally.ts';
import { publishDownloads } from '../../src/downloads/publish.ts';
import { SCREENSHOT_DIR, XSS, launchChromium, publishHostileBundle } from './helpers.ts';
import { bundleFolder, publishFolder } from '../cli/helpers.ts';
import { startFakeSigstore, type FakeSigstore } from '../fakes/fake-sigstore.ts';

/** A README that tries everything: raw HTML, script, event attributes, script and data links, plain-http and data images. */
const HOSTILE_README = [
  '# Hostile README',
  '<script>window.__pwned = 1</script>',
  '<img src="x" onerror="window.__pwned = 2">',
  '<a href="javascript:window.__pwned = 3">raw link</a>',
  '<div onclick="window.__pwned = 4">raw div</div> <iframe src="https://example.com/"></iframe>',
  '',
  '[script link](javascript:window.__pwned=5) [data link](data:text/html,x) [vb link](vbscript:msgbox) [ok link](https://example.com/docs) [relative link](docs/guide.md) [anchor](#usage)',
  '',
  '![plain http image](http://example.com/x.png) ![data image](data:image/png;base64,iVBORw0KGgo=) ![relative image](assets/logo.png) ![https image](https://example.com/logo.png)',
  '',
  '```html',
  '<script>alert(1)</script>',
  '```',
].join('\n');
/** Just under the registry's 512 KiB: the page renders the first 256 KiB and says so. */
const HUGE_README = `# Huge\n\n${'A long line of *emphasis* and `code` and [links](https://example.com/).\n\n'.repeat(7000)}`;

let reg: TestRegistry;
let sigstore: FakeSigstore;
let browser: Browser;
/** One context for the file: pages share its HTTP cache (the script is immutable), each has its own history. */
let context: BrowserContext;
let deadPages: LocalServer;
/** A registry where nothing was ever published (no search index yet). */
let emptyRegistry: RegistryServer;
let deadDir: string;
const published: Record<string, PreparedArtifact> = {};
const pages: Page[] = [];
/** Uncaught exceptions in any page: there must be none. */
const pageErrors: string[] = [];

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  const launching = launchChromium();
  sigstore = await startFakeSigstore();
  const rootFile = join(await mkdtemp(join(tmpdir(), 'shelf-pages-root-')), 'trusted_root.json');
  await writeFile(rootFile, JSON.stringify(sigstore.trustedRoot));
  reg = await startTestRegistry({ env: { SHELF_SIGSTORE_TRUSTED_ROOT: rootFile } });
  const jobs: Array<[string, () => Promise<PreparedArtifact>]> = [
    ['echo', () => prepareBundle(reg, { example: '@acme/echo' })],
    ['sysinfo-linux', () => prepareBundle(reg, { example: '@acme/sysinfo', os: 'linux', arch: 'x64' })],
    ['sysinfo-darwin', () => prepareBundle(reg, { example: '@acme/sysinfo', os: 'darwin', arch: 'arm64' })],
    ['sysinfo-win32', () => prepareBundle(reg, { example: '@acme/sysinfo', os: 'win32', arch: 'x64' })],
    ['weather', () => prepareBundle(reg, { example: '@globex/weather' })],
    ['weather-old', () => prepareBundle(reg, { example: '@globex/weather', version: '1.9.0' })],
    ['weather-beta', () => prepareBundle(reg, { example: '@globex/weather', version: '2.1.0-beta.1', prerelease: true })],
    ['skill', () => prepareSkill(reg)],
  ];
  for (const [key, job] of jobs) {
    published[key] = await job();
    const res = await announcePrepared(reg, published[key]!);
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
  const hostile = await publishHostileBundle(reg);
  expect(hostile.status, JSON.stringify(hostile.json)).toBe(201);
  // READMEs: a hostile one in the archive, a huge one from the repository at the released commit.
  await publishFolder(reg, bundleFolder(() => {}, { 'README.md': HOSTILE_README }), { name: '@evil/readme', version: '1.0.0' });
  reg.github.setReadme('evil/huge-mcp', 'a'.repeat(40), HUGE_README);
  await publishFolder(reg, bundleFolder(() => {}), { name: '@evil/huge', version: '1.0.0' });

  // The same pages, published to another bucket and pointed at a registry that is not there.
  deadDir = await mkdtemp(join(tmpdir(), 'shelf-dead-pages-'));
  const deadStore = new FsStore(deadDir);
  await publishWebAssets(deadStore, { registryUrl: `http://127.0.0.1:${await deadPort()}` });
  deadPages = await startLocalServer({ store: deadStore, port: 0, readsOnly: true });
  emptyRegistry = await startRegistryServer({ store: new FsStore(join(deadDir, 'empty')), port: 0, env: { SHELF_AUDIENCE: 'https://shelf.test' } });

  browser = await launching;
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: reg.url });
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
}, 120_000);

afterAll(async () => {
  await sigstore?.close();
  await browser?.close();
  await deadPages?.close();
  await emptyRegistry?.close();
  await reg?.close();
  if (deadDir) await rm(deadDir, { recursive: true, force: true });
});

afterEach(async () => {
  await Promise.all(pages.splice(0).map((p) => p.close()));
  expect(pageErrors.splice(0)).toEqual([]);
});

/** A new tab (its own history), optionally phone-sized; `path` is loaded unless null. */
async function open(path: string | null, options: { base?: string; viewport?: { width: number; height: number } } = {}): Promise<Page> {
  const page = await context.newPage();
  pages.push(page);
  page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
  if (options.viewport) await page.setViewportSize(options.viewport);
  if (path !== null) await page.goto(`${options.base ?? reg.url}${path}`);
  return page;
}

/** Names of the listed results, in order, once the results are shown. */
async function resultNames(page: Page): Promise<string[]> {
  await page.locator('#results[aria-busy="false"]').waitFor();
  return page.locator('#results .result').evaluateAll((items) => items.map((li) => li.getAttribute('data-name') ?? ''));
}

const search = (page: Page) => page.getByRole('searchbox', { name: 'Search' });

describe('home page', () => {
  it('answers as the user types, best match first, and keeps the query in the URL', async () => {
    const page = await open('/');
    await expect.poll(() => resultNames(page)).toContain('@acme/echo');
    await search(page).pressSequentially('weath', { delay: 15 });
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@globex/weather');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('weath');
    // Fuzzy: one typo still finds the package.
    await search(page).fill('sysinfi');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@acme/sysinfo');
    await search(page).fill('weather');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@globex/weather');
    const first = page.locator('#results .result').first();
    await expect.poll(() => first.textContent()).toContain('v2.0.0');
    await expect.poll(() => page.locator('#result-count').textContent()).toContain('matching “weather”');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'home.png'), fullPage: true });
  });

  it('shows a loading state in reserved space until the index arrives, without moving the results', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const page = await open(null);
    await page.route('**/v1/search/bundles/root.json', async (route) => {
      await held;
      await route.continue();
    });
    await page.goto(`${reg.url}/`);
    const loading = page.locator('#results [data-state="loading"]');
    await loading.waitFor();
    expect(await page.locator('#results').getAttribute('aria-busy')).toBe('true');
    const before = await page.locator('#results').boundingBox();
    release();
    await page.locator('#results .result').first().waitFor();
    expect(await loading.count()).toBe(0);
    const after = await page.locator('#results').boundingBox();
    expect(after?.y).toBe(before?.y);
    expect(after!.height).toBeGreaterThanOrEqual(before!.height);
  });

  it('filters by platform: an OS and architecture must match the same artifact', async () => {
    const page = await open('/');
    await expect.poll(() => resultNames(page)).toContain('@acme/sysinfo');
    await page.getByLabel('OS').selectOption('darwin');
    await page.getByLabel('Architecture').selectOption('x64');
    // sysinfo has darwin-arm64 and linux-x64, never darwin-x64; universal bundles still match.
    await expect.poll(() => resultNames(page)).not.toContain('@acme/sysinfo');
    expect(await resultNames(page)).toContain('@acme/echo');
    await page.getByLabel('Architecture').selectOption('arm64');
    await expect.poll(() => resultNames(page)).toContain('@acme/sysinfo');
    expect(new URL(page.url()).search).toBe('?os=darwin&arch=arm64');
    // Server type and sort are in the URL as well.
    await page.getByLabel('Server type').selectOption('python');
    await expect.poll(() => page.locator('#results [data-state="empty"]').count()).toBe(1);
    await expect.poll(() => page.locator('#result-count').textContent()).toBe('No bundles found');
    await page.getByRole('button', { name: 'Clear search and filters' }).click();
    await expect.poll(() => resultNames(page)).toContain('@acme/sysinfo');
    expect(new URL(page.url()).search).toBe('');
    await page.getByLabel('Sort by').selectOption('name');
    await expect.poll(() => resultNames(page)).toEqual(['@acme/echo', '@acme/sysinfo', '@evil/huge', '@evil/readme', '@evil/xss', '@globex/weather']);
    expect(new URL(page.url()).search).toBe('?sort=name');
  });

  it('a query that matches nothing suggests the nearest words ("did you mean"), and the suggestion searches for them', async () => {
    // Two swaps from "weather": beyond the typo allowance, within a suggestion's.
    const page = await open('/?q=waehter');
    const empty = page.locator('#results [data-state="empty"]');
    await expect.poll(() => empty.count()).toBe(1);
    expect(await empty.locator('.state-detail').textContent()).toBe('Did you mean weather?');
    await empty.getByRole('link', { name: 'weather' }).click();
    await expect.poll(() => resultNames(page)).toEqual(['@globex/weather']);
    expect(new URL(page.url()).search).toBe('?q=weather');
    expect(await search(page).inputValue()).toBe('weather');
  });

  it('the back button restores the previous query, its results and its filters', async () => {
    const page = await open('/');
    await search(page).fill('echo');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('echo');
    await search(page).fill('weather');
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('weather');
    await page.getByLabel('OS').selectOption('linux');
    await expect.poll(() => new URL(page.url()).search).toBe('?q=weather&os=linux');
    await page.goBack();
    await expect.poll(() => new URL(page.url()).search).toBe('?q=weather');
    expect(await page.getByLabel('OS').inputValue()).toBe('');
    await page.goBack();
    await expect.poll(() => search(page).inputValue()).toBe('echo');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@acme/echo');
    await page.goForward();
    await expect.poll(() => search(page).inputValue()).toBe('weather');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@globex/weather');
  });

  it('typing that refines one query replaces the history entry instead of adding one per keystroke', async () => {
    const page = await open('/');
    await resultNames(page);
    const start = await page.evaluate(() => history.length);
    await search(page).pressSequentially('sys', { delay: 10 });
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('sys');
    await search(page).pressSequentially('info', { delay: 10 });
    await expect.poll(() => new URL(page.url()).searchParams.get('q')).toBe('sysinfo');
    expect(await page.evaluate(() => history.length)).toBe(start + 1);
  });

  it('opens a shared URL with its search and filters applied, and lists skills', async () => {
    const page = await open('/?q=sysinfo&os=linux&arch=x64&sort=recent');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@acme/sysinfo');
    expect(await search(page).inputValue()).toBe('sysinfo');
    expect(await page.getByLabel('OS').inputValue()).toBe('linux');
    expect(await page.getByLabel('Sort by').inputValue()).toBe('recent');
    await page.locator('label[for="kind-skill"]').click();
    await search(page).fill('');
    await expect.poll(() => resultNames(page)).toEqual(['@acme/release-notes']);
    expect(await page.getByLabel('Server type').isDisabled()).toBe(true);
    expect(new URL(page.url()).searchParams.get('kind')).toBe('skill');
  });

  it('is reachable from the keyboard: "/" focuses the search, Tab reaches the first result, Enter opens it', async () => {
    const page = await open('/');
    await resultNames(page);
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('q');
    await page.keyboard.type('echo');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@acme/echo');
    let focused = '';
    for (let i = 0; i < 12 && focused !== 'result-link'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.className ?? '');
    }
    expect(focused).toBe('result-link');
    await page.keyboard.press('Enter');
    await page.waitForURL(/package\.html\?bundle=@acme\/echo$/);
    await page.locator('h1').getByText('Echo').waitFor();
  });
});

describe('use this registry elsewhere', () => {
  it('shows the VS Code settings and npx skills commands with the registry’s own address, and they lead to its MCP API and skills', async () => {
    const page = await open('/');
    const section = page.getByRole('region', { name: 'Use this registry in VS Code / with npx skills' });
    await expect.poll(() => section.locator('[data-registry-url]').first().textContent()).toBe(reg.url);
    const text = (await section.textContent()) ?? '';
    expect(text).toContain(`"chat.mcp.gallery.serviceUrl": "${reg.url}"`);
    expect(text).toContain('"chat.mcp.gallery.enabled": true');
    expect(text).toContain(`npx skills add ${reg.url}/@scope`);
    // What VS Code and the skills CLI would request next, from the page's own origin.
    const answers = await page.evaluate(async (base) => {
      const probe = await fetch(`${base}/v0.1/servers?limit=1`);
      const skills = await fetch(`${base}/@acme/.well-known/agent-skills/index.json`);
      return { probe: probe.status, servers: (await probe.json()).servers.length, skills: (await skills.json()).skills.map((s: { name: string }) => s.name) };
    }, reg.url);
    expect(answers).toEqual({ probe: 200, servers: expect.any(Number), skills: ['release-notes'] });
    expect(answers.servers).toBeGreaterThan(0);
  });
});

describe('package page', () => {
  it('shows description, install command, versions with prereleases labelled, files and verified provenance', async () => {
    const page = await open('/');
    await search(page).fill('weather');
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@globex/weather');
    await page.locator('#results .result-link').first().click();
    await page.waitForURL(/package\.html\?bundle=@globex\/weather$/);
    await page.locator('article.pkg').waitFor();
    expect(await page.locator('h1').textContent()).toBe('Weather');
    expect(await page.title()).toBe('Weather · Shelf');
    expect(await page.locator('#verified-mark').textContent()).toContain('Published from GitHub Actions with a verified OIDC token');

    const command = `npx shelf-cli bundle pull @globex/weather --registry ${reg.url}`;
    expect(await page.locator('#pull-command').textContent()).toBe(command);
    await page.getByRole('button', { name: 'Copy the command' }).click();
    await expect.poll(() => page.locator('#install .copy-status').textContent()).toBe('Copied to the clipboard.');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);

    const rows = page.locator('#versions tbody tr');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-version')))).toEqual(['2.1.0-beta.1', '2.0.0', '1.9.0']);
    expect(await rows.nth(0).textContent()).toContain('prerelease');
    expect(await rows.nth(1).textContent()).toContain('latest');
    expect(await rows.nth(2).textContent()).not.toMatch(/latest|prerelease/);
    expect(await rows.nth(1).locator('a').getAttribute('aria-current')).toBe('page');

    const file = page.locator('#files .file');
    expect(await file.count()).toBe(1);
    expect(await file.locator('.sha256').textContent()).toBe(published.weather!.sha256);
    expect(await file.locator('.file-size').getAttribute('title')).toBe(`${published.weather!.size} bytes`);
    expect(await file.locator('a').getAttribute('href')).toBe(`${reg.url}/v1/bundles/@globex/weather/versions/2.0.0/any-any.mcpb`);

    const provenance = page.locator('#provenance');
    expect(await provenance.textContent()).toContain('GitHub Actions, OIDC token verified');
    expect(await provenance.getByRole('link', { name: 'globex/weather-mcp' }).getAttribute('href')).toBe('https://github.com/globex/weather-mcp');
    const commit = provenance.locator('a.commit-link');
    expect(await commit.textContent()).toBe('aaaaaaa');
    expect(await commit.getAttribute('href')).toBe(`https://github.com/globex/weather-mcp/commit/${'a'.repeat(40)}`);
    expect(await provenance.getByRole('link', { name: '.github/workflows/release.yml' }).getAttribute('href')).toBe(
      `https://github.com/globex/weather-mcp/blob/${'a'.repeat(40)}/.github/workflows/release.yml`,
    );
    expect(await provenance.getByRole('link', { name: '#42' }).getAttribute('href')).toBe('https://github.com/globex/weather-mcp/actions/runs/42');

    const aside = page.locator('aside.pkg-aside');
    expect(await aside.textContent()).toContain('MIT');
    expect(await aside.getByRole('link', { name: 'Globex Corporation' }).getAttribute('href')).toBe('https://globex.example');
    expect(await page.locator('#tools').textContent()).toContain('forecast');
    expect(await page.locator('#about').textContent()).toContain('dependency-free Node MCP server');

    // The badge: the registry's SVG, loaded under the page's CSP, and the Markdown to copy.
    const badge = `${reg.url}/v1/badges/bundles/@globex/weather.svg`;
    expect(await page.locator('#badge-image').getAttribute('src')).toBe(badge);
    await expect.poll(() => page.locator('#badge-image').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(60);
    const markdown = `[![@globex/weather on shelf](${badge})](${reg.url}/package.html?bundle=@globex/weather)`;
    expect(await page.locator('#badge-markdown').textContent()).toBe(markdown);
    await page.getByRole('button', { name: 'Copy the badge Markdown' }).click();
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText())).toBe(markdown);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'package.png'), fullPage: true });

    // A prerelease has its own page, labelled, with a pull command naming the version.
    await rows.nth(0).getByRole('link', { name: '2.1.0-beta.1' }).click();
    await page.waitForURL(/version=2\.1\.0-beta\.1$/);
    await page.locator('article.pkg').waitFor();
    expect(await page.locator('.notice').textContent()).toContain('2.1.0-beta.1, a prerelease');
    expect(await page.locator('#pull-command').textContent()).toBe(`npx shelf-cli bundle pull @globex/weather@2.1.0-beta.1 --registry ${reg.url}`);
  });

  it('lists one file per platform for a multi-platform bundle, with its sha256', async () => {
    const page = await open('/package.html?bundle=@acme/sysinfo');
    await page.locator('article.pkg').waitFor();
    const files = page.locator('#files .file');
    expect(await files.evaluateAll((lis) => lis.map((li) => li.getAttribute('data-platform')))).toEqual(['darwin-arm64', 'linux-x64', 'win32-x64']);
    expect(await files.nth(1).locator('.sha256').textContent()).toBe(published['sysinfo-linux']!.sha256);
    expect(await page.locator('#versions tbody tr').first().textContent()).toContain('macOS arm64');
    // One run published all three: its provenance is shown once.
    expect(await page.locator('#provenance .provenance').count()).toBe(1);
    // Its README, packed into the bundle, rendered: headings, a table, code.
    expect(await page.locator('#readme-body h1').textContent()).toBe('sysinfo');
    expect(await page.locator('#readme-body table td code').first().textContent()).toBe('hostname');
  });

  it('shows download counts when the registry has counted some, and no row otherwise', async () => {
    const key = `v1/bundles/@acme/sysinfo/versions/${published['sysinfo-linux']!.body.version}/linux-x64.mcpb`;
    await addDownloads(reg.store, new Date().toISOString().slice(0, 10), new Map([[key, 1234]]));
    await publishDownloads(reg.store);
    const page = await open('/package.html?bundle=@acme/sysinfo');
    await page.locator('article.pkg').waitFor();
    expect(await page.locator('.pkg-aside .downloads').textContent()).toBe('1,234 (1,234 in the last 30 days)');
    const other = await open('/package.html?bundle=@acme/echo');
    await other.locator('article.pkg').waitFor();
    expect(await other.locator('.pkg-aside .downloads').count()).toBe(0);
  });

  it('shows a skill with its skill pull command', async () => {
    const page = await open('/package.html?skill=@acme/release-notes');
    await page.locator('article.pkg').waitFor();
    expect(await page.locator('#pull-command').textContent()).toBe(`npx shelf-cli skill pull @acme/release-notes --registry ${reg.url}`);
    expect(await page.locator('#files .sha256').textContent()).toBe(published.skill!.sha256);
  });

  it('says "not found" for an unknown package, an unknown version and a malformed address', async () => {
    const page = await open('/package.html?bundle=@acme/nope');
    await page.locator('[data-state="not-found"]').waitFor();
    expect(await page.locator('.state-title').textContent()).toBe('Package not found');
    expect(await page.locator('.state-detail').textContent()).toContain('@acme/nope');
    expect(await page.getByRole('link', { name: 'Search the registry' }).getAttribute('href')).toBe('./');

    await page.goto(`${reg.url}/package.html?bundle=@acme/echo&version=9.9.9`);
    await page.locator('[data-state="not-found"]').waitFor();
    expect(await page.locator('.state-title').textContent()).toBe('Version not found');
    expect(await page.getByRole('link', { name: 'See @acme/echo' }).getAttribute('href')).toBe('package.html?bundle=@acme/echo');

    await page.goto(`${reg.url}/package.html?bundle=${encodeURIComponent('<script>x</script>')}`);
    await page.locator('[data-state="invalid"]').waitFor();
    expect(await page.locator('.state-title').textContent()).toBe('This address does not name a package');
  });

  it('renders hostile package text as text: nothing runs, nothing is linked, the text is visible', async () => {
    const dialogs: string[] = [];
    const page = await open('/?q=xss');
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await expect.poll(async () => (await resultNames(page))[0]).toBe('@evil/xss');
    const result = page.locator('#results .result').first();
    expect(await result.locator('.result-title').textContent()).toBe(XSS.displayName);
    expect(await result.locator('.result-desc').textContent()).toBe(XSS.description);
    await result.locator('.result-link').click();
    await page.locator('article.pkg').waitFor();

    expect(await page.locator('h1').textContent()).toBe(XSS.displayName);
    expect(await page.locator('.pkg-desc').textContent()).toBe(XSS.description);
    expect(await page.locator('.long-description').textContent()).toBe(XSS.longDescription);
    expect(await page.locator('#tools .item-desc').textContent()).toBe(XSS.tool);
    await page.getByText(XSS.displayName, { exact: true }).first().waitFor({ state: 'visible' });
    const aside = page.locator('aside.pkg-aside');
    expect(await aside.textContent()).toContain(XSS.author);
    expect(await aside.textContent()).toContain(XSS.keyword);
    // The javascript: author URL and homepage are not links; no element came from package text.
    expect(await page.locator('a[href^="javascript:" i]').count()).toBe(0);
    expect(await aside.getByRole('link', { name: XSS.author }).count()).toBe(0);
    // The one image is the registry's own badge, its address built from the validated name.
    expect(await page.locator('img:not(#badge-image), svg, iframe, b, article script').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
  });
});

describe('what the page verified', () => {
  it("says the registry's signatures over the package and each file were verified in the browser, and that there is no attestation", async () => {
    const page = await open('/package.html?bundle=@acme/sysinfo');
    await page.locator('article.pkg').waitFor();
    const keyid = reg.server.signer.keyId;
    expect(await page.locator('#signature-status').getAttribute('data-verified')).toBe('true');
    expect(await page.locator('#signature-status').textContent()).toContain(`signed by the registry's key ${keyid.slice(0, 16)}`);
    expect(await page.locator('#files .file-signature').evaluateAll((ps) => ps.map((p) => p.getAttribute('data-keyid')))).toEqual([keyid, keyid, keyid]);
    expect(await page.locator('#attestation-status').getAttribute('data-attested')).toBe('false');
  });

  it('says that a version is Sigstore-attested, by which workflow', async () => {
    const p = await prepareBundle(reg, { example: '@acme/echo', name: '@initech/attested', version: '1.0.0' });
    const workflow = `${p.repository}/.github/workflows/release.yml@refs/tags/v1`;
    reg.github.addAttestation(p.repository, p.sha256, await sigstore.attest(p.sha256, { repository: p.repository, repository_id: claimsFor(p.repository).repository_id, sha: 'a'.repeat(40), workflow_ref: workflow, job_workflow_ref: workflow }));
    expect((await announcePrepared(reg, p)).status).toBe(201);
    const page = await open('/package.html?bundle=@initech/attested');
    await page.locator('article.pkg').waitFor();
    expect(await page.locator('#attestation-status').getAttribute('data-attested')).toBe('true');
    expect(await page.locator('#attestation-status').textContent()).toContain(`GitHub attested every file with Sigstore (https://github.com/${workflow})`);
  });

  it('shows nothing of a version whose file no longer matches its signature, and says why', async () => {
    const key = 'v1/bundles/@globex/weather/versions/1.9.0.json';
    const saved = (await reg.store.get(key))!;
    const doc = JSON.parse(new TextDecoder().decode(saved.body));
    doc.artifacts[0].sha256 = 'f'.repeat(64);
    await reg.store.put(key, new TextEncoder().encode(JSON.stringify(doc)), { contentType: 'application/json; charset=utf-8', cacheControl: 'public, max-age=0, must-revalidate' });
    try {
      const page = await open('/package.html?bundle=@globex/weather&version=1.9.0');
      const panel = page.locator('[data-state="untrusted"]');
      await panel.waitFor();
      expect(await panel.textContent()).toContain('signature_invalid');
      expect(await page.locator('#files').count()).toBe(0);
      expect(await page.locator('.sha256').count()).toBe(0);
    } finally {
      await reg.store.put(key, saved.body, { contentType: 'application/json; charset=utf-8', cacheControl: 'public, max-age=0, must-revalidate' });
    }
  });
});

describe('scope page', () => {
  it("lists a publisher's packages of both kinds with the GitHub owner it is pinned to", async () => {
    const page = await open('/package.html?bundle=@acme/echo');
    await page.locator('article.pkg').waitFor();
    await page.locator('aside').getByRole('link', { name: '@acme' }).click();
    await page.waitForURL(/scope\.html\?scope=acme$/);
    await page.locator('article.scope').waitFor();
    expect(await page.locator('h1').textContent()).toBe('@acme');
    expect(await page.getByRole('link', { name: 'acme', exact: true }).getAttribute('href')).toBe('https://github.com/acme');
    const names = (section: string) => page.locator(`${section} .result`).evaluateAll((lis) => lis.map((li) => li.getAttribute('data-name')));
    expect(await names('#bundles')).toEqual(['@acme/echo', '@acme/sysinfo']);
    expect(await names('#skills')).toEqual(['@acme/release-notes']);
    expect(await page.locator('#bundles .result').first().textContent()).toContain('v1.2.0');
  });

  it('says "not found" for a scope that never published', async () => {
    const page = await open('/scope.html?scope=nobody');
    await page.locator('[data-state="not-found"]').waitFor();
    expect(await page.locator('.state-title').textContent()).toBe('Scope not found');
  });
});

describe('registry unreachable', () => {
  it('shows the unreachable state with a retry on every page', async () => {
    for (const path of ['/', '/package.html?bundle=@acme/echo', '/scope.html?scope=acme']) {
      const page = await open(path, { base: deadPages.url });
      const state = page.locator('[data-state="unreachable"]');
      await state.waitFor();
      expect(await state.locator('.state-title').textContent()).toBe('The registry could not be reached');
      expect(await state.getByRole('button', { name: 'Try again' }).count()).toBe(1);
      expect(await state.getAttribute('role')).toBe('alert');
    }
  });
});

describe('empty registry', () => {
  it('says nothing has been published yet, not that the registry is unreachable', async () => {
    const page = await open('/', { base: emptyRegistry.url });
    const state = page.locator('#results [data-state="empty"]');
    await state.waitFor();
    expect(await state.locator('.state-title').textContent()).toBe('No bundles have been published yet.');
    await page.locator('label[for="kind-skill"]').click();
    await expect.poll(() => state.locator('.state-title').textContent()).toBe('No skills have been published yet.');
    expect(await page.locator('[data-state="unreachable"]').count()).toBe(0);
  });
});

describe('phone-sized screen', () => {
  it('renders home and package pages without horizontal overflow', async () => {
    const viewport = { width: 360, height: 740 };
    const overflow = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    const home = await open('/?q=sysinfo', { viewport });
    await expect.poll(async () => (await resultNames(home))[0]).toBe('@acme/sysinfo');
    expect(await overflow(home)).toBe(0);
    await home.screenshot({ path: join(SCREENSHOT_DIR, 'home-phone.png'), fullPage: true });
    for (const path of ['/package.html?bundle=@acme/sysinfo', '/package.html?bundle=@evil/xss']) {
      const page = await open(path, { viewport });
      await page.locator('article.pkg').waitFor();
      expect(await overflow(page), path).toBe(0);
      if (path.includes('sysinfo')) await page.screenshot({ path: join(SCREENSHOT_DIR, 'package-phone.png'), fullPage: true });
    }
  });
});

describe('package READMEs', () => {
  it('renders a hostile README as Markdown under the CSP: nothing runs, raw HTML is text, links and images are safe', async () => {
    const page = await open('/package.html?bundle=@evil/readme');
    let dialogs = 0;
    page.on('dialog', (d) => {
      dialogs++;
      void d.dismiss();
    });
    const body = page.locator('#readme-body');
    await body.waitFor();
    expect(await body.locator('h1').textContent()).toBe('Hostile README');
    // Raw HTML stays text; none of it becomes an element.
    expect(await body.textContent()).toContain('<script>window.__pwned = 1</script>');
    expect(await body.textContent()).toContain('<img src="x" onerror="window.__pwned = 2">');
    expect(await body.locator('script, iframe, div, [onerror], [onclick], [style]').count()).toBe(0);
    expect(await page.locator('a[href^="javascript:" i], a[href^="data:" i], a[href^="vbscript:" i]').count()).toBe(0);
    // Every link is http(s) or in-page, and says nofollow noopener; a relative one points into the repository at the commit.
    const links = await body.locator('a').evaluateAll((as) => as.map((a) => ({ text: a.textContent, href: a.getAttribute('href'), rel: a.getAttribute('rel') })));
    for (const link of links) expect(link.rel).toBe('nofollow noopener');
    expect(links.filter((l) => l.href !== null).map((l) => l.href)).toEqual(['https://example.com/docs', `https://github.com/evil/readme-mcp/blob/${'a'.repeat(40)}/docs/guide.md`, '#usage']);
    expect(links.some((l) => l.text === 'script link' && l.href !== null)).toBe(false);
    // Images only over https; the others show their alt text.
    const images = await body.locator('img').evaluateAll((imgs) => imgs.map((i) => i.getAttribute('src')));
    expect(images).toEqual([`https://raw.githubusercontent.com/evil/readme-mcp/${'a'.repeat(40)}/assets/logo.png`, 'https://example.com/logo.png']);
    expect(await body.textContent()).toContain('plain http image');
    expect(await body.locator('pre code').textContent()).toContain('<script>alert(1)</script>');
    await page.waitForTimeout(200);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toBe(0);
    // The long description gives way to the README.
    expect(await page.locator('#about').count()).toBe(0);
  });

  it('renders a huge README from the repository in part, saying so, and keeps the page usable', async () => {
    const page = await open('/package.html?bundle=@evil/huge');
    const body = page.locator('#readme-body');
    await body.waitFor();
    expect(await body.locator('h1').textContent()).toBe('Huge');
    expect(await body.locator('.notice').textContent()).toContain('longer than 256 KiB');
    expect(await page.locator('#badge-image').count()).toBe(1); // the rest of the page is there
  });
});

describe('lifecycle: deprecated, yanked and removed', () => {
  // Published last, in a scope of their own, so the earlier tests see the registry as it was.
  let fresh: BrowserContext;
  beforeAll(async () => {
    const publish = async (name: string, version: string) => {
      const res = await announcePrepared(reg, await prepareBundle(reg, { example: '@acme/echo', name, version }));
      expect(res.status, JSON.stringify(res.json)).toBe(201);
    };
    for (const v of ['1.0.0', '1.1.0', '1.2.0']) await publish('@initech/alpha', v);
    await publish('@initech/beta', '1.0.0');
    await publish('@initech/gone', '1.0.0');
    const alpha = claimsFor('initech/alpha-mcp');
    expect((await reg.status('bundle', { name: '@initech/alpha', version: '1.2.0', status: 'yanked', message: 'Crashes on start; use 1.1.0.' }, alpha)).status).toBe(200);
    expect((await reg.status('bundle', { name: '@initech/beta', status: 'deprecated', message: 'Moved to @initech/alpha.' }, claimsFor('initech/beta-mcp'))).status).toBe(200);
    // Signed with the registry's key, as shelf takedown signs: the page verifies what it shows.
    const signer = reg.server.signer;
    await takedown(reg.store, { kind: 'bundle', pkg: parsePackageName('@initech/alpha'), version: parseVersion('1.0.0'), reason: 'Malware report #7', signer });
    await takedown(reg.store, { kind: 'bundle', pkg: parsePackageName('@initech/gone'), version: null, reason: 'Legal notice 2026-12', signer });
    // A context of its own: no cached search root from the earlier tests.
    fresh = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  }, 60_000);
  afterAll(async () => {
    await fresh?.close();
  });
  const openFresh = async (path: string) => {
    const page = await fresh.newPage();
    pages.push(page);
    page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
    await page.goto(`${reg.url}${path}`);
    if (path.startsWith('/package.html')) await page.locator('#app[aria-busy="false"]').waitFor();
    return page;
  };
  const badgeOf = (page: Page, version: string) => page.locator(`#versions tr[data-version="${version}"] .badge-status`);

  it('the package page marks yanked and removed versions, and shows the latest that is neither', async () => {
    const page = await openFresh('/package.html?bundle=@initech/alpha');
    expect(await page.locator('.badge-version').first().textContent()).toBe('v1.1.0');
    expect(await page.locator('#versions tr[data-version="1.1.0"] .badge-latest').count()).toBe(1);
    expect(await badgeOf(page, '1.2.0').textContent()).toBe('yanked');
    expect(await badgeOf(page, '1.2.0').getAttribute('title')).toBe('Crashes on start; use 1.1.0.');
    expect(await badgeOf(page, '1.0.0').textContent()).toBe('removed');
    expect(await badgeOf(page, '1.1.0').count()).toBe(0);
    expect(await page.locator('.status-banner').count()).toBe(0);
  });

  it('a yanked version: a banner with the message, and it still installs by its exact version', async () => {
    const page = await openFresh('/package.html?bundle=@initech/alpha&version=1.2.0');
    const banner = page.locator('.status-banner');
    expect(await banner.getAttribute('data-status')).toBe('yanked');
    expect(await banner.getAttribute('role')).toBe('note');
    expect(await banner.textContent()).toBe('@initech/alpha@1.2.0 is yanked: Crashes on start; use 1.1.0. It is still downloadable by its exact version, so lockfiles keep working; "latest" and ranges skip it.');
    expect(await page.locator('#pull-command').textContent()).toContain('@initech/alpha@1.2.0');
    // Its documents verify in the browser: the yank re-signed the package document, the statement is untouched.
    expect(await page.locator('#signature-status').getAttribute('data-verified')).toBe('true');
  });

  it('a removed version: an alert with the operator\'s reason, and nothing to install', async () => {
    const page = await openFresh('/package.html?bundle=@initech/alpha&version=1.0.0');
    const banner = page.locator('.status-banner');
    expect(await banner.getAttribute('role')).toBe('alert');
    expect(await banner.textContent()).toContain('@initech/alpha@1.0.0 was removed by the registry operator: Malware report #7');
    expect(await page.locator('#install').count()).toBe(0);
    expect(await page.locator('#versions').count()).toBe(1);
  });

  it('a deprecated package: a banner on every version, and the mark in search results', async () => {
    const page = await openFresh('/package.html?bundle=@initech/beta');
    const banner = page.locator('.status-banner');
    expect(await banner.getAttribute('data-status')).toBe('deprecated');
    expect(await banner.textContent()).toBe('@initech/beta is deprecated: Moved to @initech/alpha.');
    expect(await page.locator('#install').count()).toBe(1);

    const home = await openFresh('/?q=initech');
    await expect.poll(() => resultNames(home)).toEqual(expect.arrayContaining(['@initech/alpha', '@initech/beta']));
    const names = await resultNames(home);
    expect(names).not.toContain('@initech/gone');
    const beta = home.locator('#results .result[data-name="@initech/beta"] .badge-deprecated');
    expect(await beta.textContent()).toBe('deprecated');
    expect(await beta.getAttribute('title')).toBe('Moved to @initech/alpha.');
    expect(await home.locator('#results .result[data-name="@initech/alpha"] .badge-deprecated').count()).toBe(0);
    expect(await home.locator('#results .result[data-name="@initech/alpha"] .badge-version').textContent()).toBe('v1.1.0');
  });

  it('a removed package: its page says why, and offers nothing to install', async () => {
    const page = await openFresh('/package.html?bundle=@initech/gone');
    const banner = page.locator('.status-banner');
    expect(await banner.getAttribute('data-status')).toBe('removed');
    expect(await banner.textContent()).toContain('@initech/gone was removed by the registry operator: Legal notice 2026-12');
    expect(await page.locator('#install').count()).toBe(0);
    expect(await badgeOf(page, '1.0.0').textContent()).toBe('removed');
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'package-removed.png'), fullPage: true });
  });
});
