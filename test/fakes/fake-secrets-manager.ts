/**
 * Test-only: a loopback AWS Secrets Manager answering `GetSecretValue` (the JSON 1.1 protocol the
 * SDK speaks: `POST /`, `X-Amz-Target: secretsmanager.GetSecretValue`), for the SDK pointed at it
 * with `AWS_ENDPOINT_URL_SECRETS_MANAGER`. Requests without a SigV4 `Authorization` header are
 * refused, as AWS refuses them.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') return answer(400, { __type: 'UnknownOperationException' });
      if (!/^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization ?? '')) return answer(400, { __type: 'MissingAuthenticationTokenException', message: 'unsigned' });
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
      reads.push(SecretId);
      const value = secrets.get(SecretId);
      if (value === undefined) return answer(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      answer(200, { ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${SecretId}-AbCdEf`, Name: SecretId, SecretString: value, VersionId: '1' });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, secrets, reads, close: () => new Promise((done) => server.close(() => done())) };
}
