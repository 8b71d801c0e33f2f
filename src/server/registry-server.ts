/**
 * Starts a whole registry on one machine: the local server (CDN + function URL) over a store,
 * `v1/config.json` written, and the announce handler installed. In development mode it also
 * mounts the development issuer and release source on the same server and trusts only them.
 *
 * @module
 */
import { loadAnnounceConfig, type AnnounceConfig } from '../config.ts';
import { announceDepsFromConfig } from '../announce/from-config.ts';
import { createAnnounceHandler } from '../announce/handler.ts';
import type { AnnounceDeps } from '../announce/announce.ts';
import { createDevServices, type DevServices } from '../dev/dev-services.ts';
import { buildConfigDocument, writeConfigDocument } from '../registry/config-document.ts';
import { publishWebAssets } from '../registry/web-assets.ts';
import { isShelfError } from '../core/errors.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { startLocalServer, type LocalServer } from './local-server.ts';
import { signersFromSettings, signingSettingsFor } from '../signing/from-config.ts';
import { publishSigningKey } from '../signing/key-list.ts';
import type { Signer } from '../signing/signer.ts';

/** Options of {@link startRegistryServer}. */
export interface RegistryServerOptions {
  store: ObjectStore;
  /** Configuration variables (see the README). Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /** Development mode: trust the in-process development issuer and release source, nothing else. */
  dev?: boolean;
  /** Test-only: adjusts the announce dependencies (fault injection, clocks). */
  wrapDeps?: (deps: AnnounceDeps) => AnnounceDeps;
}

/** A running registry. */
export interface RegistryServer {
  url: string;
  config: AnnounceConfig;
  store: ObjectStore;
  /** Present in development mode only. */
  dev?: DevServices;
  local: LocalServer;
  /** The key the registry signs with. */
  signer: Signer;
  close(): Promise<void>;
}

/**
 * Starts the registry. Outside development mode the configuration is validated before anything
 * listens, so a server without `SHELF_AUDIENCE` never starts.
 *
 * @throws ConfigError naming the variable at fault
 */
export async function startRegistryServer(options: RegistryServerOptions): Promise<RegistryServer> {
  const env = { ...(options.env ?? process.env) };
  if (!options.dev) loadAnnounceConfig(env); // fail before listening
  const local = await startLocalServer({ store: options.store, host: options.host ?? '127.0.0.1', port: options.port ?? 8787 });
  try {
    let dev: DevServices | undefined;
    if (options.dev) {
      dev = await createDevServices(local.url);
      // Development trust replaces, never adds to, the configured issuer and release source.
      env.SHELF_OIDC_ISSUER = dev.issuer;
      env.SHELF_OIDC_JWKS_URL = dev.jwksUrl;
      env.SHELF_GITHUB_API_URL = dev.githubApiUrl;
      env.SHELF_TRUSTED_DOWNLOAD_HOSTS = new URL(local.url).host;
      env.SHELF_AUDIENCE ||= `shelf-dev:${local.url}`;
      const services = dev;
      local.setExtraRoutes((req, res) => services.route(req, res));
    }
    env.SHELF_PUBLIC_URL ||= local.url;
    const config = loadAnnounceConfig(env);
    const { signer, previous } = await signersFromSettings(signingSettingsFor(options.store, env));
    await publishSigningKey(options.store, signer, { ...(previous ? { previous } : {}), overlapMs: config.signing.overlapMs });
    await writeConfigDocument(options.store, buildConfigDocument(config, config.announceUrl ?? local.url));
    // The web pages are static files in the same bucket; a registry without them still serves every read and announce.
    await publishWebAssets(options.store).catch((err: unknown) => {
      if (!isShelfError(err, 'web_assets_unavailable')) throw err;
      console.warn(`Shelf: no web pages at ${local.url}/ (${err.message})`);
    });
    const deps = announceDepsFromConfig(config, options.store, signer);
    local.setHandler(createAnnounceHandler(options.wrapDeps ? options.wrapDeps(deps) : deps));
    const server: RegistryServer = { url: local.url, config, store: options.store, local, signer, close: () => local.close() };
    if (dev) server.dev = dev;
    return server;
  } catch (err) {
    await local.close();
    throw err;
  }
}
