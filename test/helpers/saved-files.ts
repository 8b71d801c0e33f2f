/**
 * Saved bytes of some files of a store, for tests that damage a bucket and expect a repair to
 * give back exactly what was there: save once, restore before each test, compare after.
 */
import { expect } from 'vitest';
import type { ObjectStore } from '../../src/store/object-store.ts';
import { parsePackageName, type PackageName, type Version } from '../../src/core/names.ts';
import { mcpPageKey, mcpVersionKey, mcpVersionsKey, skillsDiscoveryPackageKey, skillsDiscoveryScopeKey } from '../../src/core/paths.ts';

/** The files saved, by key. */
export type SavedFiles = Map<string, Uint8Array>;

/** Saves the current bytes of `keys` (each must exist). */
export async function saveFiles(store: ObjectStore, keys: Iterable<string>): Promise<SavedFiles> {
  const saved: SavedFiles = new Map();
  for (const key of keys) saved.set(key, (await store.get(key))!.body);
  return saved;
}

/** Puts every saved file back. */
export async function restoreFiles(store: ObjectStore, saved: SavedFiles): Promise<void> {
  for (const [key, body] of saved) await store.put(key, body, { contentType: 'application/json', cacheControl: 'public, max-age=60, must-revalidate' });
}

/**
 * Expects every saved file to hold its saved bytes again, but for a document signature's time and
 * signature bytes (ECDSA signatures are randomised, so a re-signed document is never the same
 * bytes): the same key must have signed it.
 */
export async function expectSavedBytes(store: ObjectStore, saved: SavedFiles): Promise<void> {
  for (const [key, body] of saved) expect(maskSignatures(Buffer.from((await store.get(key))!.body).toString()), key).toBe(maskSignatures(Buffer.from(body).toString()));
}

/** Text with every document signature's time and bytes masked (key ids are kept). */
export function maskSignatures(text: string): string {
  return text.replace(/"signed_at":"[^"]*","sig":"[^"]*"/g, '"signed_at":"(time)","sig":"(sig)"');
}

/** Every key under `prefix` with its ETag: compare before and after to prove nothing was written. */
export async function etagsOf(store: ObjectStore, prefix = 'v1/'): Promise<string[]> {
  return (await store.list(prefix)).map((o) => `${o.key} ${o.etag}`);
}

/**
 * The files of the read APIs of other clients that the registry of `rebuild*.test.ts` derives:
 * the MCP registry API's files of its two bundles (`@acme/alpha` and `@globex/gamma` in the
 * versions given: one page per listing) and the discovery indexes of its skill.
 */
export function interopKeysOfRebuildRegistry(versions: { alpha: string[]; gamma: string[] } = { alpha: ['1.0.0', '1.1.0'], gamma: ['2.0.0', '2.1.0-beta.1'] }): string[] {
  const alpha = parsePackageName('@acme/alpha');
  const gamma = parsePackageName('@globex/gamma');
  const server = (pkg: PackageName, versions: string[]) => [mcpVersionsKey(pkg), ...[...versions, 'latest'].map((v) => mcpVersionKey(pkg, v as Version))];
  return [
    mcpPageKey('all', 0),
    mcpPageKey('latest', 0),
    ...server(alpha, versions.alpha),
    ...server(gamma, versions.gamma),
    skillsDiscoveryScopeKey('acme'),
    skillsDiscoveryPackageKey(parsePackageName('@acme/release-notes')),
  ];
}
