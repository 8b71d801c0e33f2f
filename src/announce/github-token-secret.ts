/**
 * The GitHub token of the announce function, read from AWS Secrets Manager at start
 * (`SHELF_GITHUB_TOKEN_SECRET`: the secret's name or ARN), so that neither the CloudFormation
 * template nor the function's configuration holds it. A token given as `SHELF_GITHUB_TOKEN`
 * wins; without either, GitHub's releases API is called without one.
 *
 * @module
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigError } from '../config.ts';

/** How long reading the secret may take at start, ms. */
export const SECRET_READ_TIMEOUT_MS = 5_000;

/**
 * Returns `env` with `SHELF_GITHUB_TOKEN` set from the secret `SHELF_GITHUB_TOKEN_SECRET` names,
 * or `env` itself when there is no secret to read.
 *
 * @param env - The function's environment (AWS credentials and region from the runtime; the
 *   SDK's `AWS_ENDPOINT_URL_SECRETS_MANAGER` points it elsewhere).
 * @throws ConfigError naming `SHELF_GITHUB_TOKEN_SECRET` when the secret cannot be read or is not
 *   a token (its value is never shown).
 */
export async function withGithubTokenFromSecret(env: Record<string, string | undefined>): Promise<Record<string, string | undefined>> {
  const secretId = env.SHELF_GITHUB_TOKEN_SECRET?.trim();
  if (!secretId || env.SHELF_GITHUB_TOKEN) return env;
  const client = new SecretsManagerClient({ maxAttempts: 2 });
  let value: string | undefined;
  try {
    const answer = await client.send(new GetSecretValueCommand({ SecretId: secretId }), { abortSignal: AbortSignal.timeout(SECRET_READ_TIMEOUT_MS) });
    value = answer.SecretString?.trim();
  } catch (err) {
    const name = (err as { name?: unknown })?.name;
    throw new ConfigError(`SHELF_GITHUB_TOKEN_SECRET: cannot read the secret ${JSON.stringify(secretId)} from Secrets Manager (${typeof name === 'string' ? name : 'error'}).`);
  } finally {
    client.destroy();
  }
  if (!value || !/^[A-Za-z0-9_]+$/.test(value)) {
    throw new ConfigError(`SHELF_GITHUB_TOKEN_SECRET: the secret ${JSON.stringify(secretId)} must hold a GitHub token as plain text ([A-Za-z0-9_]); the value is not shown.`);
  }
  return { ...env, SHELF_GITHUB_TOKEN: value };
}
