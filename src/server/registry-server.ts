/**
 * Starts a whole registry on one machine: the local server (CDN + function URL) over a store,
 * `v1/config.json` written, and the announce handler installed. In development mode it also
 * mounts the development issuer and release source on the same server and trusts only them.
 *
 * @module
 */
import { DownloadCounter } from '../downloads/counter.ts';
import { ConfigError, loadAnnounceConfig, type AnnounceConfig } from '../config.ts';
import { announceDepsFromConfig } from '../announce/from-config.ts';
import { createAnnounceHandler } from '../announce/handler.ts';
import type { AnnounceDeps } from '../announce/announce.ts';
import { createDevServices, type DevServices } from '../dev/dev-services.ts';
import { buildConfigDocument, writeConfigDocument } from '../registry/config-document.ts';
import { publishWebAssets } from '../registry/web-assets.ts';
import { isShelfError } from '../core/errors.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { silentLog, type LogSink } from '../core/log.ts';
import { startLocalServer, type LocalServer } from './local-server.ts';
import { BackgroundCompactor } from './background-compactor.ts';
import { signersFromSettings, signingSettingsFor } from '../signing/from-config.ts';
import { publishSigningKey } from '../signing/key-list.ts';
import type { Signer } from '../signing/signer.ts';

/** Addresses that mean "every interface": never a URL clients can use. */
const UNSPECIFIED = new Set(['0.0.0.0', '::', '[::]', '0:0:0:0:0:0:0:0', '']);

/**
 * A server bound to every interface has no address of its own to advertise in `v1/config.json`
 * (`http://0.0.0.0:8787` reaches nothing from elsewhere): it needs `SHELF_PUBLIC_URL`.
 *
 * @throws ConfigError naming `SHELF_PUBLIC_URL`
 */
function checkAdvertisedHost(host: string, env: Record<string, string | undefined>): void {
  if (!UNSPECIFIED.has(host.trim()) || env.SHELF_PUBLIC_URL?.trim()) return;
  throw new ConfigError(
    `HOST ${JSON.stringify(host)} listens on every interface, which is no address clients can reach: set SHELF_PUBLIC_URL to the URL they use (e.g. http://registry.example.com:8787), which v1/config.json and the announce URL advertise.`,
  );
}

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
  /** Where the one structured line per announce or status request goes (`shelf serve`: standard output). Default: nowhere. */
  log?: LogSink;
  /** Where the access log (one line per read) goes (`shelf serve`: standard output, unless `SHELF_ACCESS_LOG=0`). Default: nowhere. */
  accessLog?: LogSink;
  /** Artifacts sent at once (`SHELF_MAX_CONCURRENT_DOWNLOADS`). Default 8. */
  maxConcurrentDownloads?: number;
  /**
   * Count the artifacts this server sends whole and publish the counts
   * (`src/downloads/counter.ts`): every `flushMs` (default one minute) and when it stops. Default off.
   */
  downloadCounts?: { flushMs?: number };
  /**
   * Run the search index's compactor shortly after announces (`background-compactor.ts`), as the
   * AWS stack runs it on a schedule: `delayMs` after the last of a burst (default 250). `false`:
   * never (announces then compact inline past the delta's hard cap). Default on.
   */
  compaction?: false | { delayMs?: number };
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
  /** The background compactor (absent with `compaction: false`). */
  compactor?: BackgroundCompactor;
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
  const host = options.host ?? '127.0.0.1';
  checkAdvertisedHost(host, env);
  const log = options.log ?? silentLog;
  const counter = options.downloadCounts ? new DownloadCounter(options.store, options.downloadCounts) : undefined;
  const local = await startLocalServer({
    store: options.store,
    host,
    port: options.port ?? 8787,
    ...(options.accessLog ? { accessLog: options.accessLog } : {}),
    ...(options.maxConcurrentDownloads !== undefined ? { maxConcurrentDownloads: options.maxConcurrentDownloads } : {}),
    ...(counter ? { onDownload: (key: string) => counter.count(key) } : {}),
  });
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
    const announce = createAnnounceHandler(options.wrapDeps ? options.wrapDeps(deps) : deps, { log });
    const compactor = options.compaction === false ? undefined : new BackgroundCompactor(options.store, { ...options.compaction, log });
    // A request that wrote something (2xx) may have filled the search delta: the compactor looks after the response.
    local.setHandler(
      compactor
        ? async (event) => {
            const result = await announce(event);
            if (result.statusCode < 300) compactor.nudge();
            return result;
          }
        : announce,
    );
    const close = async () => {
      await local.close();
      await compactor?.close();
      // What was counted since the last flush is published before the server is gone.
      await counter?.close();
    };
    const server: RegistryServer = { url: local.url, config, store: options.store, local, signer, close };
    if (dev) server.dev = dev;
    if (compactor) server.compactor = compactor;
    return server;
  } catch (err) {
    await local.close();
    await counter?.close().catch(() => undefined);
    throw err;
  }
}
