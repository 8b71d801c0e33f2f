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

export const SERVE_HELP = `Usage: shelf serve [--dev] [--port N] [--host H]

Runs the registry: one HTTP server that is both the CDN (GET any file of the bucket) and the
announce function URL (POST /v1/bundles/announce, POST /v1/skills/announce).

Options:
  --dev        Development mode (also SHELF_DEV=1): trust a local development issuer and release
               source, and seed the examples on first start. Never expose a --dev server.
  --port N     Port to listen on (also PORT). Default 8787.
  --host H     Address to bind (also HOST). Default 127.0.0.1.
  -h, --help   Show this help.

Configuration comes from the environment; see the README (SHELF_AUDIENCE is required outside --dev).
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
  let server;
  try {
    server = await startRegistryServer({ store, env, dev, port, host: values.host ?? env.HOST ?? '127.0.0.1' });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`error[${err.code}]: ${err.message}`);
      return 1;
    }
    throw err;
  }
  console.log(`Shelf registry on ${server.url}  (bucket: ${store.description})`);
  console.log(`  web:      ${server.url}/`);
  console.log(`  config:   ${server.url}/v1/config.json`);
  console.log(`  announce: ${server.url}/v1/bundles/announce, ${server.url}/v1/skills/announce`);
  console.log(`  VS Code:  "chat.mcp.gallery.serviceUrl": "${server.url}"  (the MCP registry API, ${server.url}/v0.1/servers)`);
  console.log(`  skills:   npx skills add ${server.url}/@<scope>  (agent-skills discovery)`);
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
