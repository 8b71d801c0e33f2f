/**
 * Seeds a development registry with the packages in `examples/`, through the real announce
 * path: each artifact is packed with the official packer, put into the development release
 * source, and announced over HTTP with a token from the development issuer, exactly as a
 * publishing workflow would.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listExamples, packBundle, packSkill, type ExampleDescriptor } from './pack.ts';
import type { DevServices } from './dev-services.ts';

/** One announce the seed made. */
export interface SeededArtifact {
  name: string;
  version: string;
  platform: string;
  status: number;
}

/** A stable numeric id for a name, like GitHub's numeric owner and repository ids. */
export function devId(name: string): string {
  return String(parseInt(createHash('sha256').update(name).digest('hex').slice(0, 8), 16));
}

/** Packs and announces every example; throws if any announce is refused. */
export async function seedExamples(baseUrl: string, dev: DevServices, audience: string, examples: ExampleDescriptor[] = listExamples()): Promise<SeededArtifact[]> {
  const work = await mkdtemp(join(tmpdir(), 'shelf-seed-'));
  const seeded: SeededArtifact[] = [];
  try {
    for (const ex of examples) {
      const tag = `v${ex.version}`;
      for (const platform of ex.platforms) {
        // One token per announce, as in GitHub Actions: a token can announce one artifact only.
        const token = await dev.mintToken(
          {
            repository: ex.repository,
            repository_id: devId(ex.repository),
            repository_owner: ex.owner,
            repository_owner_id: devId(ex.owner),
          },
          audience,
        );
        const unscoped = ex.name.split('/')[1]!;
        const filename = ex.kind === 'bundle' ? `${unscoped}-${ex.version}-${platform.os}-${platform.arch}.mcpb` : `${unscoped}-${ex.version}.skill`;
        const file = join(work, filename);
        const packed = ex.kind === 'bundle' ? await packBundle(ex.dir, file, { os: platform.os }) : await packSkill(ex.dir, file);
        dev.addAsset(ex.repository, tag, { name: filename, bytes: await readFile(file) });
        const artifact = { filename, sha256: packed.sha256, size: packed.size };
        const body =
          ex.kind === 'bundle'
            ? { name: ex.name, version: ex.version, manifest: (packed as { manifest: unknown }).manifest, release_tag: tag, prerelease: false, artifact: { ...artifact, ...platform } }
            : { name: ex.name, version: ex.version, skill: (packed as { frontMatter: unknown }).frontMatter, release_tag: tag, prerelease: false, artifact };
        const res = await fetch(`${baseUrl}/v1/${ex.kind}s/announce`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`Seeding ${ex.name}@${ex.version} (${platform.os}-${platform.arch}) was refused: ${res.status} ${text}`);
        seeded.push({ name: ex.name, version: ex.version, platform: `${platform.os}-${platform.arch}`, status: res.status });
      }
    }
    return seeded;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
