/**
 * The client's trust in a registry (issue 30, part 1, client side): the CLI pins the registry's
 * keys on first use, with its cache; accepts a rotation the old key endorsed; refuses a key it was
 * never given a reason to trust (`key_untrusted`) until `shelf trust` re-pins; and says in `--json`
 * what it verified, for pull, run, install and update.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pinFile } from '../../src/cli/trust-pins.ts';
import { publishSigningKey } from '../../src/signing/key-list.ts';
import { loadOrCreateKeyFile } from '../../src/signing/local-signer.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import type { Signer } from '../../src/signing/signer.ts';
import { announcePrepared, prepareBundle, prepareSkill, startTestRegistry, type TestRegistry } from '../helpers/test-registry.ts';
import { consumerFolders, shelf as runShelf } from '../cli/helpers.ts';

let reg: TestRegistry;
let work: string;
let cacheDir: string;
/** The key the registry signs with now (it changes in the rotation tests). */
let current: Signer;

beforeAll(async () => {
  reg = await startTestRegistry();
  current = reg.server.signer;
  for (const p of [await prepareBundle(reg, { version: '1.0.0' }), await prepareSkill(reg)]) expect((await announcePrepared(reg, p)).status).toBe(201);
}, 60_000);
afterAll(async () => {
  await reg?.close();
});
beforeEach(async (ctx) => ({ work, cacheDir } = await consumerFolders(ctx, 'shelf-trust')));

async function shelf(...argv: string[]) {
  const r = await runShelf(argv, { cwd: work, env: { SHELF_REGISTRY: reg.url, SHELF_CACHE_DIR: cacheDir, HOME: work } });
  return { ...r, json: () => JSON.parse(r.stdout) };
}

async function pinnedKeys(): Promise<string[]> {
  return Object.keys(JSON.parse(await readFile(pinFile(cacheDir, reg.url), 'utf8')).keys);
}

/** The registry restarted with another key: listed first (endorsed by the current one when `endorse`), everything re-signed. */
async function rotate(endorse: boolean): Promise<Signer> {
  const next = await loadOrCreateKeyFile(join(reg.dir, `key-${Date.now()}-${Math.random()}.pem`));
  await publishSigningKey(reg.store, next, endorse ? { previous: current } : {});
  await rebuild(reg.store, { signer: next });
  current = next;
  return next;
}

describe('--json says what was verified', () => {
  it('pull, run --dry-run, install and update report the registry signature and the digest they checked', async () => {
    const pull = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64', '--json');
    expect(pull.code, pull.stderr).toBe(0);
    const verified = pull.json().verified;
    expect(verified).toEqual({
      sha256: pull.json().sha256,
      size: pull.json().size,
      registry_signature: { keyid: current.keyId, package_signed_at: expect.stringMatching(/^\d{4}-/) },
      attestation: null,
    });
    const text = await shelf('bundle', 'pull', '@acme/echo', '--os', 'linux', '--arch', 'x64', '-o', 'again.mcpb');
    expect(text.stdout).toContain(`signed by the registry (key ${current.keyId.slice(0, 16)})`);

    const run = await shelf('bundle', 'run', '@acme/echo', '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json().verified).toMatchObject({ registry_signature: { keyid: current.keyId } });

    const install = await shelf('skill', 'install', '@acme/release-notes', '--dir', join(work, 'skills'), '--json');
    expect(install.code, install.stderr).toBe(0);
    expect(install.json().verified).toMatchObject({ registry_signature: { keyid: current.keyId }, attestation: null });

    expect((await shelf('bundle', 'pull', '@acme/echo@1.0.0', '--cache')).code).toBe(0);
    expect((await announcePrepared(reg, await prepareBundle(reg, { version: '1.0.1' }))).status).toBe(201);
    const update = await shelf('bundle', 'update', '@acme/echo@^1', '--json');
    expect(update.code, update.stderr).toBe(0);
    expect(update.json().updated[0]).toMatchObject({ to: '1.0.1', verified: { registry_signature: { keyid: current.keyId } } });
  }, 60_000);
});

describe('keys pinned on first use', () => {
  it('are kept with the cache: the first read pins the listed keys, later reads verify against them', async () => {
    expect((await shelf('bundle', 'show', '@acme/echo', '--json')).code).toBe(0);
    expect(await pinnedKeys()).toEqual([current.keyId]);
  });

  it('a new key endorsed by the pinned one is trusted without asking, and pinned', async () => {
    expect((await shelf('bundle', 'show', '@acme/echo')).code).toBe(0);
    const next = await rotate(true);
    const pull = await shelf('bundle', 'pull', '@acme/echo', '--json');
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.json().verified.registry_signature.keyid).toBe(next.keyId);
    expect(await pinnedKeys()).toContain(next.keyId);
  });

  it('a key nobody trusted endorsed is refused (key_untrusted) until "shelf trust" re-pins, which says what changed', async () => {
    expect((await shelf('bundle', 'show', '@acme/echo')).code).toBe(0);
    const before = await pinnedKeys();
    const next = await rotate(false);
    for (const argv of [['bundle', 'show', '@acme/echo'], ['bundle', 'pull', '@acme/echo']]) {
      const r = await shelf(...argv);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error\[key_untrusted\]/);
    }
    expect(await pinnedKeys()).toEqual(before);

    const trust = await shelf('trust', '--json');
    expect(trust.code, trust.stderr).toBe(0);
    expect(trust.json()).toMatchObject({ registry: reg.url, signed: true, keys: expect.arrayContaining([expect.objectContaining({ keyid: next.keyId, new: true })]) });
    expect(await pinnedKeys()).toContain(next.keyId);
    const pull = await shelf('bundle', 'pull', '@acme/echo', '--json');
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.json().verified.registry_signature.keyid).toBe(next.keyId);
    expect((await shelf('trust')).stdout).toMatch(/^Pinned \d signing keys? of /);
  });

  it('a pin file that is not one is an error, not a fresh start', async () => {
    expect((await shelf('bundle', 'show', '@acme/echo')).code).toBe(0);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(pinFile(cacheDir, reg.url), '{"oops"');
    const r = await shelf('bundle', 'show', '@acme/echo');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error\[cache_unavailable\].*shelf trust/);
    expect((await shelf('trust')).code).toBe(0);
    expect((await shelf('bundle', 'show', '@acme/echo')).code).toBe(0);
  });
});
