/**
 * One real announce, ready to hand to the handler: a small real `.mcpb` (a zip with the
 * manifest and a server file) put in the fake GitHub release of the package's repository, a
 * token minted for that repository, and the function-URL event (payload 2.0) that announces it.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { zipSync } from 'fflate';
import type { FunctionUrlEvent } from '../../src/announce/handler.ts';
import type { FakeGitHub } from '../../test/fakes/fake-github.ts';
import type { PlannedAnnounce } from '../announce-plan.ts';

/** Prepares the release asset and token, and returns the event. */
export async function prepareAnnounceEvent(github: FakeGitHub, p: PlannedAnnounce, requestId = 'bench'): Promise<FunctionUrlEvent> {
  const platform = `${p.os}-${p.arch}`;
  const filename = `${p.short}-${p.version}-${platform}.mcpb`;
  const entry = String((p.manifest.server as { entry_point?: unknown } | undefined)?.entry_point ?? 'server/index.js');
  const encoder = new TextEncoder();
  const bytes = zipSync(
    {
      'manifest.json': encoder.encode(JSON.stringify(p.manifest, null, 2)),
      [entry]: encoder.encode(`// ${p.name}@${p.version} ${platform}\n${'process.stdout.write("{}\\n");\n'.repeat(150)}`),
    },
    { level: 6, mtime: new Date('2025-01-01T00:00:00Z') },
  );
  const tag = `v${p.version}`;
  github.addAsset(p.repository, tag, filename, { bytes });
  const token = await github.mint({
    repository: p.repository,
    repository_id: p.repositoryId,
    repository_owner: p.owner,
    repository_owner_id: p.ownerId,
  });
  const body = {
    name: p.name,
    version: p.version,
    manifest: p.manifest,
    release_tag: tag,
    prerelease: false,
    artifact: { filename, os: p.os, arch: p.arch, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.byteLength },
  };
  return {
    version: '2.0',
    rawPath: '/v1/bundles/announce',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', path: '/v1/bundles/announce' }, requestId },
  };
}
