/**
 * The web pages as bucket objects: `index.html`, `package.html`, `scope.html` (short cache, like
 * every mutable document) and the content-hashed `assets/app.<hash>.js` and
 * `assets/style.<hash>.css` (immutable, written create-only). The pages are static: the local
 * server and the CDN serve them like any other key.
 *
 * The assets are built in memory with esbuild's JS API from `src/web/` when esbuild is installed
 * (a development dependency; a build takes well under a second and is done once per process), or
 * else read from a folder that `npm run build:web` wrote (`dist/www/`). The HTML is always
 * rendered at publish time, so one prebuilt folder serves any `registryUrl`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShelfError, isShelfError } from '../core/errors.ts';
import { IMMUTABLE_CACHE, MUTABLE_CACHE, contentTypeFor, webAssetKey } from '../core/paths.ts';
import { PreconditionFailedError, type ObjectStore } from '../store/object-store.ts';
import { renderPages } from '../web/pages.ts';

/** One file of the web pages, ready to put into the bucket. */
export interface WebAsset {
  /** Bucket key (`index.html`, `assets/app.1a2b3c4d5e6f7a8b.js`). */
  key: string;
  body: Uint8Array;
  contentType: string;
  cacheControl: string;
}

/** Options of {@link buildWebAssets} and {@link publishWebAssets}. */
export interface WebAssetOptions {
  /**
   * The registry the pages read, when it is not the folder they are served from (pages on another
   * origin). Default: the pages' own folder, i.e. the same bucket.
   */
  registryUrl?: string;
  /**
   * Read the script and style sheet from this folder (written by `npm run build:web`) instead of
   * building them. Default: build with esbuild when it is installed, else read {@link PREBUILT_DIR}.
   */
  prebuiltDir?: string;
}

/** Where `npm run build:web` writes the assets, and where they are read from without esbuild. */
export const PREBUILT_DIR = fileURLToPath(new URL('../../dist/www/', import.meta.url));
/** The prebuilt folder's index of which files are the current script and style sheet. */
export const PREBUILT_MANIFEST = 'assets.json';

const WEB_SOURCE_DIR = fileURLToPath(new URL('../web/', import.meta.url));
const HASH_LENGTH = 16;

/** Script and style sheet by content, built once per process (they depend on nothing but the sources). */
let builtCode: Promise<WebAsset[]> | undefined;

/**
 * Builds every file of the web pages in memory: the bundled script and style sheet (content-hashed
 * keys) and the three HTML pages that load them.
 *
 * @throws ShelfError `invalid_argument` naming a bad option; `web_assets_unavailable` when
 *   esbuild is not installed (then use `prebuiltDir`) or the sources are missing.
 */
export async function buildWebAssets(options: Pick<WebAssetOptions, 'registryUrl'> = {}): Promise<WebAsset[]> {
  checkOptions(options);
  if (!builtCode) {
    builtCode = bundle();
    builtCode.catch(() => (builtCode = undefined));
  }
  return withPages(await builtCode, options.registryUrl);
}

/**
 * Puts the web pages into the bucket and returns their keys (pages first). Hashed assets are
 * written create-only (a key that exists already holds the same bytes); a page is rewritten only
 * when its bytes differ, so restarting a server changes no ETag. Old hashed assets are left in
 * place: pages cached for up to a minute may still load them.
 *
 * @example
 * ```ts
 * await publishWebAssets(store); // ['index.html', 'package.html', 'scope.html', 'assets/app.….js', ...]
 * ```
 * @throws ShelfError `invalid_argument` naming a bad option; `web_assets_unavailable` when the
 *   assets can be neither built nor read.
 */
export async function publishWebAssets(store: ObjectStore, options: WebAssetOptions = {}): Promise<string[]> {
  checkOptions(options);
  const assets = await loadAssets(options);
  // Assets before pages: a page must never be served before the script it names exists.
  const ordered = [...assets.filter((a) => a.key.startsWith('assets/')), ...assets.filter((a) => !a.key.startsWith('assets/'))];
  for (const asset of ordered) {
    const put = { contentType: asset.contentType, cacheControl: asset.cacheControl };
    if (asset.cacheControl === IMMUTABLE_CACHE) {
      if (await store.head(asset.key)) continue;
      try {
        await store.put(asset.key, asset.body, { ...put, ifNoneMatch: '*' });
      } catch (error) {
        // A concurrent publish of the same build wrote it first: same key, same bytes.
        if (!(error instanceof PreconditionFailedError)) throw error;
      }
      continue;
    }
    const current = await store.get(asset.key);
    if (current && sameBytes(current.body, asset.body) && current.contentType === put.contentType && current.cacheControl === put.cacheControl) continue;
    await store.put(asset.key, asset.body, put);
  }
  return assets.map((a) => a.key);
}

/**
 * Writes the built assets into a folder (what `npm run build:web` does): the hashed script and
 * style sheet, the pages (for a look without a registry), and {@link PREBUILT_MANIFEST}. The folder
 * is emptied first so it holds one build only.
 *
 * @returns The paths written, relative to `dir`.
 */
export async function writePrebuiltAssets(dir: string = PREBUILT_DIR, options: Pick<WebAssetOptions, 'registryUrl'> = {}): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') throw new ShelfError('invalid_argument', 'The "dir" argument must be a folder path.');
  const assets = await buildWebAssets(options);
  await rm(dir, { recursive: true, force: true });
  const written: string[] = [];
  for (const asset of assets) {
    await mkdir(dirname(join(dir, asset.key)), { recursive: true });
    await writeFile(join(dir, asset.key), asset.body);
    written.push(asset.key);
  }
  const manifest = { script: assets.find((a) => a.key.endsWith('.js'))!.key, style: assets.find((a) => a.key.endsWith('.css'))!.key };
  await writeFile(join(dir, PREBUILT_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  written.push(PREBUILT_MANIFEST);
  return written;
}

function checkOptions(options: WebAssetOptions): void {
  if (typeof options !== 'object' || options === null) throw new ShelfError('invalid_argument', 'The options must be an object.');
  const { registryUrl, prebuiltDir } = options;
  if (registryUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(registryUrl);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '') {
      throw new ShelfError('invalid_argument', `The "registryUrl" option must be an http(s) URL without query or fragment; got ${JSON.stringify(registryUrl)}.`);
    }
  }
  if (prebuiltDir !== undefined && (typeof prebuiltDir !== 'string' || prebuiltDir === '')) {
    throw new ShelfError('invalid_argument', 'The "prebuiltDir" option must be a folder path.');
  }
}

async function loadAssets(options: WebAssetOptions): Promise<WebAsset[]> {
  if (options.prebuiltDir !== undefined) return withPages(await readPrebuilt(options.prebuiltDir), options.registryUrl);
  try {
    return await buildWebAssets(options);
  } catch (error) {
    if (!isShelfError(error, 'web_assets_unavailable')) throw error;
    if (!existsSync(join(PREBUILT_DIR, PREBUILT_MANIFEST))) throw error;
    return withPages(await readPrebuilt(PREBUILT_DIR), options.registryUrl);
  }
}

type Esbuild = typeof import('esbuild');

async function importEsbuild(): Promise<Esbuild | null> {
  try {
    return await import('esbuild');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return null;
    throw error;
  }
}

/** Bundles `src/web/app.ts` and `src/web/style.css` for browsers, in memory. */
async function bundle(): Promise<WebAsset[]> {
  const esbuild = await importEsbuild();
  if (!esbuild) {
    throw new ShelfError('web_assets_unavailable', 'esbuild is not installed, so the web pages cannot be built here; run npm run build:web where it is, or pass prebuiltDir.');
  }
  const entries = { app: join(WEB_SOURCE_DIR, 'app.ts'), style: join(WEB_SOURCE_DIR, 'style.css') };
  for (const file of Object.values(entries)) {
    if (!existsSync(file)) throw new ShelfError('web_assets_unavailable', `The web page source ${file} is missing.`);
  }
  const result = await esbuild.build({
    entryPoints: entries,
    outdir: 'out',
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    legalComments: 'eof',
    logLevel: 'silent',
  });
  const assets: WebAsset[] = [];
  for (const file of result.outputFiles) {
    const extension = file.path.endsWith('.css') ? '.css' : file.path.endsWith('.js') ? '.js' : null;
    if (!extension) continue;
    const name = extension === '.js' ? 'app' : 'style';
    assets.push(hashed(name, extension, file.contents));
  }
  if (!assets.some((a) => a.key.endsWith('.js')) || !assets.some((a) => a.key.endsWith('.css'))) {
    throw new ShelfError('web_assets_unavailable', 'esbuild produced no script or no style sheet for the web pages.');
  }
  return assets;
}

function hashed(name: string, extension: '.js' | '.css', body: Uint8Array): WebAsset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, HASH_LENGTH);
  const key = webAssetKey(name, hash, extension);
  return { key, body, contentType: contentTypeFor(key), cacheControl: IMMUTABLE_CACHE };
}

/** Reads the script and style sheet named by a prebuilt folder's manifest; their keys are checked against their bytes. */
async function readPrebuilt(dir: string): Promise<WebAsset[]> {
  let manifest: { script?: unknown; style?: unknown };
  try {
    manifest = JSON.parse(await readFile(join(dir, PREBUILT_MANIFEST), 'utf8'));
  } catch (error) {
    throw new ShelfError('web_assets_unavailable', `No prebuilt web assets in ${dir} (${(error as Error).message}); run npm run build:web.`);
  }
  const assets: WebAsset[] = [];
  for (const [field, name, extension] of [['script', 'app', '.js'], ['style', 'style', '.css']] as const) {
    const key = manifest[field];
    if (typeof key !== 'string' || !new RegExp(`^assets/${name}\\.[0-9a-f]{${HASH_LENGTH}}\\${extension}$`).test(key)) {
      throw new ShelfError('web_assets_unavailable', `${join(dir, PREBUILT_MANIFEST)} does not name a ${field} (got ${JSON.stringify(key)}).`);
    }
    let body: Uint8Array;
    try {
      body = await readFile(join(dir, key));
    } catch (error) {
      throw new ShelfError('web_assets_unavailable', `The prebuilt ${field} ${join(dir, key)} cannot be read (${(error as Error).message}).`);
    }
    const asset = hashed(name, extension, body);
    // An immutable key must always mean the same bytes; a hand-edited file would break that.
    if (asset.key !== key) throw new ShelfError('web_assets_unavailable', `The prebuilt ${field} ${key} does not match its content hash; rebuild with npm run build:web.`);
    assets.push(asset);
  }
  return assets;
}

function withPages(code: WebAsset[], registryUrl: string | undefined): WebAsset[] {
  const script = code.find((a) => a.key.endsWith('.js'))!.key;
  const style = code.find((a) => a.key.endsWith('.css'))!.key;
  const pages = renderPages(registryUrl === undefined ? { script, style } : { script, style, registryUrl });
  const encoder = new TextEncoder();
  const html = Object.entries(pages).map(([key, text]) => ({ key, body: encoder.encode(text), contentType: contentTypeFor(key), cacheControl: MUTABLE_CACHE }));
  return [...html, ...code];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
