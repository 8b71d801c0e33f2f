/**
 * TEST-ONLY: a loopback HTTP front for s3rver that adds what s3rver lacks and AWS S3 has, so the
 * S3 store can be tested against AWS's documented semantics:
 *
 * - conditional writes: a PUT with `If-None-Match: *` on an existing key answers
 *   `412 PreconditionFailed`; with `If-Match` and another ETag `412 PreconditionFailed`; with
 *   `If-Match` on a missing key `404 NoSuchKey`. s3rver ignores both headers.
 * - atomic writes: s3rver truncates and rewrites an object's file in place and may answer a PUT
 *   before the last bytes are on disk. So a write to a key waits for, and holds off, every other
 *   request on that key (reads of a key run together) until s3rver serves the new object at its
 *   full size.
 *
 * Requests are handed, unchanged, to s3rver's own request handler in this process (one HTTP hop
 * less than a forwarding proxy; this fake carries thousands of requests per test).
 *
 * @module
 */
import { createServer, request, type IncomingMessage, type RequestListener, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running front. */
export interface S3ConditionalProxy {
  /** `http://127.0.0.1:<port>`: use as the S3 endpoint (path-style). */
  url: string;
  close(): Promise<void>;
}

/** What the front needs from s3rver. */
export interface S3ConditionalProxyOptions {
  /** s3rver's request handler (`s3rver.callback()`), which serves what passes the checks. */
  s3rver: RequestListener;
  /** s3rver's own listening URL, where the front reads an object's current ETag and size. */
  s3rverUrl: string;
}

/** Starts the front on a free loopback port. */
export async function startS3ConditionalProxy({ s3rver, s3rverUrl }: S3ConditionalProxyOptions): Promise<S3ConditionalProxy> {
  const upstream = new URL(s3rverUrl);
  /** Per object key: the last write, and the reads started since. */
  const lanes = new Map<string, { write: Promise<unknown>; reads: Set<Promise<unknown>> }>();
  /** ETags of keys written or checked here (null: absent). The bucket is written only through here. */
  const known = new Map<string, string | null>();

  /** Runs `fn` once earlier writes (and, for a write, earlier reads) on the key are done. */
  const locked = (path: string, exclusive: boolean, fn: () => Promise<void>): Promise<void> => {
    const lane = lanes.get(path) ?? { write: Promise.resolve(), reads: new Set<Promise<unknown>>() };
    lanes.set(path, lane);
    const before = exclusive ? Promise.all([lane.write, ...lane.reads]) : lane.write;
    const done = before.then(fn).catch(() => undefined);
    if (exclusive) {
      lane.write = done;
      lane.reads = new Set();
    } else {
      lane.reads.add(done);
      void done.then(() => lane.reads.delete(done));
    }
    return done;
  };

  /** The ETag and size s3rver serves for a path, or null. Unsigned: s3rver allows anonymous reads. */
  const headOf = (path: string) =>
    new Promise<{ etag: string; size: number } | null>((resolve, reject) => {
      const req = request({ host: upstream.hostname, port: upstream.port, method: 'HEAD', path }, (res) => {
        res.resume();
        resolve(res.statusCode === 404 ? null : { etag: String(res.headers.etag), size: Number(res.headers['content-length']) });
      });
      req.on('error', reject);
      req.end();
    });

  const handle = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    const ifNoneMatch = req.headers['if-none-match'];
    const ifMatch = req.headers['if-match'];
    if (req.method === 'PUT' && (ifNoneMatch || ifMatch)) {
      const current = known.has(path) ? known.get(path) : ((await headOf(path))?.etag ?? null);
      const refusal =
        ifNoneMatch === '*' && current
          ? error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 'If-None-Match')
          : ifMatch && !current
            ? error(404, 'NoSuchKey', 'The specified key does not exist.')
            : ifMatch && ifMatch !== current
              ? error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 'If-Match')
              : null;
      if (refusal) {
        for await (const _ of req); // read the body, so the connection stays usable
        res.writeHead(refusal.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(refusal.xml) });
        res.end(refusal.xml);
        return;
      }
    }
    const finished = new Promise((resolve) => res.on('close', resolve));
    s3rver(req, res);
    await finished;
    if (req.method === 'PUT' && res.statusCode === 200) {
      // Hold the key until s3rver has the whole object on disk, as S3's PUT is atomic.
      const size = Number(req.headers['content-length'] ?? NaN);
      for (let i = 0; i < 2000 && Number.isFinite(size) && (await headOf(path))?.size !== size; i++) await new Promise((r) => setTimeout(r, 1));
      known.set(path, String(res.getHeader('etag')));
    }
    if (req.method === 'DELETE' && res.statusCode < 300) known.set(path, null);
  };

  const server = createServer((req, res) => {
    const path = new URL(req.url!, 'http://front').pathname;
    const onObject = path.split('/').filter(Boolean).length > 1; // /bucket/key..., not a bucket listing
    const run = () =>
      handle(req, res, path).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
        res.end(String(err));
      });
    void (onObject ? locked(path, req.method !== 'GET' && req.method !== 'HEAD', run) : run());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function error(status: number, code: string, message: string, condition?: string): { status: number; xml: string } {
  const extra = condition ? `<Condition>${condition}</Condition>` : '';
  return {
    status,
    xml: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>shelf-test-proxy</RequestId></Error>`,
  };
}
