/**
 * The web pages as bucket objects: `index.html`, `package.html`, `scope.html` (short cache, like
 * every mutable document) and the content-hashed `assets/{home,package,scope}.<hash>.js` (one
 * script per page), `assets/chunk.<hash>.js` (what they import on demand) and
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
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ShelfError, isShelfError } from '../core/errors.ts';
import { IMMUTABLE_CACHE, MUTABLE_CACHE, contentTypeFor, webAssetKey } from '../core/paths.ts';
import { PreconditionFailedError, type ObjectStore } from '../store/object-store.ts';
import { renderPages, type PageName } from '../web/pages.ts';

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
/** The prebuilt folder's index of which files are the current script, its chunks and the style sheet. */
export const PREBUILT_MANIFEST = 'assets.json';

const WEB_SOURCE_DIR = fileURLToPath(new URL('../web/', import.meta.url));
const HASH_LENGTH = 16;

/** The pages' scripts (with their chunks) and style sheet. */
interface WebCode {
  /** Each page's script (home, package, scope), their chunks (sorted by key), then the style sheet. */
  assets: WebAsset[];
  /** The key of each page's script. */
  scripts: Record<PageName, string>;
  /** The chunks each page preloads. */
  preload: Record<PageName, string[]>;
}

const PAGES: readonly PageName[] = ['home', 'package', 'scope'];

/**
 * The modules (under `src/`) a page imports on demand as soon as it starts, whose chunks it
 * preloads beside the chunks its script imports: the package and scope pages read their
 * documents at once (zod schemas), the scope page then summarises its packages. The home page's
 * search imports nothing on demand.
 */
const READ_AT_START: Record<PageName, readonly string[]> = {
  home: [],
  package: ['core/schemas.ts'],
  scope: ['core/schemas.ts', 'indexer/documents.ts'],
};

/**
 * The modules (under `src/`) a page's code imports on demand but the page never loads, left out
 * of its build: the home page's search reads no package, version, scope or key document (whose
 * zod schemas the client imports on demand) and summarises no package. Left in, the code they
 * share with the page's own would be split into chunks that the page's script imports: two more
 * requests before its search starts. Importing one on such a page fails, naming the module.
 */
const NEVER_LOADED: Record<PageName, readonly string[]> = {
  home: ['core/schemas.ts', 'indexer/documents.ts'],
  package: [],
  scope: [],
};

/** An esbuild plugin that turns the on-demand imports of `modules` into a module that throws. */
function leaveOut(page: PageName, modules: readonly string[]): import('esbuild').Plugin {
  const files = new Map(modules.map((m) => [resolve(WEB_SOURCE_DIR, '..', m), m]));
  return {
    name: 'shelf-never-loaded',
    setup(build) {
      build.onResolve({ filter: /.*/ }, (args) => {
        if (args.kind !== 'dynamic-import') return undefined;
        const module = files.get(resolve(args.resolveDir, args.path));
        return module === undefined ? undefined : { path: module, namespace: 'never-loaded' };
      });
      build.onLoad({ filter: /.*/, namespace: 'never-loaded' }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`${args.path} is not part of the ${page} page's script (NEVER_LOADED in src/registry/web-assets.ts).`)});`,
        loader: 'js',
      }));
    },
  };
}

/** Script and style sheet by content, built once per process (they depend on nothing but the sources). */
let builtCode: Promise<WebCode> | undefined;

/**
 * Builds every file of the web pages in memory: the bundled script and style sheet (content-hashed
 * keys) and the three HTML pages that load them.
 *
 * @throws ShelfError `invalid_argument` naming a bad option; `web_assets_unavailable` when
 *   esbuild is not installed (then use `prebuiltDir`) or the sources are missing.
 */
export async function buildWebAssets(options: Pick<WebAssetOptions, 'registryUrl'> = {}): Promise<WebAsset[]> {
  checkOptions(options);
  return withPages(await builtWebCode(), options.registryUrl);
}

function builtWebCode(): Promise<WebCode> {
  if (!builtCode) {
    builtCode = bundle();
    builtCode.catch(() => (builtCode = undefined));
  }
  return builtCode;
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
  checkOptions(options);
  const code = await builtWebCode();
  const assets = withPages(code, options.registryUrl);
  await rm(dir, { recursive: true, force: true });
  const written: string[] = [];
  for (const asset of assets) {
    await mkdir(dirname(join(dir, asset.key)), { recursive: true });
    await writeFile(join(dir, asset.key), asset.body);
    written.push(asset.key);
  }
  const pageScripts = new Set(Object.values(code.scripts));
  const manifest: PrebuiltManifest = {
    scripts: code.scripts,
    chunks: code.assets.filter((a) => a.key.endsWith('.js') && !pageScripts.has(a.key)).map((a) => a.key),
    style: code.assets.find((a) => a.key.endsWith('.css'))!.key,
    preload: code.preload,
  };
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

/**
 * Bundles each page's script (`src/web/entries/`) and `src/web/style.css` for browsers, in memory.
 * Each page loads one script: its own code whole (so the home page's search carries nothing of
 * the other pages), split only where the code imports on demand (the documents' zod schemas,
 * which the package and scope pages preload and the home page never loads). Every file is named
 * by the SHA-256 of its bytes: chunks first, then the files that import them, whose bytes carry
 * their chunks' names, so one name always means one set of bytes, imports included.
 */
async function bundle(): Promise<WebCode> {
  const esbuild = await importEsbuild();
  if (!esbuild) {
    throw new ShelfError('web_assets_unavailable', 'esbuild is not installed, so the web pages cannot be built here; run npm run build:web where it is, or pass prebuiltDir.');
  }
  const sources = [...PAGES.map((page) => join(WEB_SOURCE_DIR, 'entries', `${page}.ts`)), join(WEB_SOURCE_DIR, 'style.css')];
  for (const file of sources) {
    if (!existsSync(file)) throw new ShelfError('web_assets_unavailable', `The web page source ${file} is missing.`);
  }
  const build = (entryPoints: Record<string, string>, plugins: import('esbuild').Plugin[] = []) =>
    esbuild.build({
      entryPoints,
      plugins,
      absWorkingDir: WEB_SOURCE_DIR,
      outdir: 'out',
      bundle: true,
      splitting: true,
      write: false,
      metafile: true,
      format: 'esm',
      platform: 'browser',
      target: ['es2022', 'chrome100', 'firefox100', 'safari15'],
      minify: true,
      legalComments: 'eof',
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      logLevel: 'silent',
    });
  const chunks = new Map<string, WebAsset>();
  const scripts = {} as Record<PageName, string>;
  const preload = {} as Record<PageName, string[]>;
  const pageScripts: WebAsset[] = [];
  for (const [i, page] of PAGES.entries()) {
    const result = await build({ [page]: sources[i]! }, NEVER_LOADED[page].length > 0 ? [leaveOut(page, NEVER_LOADED[page])] : []);
    const named = hashedScripts(result, `${page}.js`);
    const own = named.get(`${page}.js`)!;
    scripts[page] = own.key;
    pageScripts.push(own);
    for (const [file, asset] of named) if (file !== `${page}.js`) chunks.set(asset.key, asset);
    preload[page] = startChunks(result, named, `${page}.js`, READ_AT_START[page]);
  }
  const css = (await build({ style: sources[PAGES.length]! })).outputFiles.find((f) => f.path.endsWith('.css'));
  if (!css) throw new ShelfError('web_assets_unavailable', 'esbuild produced no style sheet for the web pages.');
  const sorted = [...chunks.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
  return { assets: [...pageScripts, ...sorted, hashed('style', '.css', css.contents)], scripts, preload };
}

/**
 * The keys of the chunks a page loads as it starts, sorted: those its script `entry` imports (the
 * code it shares with its on-demand chunks), those of `modules` and those these import. Without a
 * preload, the browser would find the script's own chunks only once the script arrived: one more
 * round of requests before anything runs.
 */
function startChunks(result: import('esbuild').BuildResult<{ write: false; metafile: true }>, named: Map<string, WebAsset>, entry: string, modules: readonly string[]): string[] {
  const outputs = Object.entries(result.metafile.outputs).map(([path, o]) => ({ file: basename(path), ...o }));
  const keys = new Set<string>();
  const add = (file: string): void => {
    const key = named.get(file)!.key;
    if (keys.has(key)) return;
    keys.add(key);
    importsOf(file);
  };
  const importsOf = (file: string): void => {
    for (const i of outputs.find((o) => o.file === file)?.imports ?? []) if (i.kind === 'import-statement') add(basename(i.path));
  };
  importsOf(entry);
  for (const module of modules) {
    const output = outputs.find((o) => o.entryPoint !== undefined && resolve(WEB_SOURCE_DIR, o.entryPoint) === resolve(WEB_SOURCE_DIR, '..', module));
    if (!output) throw new ShelfError('web_assets_unavailable', `esbuild made no chunk of ${module} for the web pages.`);
    add(output.file);
  }
  return [...keys].sort();
}

/**
 * The scripts of one build, by esbuild's file name, renamed by content: each chunk's name is put
 * into the files importing it before those are hashed.
 */
function hashedScripts(result: import('esbuild').BuildResult<{ write: false; metafile: true }>, entry: string): Map<string, WebAsset> {
  const bytes = new Map(result.outputFiles.map((f) => [basename(f.path), f.contents]));
  const imports = new Map(Object.entries(result.metafile.outputs).map(([path, o]) => [basename(path), o.imports.map((i) => basename(i.path))]));
  if (!bytes.has(entry)) throw new ShelfError('web_assets_unavailable', `esbuild produced no ${entry} for the web pages.`);
  const named = new Map<string, WebAsset>();
  const name = (file: string): WebAsset => {
    let asset = named.get(file);
    if (asset) return asset;
    let text = new TextDecoder().decode(bytes.get(file));
    for (const dependency of imports.get(file) ?? []) {
      const before = `"./${dependency}"`;
      if (!text.includes(before)) throw new ShelfError('web_assets_unavailable', `esbuild's ${file} does not import ${dependency} as expected.`);
      text = text.replaceAll(before, `"./${basename(name(dependency).key)}"`);
    }
    asset = hashed(file === entry ? entry.replace(/\.js$/, '') : 'chunk', '.js', new TextEncoder().encode(text));
    named.set(file, asset);
    return asset;
  };
  for (const file of bytes.keys()) if (file.endsWith('.js')) name(file);
  return named;
}

function hashed(name: string, extension: '.js' | '.css', body: Uint8Array): WebAsset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, HASH_LENGTH);
  const key = webAssetKey(name, hash, extension);
  return { key, body, contentType: contentTypeFor(key), cacheControl: IMMUTABLE_CACHE };
}

/** What {@link PREBUILT_MANIFEST} records. */
interface PrebuiltManifest {
  /** Each page's script. */
  scripts: Record<PageName, string>;
  /** Their chunks. */
  chunks: string[];
  style: string;
  /** The chunks each page preloads (all of them in `chunks`). */
  preload: Record<PageName, string[]>;
}

/** Reads the files named by a prebuilt folder's manifest; each key is checked against its bytes. */
async function readPrebuilt(dir: string): Promise<WebCode> {
  let manifest: Partial<PrebuiltManifest>;
  try {
    manifest = JSON.parse(await readFile(join(dir, PREBUILT_MANIFEST), 'utf8'));
  } catch (error) {
    throw new ShelfError('web_assets_unavailable', `No prebuilt web assets in ${dir} (${(error as Error).message}); run npm run build:web.`);
  }
  const where = join(dir, PREBUILT_MANIFEST);
  const chunks: unknown[] = Array.isArray(manifest.chunks) ? manifest.chunks : [];
  const files: Array<[string, unknown, string, '.js' | '.css']> = [
    ...PAGES.map((page): [string, unknown, string, '.js'] => [`${page} script`, manifest.scripts?.[page], page, '.js']),
    ...chunks.map((key): [string, unknown, string, '.js'] => ['chunk', key, 'chunk', '.js']),
    ['style', manifest.style, 'style', '.css'],
  ];
  const assets: WebAsset[] = [];
  for (const [field, key, name, extension] of files) {
    if (typeof key !== 'string' || !new RegExp(`^assets/${name}\\.[0-9a-f]{${HASH_LENGTH}}\\${extension}$`).test(key)) {
      throw new ShelfError('web_assets_unavailable', `${where} does not name a ${field} (got ${JSON.stringify(key)}).`);
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
  const preload = {} as Record<PageName, string[]>;
  for (const page of PAGES) {
    const list: unknown = manifest.preload?.[page];
    if (!Array.isArray(list) || !list.every((k) => chunks.includes(k))) throw new ShelfError('web_assets_unavailable', `${where} names no valid preloads of the ${page} page.`);
    preload[page] = list as string[];
  }
  return { assets, scripts: manifest.scripts as Record<PageName, string>, preload };
}

function withPages(code: WebCode, registryUrl: string | undefined): WebAsset[] {
  const style = code.assets.find((a) => a.key.endsWith('.css'))!.key;
  const options = { scripts: code.scripts, style, preload: code.preload };
  const pages = renderPages(registryUrl === undefined ? options : { ...options, registryUrl });
  const encoder = new TextEncoder();
  const html = Object.entries(pages).map(([key, text]) => ({ key, body: encoder.encode(text), contentType: contentTypeFor(key), cacheControl: MUTABLE_CACHE }));
  return [...html, ...code.assets];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0;
}
