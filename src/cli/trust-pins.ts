/**
 * Where the CLI keeps what it pinned of each registry (Node only): beside its document cache, one
 * file per registry base URL.
 *
 * ```
 * trust/<sha256 of the base URL>.json   {"registry", "keys": {keyid: {public_key, pinned_at}}, "documents": {key: signed_at}}
 * ```
 *
 * A pin file that does not parse is an error (`cache_unavailable`), never a silent fresh start:
 * forgetting the pins would let whoever serves the registry next be trusted on first use again.
 * `shelf trust` replaces the file. Without a cache directory, pins live for one command only.
 *
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ShelfError } from '../core/errors.ts';
import { memoryPins, type PinnedState, type PinStore } from '../client/trust.ts';

/** The pin file of a registry. */
export function pinFile(cacheDir: string, registry: string): string {
  return join(cacheDir, 'trust', `${createHash('sha256').update(registry).digest('hex')}.json`);
}

/**
 * The pins of `registry` kept in `cacheDir` (in memory when there is no cache directory).
 *
 * @throws (from `load`) ShelfError `cache_unavailable` when the pin file exists but is not one
 */
export function filePins(cacheDir: string | null, registry: string): PinStore {
  if (cacheDir === null) return memoryPins();
  const file = pinFile(cacheDir, registry);
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
      const state = parsePins(text, registry);
      if (!state) {
        throw new ShelfError('cache_unavailable', `The pinned keys of ${registry} (${file}) are unreadable; run "shelf trust --registry ${registry}" to pin the registry's keys again.`);
      }
      return state;
    },
    async save(state) {
      await mkdir(join(cacheDir, 'trust'), { recursive: true });
      const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temp, `${JSON.stringify({ registry, ...state }, null, 2)}\n`, { mode: 0o644 });
        await rename(temp, file);
      } finally {
        await rm(temp, { force: true }).catch(() => {});
      }
    },
  };
}

function parsePins(text: string, registry: string): PinnedState | null {
  try {
    const value = JSON.parse(text) as { registry?: unknown; keys?: unknown; documents?: unknown } | null;
    if (!value || value.registry !== registry || !isRecord(value.keys) || !isRecord(value.documents)) return null;
    const keys: PinnedState['keys'] = {};
    for (const [id, key] of Object.entries(value.keys)) {
      if (!isRecord(key) || typeof key.public_key !== 'string' || typeof key.pinned_at !== 'string') return null;
      keys[id] = { public_key: key.public_key, pinned_at: key.pinned_at };
    }
    const documents: PinnedState['documents'] = {};
    for (const [key, at] of Object.entries(value.documents)) {
      if (typeof at !== 'string') return null;
      documents[key] = at;
    }
    return { keys, documents };
  } catch {
    return null;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
