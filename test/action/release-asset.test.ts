/**
 * The action's release script (`action/release-asset.mjs`) reads GitHub's answers within bounds:
 * a redirect only to a trusted host, checked before it is contacted; a download no larger than the
 * release says; a release document of bounded size. Run as the action runs it, against a loopback
 * stand-in for the releases API whose misbehaviour each scenario picks.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from '../cli/helpers.ts';

const SCRIPT = resolve(import.meta.dirname, '../../action/release-asset.mjs');
const ASSET = 'echo-1.0.0-any-any.mcpb';
const BYTES = Buffer.from('the asset, 32 bytes long........');

/** What the stand-in does with the next requests. */
let mode: 'redirect-off-host' | 'longer-than-reported' | 'huge-release' = 'redirect-off-host';
let api: Server;
let other: Server;
let otherRequests = 0;
let work: string;
let apiUrl: string;

function listen(server: Server): Promise<string> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'shelf-release-asset-'));
  other = createServer((_req, res) => {
    otherRequests++;
    res.end(BYTES);
  });
  const otherUrl = await listen(other);
  api = createServer((req, res) => {
    const base = `http://${req.headers.host}`;
    if (req.url?.startsWith('/repos/acme/echo/releases/tags/')) {
      if (mode === 'huge-release') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"assets":[');
        const filler = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent++ < 8) if (!res.write(filler)) return void res.once('drain', pump);
          res.end(']}');
        };
        return pump();
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ upload_url: `${base}/upload{?name,label}`, assets: [{ name: ASSET, size: BYTES.byteLength, url: `${base}/asset/1` }] }));
    }
    if (req.url === '/asset/1') {
      if (mode === 'redirect-off-host') {
        res.writeHead(302, { location: `${otherUrl.replace('127.0.0.1', 'localhost')}/bytes` });
        return res.end();
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(Buffer.concat([BYTES, BYTES, BYTES]));
    }
    res.writeHead(404).end();
  });
  apiUrl = await listen(api);
});

afterAll(async () => {
  api?.closeAllConnections();
  other?.closeAllConnections();
  await Promise.all([api, other].map((s) => new Promise((r) => s?.close(r))));
  await rm(work, { recursive: true, force: true });
});

function run(...args: string[]) {
  return runProgram(process.execPath, [SCRIPT, ...args], {
    PATH: process.env.PATH ?? '',
    GITHUB_API_URL: apiUrl,
    GITHUB_REPOSITORY: 'acme/echo',
    GH_TOKEN: 'job-token',
  });
}

describe('the action downloads a release asset within bounds', () => {
  it('refuses a redirect to a host that is not GitHub, before contacting it, and leaves no file', async () => {
    mode = 'redirect-off-host';
    const file = join(work, 'redirected.mcpb');
    const r = await run('download', 'v1.0.0', ASSET, file);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::refusing to contact http:\/\/localhost:\d+/);
    expect(otherRequests).toBe(0);
    expect(await readdir(work)).toEqual([]);
  });

  it('stops a download that runs past the size the release reports, and leaves no file', async () => {
    mode = 'longer-than-reported';
    const file = join(work, 'long.mcpb');
    const r = await run('download', 'v1.0.0', ASSET, file);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`more bytes than the ${BYTES.byteLength} the release reports`);
    expect(existsSync(file)).toBe(false);
    expect(await readdir(work)).toEqual([]);
  });

  it('refuses a release document larger than 5 MiB', async () => {
    mode = 'huge-release';
    const r = await run('find', 'v1.0.0', ASSET);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/::error::the release v1\.0\.0 is larger than 5242880 bytes/);
  });
});
