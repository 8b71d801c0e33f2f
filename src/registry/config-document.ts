/**
 * `v1/config.json`: how a client finds everything else (announce URLs, audience, index
 * locations, key templates). Written at start-up.
 *
 * @module
 */
import type { AnnounceConfig } from '../config.ts';
import { KINDS } from '../core/names.ts';
import { catalogKey, configKey, contentTypeFor, keysKey, MUTABLE_CACHE, recentKey, searchIndexKey, shardedRootKey } from '../core/paths.ts';
import { SCHEMA_VERSION, type ConfigDocument } from '../core/schemas.ts';
import { encodeJson } from '../store/json-documents.ts';
import type { ObjectStore } from '../store/object-store.ts';

/** Builds the config document. `announceBase` is the function URL's base. */
export function buildConfigDocument(config: AnnounceConfig, announceBase: string): ConfigDocument {
  const base = announceBase.replace(/\/$/, '');
  const [bundle, skill] = KINDS as ['bundle', 'skill'];
  const doc: ConfigDocument = {
    schema_version: SCHEMA_VERSION,
    registry: 'shelf',
    announce: { bundles: `${base}/v1/bundles/announce`, skills: `${base}/v1/skills/announce` },
    audience: config.audience,
    oidc_issuer: config.issuer,
    search:
      config.searchLayout === 'single'
        ? { layout: 'single', bundles: searchIndexKey(bundle), skills: searchIndexKey(skill) }
        : { layout: 'sharded', bundles: shardedRootKey(bundle), skills: shardedRootKey(skill) },
    // The sharded root holds the catalog (by name and by recency); the single layout has whole files.
    catalog: config.searchLayout === 'single' ? { bundles: catalogKey(bundle), skills: catalogKey(skill), recent: recentKey() } : { recent: recentKey() },
    layout: {
      package: 'v1/{kind}/@{scope}/{name}.json',
      version: 'v1/{kind}/@{scope}/{name}/versions/{version}.json',
      scope: 'v1/scopes/@{scope}.json',
    },
    keys: keysKey(),
  };
  if (config.publicUrl) doc.public_url = config.publicUrl;
  return doc;
}

/** Writes the config document (unconditionally: it is a pure function of the configuration). */
export async function writeConfigDocument(store: ObjectStore, doc: ConfigDocument): Promise<void> {
  await store.put(configKey(), encodeJson(doc), { contentType: contentTypeFor(configKey()), cacheControl: MUTABLE_CACHE });
}
