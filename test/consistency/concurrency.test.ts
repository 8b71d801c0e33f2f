/**
 * A burst of releases loses nothing: 70 announces at once (60 distinct artifacts of 6 packages in
 * 3 scopes, 5 versions and 2 platforms each, plus 10 CI retries of the same artifacts) through the
 * HTTP handler, against the filesystem store and against the S3 store (s3rver behind the
 * conditional-write proxy). Afterwards every version and artifact is in its version document,
 * its package document, the sharded catalog and search index, and the recent list, once; `latest` is
 * right; the checker finds nothing to repair and a rebuild writes nothing. `shelf gc` runs in a
 * loop all along, and deletes nothing any root reaches.
 *
 * And when compare-and-swap retries run out, the announce answers 503 `write_contention`, and
 * what it wrote is repaired by the next announce.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePackageName, platformId, type Arch, type Os } from '../../src/core/names.ts';
import { packageKey, recentKey, scopeKey, versionKey } from '../../src/core/paths.ts';
import { RegistryClient } from '../../src/client/registry-client.ts';
import { readShardedCatalog, readShardedRoot } from '../../src/search/write/publish.ts';
import {
  PackageDocumentSchema,
  RecentDocumentSchema,
  ScopeDocumentSchema,
  VersionDocumentSchema,
} from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { gc } from '../../src/registry/gc.ts';
import { rebuild } from '../../src/registry/rebuild.ts';
import { FsStore } from '../../src/store/fs-store.ts';
import { readJson } from '../../src/store/json-documents.ts';
import { PreconditionFailedError, type ObjectStore, type PutOptions } from '../../src/store/object-store.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { announcePrepared, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';

const PACKAGES = ['@acme/alpha', '@acme/beta', '@globex/gamma', '@globex/delta', '@initech/epsilon', '@initech/zeta'];
const EXAMPLES = ['@acme/echo', '@acme/sysinfo', '@globex/weather'];
/** Semver order differs from both string order and announce order; the prerelease is highest. */
const VERSIONS = ['1.0.0', '1.2.0', '1.10.0', '0.9.0', '2.0.0-rc.1'];
const LATEST = '1.10.0';
const PLATFORMS: Array<{ os: Os; arch: Arch }> = [
  { os: 'linux', arch: 'x64' },
  { os: 'darwin', arch: 'arm64' },
];

let packer: TestRegistry;
let s3: TestS3Server;
/** Packed once (zips are not reproducible), uploaded to each registry's fake release. */
const artifacts: PreparedArtifact[] = [];

beforeAll(async () => {
  [packer, s3] = await Promise.all([startTestRegistry(), startS3Server()]);
  const jobs = PACKAGES.flatMap((name, i) =>
    VERSIONS.flatMap((version) =>
      PLATFORMS.map((p) => () => prepareBundle(packer, { example: EXAMPLES[i % EXAMPLES.length]!, name, version, ...p, prerelease: version.includes('-') })),
    ),
  );
  // Two packers at a time: packing is CPU-bound and the machine is shared.
  for (let i = 0; i < jobs.length; i += 2) artifacts.push(...(await Promise.all(jobs.slice(i, i + 2).map((job) => job()))));
}, 120_000);

afterAll(async () => {
  await packer?.close();
  await s3?.close();
});

const stores: Array<[string, () => ObjectStore | undefined]> = [
  ['filesystem store', () => undefined], // the test registry's own folder
  ['S3 store', () => s3.makeStore(`burst-${randomUUID()}/`)],
];

describe.each(stores)('70 concurrent announces on the %s', (_label, makeStore) => {
  let reg: TestRegistry;
  beforeAll(async () => {
    const store = makeStore();
    reg = await startTestRegistry(store ? { store } : {});
    for (const a of artifacts) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
  });
  afterAll(async () => {
    await reg?.close();
  });

  it('records every version and artifact exactly once, everywhere, with the right latest', { timeout: 120_000 }, async () => {
    // Every artifact once, plus a CI retry of every sixth one racing its original.
    const burst = [...artifacts, ...artifacts.filter((_, i) => i % 6 === 0)];
    // `shelf gc` runs over and over meanwhile, with no grace period: it may delete any file no
    // root reaches that is older than its writer window, which is longer than any one attempt
    // of these announces takes from reading the root to committing.
    let bursting = true;
    const collector = (async () => {
      const runs: number[] = [];
      while (bursting || runs.length === 0) runs.push((await gc(reg.store, { graceMs: 0, writerWindowMs: 5_000 })).freed.files);
      return runs;
    })();
    const results = await Promise.all(burst.map((a) => announcePrepared(reg, a)));
    bursting = false;
    expect((await collector).length).toBeGreaterThan(0);
    for (const r of results) expect([200, 201], JSON.stringify(r.json)).toContain(r.status);
    // Exactly one announce of each artifact created it; its racing retry was "unchanged".
    const created = results.filter((r) => r.status === 201).map((r) => `${r.json.package}@${r.json.version} ${r.json.artifact.os}-${r.json.artifact.arch}`);
    expect(created).toHaveLength(artifacts.length);
    expect(new Set(created).size).toBe(artifacts.length);
    expect(results.filter((r) => r.status === 200).every((r) => r.json.status === 'unchanged')).toBe(true);

    const { store } = reg;
    const expectedPlatforms = PLATFORMS.map(platformId).sort();
    for (const full of PACKAGES) {
      const pkg = parsePackageName(full);
      const doc = (await readJson(store, packageKey('bundle', pkg), PackageDocumentSchema))!.value;
      expect(doc.latest, full).toBe(LATEST);
      expect(doc.versions.map((v) => v.version)).toEqual(['2.0.0-rc.1', '1.10.0', '1.2.0', '1.0.0', '0.9.0']);
      for (const v of doc.versions) {
        expect(v.platforms.map(platformId).sort(), `${full}@${v.version}`).toEqual(expectedPlatforms);
        const record = (await readJson(store, versionKey('bundle', pkg, v.version as never), VersionDocumentSchema))!.value;
        expect(record.artifacts.map(platformId).sort()).toEqual(expectedPlatforms);
        for (const a of record.artifacts) {
          const sent = artifacts.find((x) => x.body.name === full && x.body.version === v.version && x.body.artifact.os === a.os)!;
          expect(a.sha256).toBe(sent.sha256);
          expect((await store.head(a.path))!.size).toBe(sent.size);
        }
      }
    }
    for (const scope of ['acme', 'globex', 'initech']) {
      const doc = (await readJson(store, scopeKey(scope), ScopeDocumentSchema))!.value;
      expect(doc.packages.map((p) => p.name)).toEqual(PACKAGES.filter((n) => n.startsWith(`@${scope}/`)).sort());
    }

    // The sharded index (the default layout): one root, whose catalog lists every package with
    // its latest, and whose search finds each by name through the shared client.
    const root = (await readShardedRoot(store, 'bundle'))!.root;
    expect(root.search.document_count).toBe(PACKAGES.length);
    const catalog = await readShardedCatalog(store, 'bundle', root);
    expect(catalog.map((p) => p.name)).toEqual([...PACKAGES].sort());
    for (const p of catalog) expect([p.latest, p.newest]).toEqual([LATEST, '2.0.0-rc.1']);
    const client = new RegistryClient({ baseUrl: reg.url });
    for (const full of PACKAGES) {
      const hits = (await client.search('bundle', full.split('/')[1]!)).map((h) => h.name);
      expect(hits, full).toContain(full);
    }

    const recent = (await readJson(store, recentKey(), RecentDocumentSchema))!.value;
    const entries = recent.entries.map((e) => `${e.name}@${e.version}`);
    expect(entries).toHaveLength(PACKAGES.length * VERSIONS.length);
    expect(new Set(entries)).toEqual(new Set(PACKAGES.flatMap((n) => VERSIONS.map((v) => `${n}@${v}`))));

    // The checker agrees (a file the root reaches that the collector deleted would be listed), and a rebuild has nothing to change.
    expect(await check(store)).toMatchObject({ clean: true, issues: [] });
    expect((await rebuild(store)).changed).toEqual([]);

    // With the announces done, the collector leaves exactly what the roots reach.
    const final = await gc(store, { graceMs: 0, writerWindowMs: 0 });
    expect(final.kinds.flatMap((k) => k.broken)).toEqual([]);
    expect(final.kinds.find((k) => k.kind === 'bundle')!.pending.files).toBe(0);
    expect(await check(store)).toMatchObject({ clean: true, issues: [] });
  });
});

/** A store whose compare-and-swap writes always lose, while `losing` is set. */
class LosingStore implements ObjectStore {
  losing = false;
  constructor(readonly inner: ObjectStore) {}
  get description() {
    return `losing ${this.inner.description}`;
  }
  get(key: string) {
    return this.inner.get(key);
  }
  head(key: string) {
    return this.inner.head(key);
  }
  list(prefix: string) {
    return this.inner.list(prefix);
  }
  delete(key: string) {
    return this.inner.delete(key);
  }
  async put(key: string, body: Uint8Array, options: PutOptions) {
    if (this.losing && options.ifMatch !== undefined) throw new PreconditionFailedError(key, 'if-match');
    return this.inner.put(key, body, options);
  }
}

describe('when compare-and-swap retries run out', () => {
  it('answers 503 write_contention, and the next announce repairs what it left', { timeout: 60_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shelf-losing-'));
    const store = new LosingStore(new FsStore(dir));
    const reg = await startTestRegistry({ store });
    try {
      const [v1, v2] = artifacts.filter((a) => a.body.name === '@acme/alpha' && a.body.artifact.os === 'linux');
      for (const a of [v1!, v2!]) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
      expect((await announcePrepared(reg, v1!)).status).toBe(201);

      store.losing = true;
      const lost = await announcePrepared(reg, v2!);
      expect(lost.status).toBe(503);
      expect(lost.json.error.code).toBe('write_contention');
      // The record is in; the package document (and what derives from it) is stale, and the checker says so.
      const pkg = parsePackageName('@acme/alpha');
      expect(await store.head(versionKey('bundle', pkg, v2!.body.version))).not.toBeNull();
      const report = await check(store);
      expect(report.clean).toBe(false);
      const stalePackage = report.issues.find((i) => i.key === packageKey('bundle', pkg));
      expect(stalePackage).toMatchObject({ problem: 'stale', missing: [v2!.body.version] });

      // The publisher's retry (the same artifact) is answered "unchanged" and repairs everything.
      store.losing = false;
      const retry = await announcePrepared(reg, v2!);
      expect(retry.status).toBe(200);
      expect(retry.json.status).toBe('unchanged');
      expect(await check(store)).toMatchObject({ clean: true });
      const doc = (await readJson(store, packageKey('bundle', pkg), PackageDocumentSchema))!.value;
      expect(doc.versions.map((v) => v.version).sort()).toEqual([v1!.body.version, v2!.body.version].sort());
    } finally {
      await reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
