/**
 * `tsx scripts/upload-assets.ts [--outputs FILE] [--stack NAME]`: puts the files a deployed
 * registry needs besides what announces write, into its bucket: `v1/config.json` (how clients
 * find the announce URL, the audience and the indexes) and the web pages. `npm run deploy` runs it
 * after `cdk deploy`, with the stack's outputs; it is idempotent, so it can be run again at any
 * time (after changing the pages, say).
 *
 * Where to write comes either from a `cdk deploy --outputs-file` JSON file (`--outputs`), or from
 * the environment: `SHELF_STORE` (required), `SHELF_ANNOUNCE_URL` (required), `SHELF_AUDIENCE`
 * (required), `SHELF_PUBLIC_URL`, `SHELF_OIDC_ISSUER`, `SHELF_CLOUDFRONT_DISTRIBUTION_ID` (the
 * `DistributionId` output: recorded in `private/cdn.json` for `shelf takedown`), and the AWS SDK's
 * usual credentials.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadAnnounceConfig } from '../src/config.ts';
import { cdnKey, configKey } from '../src/core/paths.ts';
import { encodeJson } from '../src/store/json-documents.ts';
import { buildConfigDocument, writeConfigDocument } from '../src/registry/config-document.ts';
import { publishWebAssets } from '../src/registry/web-assets.ts';
import { storeFromEnv } from '../src/store/from-env.ts';

type Env = Record<string, string | undefined>;

/** What {@link uploadAssets} wrote. */
export interface UploadedAssets {
  /** The store written to (`s3://bucket/prefix/`). */
  store: string;
  /** The config document's key. */
  config: string;
  /** The web pages' keys. */
  web: string[];
  /** The CDN record's key, when the distribution is known (`SHELF_CLOUDFRONT_DISTRIBUTION_ID`). */
  cdn?: string;
}

/** Optional stack outputs → the variable each provides. */
const OPTIONAL_OUTPUT_VARIABLES: Record<string, string> = {
  DistributionId: 'SHELF_CLOUDFRONT_DISTRIBUTION_ID',
};

/** Stack output name → the variable it provides. */
const OUTPUT_VARIABLES: Record<string, string> = {
  StoreUrl: 'SHELF_STORE',
  AnnounceUrl: 'SHELF_ANNOUNCE_URL',
  Audience: 'SHELF_AUDIENCE',
  CdnUrl: 'SHELF_PUBLIC_URL',
  OidcIssuer: 'SHELF_OIDC_ISSUER',
};

/**
 * The environment for {@link uploadAssets} from a `cdk deploy --outputs-file` document: the
 * stack's outputs become `SHELF_*` variables (over `base`), and its region becomes `AWS_REGION`
 * unless `base` already names one.
 *
 * @param outputs - The parsed outputs file: `{ [stackName]: { [outputName]: value } }`.
 * @param stack - The stack to read; may be left out when the file holds one stack.
 * @throws ConfigError when the stack is missing or ambiguous, or lacks an output.
 */
export function envFromOutputs(outputs: unknown, stack: string | undefined, base: Env = {}): Env {
  if (!outputs || typeof outputs !== 'object') throw new ConfigError('The outputs file must hold a JSON object of stacks.');
  const stacks = Object.keys(outputs);
  const name = stack ?? (stacks.length === 1 ? stacks[0] : undefined);
  if (name === undefined) {
    throw new ConfigError(`The outputs file holds ${stacks.length} stacks (${stacks.join(', ') || 'none'}); name one with --stack.`);
  }
  const values = (outputs as Record<string, unknown>)[name];
  if (!values || typeof values !== 'object') throw new ConfigError(`The outputs file has no stack ${JSON.stringify(name)}.`);
  const env: Env = { ...base };
  for (const [output, variable] of Object.entries(OUTPUT_VARIABLES)) {
    const value = (values as Record<string, unknown>)[output];
    if (typeof value !== 'string' || value === '') throw new ConfigError(`Stack ${JSON.stringify(name)} has no output ${output} in the outputs file.`);
    env[variable] = value;
  }
  for (const [output, variable] of Object.entries(OPTIONAL_OUTPUT_VARIABLES)) {
    const value = (values as Record<string, unknown>)[output];
    if (typeof value === 'string' && value !== '' && !base[variable]) env[variable] = value;
  }
  const region = (values as Record<string, unknown>).Region;
  if (typeof region === 'string' && region && !base.AWS_REGION && !base.AWS_DEFAULT_REGION) env.AWS_REGION = region;
  return env;
}

/**
 * Writes `v1/config.json` and the web pages into the store the environment names.
 *
 * @throws ConfigError naming the variable at fault (nothing is written then); the store's own
 *   errors (`store_unsupported`, `store_unavailable`) when the bucket cannot be used.
 */
export async function uploadAssets(env: Env): Promise<UploadedAssets> {
  if (!env.SHELF_STORE?.trim()) {
    throw new ConfigError('SHELF_STORE is required (s3://bucket/prefix, the StoreUrl output of the stack): this script writes to a deployed bucket.');
  }
  if (!env.SHELF_ANNOUNCE_URL?.trim()) {
    throw new ConfigError('SHELF_ANNOUNCE_URL is required (the AnnounceUrl output of the stack): clients find the announce routes in v1/config.json.');
  }
  const config = loadAnnounceConfig(env);
  const store = await storeFromEnv(env);
  await writeConfigDocument(store, buildConfigDocument(config, config.announceUrl!));
  const web = await publishWebAssets(store);
  // Where `shelf takedown` finds the CDN to invalidate (private: never served).
  const distribution = env.SHELF_CLOUDFRONT_DISTRIBUTION_ID?.trim();
  if (distribution) {
    // Written only when it changes, so that a re-run writes nothing.
    const body = encodeJson({ cloudfront_distribution_id: distribution });
    const stored = await store.get(cdnKey());
    if (!stored || !Buffer.from(stored.body).equals(Buffer.from(body))) {
      await store.put(cdnKey(), body, { contentType: 'application/json', cacheControl: 'no-store' });
    }
  }
  return { store: store.description, config: configKey(), web, ...(distribution ? { cdn: cdnKey() } : {}) };
}

async function cli(argv: string[]): Promise<number> {
  let outputsFile: string | undefined;
  let stack: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if ((arg === '--outputs' || arg === '--stack') && argv[i + 1] !== undefined) {
      if (arg === '--outputs') outputsFile = argv[++i];
      else stack = argv[++i];
    } else if (arg === '-h' || arg === '--help') {
      console.log('Usage: tsx scripts/upload-assets.ts [--outputs cdk-outputs.json] [--stack NAME]\n(without --outputs: SHELF_STORE, SHELF_ANNOUNCE_URL, SHELF_AUDIENCE from the environment)');
      return 0;
    } else {
      console.error(`error[invalid_argument]: unknown or incomplete option ${JSON.stringify(arg)}; see --help`);
      return 2;
    }
  }
  let env: Env = process.env;
  if (outputsFile !== undefined) {
    let outputs: unknown;
    try {
      outputs = JSON.parse(readFileSync(resolve(outputsFile), 'utf8'));
    } catch (err) {
      throw new ConfigError(`--outputs ${outputsFile}: ${(err as Error).message}`);
    }
    env = envFromOutputs(outputs, stack, process.env);
  }
  const uploaded = await uploadAssets(env);
  console.log(`${uploaded.store}: wrote ${uploaded.config} and ${uploaded.web.length} web files (${uploaded.web.join(', ')})`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  cli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const code = (err as { code?: unknown })?.code;
      console.error(`error[${typeof code === 'string' ? code : 'internal_error'}]: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
