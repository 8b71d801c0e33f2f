/**
 * Test-only: a loopback AWS Secrets Manager answering `GetSecretValue` (the JSON 1.1 protocol the
 * SDK speaks, `X-Amz-Target: secretsmanager.GetSecretValue`, served by `aws-json-server.ts`), for
 * the SDK pointed at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Requests without a SigV4
 * `Authorization` header are refused, as AWS refuses them.
 */
import { awsError, startAwsJsonServer } from './aws-json-server.ts';

/** A running fake. */
export interface FakeSecretsManager {
  url: string;
  /** Secrets by name or ARN. */
  secrets: Map<string, string>;
  /** The SecretId of each GetSecretValue call. */
  reads: string[];
  close(): Promise<void>;
}

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, string>();
  const reads: string[] = [];
  const server = await startAwsJsonServer('secretsmanager', ({ operation, input, headers }) => {
    if (operation !== 'GetSecretValue') return awsError('UnknownOperationException');
    if (!/^AWS4-HMAC-SHA256 Credential=/.test(headers.authorization ?? '')) return awsError('MissingAuthenticationTokenException', 'unsigned');
    const SecretId = String(input.SecretId);
    reads.push(SecretId);
    const value = secrets.get(SecretId);
    if (value === undefined) return awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return { status: 200, body: { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`, Name: SecretId, SecretString: value, VersionId: '1' } };
  });
  return { url: server.url, secrets, reads, close: server.close };
}
