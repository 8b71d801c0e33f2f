/**
 * The first announces of two platforms of one new version, whose manifests disagree, racing.
 * Sequentially the second is refused (422 `asset_metadata_mismatch`: the artifacts of one version
 * may differ only in `compatibility.platforms`). Concurrently both pass the inspection while the
 * version records no artifact; each interleaving after that is forced (one writer held at its
 * swap of the version record, or before it), and the outcome is always a sequential one: the first
 * recorded wins (201), the other gets the very refusal it would get after it, and the version
 * records one manifest and only the winner's platform. On the filesystem store and the S3 store.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announce, type AnnounceDeps } from '../../src/announce/announce.ts';
import { isShelfError } from '../../src/core/errors.ts';
import { parsePackageName, type Platform } from '../../src/core/names.ts';
import { artifactKey, packageKey, versionKey } from '../../src/core/paths.ts';
import { PackageDocumentSchema, VersionDocumentSchema } from '../../src/core/schemas.ts';
import { check } from '../../src/registry/check.ts';
import { readJson } from '../../src/store/json-documents.ts';
import type { S3Store } from '../../src/store/s3-store.ts';
import { Pause, pausingStore } from '../helpers/pause.ts';
import { startS3Server, type TestS3Server } from '../helpers/s3-server.ts';
import { claimsFor, prepareBundle, startTestRegistry, type PreparedArtifact, type TestRegistry } from '../helpers/test-registry.ts';

const MATRIX = parsePackageName('@acme/matrix');
const OWNER = claimsFor('acme/matrix-mcp');
/** One version per scenario: the sequential control, then each forced interleaving. */
const VERSIONS = ['1.0.0', '2.0.0', '3.0.0', '4.0.0'] as const;
type Build = { linux: PreparedArtifact; darwin: PreparedArtifact };

let packer: TestRegistry;
let s3: TestS3Server | undefined;
/**
 * Per version, a linux-x64 build of the sysinfo sources and a darwin-arm64 build of the echo
 * sources, both named @acme/matrix: a CI matrix whose jobs packed different manifests.
 */
const builds = {} as Record<(typeof VERSIONS)[number], Build>;

beforeAll(async () => {
  packer = await startTestRegistry();
  const pack = (example: string, version: string, os: 'linux' | 'darwin', arch: 'x64' | 'arm64') =>
    prepareBundle(packer, { example, name: MATRIX.full, version, os, arch, upload: false });
  // Two packers at a time: packing is CPU-bound and the machine is shared.
  for (const version of VERSIONS) {
    const [linux, darwin] = await Promise.all([pack('@acme/sysinfo', version, 'linux', 'x64'), pack('@acme/echo', version, 'darwin', 'arm64')]);
    builds[version] = { linux, darwin };
  }
}, 120_000);

afterAll(async () => {
  await packer?.close();
  await s3?.close();
});

const platformOf = (a: PreparedArtifact): Platform => ({ os: a.body.artifact.os, arch: a.body.artifact.arch });

describe.each([
  ['filesystem store', () => undefined],
  ['S3 store', () => s3!.makeStore(`platforms-${randomUUID()}/`)],
] as Array<[string, () => S3Store | undefined]>)('first announces of two platforms whose manifests disagree, on the %s', (_label, makeStore) => {
  let reg: TestRegistry;
  /** The registry's own pipeline dependencies, for runs held at a step or a write. */
  let deps: AnnounceDeps;
  /** What the second platform gets when announced after the first: status, code and details. */
  let sequential: { status: number; code: string; details: unknown };

  beforeAll(async () => {
    s3 ??= await startS3Server();
    const store = makeStore();
    reg = await startTestRegistry({ ...(store ? { store } : {}), wrapDeps: (d) => (deps = d) });
    for (const { linux, darwin } of Object.values(builds)) for (const a of [linux, darwin]) reg.github.addAsset(a.repository, a.tag, a.filename, { bytes: a.bytes });
  }, 60_000);
  afterAll(async () => {
    await reg?.close();
  });

  /** An announce with its own token, through `store` (default the registry's) and with `afterStep`. */
  const announceBuild = async (a: PreparedArtifact, options: Partial<Pick<AnnounceDeps, 'store' | 'afterStep'>> = {}) =>
    announce('bundle', `Bearer ${await reg.github.mint(OWNER)}`, a.body, { ...deps, ...options });
  /** The registry's store, holding the swap of the version record that adds `a` (after it read the record). */
  const holdingSwapOf = (a: PreparedArtifact, pause: Pause) =>
    pausingStore(deps.store, (key, body) => key === versionKey('bundle', MATRIX, a.body.version) && Buffer.from(body).toString().includes(a.sha256), pause);
  /** The refusal an announce ended with. */
  const refusal = async (announcing: Promise<unknown>) => {
    const err = await announcing.then(
      (result) => new Error(`expected a refusal, got ${JSON.stringify(result)}`),
      (e: unknown) => e,
    );
    if (!isShelfError(err)) throw err;
    return { status: err.status, code: err.code, details: err.details };
  };
  /** The version records the winner alone, with its manifest; the package lists that platform; nothing is stale. */
  const expectWon = async (winner: PreparedArtifact, loser: PreparedArtifact) => {
    const version = winner.body.version as string;
    const record = (await readJson(reg.store, versionKey('bundle', MATRIX, version as never), VersionDocumentSchema))!.value;
    expect(record.artifacts.map((a) => ({ os: a.os, arch: a.arch, sha256: a.sha256 }))).toEqual([{ ...platformOf(winner), sha256: winner.sha256 }]);
    expect(record.manifest).toEqual(winner.body.manifest);
    const entry = (await readJson(reg.store, packageKey('bundle', MATRIX), PackageDocumentSchema))!.value.versions.find((v) => v.version === version)!;
    expect(entry.platforms).toEqual([platformOf(winner)]);
    // The loser's bytes stay where step 8 put them (create-only), as a yank's loser leaves its
    // artifact: no record names them, so no reader is sent there.
    expect(await reg.store.head(artifactKey('bundle', MATRIX, version as never, platformOf(loser)))).not.toBeNull();
    expect((await check(reg.store)).clean).toBe(true);
  };

  it('one after the other, the second platform is refused: 422 asset_metadata_mismatch', async () => {
    const { linux, darwin } = builds['1.0.0'];
    expect((await announceBuild(linux)).statusCode).toBe(201);
    sequential = await refusal(announceBuild(darwin));
    expect(sequential).toMatchObject({ status: 422, code: 'asset_metadata_mismatch', details: { field: expect.any(String) } });
  });

  it.each([
    ['2.0.0', 'linux', 'darwin'],
    ['3.0.0', 'darwin', 'linux'],
  ] as const)("%s: both read no record and hold their swaps; %s swaps first, %s loses the swap and its retry on the winner's record is refused as sequentially", async (version, first, second) => {
    const build = builds[version];
    const swaps = { linux: new Pause(), darwin: new Pause() };
    const linux = announceBuild(build.linux, { store: holdingSwapOf(build.linux, swaps.linux) });
    await swaps.linux.reached;
    const darwin = announceBuild(build.darwin, { store: holdingSwapOf(build.darwin, swaps.darwin) });
    await swaps.darwin.reached; // both passed the inspection and read the version: no artifact recorded
    const announcing = { linux, darwin };
    swaps[first].release();
    expect((await announcing[first]).statusCode).toBe(201);
    swaps[second].release();
    // The first field where the two manifests differ is the same in either order.
    expect(await refusal(announcing[second])).toEqual(sequential);
    await expectWon(build[first], build[second]);
  });

  it('darwin passes the inspection before linux is recorded, and reads the linux record at its swap: refused as sequentially', async () => {
    const { linux, darwin } = builds['4.0.0'];
    const inspected = new Pause();
    // Held after its artifact and README are written, before the version step reads the record.
    const darwinAnnouncing = announceBuild(darwin, { afterStep: (step) => (step === 'readme' ? inspected.wait() : undefined) });
    await inspected.reached;
    expect((await announceBuild(linux)).statusCode).toBe(201);
    inspected.release();
    expect(await refusal(darwinAnnouncing)).toEqual(sequential);
    await expectWon(linux, darwin);
  });
});
