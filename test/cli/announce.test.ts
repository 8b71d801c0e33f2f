import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_WRITE_ANSWER_BYTES, postAnnounce } from '../../src/client/announce.ts';
import { MAX_OIDC_ANSWER_BYTES, requestOidcToken } from '../../src/cli/announce.ts';
import { startFakeActionsToken, type FakeActionsToken } from '../fakes/actions-token.ts';
import { AUDIENCE, claimsFor, prepareBundle, prepareSkill, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';
import { shelf } from './helpers.ts';

let reg: TestRegistry;
let work: string;
const tokens: FakeActionsToken[] = [];

beforeAll(async () => {
  reg = await startTestRegistry();
}, 60_000);

afterAll(async () => {
  for (const t of tokens) await t.close();
  await reg?.close();
});

beforeEach(async (ctx) => {
  work = await mkdtemp(join(tmpdir(), 'shelf-announce-'));
  ctx.onTestFinished(() => rm(work, { recursive: true, force: true }));
});

/** The Actions token service of a job in `repository`. */
async function actions(repository: string): Promise<FakeActionsToken> {
  const fake = await startFakeActionsToken(reg.github, claimsFor(repository));
  tokens.push(fake);
  return fake;
}

/** Writes the prepared artifact where a workflow would have built it. */
async function onDisk(p: PreparedArtifact): Promise<string> {
  const file = join(work, p.filename);
  await writeFile(file, p.bytes);
  return file;
}

function jobEnv(fake: FakeActionsToken, extra: Record<string, string> = {}): Record<string, string> {
  return {
    SHELF_REGISTRY: reg.url,
    ACTIONS_ID_TOKEN_REQUEST_URL: fake.requestUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: fake.requestToken,
    GITHUB_ACTIONS: 'true',
    ...extra,
  };
}

describe('shelf announce', () => {
  it('announces a bundle from a job: token for the registry audience, masked; body from the manifest inside the .mcpb', async () => {
    const p = await prepareBundle(reg, { version: '1.0.0' });
    const fake = await actions(p.repository);
    const file = await onDisk(p);
    const r = await shelf(['announce', file, '--json'], { env: jobEnv(fake, { GITHUB_REF_NAME: p.tag }), cwd: work });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fake.requests).toEqual([{ audience: AUDIENCE, authorized: true }]);
    const [token] = fake.issued;
    const lines = r.stdout.split('\n');
    // The mask comes first, and the token appears nowhere else.
    expect(lines[0]).toBe(`::add-mask::${token}`);
    expect(r.stdout.split(token!).length).toBe(2);
    const answer = JSON.parse(lines.slice(1).join('\n'));
    expect(answer).toMatchObject({
      package: '@acme/echo',
      version: '1.0.0',
      status: 'created',
      total_artifacts: 1,
      attempts: 1,
      artifact: { os: 'any', arch: 'any', sha256: p.sha256, size: p.size, filename: p.filename },
    });
    // Readable through the CLI right away.
    const show = await shelf(['bundle', 'show', '@acme/echo@1.0.0', '--json'], { env: { SHELF_REGISTRY: reg.url } });
    expect(JSON.parse(show.stdout).version.release.tag).toBe('v1.0.0');
    // Announcing the same file again is an idempotent success.
    const again = await shelf(['announce', file, '--release-tag', p.tag], { env: jobEnv(fake, { GITHUB_ACTIONS: '' }) });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged');
  });

  it('never prints the token outside GitHub Actions', async () => {
    const p = await prepareBundle(reg, { version: '1.0.1' });
    const fake = await actions(p.repository);
    const r = await shelf(['announce', await onDisk(p), '--release-tag', p.tag], { env: jobEnv(fake, { GITHUB_ACTIONS: '' }) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Announced @acme\/echo@1\.0\.1 \(any-any\): created/);
    expect(r.stdout + r.stderr).not.toContain(fake.issued[0]!);
    expect(r.stdout).not.toContain('add-mask');
  });

  it('retries while the asset is "not found in release", then succeeds once it is uploaded', async () => {
    const p = await prepareBundle(reg, { version: '1.1.0', upload: false });
    const fake = await actions(p.repository);
    const waits: number[] = [];
    const r = await shelf(['announce', await onDisk(p), '--release-tag', p.tag, '--retry-delay', '250', '--json'], {
      env: jobEnv(fake, { GITHUB_ACTIONS: '' }),
      // The release asset finishes uploading while the CLI waits.
      sleep: async (ms) => {
        waits.push(ms);
        if (waits.length === 1) reg.github.addAsset(p.repository, p.tag, p.filename, { bytes: p.bytes });
      },
    });
    expect(r.code).toBe(0);
    expect(waits).toEqual([250]);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: 'created', attempts: 2 });
    expect(r.stderr).toMatch(/attempt 1\/6: .*not found in release.*Retrying in 0\.3s/);
  });

  it('gives up after --max-attempts with the registry code, backing off exponentially', async () => {
    const p = await prepareBundle(reg, { version: '1.1.1', upload: false });
    const fake = await actions(p.repository);
    const waits: number[] = [];
    const r = await shelf(['announce', await onDisk(p), '--release-tag', p.tag, '--max-attempts', '4', '--retry-delay', '100'], {
      env: jobEnv(fake),
      sleep: async (ms) => void waits.push(ms),
    });
    expect(r.code).toBe(1);
    expect(waits).toEqual([100, 200, 400]);
    expect(r.stderr).toMatch(/error\[asset_not_found\].*not found in release.*gave up after 4 attempts/);
  });

  it('fails at once, without retrying, when the registry refuses for another reason', async () => {
    const p = await prepareBundle(reg, { version: '1.2.5' });
    // A job in another owner's repository cannot publish to @acme.
    const fake = await actions('mallory/echo-mcp');
    const waits: number[] = [];
    const r = await shelf(['announce', await onDisk(p), '--release-tag', p.tag], { env: jobEnv(fake), sleep: async (ms) => void waits.push(ms) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[scope_mismatch\]: The registry refused the announce \(HTTP 403 scope_mismatch\)/);
    expect(waits).toEqual([]);
  });

  it('fails clearly when the job lacks permissions: id-token: write, before any request', async () => {
    const p = await prepareBundle(reg, { version: '1.3.3' });
    const fake = await actions(p.repository);
    const env = jobEnv(fake, { GITHUB_REF_NAME: p.tag });
    delete (env as Record<string, string | undefined>).ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    const r = await shelf(['announce', await onDisk(p)], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[oidc_unavailable\].*permissions: id-token: write/);
    expect(fake.requests).toEqual([]);
  });

  it('reports a refused token request without leaking the request token', async () => {
    const p = await prepareBundle(reg, { version: '1.3.4' });
    const fake = await actions(p.repository);
    const r = await shelf(['announce', await onDisk(p), '--release-tag', p.tag], {
      env: jobEnv(fake, { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'wrong-request-token' }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[oidc_request_failed\].*HTTP 401/);
    expect(r.stderr).not.toContain('wrong-request-token');
    expect(fake.requests).toEqual([{ audience: AUDIENCE, authorized: false }]);
  });

  it('announces a skill from its SKILL.md front matter', async () => {
    const p = await prepareSkill(reg, { version: '2.0.0' });
    const fake = await actions(p.repository);
    const r = await shelf(['announce', await onDisk(p), '--json'], { env: jobEnv(fake, { GITHUB_REF_NAME: p.tag, GITHUB_ACTIONS: '', GITHUB_REPOSITORY_OWNER: 'Acme' }) });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ package: '@acme/release-notes', version: '2.0.0', status: 'created', artifact: { os: 'any', arch: 'any' } });
  });

  it('uses --os/--arch, or a manifest limited to one OS, for the platform', async () => {
    const linux = await prepareBundle(reg, { version: '1.4.0', os: 'linux', arch: 'x64' });
    const fake = await actions(linux.repository);
    const r = await shelf(['announce', await onDisk(linux), '--release-tag', linux.tag, '--arch', 'x64', '--json'], { env: jobEnv(fake, { GITHUB_ACTIONS: '' }) });
    expect(r.stderr).toBe('');
    // os came from compatibility.platforms = ["linux"], which the packer wrote for a linux build.
    expect(JSON.parse(r.stdout).artifact).toMatchObject({ os: 'linux', arch: 'x64' });
  });

  it('validates its arguments before reading anything', async () => {
    const env = { SHELF_REGISTRY: reg.url };
    expect((await shelf(['announce'], { env })).code).toBe(2);
    expect((await shelf(['announce', 'x.zip', '--release-tag', 'v1'], { env })).stderr).toMatch(/^error\[invalid_argument\].*--kind/);
    expect((await shelf(['announce', 'x.mcpb'], { env })).stderr).toMatch(/^error\[invalid_argument\].*release tag/);
    expect((await shelf(['announce', 'x.mcpb', '--release-tag', 'v1', '--os', 'beos'], { env })).code).toBe(2);
    expect((await shelf(['announce', 'x.skill', '--release-tag', 'v1', '--os', 'linux'], { env })).stderr).toMatch(/bundles only/);
    expect((await shelf(['announce', 'x.mcpb', '--release-tag', 'v1', '--max-attempts', '0'], { env })).code).toBe(2);
  });

  it('refuses an artifact without a manifest', async () => {
    const p = await prepareBundle(reg, { version: '1.5.0' });
    const fake = await actions(p.repository);
    const file = join(work, 'broken.mcpb');
    await writeFile(file, zipSync({ 'server/index.js': new TextEncoder().encode('') }));
    const r = await shelf(['announce', file, '--release-tag', p.tag], { env: jobEnv(fake) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[invalid_manifest\].*manifest\.json/);
    expect(fake.requests).toEqual([]);
  });
});

describe('postAnnounce', () => {
  it('retries on 503 and network errors, capped by maxAttempts, and sends the token only as a bearer header', async () => {
    const seen: string[] = [];
    let calls = 0;
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      calls++;
      seen.push(new Headers(init.headers).get('authorization')!);
      if (calls === 1) throw new TypeError('fetch failed');
      if (calls === 2) return new Response(JSON.stringify({ error: { code: 'write_contention', message: 'busy' } }), { status: 503 });
      return new Response(
        JSON.stringify({ package: '@a/b', version: '1.0.0', status: 'created', total_artifacts: 1, artifact: { os: 'any', arch: 'any', filename: 'f', sha256: 'x', size: 1, path: 'p' } }),
        { status: 201 },
      );
    }) as unknown as typeof fetch;
    const waits: number[] = [];
    const result = await postAnnounce({ url: 'http://127.0.0.1:1/v1/bundles/announce', token: 'tok', body: {}, fetch: fetchImpl, retryDelayMs: 5, sleep: async (ms) => void waits.push(ms) });
    expect(result.attempts).toBe(3);
    expect(waits).toEqual([5, 10]);
    expect(seen).toEqual(['Bearer tok', 'Bearer tok', 'Bearer tok']);
  });

  it('validates its options, naming them', async () => {
    await expect(postAnnounce({ url: 'ftp://x', token: 't', body: {} })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('"url"') });
    await expect(postAnnounce({ url: 'http://x', token: '', body: {} })).rejects.toMatchObject({ message: expect.stringContaining('"token"') });
    await expect(postAnnounce({ url: 'http://x', token: 't', body: {}, maxAttempts: 0 })).rejects.toMatchObject({ message: expect.stringContaining('"maxAttempts"') });
  });
});

/** A loopback server that misbehaves as `mode` says, counting the requests it gets. */
async function misbehaving(mode: 'silent' | 'stalls' | 'huge', hugeBytes: number): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    req.resume();
    if (mode === 'silent') return; // never answers
    res.writeHead(200, { 'content-type': 'application/json' });
    if (mode === 'stalls') return void res.write('{"value":'); // starts, never ends
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < hugeBytes) {
        sent += chunk.byteLength;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests: () => requests,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

describe('writes and token requests are bounded in time and size', () => {
  it('an announce whose registry never answers, or stops mid-answer, fails at the deadline as a network error, retried', async () => {
    for (const mode of ['silent', 'stalls'] as const) {
      const server = await misbehaving(mode, 0);
      try {
        const started = Date.now();
        const failure = postAnnounce({ url: `${server.url}v1/bundles/announce`, token: 't', body: {}, timeoutMs: 300, maxAttempts: 2, sleep: async () => {} });
        await expect(failure).rejects.toMatchObject({ code: 'announce_failed', message: expect.stringMatching(/within 300 ms.*gave up after 2 attempts/) });
        expect(server.requests()).toBe(2);
        expect(Date.now() - started).toBeLessThan(10_000);
      } finally {
        await server.close();
      }
    }
  });

  it('an announce answered with more than the answer cap fails at once, without reading it all', async () => {
    const server = await misbehaving('huge', 64 * MAX_WRITE_ANSWER_BYTES);
    try {
      await expect(postAnnounce({ url: `${server.url}v1/bundles/announce`, token: 't', body: {}, maxAttempts: 3, sleep: async () => {} })).rejects.toMatchObject({
        code: 'announce_failed',
        message: expect.stringContaining(`more than ${MAX_WRITE_ANSWER_BYTES} bytes`),
      });
      expect(server.requests()).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('validates the timeoutMs option, naming it', async () => {
    await expect(postAnnounce({ url: 'http://x', token: 't', body: {}, timeoutMs: 0 })).rejects.toMatchObject({ code: 'invalid_argument', message: expect.stringContaining('"timeoutMs"') });
  });

  it('a token service that never answers, stalls or answers too much gives oidc_request_failed, not a hung job', async () => {
    for (const [mode, reason] of [
      ['silent', /no whole answer within 300 ms/],
      ['stalls', /no whole answer within 300 ms/],
      ['huge', new RegExp(`larger than ${MAX_OIDC_ANSWER_BYTES} bytes`)],
    ] as const) {
      const server = await misbehaving(mode, 16 * MAX_OIDC_ANSWER_BYTES);
      try {
        await expect(requestOidcToken(`${server.url}?api-version=2.0`, 'request-token', AUDIENCE, { timeoutMs: 300 })).rejects.toMatchObject({
          code: 'oidc_request_failed',
          message: expect.stringMatching(reason),
        });
        expect(server.requests()).toBe(1);
      } finally {
        await server.close();
      }
    }
  });
});
