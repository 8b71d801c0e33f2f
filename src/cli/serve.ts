/**
 * `shelf serve [--dev] [--port N] [--host H]`: runs the registry on one machine, with a folder as
 * the bucket (`SHELF_DATA_DIR`, default `./.shelf`), or an S3 bucket (`SHELF_STORE=s3://...`,
 * see `store/from-env.ts`). With `--dev` (or `SHELF_DEV=1`) it trusts
 * only its in-process development issuer and seeds the examples on first start.
 *
 * @module
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../config.ts';
import { shardedRootKey } from '../core/paths.ts';
import { PACKAGE_NAME } from '../core/package.ts';
import { DEV_WARNING } from '../dev/dev-services.ts';
import { startRegistryServer } from '../server/registry-server.ts';
import { storeFromEnv } from '../store/from-env.ts';
import { jsonLines } from '../core/log.ts';

export const SERVE_HELP = `Usage: shelf serve [--dev] [--port N] [--host H]

Runs the registry: one HTTP server that is both the CDN (GET any file of the bucket) and the
announce function URL (POST /v1/bundles/announce, POST /v1/skills/announce).

Options:
  --dev        Development mode (also SHELF_DEV=1): trust a local development issuer and release
               source, and seed the examples on first start. Never expose a --dev server.
  --port N     Port to listen on (also PORT). Default 8787.
  --host H     Address to bind (also HOST). Default 127.0.0.1.
  -h, --help   Show this help.

Configuration comes from the environment; see the README (SHELF_AUDIENCE is required outside --dev;
SHELF_PUBLIC_URL when --host binds every interface). Announce and status requests are logged as one
JSON line each on standard output, and so are reads unless SHELF_ACCESS_LOG=0. GET /healthz answers
200 once the server takes requests (503 with Retry-After while it starts). Artifacts sent whole are
counted and the counts published every minute and at exit (SHELF_DOWNLOAD_COUNTS=0: not counted).
Shortly after announces the search index's delta is compacted when it is due ("shelf compact").
The bucket is the folder SHELF_DATA_DIR (default ./.shelf), or SHELF_STORE=s3://bucket/prefix.`;

/** Runs until SIGINT/SIGTERM; returns the exit code. */
export async function serveCommand(args: string[], env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dev: { type: 'boolean' }, port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  });
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  const dev = values.dev === true || env.SHELF_DEV === '1';
  const port = Number(values.port ?? env.PORT ?? 8787);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`error[invalid_argument]: --port/PORT must be a port number, got ${values.port ?? env.PORT}`);
    return 2;
  }
  // Development mode packs the examples with the official packer, which the installed CLI does not
  // bring along: load it before anything else, and say what to install when it is missing.
  const seeding = dev ? await loadSeeding() : undefined;
  if (seeding === null) return 1;
  let store;
  try {
    store = await storeFromEnv(env); // an S3 store is probed for conditional writes first
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`error[${err.code}]: ${err.message}`);
      return 1;
    }
    throw err;
  }
  if (dev) console.warn(DEV_WARNING);
  const accessLog = env.SHELF_ACCESS_LOG?.trim() ?? '1';
  if (!['0', '1', 'false', 'true'].includes(accessLog)) {
    console.error(`error[invalid_config]: SHELF_ACCESS_LOG must be 1 or 0, got ${JSON.stringify(env.SHELF_ACCESS_LOG)}`);
    return 1;
  }
  const downloads = env.SHELF_MAX_CONCURRENT_DOWNLOADS?.trim();
  if (downloads !== undefined && downloads !== '' && !/^[1-9]\d{0,5}$/.test(downloads)) {
    console.error(`error[invalid_config]: SHELF_MAX_CONCURRENT_DOWNLOADS must be a positive integer, got ${JSON.stringify(downloads)}`);
    return 1;
  }
  const counts = env.SHELF_DOWNLOAD_COUNTS?.trim() ?? '1';
  if (!['0', '1', 'false', 'true'].includes(counts)) {
    console.error(`error[invalid_config]: SHELF_DOWNLOAD_COUNTS must be 1 or 0, got ${JSON.stringify(env.SHELF_DOWNLOAD_COUNTS)}`);
    return 1;
  }
  const log = jsonLines();
  let server;
  try {
    server = await startRegistryServer({
      store,
      env,
      dev,
      port,
      host: values.host ?? env.HOST ?? '127.0.0.1',
      log,
      ...(accessLog === '1' || accessLog === 'true' ? { accessLog: log } : {}),
      ...(downloads ? { maxConcurrentDownloads: Number(downloads) } : {}),
      ...(counts === '1' || counts === 'true' ? { downloadCounts: {} } : {}),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`error[${err.code}]: ${err.message}`);
      return 1;
    }
    throw err;
  }
  // The addresses clients use: the public URL when one is set (a server on every interface must have one).
  const shown = server.config.publicUrl ?? server.url;
  const announce = server.config.announceUrl ?? shown;
  console.log(`Shelf registry on ${shown}  (listening on ${server.url}, bucket: ${store.description})`);
  console.log(`  web:      ${shown}/`);
  console.log(`  config:   ${shown}/v1/config.json`);
  console.log(`  announce: ${announce}/v1/bundles/announce, ${announce}/v1/skills/announce`);
  console.log(`  VS Code:  "chat.mcp.gallery.serviceUrl": "${shown}"  (the MCP registry API, ${shown}/v0.1/servers)`);
  console.log(`  skills:   npx skills add ${shown}/@<scope>  (agent-skills discovery)`);
  console.log(`  health:   ${server.url}/healthz`);
  if (server.dev) {
    const seeded = (await store.head(shardedRootKey('bundle'))) !== null;
    if (!seeded) {
      console.log('Seeding the examples through the announce path...');
      for (const s of await seeding!.seedExamples(server.url, server.dev, server.config.audience)) {
        console.log(`  ${s.status} ${s.name}@${s.version} ${s.platform}`);
      }
    }
    // In a checkout the command runs from its sources; `npx shelf` anywhere else would fetch an
    // unrelated npm package called `shelf`, so an installed CLI suggests itself by name.
    const shelf = import.meta.url.endsWith('.ts') ? 'node bin/shelf.js' : 'shelf';
    console.log(`Try: SHELF_REGISTRY=${server.url} ${shelf} search echo`);
  }
  await new Promise<void>((done) => {
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await server.close();
  return 0;
}

/** The seeding module of development mode, or null (with the error printed) when the packer is not installed. */
async function loadSeeding(): Promise<typeof import('../dev/seed.ts') | null> {
  try {
    return await import('../dev/seed.ts');
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_MODULE_NOT_FOUND') throw err;
    console.error(
      `error[invalid_config]: --dev packs the example bundles with the official packer, @anthropic-ai/mcpb, which is not installed (${(err as Error).message.split('\n')[0]}). ` +
        `Install it next to ${PACKAGE_NAME} (npm install -g ${PACKAGE_NAME} @anthropic-ai/mcpb), or run "npm start" in a checkout of the repository.`,
    );
    return null;
  }
}
