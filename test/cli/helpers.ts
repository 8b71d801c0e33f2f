/**
 * Helpers for CLI tests: running `shelf` in-process or as a process, a counting proxy in front of
 * a registry (to count requests and 304s on the server side), and publishing bundles built from
 * a folder the test writes.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'vitest';
import { main, type CliIo } from '../../src/cli/main.ts';
import { packBundle } from '../../src/dev/pack.ts';
import { claimsFor, type TestRegistry } from '../helpers/test-registry.ts';

export const BIN = fileURLToPath(new URL('../../bin/shelf.js', import.meta.url));
export const ECHO_DIR = fileURLToPath(new URL('../../examples/echo', import.meta.url));

export interface ShelfResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `shelf` in-process with an injected environment (nothing from the real one). */
export async function shelf(argv: string[], options: { env?: Record<string, string | undefined>; cwd?: string; isTTY?: CliIo['isTTY']; sleep?: CliIo['sleep'] } = {}): Promise<ShelfResult> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    cwd: options.cwd ?? tmpdir(),
    env: options.env ?? {},
    ...(options.isTTY ? { isTTY: options.isTTY } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
  });
  return { code, stdout, stderr };
}

/** A consumer's own folders for one test: where `shelf` runs, and its cache. */
export interface ConsumerFolders {
  work: string;
  cacheDir: string;
}

/**
 * Makes fresh {@link ConsumerFolders} (`{prefix}-work-…`, `{prefix}-cache-…` in the temp folder)
 * and removes them when the test finishes: call it in a `beforeEach`, so no test sees another's
 * cache or files.
 */
export async function consumerFolders(ctx: Pick<TestContext, 'onTestFinished'>, prefix: string): Promise<ConsumerFolders> {
  const work = await mkdtemp(join(tmpdir(), `${prefix}-work-`));
  const cacheDir = await mkdtemp(join(tmpdir(), `${prefix}-cache-`));
  ctx.onTestFinished(async () => {
    await rm(work, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  });
  return { work, cacheDir };
}

/** Runs `node bin/shelf.js` as a process. */
export function spawnShelf(args: string[], env: Record<string, string>, input?: string): Promise<ProgramResult> {
  return runProgram(process.execPath, [BIN, ...args], { PATH: process.env.PATH ?? '', ...env }, input);
}

/** What a program run to its end did. */
export interface ProgramResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end with exactly this environment; `input` is its whole stdin (default none). */
export function runProgram(command: string, args: string[], env: Record<string, string>, input = ''): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A program may exit without reading its stdin (the action's early refusals do): the pipe then breaks, and
    // that is the program's answer, not a test error.
    child.stdin.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    child.stdin.end(input);
  });
}

/** A request seen by {@link startCountingProxy}. */
export interface ProxiedRequest {
  method: string;
  path: string;
  status: number;
  ifNoneMatch: string | undefined;
}

export interface CountingProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Requests for paths ending with `suffix`. */
  to(suffix: string): ProxiedRequest[];
  close(): Promise<void>;
}

/** An HTTP proxy on 127.0.0.1 that forwards everything to `target` and records each answer's status. */
export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const upstream = new URL(target);
  const requests: ProxiedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const forward = request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
      (answer) => {
        requests.push({
          method: req.method ?? 'GET',
          path: new URL(req.url ?? '/', 'http://x').pathname,
          status: answer.statusCode ?? 0,
          ifNoneMatch: req.headers['if-none-match'] as string | undefined,
        });
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    to: (suffix) => requests.filter((r) => r.path.endsWith(suffix)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Writes a bundle folder: a copy of examples/echo with the manifest changed by `edit`, and
 * optionally other files (e.g. a different server).
 */
export function bundleFolder(edit: (manifest: Record<string, any>) => void, files: Record<string, string> = {}): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'shelf-bundle-src-')), 'bundle');
  cpSync(ECHO_DIR, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  edit(manifest);
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

/** Packs `dir` with the official packer, puts it in a fake release and announces it. */
export async function publishFolder(
  reg: TestRegistry,
  dir: string,
  options: { name: string; version: string; repository?: string },
): Promise<{ sha256: string; size: number; bytes: Uint8Array }> {
  const filename = `${options.name.split('/')[1]}-${options.version}-any-any.mcpb`;
  const file = join(reg.dir, 'packed', filename);
  const packed = await packBundle(dir, file, { name: options.name, version: options.version });
  const bytes = await readFile(file);
  const repository = options.repository ?? `${options.name.slice(1).split('/')[0]}/${options.name.split('/')[1]}-mcp`;
  return publishBytes(reg, bytes, {
    name: options.name,
    version: options.version,
    manifest: packed.manifest,
    repository,
    filename,
  });
}

/** Publishes arbitrary bytes (e.g. a hostile archive) as a bundle with the given manifest. */
export async function publishBytes(
  reg: TestRegistry,
  bytes: Uint8Array,
  options: { name: string; version: string; manifest: Record<string, unknown>; repository: string; filename: string },
): Promise<{ sha256: string; size: number; bytes: Uint8Array }> {
  const { createHash } = await import('node:crypto');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const tag = `v${options.version}`;
  reg.github.addAsset(options.repository, tag, options.filename, { bytes });
  const res = await reg.announce(
    'bundle',
    {
      name: options.name,
      version: options.version,
      manifest: options.manifest,
      release_tag: tag,
      prerelease: false,
      artifact: { filename: options.filename, os: 'any', arch: 'any', sha256, size: bytes.byteLength },
    },
    claimsFor(options.repository),
  );
  if (res.status !== 201) throw new Error(`publish failed: ${res.status} ${JSON.stringify(res.json)}`);
  return { sha256, size: bytes.byteLength, bytes };
}

/**
 * Puts bytes the registry would refuse at announce (e.g. an archive that escapes its folder) into
 * the bucket as a bundle's artifact, as a tampered bucket or a registry of an older version could
 * hold them: a valid bundle with `manifest` is published, then its stored artifact and the
 * sha256 and size its version document records are replaced. Tests the client's own defences.
 */
export async function plantBytes(
  reg: TestRegistry,
  bytes: Uint8Array,
  options: { name: string; version: string; manifest: Record<string, unknown>; repository: string; filename: string },
): Promise<{ sha256: string; size: number; bytes: Uint8Array }> {
  const { createHash } = await import('node:crypto');
  const { zipSync } = await import('fflate');
  await publishBytes(reg, zipSync({ 'manifest.json': new TextEncoder().encode(JSON.stringify(options.manifest)) }), options);
  const [scope, name] = options.name.slice(1).split('/');
  const versionKey = `v1/bundles/@${scope}/${name}/versions/${options.version}.json`;
  const doc = JSON.parse(new TextDecoder().decode((await reg.store.get(versionKey))!.body));
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  // Re-signed with the registry's own key, as whoever held it could: the client's archive checks
  // are the last line of defence behind the signatures (tampering without the key: test/attack/tampering.test.ts).
  const { signArtifact } = await import('../../src/signing/signer.ts');
  doc.artifacts = await Promise.all(
    doc.artifacts.map(async (artifact: any) => {
      await reg.store.put(artifact.path, bytes, { contentType: 'application/zip', cacheControl: 'public, max-age=31536000, immutable' });
      return signArtifact(reg.server.signer, { kind: 'bundle', name: options.name, version: options.version }, { ...artifact, sha256, size: bytes.byteLength });
    }),
  );
  await reg.store.put(versionKey, new TextEncoder().encode(`${JSON.stringify(doc)}\n`), { contentType: 'application/json; charset=utf-8', cacheControl: 'public, max-age=60, must-revalidate' });
  return { sha256, size: bytes.byteLength, bytes };
}
