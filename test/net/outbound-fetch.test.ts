/**
 * The outbound plumbing on its own, between loopback servers: every hop checked before it is
 * contacted, credentials kept to the first host, redirects and bodies bounded, one error family.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchOutbound, outboundDeadline, readOutboundBody, type OutboundOptions } from '../../src/net/outbound-fetch.ts';

interface Recorder {
  url: string;
  host: string;
  seen: Array<{ path: string; headers: IncomingHttpHeaders }>;
  server: Server;
}

/** A server whose routes redirect (`/to?u=URL`), loop (`/loop`), trickle (`/slow`), or answer 200. */
async function start(): Promise<Recorder> {
  const seen: Recorder['seen'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push({ path: url.pathname, headers: req.headers });
    if (url.pathname === '/to') return void res.writeHead(302, { location: url.searchParams.get('u')! }).end();
    if (url.pathname === '/loop') return void res.writeHead(307, { location: '/loop' }).end();
    if (url.pathname === '/slow') {
      res.writeHead(200);
      const timer = setInterval(() => res.write('x'), 50);
      res.once('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(Number(url.searchParams.get('n') ?? 2)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, seen, server };
}

let a: Recorder;
let b: Recorder;
beforeAll(async () => {
  [a, b] = await Promise.all([start(), start()]);
});
afterAll(async () => {
  for (const s of [a, b]) await new Promise<void>((r) => s.server.close(() => r()));
});

const options = (allowedHosts: string[], extra: Partial<OutboundOptions> = {}): OutboundOptions => ({
  what: 'the test resource',
  allowedHosts,
  signal: outboundDeadline(2000),
  ...extra,
});

describe('fetchOutbound', () => {
  it('keeps a credential to the first host: a redirect to another allowed host is sent without it', async () => {
    a.seen.length = 0;
    b.seen.length = 0;
    const res = await fetchOutbound(`${a.url}/to?u=${encodeURIComponent(`${b.url}/file`)}`, options([a.host, b.host], { headers: { authorization: 'Bearer secret', 'user-agent': 't' } }));
    expect(await res.text()).toBe('xx');
    expect(a.seen[0]!.headers.authorization).toBe('Bearer secret');
    expect(b.seen[0]!.headers.authorization).toBeUndefined();
    expect(b.seen[0]!.headers['user-agent']).toBe('t');
  });

  it('refuses a redirect off the allow-list before contacting it', async () => {
    b.seen.length = 0;
    await expect(fetchOutbound(`${a.url}/to?u=${encodeURIComponent(`${b.url}/file`)}`, options([a.host]))).rejects.toMatchObject({ code: 'upstream_untrusted_host', status: 502 });
    expect(b.seen).toEqual([]);
  });

  it.each([
    ['credentials in the URL', (r: Recorder) => `http://user:pw@${r.host}/file`],
    ['plain HTTP to a host that is not loopback', () => 'http://example.com/file'],
    ['a file URL', () => 'file:///etc/passwd'],
    ['no URL at all', () => 'not a url'],
  ])('refuses %s', async (_, url) => {
    await expect(fetchOutbound(url(a), options([a.host, 'example.com']))).rejects.toMatchObject({ code: 'upstream_untrusted_host' });
  });

  it('gives up after the redirect limit with upstream_unavailable', async () => {
    a.seen.length = 0;
    await expect(fetchOutbound(`${a.url}/loop`, options([a.host], { maxRedirects: 3 }))).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(a.seen).toHaveLength(4);
  });

  it('answers upstream_unavailable for a host that does not answer', async () => {
    await expect(fetchOutbound('http://127.0.0.1:9/x', options(['127.0.0.1:9']))).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

describe('readOutboundBody', () => {
  it('stops at the cap with upstream_too_large', async () => {
    const opts = options([a.host]);
    const res = await fetchOutbound(`${a.url}/file?n=5000`, opts);
    await expect(readOutboundBody(res, 4096, opts)).rejects.toMatchObject({ code: 'upstream_too_large', status: 502 });
  });

  it('bounds the body in time: a body that never ends is cut at the deadline', async () => {
    const opts = options([a.host], { signal: outboundDeadline(300) });
    const res = await fetchOutbound(`${a.url}/slow`, opts);
    const error = await readOutboundBody(res, 1024 * 1024, opts).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'upstream_unavailable' });
    expect((error as Error).message).toContain('timed out');
  });
});
