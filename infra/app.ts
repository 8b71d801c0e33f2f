/**
 * The CDK app: `npx cdk deploy --app "npx tsx infra/app.ts" -c audience=...` (the pinned CLI) (or
 * `npm run deploy -- -c audience=...`, which builds the function first). Settings come from CDK
 * context only; see `infra/README.md` for every key.
 *
 * @module
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../src/config.ts';
import { settingsFromContext, type ShelfSettings } from './settings.ts';
import { ShelfStack } from './shelf-stack.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const app = new App();
const stackName = String(app.node.tryGetContext('stackName') ?? 'Shelf');
let settings: ShelfSettings;
try {
  settings = settingsFromContext((key) => app.node.tryGetContext(key), root);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  // A setting is missing or wrong: one clear line instead of a stack trace, and no template.
  console.error(`error[${err.code}]: ${err.message}`);
  process.exit(1);
}
new ShelfStack(app, stackName, {
  settings,
  // The account and region the CLI resolved (profile, AWS_REGION); the stack itself is region-agnostic.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'Shelf: a static-file registry of MCP bundles and agent skills (S3 + CloudFront + one Lambda function URL)',
});
app.synth();
