/**
 * `v1/config.json`: how a client finds everything else, written at start-up. A stored config naming
 * the retired `single` search layout is overwritten only by the whole `shelf rebuild` that migrates
 * the registry ({@link migrateRetiredLayout}), so no server start can hide it.
 *
 * @module
 */
import { ConfigError, type AnnounceConfig } from '../config.ts';
import { KINDS } from '../core/names.ts';
import { configKey, contentTypeFor, keysKey, MUTABLE_CACHE, notFoundKey, recentKey, retiredLayoutKeys, shardedRootKey } from '../core/paths.ts';
import { ConfigDocumentSchema, SCHEMA_VERSION, type ConfigDocument } from '../core/schemas.ts';
import { encodeJson, readStoredJson, safeJson, updateObject, type RetryPolicy } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Builds the config document. `announceBase` is the function URL's base. */
export function buildConfigDocument(config: AnnounceConfig, announceBase: string): ConfigDocument {
  const base = announceBase.replace(/\/$/, '');
  const doc: ConfigDocument = {
    schema_version: SCHEMA_VERSION,
    registry: 'shelf',
    announce: { bundles: `${base}/v1/bundles/announce`, skills: `${base}/v1/skills/announce` },
    status: { bundles: `${base}/v1/bundles/status`, skills: `${base}/v1/skills/status` },
    audience: config.audience,
    oidc_issuer: config.issuer,
    search: searchKeys(),
    // The sharded root holds the kind's catalog (by name and by recency).
    catalog: { recent: recentKey() },
    layout: {
      package: 'v1/{kind}/@{scope}/{name}.json',
      version: 'v1/{kind}/@{scope}/{name}/versions/{version}.json',
      scope: 'v1/scopes/@{scope}.json',
      lifecycle: 'v1/{kind}/@{scope}/{name}/lifecycle.json',
    },
    keys: keysKey(),
  };
  if (config.publicUrl) doc.public_url = config.publicUrl;
  return doc;
}

/** The body of the CDN's 404 answers (`v1/not-found.json`): the MCP registry API's error shape. */
export const NOT_FOUND_DOCUMENT = { error: 'Not found' } as const;

/**
 * Writes the config document (unconditionally: it is a pure function of the configuration), and
 * the CDN's 404 body beside it when it is missing or differs (it never changes, so a deploy that
 * changes nothing leaves it alone).
 *
 * @throws ConfigError when the stored config names the retired layout (run `shelf rebuild` first)
 */
export async function writeConfigDocument(store: ObjectStore, doc: ConfigDocument): Promise<void> {
  if (await namesRetiredLayout(store)) {
    throw new ConfigError(
      `${store.description} holds a registry of the retired "single" search layout, which Shelf no longer publishes or reads. ` +
        'Run `shelf rebuild` on it once (it writes the sharded index and points v1/config.json at it), then start again.',
    );
  }
  await store.put(configKey(), encodeJson(doc), { contentType: contentTypeFor(configKey()), cacheControl: MUTABLE_CACHE });
  const notFound = encodeJson(NOT_FOUND_DOCUMENT);
  const stored = await store.get(notFoundKey());
  if (stored && Buffer.from(stored.body).equals(Buffer.from(notFound))) return;
  await store.put(notFoundKey(), notFound, { contentType: contentTypeFor(notFoundKey()), cacheControl: MUTABLE_CACHE });
}

/** True when the stored config names the retired `single` search layout. */
export async function namesRetiredLayout(store: ObjectStore): Promise<boolean> {
  const stored = await readStoredJson(store, configKey()).catch(() => null);
  return isRetired(stored?.json);
}

/**
 * Migrates a registry of the retired layout, once its sharded roots are written: the stored
 * config names the roots instead (everything else in it kept), then the whole catalogs and
 * indexes are deleted. Returns the keys written or deleted.
 */
export async function migrateRetiredLayout(store: ObjectStore, retry?: RetryPolicy): Promise<string[]> {
  const { changed } = await updateObject(
    store,
    configKey(),
    (current) => {
      const json = current && safeJson(current);
      if (!isRetired(json)) return current; // migrated meanwhile
      return encodeJson(ConfigDocumentSchema.parse({ ...(json as object), search: searchKeys(), catalog: { recent: recentKey() } }));
    },
    retry,
  );
  const removed: string[] = [];
  for (const key of KINDS.flatMap(retiredLayoutKeys)) {
    if (await store.head(key)) {
      await store.delete(key);
      removed.push(key);
    }
  }
  return [...(changed ? [configKey()] : []), ...removed];
}

const searchKeys = (): ConfigDocument['search'] => ({ layout: 'sharded', bundles: shardedRootKey('bundle'), skills: shardedRootKey('skill') });

const isRetired = (json: unknown): boolean => (json as { search?: { layout?: unknown } } | null | undefined)?.search?.layout === 'single';
