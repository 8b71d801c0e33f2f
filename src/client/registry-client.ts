/**
 * Reads a Shelf registry. Every read is a static JSON file at `{baseUrl}/{key}` (keys from
 * `core/paths.ts`), validated, so callers only ever see well-formed documents: the config and the
 * search index by hand (`search/format/validate.ts`), the package, version, scope and key
 * documents with their zod schemas (loaded on first use). Shared by the CLI and the web page.
 *
 * Pure module: `fetch` only, no Node APIs.
 *
 * @module
 */
import { ShelfError, isShelfError } from '../core/errors.ts';
import { parsePackageName, parseScope, parseVersion, type Kind, type PackageName } from '../core/names.ts';
import { configKey, downloadsIndexKey, downloadsKey, packageKey, scopeKey, versionKey } from '../core/paths.ts';
import type {
  Artifact,
  ConfigDocument,
  DocumentSignature,
  DownloadsIndex,
  PackageDocument,
  PackageDownloads,
  PackageSummary,
  ScopeDocument,
  VersionDocument,
} from '../core/schemas.ts';
import { fetchJson, globalFetch, type FetchLike } from '../core/fetch-json.ts';
import type { HttpAnswer } from '../core/http-answer.ts';
import { DEFAULT_READ_BOUNDS, fetchWithTimeouts, readBounds, readDocumentBody, type ReadBounds } from '../core/read-bounds.ts';
import { ShardedSearch, type SearchPage } from '../search/read/reader.ts';
import { memoryPins, RegistryTrust, verificationOf, withListedStatus, type ArtifactVerification, type PinStore, type Verification } from './trust.ts';
import { platformId } from '../core/names.ts';
import { checkConfig, checkDownloadsIndex, valid } from '../search/format/validate.ts';
import { type SearchHit, type SearchQueryOptions } from '../search/query.ts';

/**
 * The zod schemas of the package, version, scope and key documents, loaded when one is first
 * read: a search reads none of them, so neither the web page's search nor `shelf search` loads zod.
 */
const documentSchemas = (): Promise<typeof import('../core/schemas.ts')> => import('../core/schemas.ts');

/** What {@link RegistryClient.search} answers from: a kind's sharded index, or nothing yet. */
interface Searcher {
  search(query: string, options: SearchQueryOptions): SearchHit[] | Promise<SearchHit[]>;
  searchPage(query: string, options: SearchQueryOptions): SearchPage | Promise<SearchPage>;
  suggest(query: string): string | null | Promise<string | null>;
}

/** The searcher of a kind with no packages yet (a sharded registry has no root for it). */
const EMPTY_SEARCHER: Searcher = { search: () => [], searchPage: () => ({ hits: [], more: false }), suggest: () => null };

export type { SearchPage };

/** Options of {@link RegistryClient}. */
export interface RegistryClientOptions {
  /** The registry's base URL (`http://127.0.0.1:8787`, `https://cdn.example.com/shelf`). */
  baseUrl: string;
  /** The fetch implementation; defaults to the global `fetch`. */
  fetch?: FetchLike;
  /**
   * Size and time bounds of every read (document size cap, connect and idle timeouts). Default
   * {@link DEFAULT_READ_BOUNDS}; the CLI applies `SHELF_MAX_DOCUMENT_BYTES`,
   * `SHELF_CONNECT_TIMEOUT_MS` and `SHELF_IDLE_TIMEOUT_MS`.
   */
  bounds?: Partial<ReadBounds>;
  /**
   * Where this client keeps what it pinned of the registry: its keys (trusted on first use) and
   * the latest signing time of each document it verified (see `trust.ts`). Default: in memory,
   * for the life of the client. The CLI keeps them with its cache.
   */
  pins?: PinStore;
}

/**
 * A reader for one registry. Instances cache the config document and the search indexes, so
 * keep one per registry for the life of a page or command.
 *
 * @example
 * ```ts
 * const client = new RegistryClient({ baseUrl: 'http://127.0.0.1:8787' });
 * const pkg = await client.getPackage('bundle', '@acme/echo');
 * const doc = await client.getVersion('bundle', pkg.name, resolveVersion(pkg, '^1')); // client/resolve-version.ts
 * ```
 */
export class RegistryClient {
  /** The base URL, without trailing slash. */
  readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  /** The bounds every read of this client applies. */
  readonly bounds: ReadBounds;
  private configPromise: Promise<ConfigDocument> | undefined;
  private readonly searcherPromises = new Map<Kind, Promise<Searcher>>();
  /** What this client trusts of the registry: every package and version document is checked with it. */
  readonly trust: RegistryTrust;
  /** The latest verified package document of each package, by `kind:name`. */
  private readonly verifiedPackages = new Map<string, PackageDocument>();
  private readonly packageSignatures = new WeakMap<PackageDocument, DocumentSignature | null>();
  private readonly artifactChecks = new WeakMap<VersionDocument, Map<string, ArtifactVerification>>();

  /** @throws ShelfError `invalid_argument` when `baseUrl` is not an http(s) URL. */
  constructor(options: RegistryClientOptions) {
    const { baseUrl } = options;
    if (typeof baseUrl !== 'string') throw new ShelfError('invalid_argument', 'The "baseUrl" option must be a string.');
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new ShelfError('invalid_argument', `The "baseUrl" option "${baseUrl}" is not a URL.`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ShelfError('invalid_argument', `The "baseUrl" option "${baseUrl}" must be an http or https URL.`);
    }
    if (url.search !== '' || url.hash !== '') {
      // Keys are appended as path segments; a query or fragment would swallow them.
      throw new ShelfError('invalid_argument', `The "baseUrl" option "${baseUrl}" must not have a query or fragment.`);
    }
    if (options.fetch !== undefined && typeof options.fetch !== 'function') {
      throw new ShelfError('invalid_argument', 'The "fetch" option must be a function.');
    }
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? globalFetch;
    this.bounds = readBounds(options.bounds);
    this.trust = new RegistryTrust({
      pins: options.pins ?? memoryPins(),
      readKeys: async () => {
        const config = await this.config();
        if (!config.keys) return null;
        const { KeysDocumentSchema } = await documentSchemas();
        const read = await this.getJson(config.keys, (json) => KeysDocumentSchema.parse(json), 'key list', () => new ShelfError('not_found', `${this.url(config.keys!)} was not found.`)).catch((error: unknown) => {
          if (isShelfError(error, 'not_found')) return null;
          throw error;
        });
        return read ? { doc: read.value, url: this.url(config.keys) } : null;
      },
    });
  }

  /** The URL of a key. */
  url(key: string): string {
    return `${this.baseUrl}/${key}`;
  }

  /**
   * The registry's config document (`v1/config.json`), fetched once per instance.
   *
   * @throws ShelfError `registry_unreachable` when it cannot be fetched or is not a Shelf config.
   */
  config(): Promise<ConfigDocument> {
    if (!this.configPromise) {
      this.configPromise = this.getJson(configKey(), (json) => valid(checkConfig(json)), 'config', (url) =>
        new ShelfError('registry_unreachable', `${url} was not found; is ${this.baseUrl} a Shelf registry?`),
      ).then((read) => read.value);
      // A failure is not cached: the next call retries.
      this.configPromise.catch(() => (this.configPromise = undefined));
    }
    return this.configPromise;
  }

  /**
   * A package document: description, latest version, all versions with their platforms.
   *
   * @param name - `@scope/name` (case-insensitive) or an already parsed name.
   * @throws ShelfError `invalid_name`, `not_found`, `registry_unreachable`
   */
  async getPackage(kind: Kind, name: string | PackageName): Promise<PackageDocument> {
    const pkg = typeof name === 'string' ? parsePackageName(name) : name;
    const key = packageKey(kind, pkg);
    const { PackageDocumentSchema } = await documentSchemas();
    const { value: doc, raw } = await this.getJson(key, (json) => PackageDocumentSchema.parse(json), 'package', () => new ShelfError('not_found', `${kind} ${pkg.full} was not found`));
    checkIdentity(this.url(key), doc, kind, pkg.full);
    this.packageSignatures.set(doc, await this.trust.verifyDocument(key, this.url(key), raw));
    this.verifiedPackages.set(`${kind}:${pkg.full}`, doc);
    return doc;
  }

  /**
   * The registry's signature of a package document this client read (verified), or null when the
   * registry does not sign; undefined for a document this client did not read.
   */
  packageSignature(doc: PackageDocument): DocumentSignature | null | undefined {
    return this.packageSignatures.get(doc);
  }

  /**
   * What was verified about an artifact of a version document this client read: the key that
   * signed its statement (null when the registry does not sign). Undefined for a document this
   * client did not read.
   */
  artifactVerification(doc: VersionDocument, artifact: Pick<Artifact, 'os' | 'arch'>): ArtifactVerification | undefined {
    return this.artifactChecks.get(doc)?.get(platformId(artifact));
  }

  /**
   * What was verified of an artifact of a version document this client read (and the package
   * document it was reached from): see {@link Verification}.
   */
  verification(pkg: PackageDocument | undefined, doc: VersionDocument, artifact: Artifact): Verification {
    return verificationOf(artifact, this.artifactVerification(doc, artifact), pkg ? this.packageSignature(pkg) : undefined);
  }

  /**
   * A package's download counts (`v1/downloads/...`), or null when the registry has counted none
   * for it (or counts nothing).
   *
   * @throws ShelfError `invalid_name`, `registry_unreachable`
   */
  async getDownloads(kind: Kind, name: string | PackageName): Promise<PackageDownloads | null> {
    const pkg = typeof name === 'string' ? parsePackageName(name) : name;
    try {
      const { PackageDownloadsSchema } = await documentSchemas();
      return (await this.getJson(downloadsKey(kind, pkg), (json) => PackageDownloadsSchema.parse(json), 'downloads', () => new ShelfError('not_found', `no download counts for ${pkg.full}`))).value;
    } catch (err) {
      // Counts are an extra: none counted, or none cached offline, is no count.
      if (isShelfError(err, 'not_found') || isShelfError(err, 'not_cached')) return null;
      throw err;
    }
  }

  /**
   * Every package of a kind with its download totals (`v1/downloads/{kind}.json`), or null when
   * the registry has published none.
   *
   * @throws ShelfError `registry_unreachable`
   */
  async getDownloadsIndex(kind: Kind): Promise<DownloadsIndex | null> {
    try {
      // Read by `shelf search --sort downloads`: checked by hand, as everything a search reads.
      return (await this.getJson(downloadsIndexKey(kind), (json) => valid(checkDownloadsIndex(json)), 'downloads', () => new ShelfError('not_found', `no download counts for ${kind}s`))).value;
    } catch (err) {
      if (isShelfError(err, 'not_found') || isShelfError(err, 'not_cached')) return null;
      throw err;
    }
  }

  /**
   * A version document: manifest or skill front matter, release, artifacts with provenance.
   *
   * @param version - An exact version (use `resolveVersion`, `client/resolve-version.ts`, for ranges).
   * @throws ShelfError `invalid_name`, `invalid_version`, `not_found`, `registry_unreachable`
   */
  async getVersion(kind: Kind, name: string | PackageName, version: string): Promise<VersionDocument> {
    const pkg = typeof name === 'string' ? parsePackageName(name) : name;
    const v = parseVersion(version);
    const key = versionKey(kind, pkg, v);
    const { VersionDocumentSchema } = await documentSchemas();
    const { value: served } = await this.getJson(key, (json) => VersionDocumentSchema.parse(json), 'version', () => new ShelfError('not_found', `${kind} ${pkg.full}@${v} was not found`));
    checkIdentity(this.url(key), served, kind, pkg.full);
    if (served.version !== v) {
      throw new ShelfError('registry_unreachable', `${this.url(key)} describes version ${served.version}, not ${v}.`);
    }
    const listing = this.verifiedPackages.get(`${kind}:${pkg.full}`);
    // A version's status is signed through the package document, not in the version document.
    const doc = listing && this.packageSignature(listing) ? withListedStatus(served, listing) : served;
    // Every artifact's statement signed; every platform the verified package document lists present.
    this.artifactChecks.set(doc, await this.trust.verifyVersion(this.url(key), doc, listing));
    return doc;
  }

  /**
   * A scope record (`v1/scopes/@scope.json`): its pinned owner and its packages.
   *
   * @param scope - A scope, with or without `@` (case-insensitive).
   * @throws ShelfError `invalid_name`; `not_found` when the scope has never published;
   *   `registry_unreachable`
   */
  async getScope(scope: string): Promise<ScopeDocument> {
    const s = parseScope(scope);
    const key = scopeKey(s);
    const { ScopeDocumentSchema } = await documentSchemas();
    const { value: doc } = await this.getJson(key, (json) => ScopeDocumentSchema.parse(json), 'scope', () => new ShelfError('not_found', `The scope @${s} has not published anything.`));
    if (doc.scope !== s) throw new ShelfError('registry_unreachable', `${this.url(key)} is not the scope record of @${s}.`, { url: this.url(key) });
    return doc;
  }

  /**
   * Searches a kind's packages. This is the entry point the CLI and the web page use: it reads
   * the kind's sharded index, downloading only the pieces each query needs (cached).
   *
   * @throws ShelfError `registry_unreachable`, `invalid_argument`
   */
  async search(kind: Kind, query: string, options: SearchQueryOptions = {}): Promise<SearchHit[]> {
    return (await this.searcher(kind)).search(query, options);
  }

  /**
   * One page of a search, as a page showing `limit` results wants it: the hits, and whether more
   * follow (known without downloading anything for them).
   *
   * @throws ShelfError `registry_unreachable`, `invalid_argument`
   */
  async searchPage(kind: Kind, query: string, options: SearchQueryOptions = {}): Promise<SearchPage> {
    return (await this.searcher(kind)).searchPage(query, options);
  }

  /**
   * "Did you mean": the query with its words replaced by the nearest terms of a kind's index, or
   * null when none is nearer (`search/ranking.ts`). For a query that matched nothing; it reads
   * the dictionary files that search read (cached).
   *
   * @throws ShelfError `registry_unreachable`, `invalid_argument`
   */
  async suggest(kind: Kind, query: string): Promise<string | null> {
    return (await this.searcher(kind)).suggest(query);
  }

  /**
   * Summaries (as in search results) of named packages of a kind, for pages that list a known set
   * of packages, such as a scope's. Missing packages are left out.
   *
   * @throws ShelfError `registry_unreachable`
   */
  async packageSummaries(kind: Kind, names: readonly string[]): Promise<Map<string, PackageSummary>> {
    const found = new Map<string, PackageSummary>();
    const { summarize } = await import('../indexer/documents.ts');
    // Each package's own document (a scope lists tens of packages, not the registry).
    await Promise.all(
      names.map(async (name) => {
        try {
          const summary = summarize(await this.getPackage(kind, name));
          if (summary) found.set(summary.name, summary);
        } catch (error) {
          if (!(isShelfError(error) && (error.code === 'not_found' || error.code === 'invalid_name'))) throw error;
        }
      }),
    );
    return found;
  }

  /**
   * The sharded reader of a kind's index (which downloads only what each query needs). Cached
   * per kind. A kind with no index yet (nothing of it was ever published) answers with the empty searcher, a value rather
   * than an error, so pages show "nothing published" without probing keys of their own.
   */
  private searcher(kind: Kind): Promise<Searcher> {
    let promise = this.searcherPromises.get(kind);
    if (!promise) {
      promise = (async (): Promise<Searcher> => {
        // The root is read alongside the config, not after it (one round of requests, not two).
        const opening = ShardedSearch.openIfPublished({ baseUrl: this.baseUrl, kind, fetch: this.fetchImpl, bounds: this.bounds });
        opening.catch(() => undefined); // awaited below, once the config is known to be readable
        await this.config(); // a registry that is not (or no longer) readable says so first
        return (await opening) ?? EMPTY_SEARCHER;
      })();
      this.searcherPromises.set(kind, promise);
      promise.catch(() => this.searcherPromises.delete(kind));
    }
    return promise;
  }

  /** The download URL of an artifact. */
  artifactUrl(artifact: Pick<Artifact, 'path'>): string {
    return this.url(artifact.path);
  }

  /**
   * The Sigstore bundle the registry stored for an artifact (its attestation), JSON-parsed, once
   * its bytes matched the sha256 the (signed) statement records. Verifying it is the caller's
   * (`attestation/verify-attestation.ts`).
   *
   * @throws ShelfError `attestation_missing`, `integrity_mismatch`, `not_found`, `registry_unreachable`, `document_too_large`
   */
  async getAttestationBundle(artifact: Pick<Artifact, 'attestation' | 'os' | 'arch'>): Promise<unknown> {
    const ref = artifact.attestation;
    if (!ref) throw new ShelfError('attestation_missing', `The ${artifact.os}-${artifact.arch} artifact has no Sigstore attestation: its publisher did not attest it on GitHub.`);
    const url = this.url(ref.path);
    let response: HttpAnswer;
    try {
      response = await fetchWithTimeouts(this.fetchImpl, url, {}, this.bounds);
    } catch (error) {
      if (error instanceof ShelfError) throw error;
      throw new ShelfError('registry_unreachable', `Could not read ${url}: ${(error as Error).message}`, { url });
    }
    if (response.status === 404 || response.status === 410) throw new ShelfError('not_found', `${url} was not found.`, { url });
    if (!response.ok) throw new ShelfError('registry_unreachable', `GET ${url} failed with HTTP ${response.status}.`, { url, status: response.status });
    const bytes = await readDocumentBody(response, url, this.bounds);
    const digest = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))].map((b) => b.toString(16).padStart(2, '0')).join('');
    if (digest !== ref.sha256) {
      throw new ShelfError('integrity_mismatch', `The attestation ${url} is not the one the registry recorded (sha256 ${digest}, recorded ${ref.sha256}).`, { url, expected: ref.sha256, actual: digest });
    }
    try {
      return JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      throw new ShelfError('registry_unreachable', `${url} is not JSON.`, { url });
    }
  }

  /**
   * GETs `key` through the shared JSON fetch and validates it with `parse` (which throws). A 404
   * or 410 becomes `notFound(url)`; anything else that is not a matching document becomes
   * `registry_unreachable` naming the URL. `raw` is the JSON as served (what signatures are over).
   */
  private async getJson<T>(key: string, parse: (json: unknown) => T, what: string, notFound: (url: string) => ShelfError): Promise<{ value: T; raw: unknown }> {
    let raw: unknown;
    const read = await fetchJson(this.url(key), {
      fetch: this.fetchImpl,
      parse: (json) => {
        raw = json;
        return parse(json);
      },
      what,
      notFound,
      bounds: this.bounds,
    });
    if (read.notModified) throw new ShelfError('internal_error', `${this.url(key)} answered 304 to a request without an ETag.`);
    return { value: read.value, raw };
  }
}

/** A document under a key must describe what the key names; anything else is a broken registry. */
function checkIdentity(url: string, doc: { kind: Kind; name: string }, kind: Kind, name: string): void {
  if (doc.kind !== kind || doc.name.toLowerCase() !== name) {
    throw new ShelfError('registry_unreachable', `${url} describes ${doc.kind} ${doc.name}, not ${kind} ${name}.`, { url });
  }
}
