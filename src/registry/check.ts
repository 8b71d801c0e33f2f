/**
 * The consistency checker: reports every derived file that disagrees with the records — missing,
 * or stale, with the entries (versions, packages, recent items, indexed documents) it lacks, has
 * in excess, or has out of date — and every file a takedown says must be gone. Statuses are
 * checked wherever they show: the version documents mirror the lifecycle records, and every
 * derived file is compared with what the records, statuses and tombstones included, give.
 *
 * A file's entries are those its producer lists (`derived-files.ts`); a kind's sharded search
 * index is compared through its root, whose entries are the packages of its catalog, and the
 * immutable files the records call for that the bucket lacks are listed as missing `file …` entries.
 *
 * Signatures are checked the same way: the rebuild runs with a stand-in for the registry's current
 * key (the first of `v1/keys.json`) that can tell a valid signature but cannot make one, so every
 * artifact statement or package document that is unsigned, signed by another key, or does not
 * match its signature is one the rebuild would (re-)sign: it is listed. So is an artifact
 * statement whose signature verifies with no listed key, which the rebuild leaves alone (it was
 * changed after signing: `signature os-arch`). A key list entry whose key id is not its key's
 * hash is listed too.
 *
 * It writes nothing. It runs the rebuild itself over a copy-on-write overlay of the store (`MemoryStore`
 * over it: reads fall through to the store, writes stay in memory), so "disagrees" means exactly "the rebuild
 * would write it", and the checker and the rebuild can never drift apart.
 *
 * @module
 */
import { KINDS, type Kind } from '../core/names.ts';
import { keysKey, shardedRootKey } from '../core/paths.ts';
import type { RegistryKey } from '../core/schemas.ts';
import { readKeyList } from '../signing/key-list.ts';
import { listedKeys } from '../signing/trust.ts';
import type { Signer } from '../signing/signer.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { ObjectStore } from '../store/object-store.ts';
import { PRODUCERS } from './derived-files.ts';
import { rebuild, type RebuildProgress } from './rebuild.ts';

/** Options of {@link check}. */
export interface CheckOptions {
  /** Only this kind's files (and the recent list). Default both kinds. */
  kind?: Kind;
  /** Called after each file, for a progress display. */
  onProgress?: (progress: RebuildProgress) => void;
}

/** One derived file that disagrees with the records. */
export interface CheckIssue {
  /** The file's key. */
  key: string;
  /**
   * `missing`: the records call for the file and there is none; `stale`: its content differs;
   * `removed`: the file must not exist (a file a takedown removed that is still in the bucket:
   * a removed version's artifact, README or document; or a file of the retired search layout).
   */
  problem: 'missing' | 'stale' | 'removed';
  /** Entries the records call for that the file lacks. */
  missing: string[];
  /** Entries the file has that the records do not. */
  extra: string[];
  /** Entries in both whose content differs. */
  outdated: string[];
}

/** What {@link check} found. */
export interface CheckReport {
  /** True when every derived file agrees with the records. */
  clean: boolean;
  /** How many derived files were compared. */
  checked: number;
  /** The files that disagree, by key. */
  issues: CheckIssue[];
}

/**
 * Compares every derived file with what the records give. Writes nothing.
 *
 * @throws TypeError for invalid options (naming the option)
 */
export async function check(store: ObjectStore, options: CheckOptions = {}): Promise<CheckReport> {
  const overlay = new MemoryStore({ over: store });
  const keys = await readKeyList(store);
  const current = keys?.keys[0];
  const result = await rebuild(overlay, {
    ...(options.kind ? { kind: options.kind } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(current ? { signer: verifyOnlySigner(current) } : {}),
  });
  const issues: CheckIssue[] = [];
  if (keys) {
    const valid = await listedKeys(keys);
    const broken = keys.keys.filter((k) => valid.get(k.keyid) !== k).map((k) => `key ${k.keyid.slice(0, 16)}`);
    if (broken.length > 0) issues.push({ key: keysKey(), problem: 'stale', missing: [], extra: [], outdated: broken });
  }
  for (const key of [...result.changed].sort()) {
    const sharded = shardedKind(key);
    const [stored, expected] = await Promise.all([store.get(key), overlay.get(key)]);
    // The producer's own entries (none for a file no producer owns: the config, a retired file).
    const producer = PRODUCERS.find((p) => p.owns(key));
    const [want, have] = producer ? await Promise.all([producer.entries(overlay, key), producer.entries(store, key)]) : [new Map<string, string>(), new Map<string, string>()];
    const issue: CheckIssue = {
      key,
      problem: !stored ? 'missing' : expected ? 'stale' : 'removed',
      missing: [...want.keys()].filter((id) => !have.has(id)),
      extra: [...have.keys()].filter((id) => !want.has(id)),
      outdated: [...want.keys()].filter((id) => have.has(id) && have.get(id) !== want.get(id)),
    };
    // A document that changed needs a new signature anyway: the signature is named only when it is all that differs.
    if (issue.missing.length + issue.extra.length + issue.outdated.length > 1) issue.outdated = issue.outdated.filter((e) => e !== 'signature');
    // The right generation, but immutable files of it that the bucket lacks (a stale generation
    // lists its outdated packages instead: every file of the expected one would be new).
    const sameRoot = stored && expected && Buffer.from(stored.body).equals(Buffer.from(expected.body));
    if (sharded && sameRoot) issue.missing.push(...overlay.written().filter((k) => k.startsWith(shardedPrefix(sharded))).map((k) => `file ${k}`));
    issues.push(issue);
  }
  // Statements changed after signing: the rebuild does not sign them again (restore the record).
  for (const { key, platform } of result.mismatched) {
    let issue = issues.find((i) => i.key === key);
    if (!issue) issues.push((issue = { key, problem: 'stale', missing: [], extra: [], outdated: [] }));
    issue.outdated.push(`signature ${platform}`);
  }
  issues.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { clean: issues.length === 0, checked: result.changed.length + result.unchanged.length, issues };
}

/**
 * The registry's current key as a signer that cannot sign: what it "signs" verifies for no key,
 * so anything the rebuild (re-)signs differs from what is stored, and is reported.
 */
function verifyOnlySigner(key: RegistryKey): Signer {
  return { keyId: key.keyid, algorithm: key.algorithm, publicKey: key.public_key, description: 'check (verify only)', sign: async () => 'A'.repeat(86) + '==' };
}

/** The kind whose sharded root `key` is, or null. */
function shardedKind(key: string): Kind | null {
  return KINDS.find((k) => shardedRootKey(k) === key) ?? null;
}

/** Where a kind's sharded files live (the folder of its root). */
function shardedPrefix(kind: Kind): string {
  return shardedRootKey(kind).replace(/root\.json$/, '');
}
