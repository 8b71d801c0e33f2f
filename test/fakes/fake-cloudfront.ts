/**
 * TEST-ONLY: a loopback fake of the one CloudFront API call `shelf takedown` makes,
 * `CreateInvalidation` (`POST /2020-05-31/distribution/{Id}/invalidation`, an XML
 * `InvalidationBatch`), answering as AWS documents it: `201` with the `Invalidation`, or `404
 * NoSuchDistribution` for a distribution it does not know. Requests must be signed (SigV4 header);
 * every accepted batch is kept for the test to inspect.
 *
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One invalidation the fake accepted. */
export interface FakeInvalidation {
  id: string;
  distributionId: string;
  callerReference: string;
  paths: string[];
}

/** A running fake. */
export interface FakeCloudFront {
  /** `http://127.0.0.1:<port>`: use as `AWS_ENDPOINT_URL_CLOUDFRONT`. */
  url: string;
  /** The invalidations accepted, in order. */
  invalidations: FakeInvalidation[];
  close(): Promise<void>;
}

const NS = 'http://cloudfront.amazonaws.com/doc/2020-05-31/';

/** Starts the fake; it knows the distributions named. */
export async function startFakeCloudFront(distributions: string[]): Promise<FakeCloudFront> {
  const invalidations: FakeInvalidation[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const m = /^\/2020-05-31\/distribution\/([^/]+)\/invalidation$/.exec(new URL(req.url ?? '/', 'http://x').pathname);
      const error = (status: number, code: string, message: string) =>
        res
          .writeHead(status, { 'content-type': 'text/xml' })
          .end(`<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`);
      if (req.method !== 'POST' || !m) return error(404, 'NotFound', 'No such route');
      if (!/^AWS4-HMAC-SHA256 Credential=/.test(req.headers.authorization ?? '')) return error(403, 'AccessDenied', 'Unsigned request');
      const distributionId = decodeURIComponent(m[1]!);
      if (!distributions.includes(distributionId)) return error(404, 'NoSuchDistribution', 'The specified distribution does not exist.');
      const paths = [...body.matchAll(/<Path>([^<]*)<\/Path>/g)].map((p) => unescapeXml(p[1]!));
      const quantity = Number(/<Quantity>(\d+)<\/Quantity>/.exec(body)?.[1]);
      const callerReference = unescapeXml(/<CallerReference>([^<]*)<\/CallerReference>/.exec(body)?.[1] ?? '');
      if (paths.length === 0 || quantity !== paths.length || !callerReference) return error(400, 'InvalidArgument', 'Bad InvalidationBatch');
      if (paths.some((p) => !p.startsWith('/'))) return error(400, 'InvalidArgument', 'Paths must start with /');
      const id = `I${String(invalidations.length + 1).padStart(13, '0')}`;
      invalidations.push({ id, distributionId, callerReference, paths });
      res.writeHead(201, { 'content-type': 'text/xml', location: `https://cloudfront.amazonaws.com/2020-05-31/distribution/${distributionId}/invalidation/${id}` }).end(
        `<?xml version="1.0"?><Invalidation xmlns="${NS}"><Id>${id}</Id><Status>InProgress</Status><CreateTime>2025-01-01T00:00:00Z</CreateTime>` +
          `<InvalidationBatch><Paths><Quantity>${paths.length}</Quantity><Items>${paths.map((p) => `<Path>${escapeXml(p)}</Path>`).join('')}</Items></Paths>` +
          `<CallerReference>${escapeXml(callerReference)}</CallerReference></InvalidationBatch></Invalidation>`,
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    invalidations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function unescapeXml(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
