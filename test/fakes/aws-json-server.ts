/**
 * Test-only: the server plumbing of a loopback fake of an AWS service that speaks the AWS JSON 1.1
 * protocol the SDK uses for KMS and Secrets Manager: `POST /` with `X-Amz-Target: <prefix>.<Operation>`
 * and a JSON body, answered with `application/x-amz-json-1.1` JSON; errors as `{__type, message}`
 * with a 4xx/5xx status. Each fake (`fake-kms.ts`, `fake-secrets-manager.ts`) supplies only its
 * operations.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request, as a fake's handler sees it. */
export interface AwsJsonRequest {
  /** The operation `X-Amz-Target` names after the service's prefix; '' when it names none of this service. */
  operation: string;
  /** The parsed JSON body. */
  input: Record<string, unknown>;
  headers: IncomingHttpHeaders;
}

/** An answer: the HTTP status and the JSON body. */
export interface AwsJsonAnswer {
  status: number;
  body: unknown;
}

/** A running server. */
export interface AwsJsonServer {
  /** The endpoint, for `AWS_ENDPOINT_URL_<SERVICE>`. */
  url: string;
  close(): Promise<void>;
}

/** An AWS error answer: `{__type, message}` with a status (400 unless given). */
export function awsError(type: string, message?: string, status = 400): AwsJsonAnswer {
  return { status, body: message === undefined ? { __type: type } : { __type: type, message } };
}

/**
 * Starts a fake on 127.0.0.1 for the service whose targets start with `targetPrefix.`
 * (`TrentService`, `secretsmanager`). A request that is not a POST gets `UnknownOperationException`,
 * one whose body is not a JSON object `SerializationException`; the rest go to `handle`.
 */
export async function startAwsJsonServer(targetPrefix: string, handle: (request: AwsJsonRequest) => AwsJsonAnswer): Promise<AwsJsonServer> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = ({ status, body }: AwsJsonAnswer) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST') return answer(awsError('UnknownOperationException'));
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.startsWith(`${targetPrefix}.`) ? target.slice(targetPrefix.length + 1) : '';
      let input: unknown;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        input = undefined;
      }
      if (typeof input !== 'object' || input === null) return answer(awsError('SerializationException', 'bad JSON'));
      answer(handle({ operation, input: input as Record<string, unknown>, headers: req.headers }));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}
