/**
 * Browser-test helpers: Debian's Chromium driven by playwright-core (never a downloaded browser),
 * and a hostile bundle whose manifest is full of HTML and script, published through the real
 * announce path like any other.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { packBundle } from '../../src/dev/pack.ts';
import { claimsFor, type TestRegistry } from '../helpers/test-registry.ts';

/** Debian's Chromium; `.ci/run` installs it when missing. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where each run leaves its screenshots (gitignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));

/** Launches the system Chromium headless, without sandbox or background traffic. */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium), as .ci/run does.`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Payloads that would run if any page parsed package text as HTML; each one sets `window.__pwned`. */
export const XSS = {
  displayName: '<img src=x onerror="window.__pwned=1">Evil',
  description: '<script>window.__pwned=2</script> Harmless <b>bold</b> text',
  longDescription: 'Line one <img src=x onerror="window.__pwned=3">\n<script>window.__pwned=4</script>',
  tool: '<svg onload="window.__pwned=5"></svg>',
  author: '<iframe src="javascript:window.__pwned=6"></iframe>',
  authorUrl: 'javascript:window.__pwned=7',
  homepage: 'javascript:window.__pwned=8',
  keyword: '<a href="javascript:window.__pwned=9">kw</a>',
} as const;

/** Packs the echo example as `@evil/xss` with {@link XSS} in every free-text field, and announces it. */
export async function publishHostileBundle(reg: TestRegistry): Promise<{ status: number; json: unknown }> {
  const source = fileURLToPath(new URL('../../examples/echo/', import.meta.url));
  const work = mkdtempSync(join(tmpdir(), 'shelf-xss-'));
  try {
    const dir = join(work, 'xss');
    cpSync(source, dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    Object.assign(manifest, {
      name: '@evil/xss',
      version: '1.0.0',
      display_name: XSS.displayName,
      description: XSS.description,
      long_description: XSS.longDescription,
      author: { name: XSS.author, url: XSS.authorUrl },
      homepage: XSS.homepage,
      keywords: [XSS.keyword, 'xss'],
    });
    manifest.tools = [{ name: 'echo', description: XSS.tool }];
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const filename = 'xss-1.0.0-any-any.mcpb';
    const packed = await packBundle(dir, join(work, filename));
    const repository = 'evil/xss-mcp';
    reg.github.addAsset(repository, 'v1.0.0', filename, { bytes: await readFile(packed.file) });
    const body = {
      name: '@evil/xss',
      version: '1.0.0',
      manifest: packed.manifest,
      release_tag: 'v1.0.0',
      prerelease: false,
      artifact: { filename, os: 'any', arch: 'any', sha256: packed.sha256, size: packed.size },
    };
    return await reg.announce('bundle', body, claimsFor(repository));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
