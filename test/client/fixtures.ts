/**
 * A hand-built registry folder for client tests: two bundles, one skill, their sharded search
 * indexes (written by the real builder) and random artifacts with their real sha256. Every document is parsed with its zod schema
 * before it is written, so the fixtures cannot drift from the schemas.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { z } from 'zod';
import { parsePackageName, parseVersion, type Arch, type Kind, type Os } from '../../src/core/names.ts';
import { artifactKey, configKey, packageKey, recentKey, shardedRootKey, versionKey } from '../../src/core/paths.ts';
import {
  ConfigDocumentSchema,
  PackageDocumentSchema,
  PackageSummarySchema,
  VersionDocumentSchema,
  type Artifact,
  type PackageDocument,
  type PackageSummary,
  type Provenance,
  type VersionDocument,
} from '../../src/core/schemas.ts';
import { rebuildToStore } from '../../src/search/write/publish.ts';
import { FsStore } from '../../src/store/fs-store.ts';

interface VersionSpec {
  version: string;
  published_at: string;
  platforms: Array<[Os, Arch]>;
}

interface PackageSpec {
  kind: Kind;
  name: string;
  display_name?: string;
  description: string;
  server_type?: string;
  keywords: string[];
  tools: Array<{ name: string; description?: string }>;
  repository: string;
  created_at: string;
  updated_at: string;
  /** Highest first. */
  versions: VersionSpec[];
}

/** The packages in the fixture registry. */
export const PACKAGES: PackageSpec[] = [
  {
    kind: 'bundle',
    name: '@acme/echo',
    display_name: 'Echo',
    description: 'Echoes text back, straight or reversed.',
    server_type: 'node',
    keywords: ['echo', 'text', 'demo'],
    tools: [
      { name: 'echo', description: 'Returns the given text unchanged.' },
      { name: 'reverse', description: 'Returns the given text reversed.' },
    ],
    repository: 'acme/echo-mcp',
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-03-01T00:00:00.000Z',
    versions: [
      { version: '2.0.0-beta.1', published_at: '2024-03-01T00:00:00.000Z', platforms: [['linux', 'x64']] },
      {
        version: '1.2.0',
        published_at: '2024-02-01T00:00:00.000Z',
        platforms: [
          ['any', 'any'],
          ['linux', 'any'],
          ['linux', 'x64'],
        ],
      },
      { version: '1.0.0', published_at: '2024-01-01T00:00:00.000Z', platforms: [['any', 'any']] },
    ],
  },
  {
    kind: 'bundle',
    name: '@acme/weather',
    display_name: 'Weather',
    description: 'Forecasts and current conditions for any city.',
    server_type: 'python',
    keywords: ['forecast', 'climate'],
    tools: [{ name: 'get_forecast', description: 'Forecast for a city.' }, { name: 'get_alerts' }],
    repository: 'acme/weather-mcp',
    created_at: '2024-04-01T00:00:00.000Z',
    updated_at: '2024-05-01T00:00:00.000Z',
    versions: [
      {
        version: '0.3.0',
        published_at: '2024-05-01T00:00:00.000Z',
        platforms: [
          ['darwin', 'arm64'],
          ['win32', 'x64'],
        ],
      },
      { version: '0.2.0', published_at: '2024-04-01T00:00:00.000Z', platforms: [['darwin', 'arm64']] },
    ],
  },
  {
    kind: 'skill',
    name: '@tools/release-notes',
    description: 'Writes release notes from a git log.',
    keywords: ['git', 'changelog'],
    tools: [],
    repository: 'tools/skills',
    created_at: '2024-02-01T00:00:00.000Z',
    updated_at: '2024-02-01T00:00:00.000Z',
    versions: [{ version: '1.0.0', published_at: '2024-02-01T00:00:00.000Z', platforms: [['any', 'any']] }],
  },
];

/** A written artifact. */
export interface FixtureArtifact {
  key: string;
  bytes: Buffer;
  sha256: string;
}

/** What {@link buildRegistry} wrote. */
export interface Fixture {
  root: string;
  /** Artifacts by `@scope/name@version/os-arch`. */
  artifacts: Map<string, FixtureArtifact>;
  packages: Map<string, PackageDocument>;
  versions: Map<string, VersionDocument>;
  /** Package summaries by kind, as indexed. */
  summaries: Record<Kind, PackageSummary[]>;
}

/** Commit sha used in every provenance. */
export const SHA = '0123456789abcdef0123456789abcdef01234567';

async function writeDoc<S extends z.ZodType>(root: string, key: string, schema: S, value: z.input<S>): Promise<void> {
  schema.parse(value); // throws on drift
  await writeRaw(root, key, JSON.stringify(value, null, 2));
}

/** Writes a file under the registry root, creating folders. */
export async function writeRaw(root: string, key: string, body: string | Uint8Array): Promise<void> {
  const file = join(root, key);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, body);
}

function provenance(repository: string, version: string): Provenance {
  const owner = repository.split('/')[0]!;
  return {
    provider: 'github-actions',
    verified: true,
    issuer: 'https://token.actions.githubusercontent.com',
    repository,
    repository_id: '1001',
    owner,
    owner_id: '42',
    workflow_ref: `${repository}/.github/workflows/release.yml@refs/tags/v${version}`,
    sha: SHA,
    ref: `refs/tags/v${version}`,
    event_name: 'release',
    run_id: '987654',
    run_attempt: '1',
    issued_at: '2024-01-01T00:00:00.000Z',
  };
}

/** Writes the whole fixture registry under `root`. */
export async function buildRegistry(root: string): Promise<Fixture> {
  const summaries: Record<Kind, PackageSummary[]> = { bundle: [], skill: [] };
  const fixture: Fixture = { root, artifacts: new Map(), packages: new Map(), versions: new Map(), summaries };
  await writeDoc(root, configKey(), ConfigDocumentSchema, {
    schema_version: 1,
    registry: 'shelf',
    announce: { bundles: 'http://127.0.0.1/v1/bundles/announce', skills: 'http://127.0.0.1/v1/skills/announce' },
    audience: 'shelf',
    oidc_issuer: 'https://token.actions.githubusercontent.com',
    search: { layout: 'sharded', bundles: shardedRootKey('bundle'), skills: shardedRootKey('skill') },
    catalog: { recent: recentKey() },
    layout: {
      package: 'v1/{kind}/@{scope}/{name}.json',
      version: 'v1/{kind}/@{scope}/{name}/versions/{version}.json',
      scope: 'v1/scopes/@{scope}.json',
    },
  });

  let n = 0;
  for (const spec of PACKAGES) {
    const name = parsePackageName(spec.name);
    const release = spec.versions.find((v) => !v.version.includes('-'));
    const versionSummaries: PackageDocument['versions'] = [];
    for (const v of spec.versions) {
      const version = parseVersion(v.version);
      const artifacts: Artifact[] = [];
      for (const [os, arch] of v.platforms) {
        const bytes = randomBytes(2000 + 37 * n++);
        const key = artifactKey(spec.kind, name, version, { os, arch });
        const sha256 = createHash('sha256').update(bytes).digest('hex');
        await writeRaw(root, key, bytes);
        fixture.artifacts.set(`${spec.name}@${v.version}/${os}-${arch}`, { key, bytes, sha256 });
        artifacts.push({
          os,
          arch,
          filename: `${name.name}-${v.version}-${os}-${arch}${spec.kind === 'bundle' ? '.mcpb' : '.skill'}`,
          sha256,
          size: bytes.length,
          path: key,
          source_url: `https://github.com/${spec.repository}/releases/download/v${v.version}/x`,
          published_at: v.published_at,
          provenance: provenance(spec.repository, v.version),
        });
      }
      const doc: VersionDocument = {
        schema_version: 1,
        kind: spec.kind,
        name: spec.name,
        version: v.version,
        prerelease: v.version.includes('-'),
        published_at: v.published_at,
        updated_at: v.published_at,
        ...(spec.kind === 'bundle'
          ? { manifest: { name: spec.name, version: v.version, description: spec.description } }
          : { skill: { name: name.name, description: spec.description } }),
        release: { tag: `v${v.version}`, url: `https://github.com/${spec.repository}/releases/tag/v${v.version}` },
        artifacts,
        status: 'active',
      };
      await writeDoc(root, versionKey(spec.kind, name, version), VersionDocumentSchema, doc);
      fixture.versions.set(`${spec.name}@${v.version}`, doc);
      versionSummaries.push({
        version: v.version,
        prerelease: doc.prerelease,
        published_at: v.published_at,
        platforms: v.platforms.map(([os, arch]) => ({ os, arch })),
        path: versionKey(spec.kind, name, version),
        status: 'active',
      });
    }
    const pkg: PackageDocument = {
      schema_version: 1,
      kind: spec.kind,
      name: spec.name,
      scope: name.scope,
      ...(spec.display_name ? { display_name: spec.display_name } : {}),
      description: spec.description,
      author: { name: 'Acme Corp', email: 'mcp@acme.example' },
      license: 'MIT',
      homepage: `https://github.com/${spec.repository}`,
      keywords: spec.keywords,
      ...(spec.server_type ? { server_type: spec.server_type } : {}),
      tools: spec.tools,
      prompts: [],
      latest: release?.version ?? null,
      repository: { name: spec.repository, id: '1001' },
      created_at: spec.created_at,
      updated_at: spec.updated_at,
      versions: versionSummaries,
      status: 'active',
    };
    await writeDoc(root, packageKey(spec.kind, name), PackageDocumentSchema, pkg);
    fixture.packages.set(spec.name, pkg);

    const newest = spec.versions[0]!;
    const summary: PackageSummary = {
      kind: spec.kind,
      name: spec.name,
      ...(spec.display_name ? { display_name: spec.display_name } : {}),
      description: spec.description,
      latest: pkg.latest,
      newest: newest.version,
      ...(spec.server_type ? { server_type: spec.server_type } : {}),
      platforms: newest.platforms.map(([os, arch]) => `${os}-${arch}`),
      tools: spec.tools.map((t) => t.name),
      keywords: spec.keywords,
      author: 'Acme Corp',
      published_at: spec.created_at,
      updated_at: spec.updated_at,
      verified: true,
    };
    PackageSummarySchema.parse(summary);
    summaries[spec.kind].push(summary);
  }

  const store = new FsStore(root, { durable: false });
  for (const kind of ['bundle', 'skill'] as const) await rebuildToStore(store, kind, summaries[kind]);
  return fixture;
}
