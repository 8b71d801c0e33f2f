/**
 * The registry checker. It writes nothing, and fails loudly rather than give a false all-clear:
 *
 * 1. **store**: nothing under `v1/` (no folder, an empty bucket, the wrong prefix) is `no_registry`.
 * 2. **config and pages**: `v1/config.json`, the web pages and every asset they load.
 * 3. **records**: every version document parses, and every file it records (artifact, a skill's
 *    archive for the skills CLI, a Sigstore attestation) is in the bucket with its size (and, with
 *    `artifacts: 'sha256'`, its sha256); only restoring the object repairs these. A version taken
 *    down is not checked: its files must be gone (step 4).
 * 4. **derived files**: the rebuild runs over a copy-on-write overlay of the store (`MemoryStore`),
 *    so "disagrees" means exactly "the rebuild would write it", and the two never drift apart. Each
 *    file it would write or delete is listed with the entries (as its producer in `derived-files.ts`
 *    lists them) it lacks, has in excess or has out of date; a sharded index through its root (its
 *    catalog's packages) and the files of its generation the bucket lacks. `shelf rebuild` repairs these.
 *
 * Signatures likewise: the rebuild runs with a stand-in for the registry's current key that can
 * tell a valid signature but cannot make one, so whatever it would (re-)sign is listed (repair
 * `rebuild`); an artifact statement whose signature verifies with no listed key was changed after
 * signing (`signature_mismatch`), and a key list entry whose id is not its key's hash is `invalid`:
 * both are repaired by `restore`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { eachLimited } from '../core/concurrency.ts';
import { isShelfError, ShelfError } from '../core/errors.ts';
import { KINDS, type Kind } from '../core/names.ts';
import { configKey, keysKey, kindPrefix, parseVersionKey, searchPrefix, shardedRootKey, WEB_PAGES } from '../core/paths.ts';
import { ConfigDocumentSchema, VersionDocumentSchema, type LifecycleRecord, type RegistryKey } from '../core/schemas.ts';
import { removedVersion } from '../indexer/lifecycle.ts';
import { readKeyList } from '../signing/key-list.ts';
import { listedKeys } from '../signing/trust.ts';
import type { Signer } from '../signing/signer.ts';
import { safeJson } from '../store/json-documents.ts';
import { MemoryStore } from '../store/memory-store.ts';
import type { ObjectInfo, ObjectStore } from '../store/object-store.ts';
import { PRODUCERS } from './derived-files.ts';
import { rebuild, type RebuildProgress } from './rebuild.ts';
import { namesRetiredLayout } from './config-document.ts';
import { readLifecycle, safeName } from './records.ts';

/** Options of {@link check}. */
export interface CheckOptions {
  /** Only this kind's files (and the recent list). Default both kinds. */
  kind?: Kind;
  /** Called after each file, for a progress display. */
  onProgress?: (progress: RebuildProgress) => void;
  /**
   * How artifacts are verified: `size` (present, with the recorded size: one listing) or `sha256`
   * (also read whole and hashed). Default `size`.
   */
  artifacts?: 'size' | 'sha256';
}

/** One file that is missing, damaged, or disagrees with the records. */
export interface CheckIssue {
  /** The file's key. */
  key: string;
  /**
   * `missing`: the file should be there and is not; `stale`: a derived file's content differs
   * from what the records give; `removed`: the file must not exist (a file a takedown removed
   * that is still in the bucket: a removed version's artifact, README or document; or a file of
   * the retired search layout); `invalid`: the file does not match its schema (or, for
   * `v1/keys.json`, lists a key under an id that is not its hash); `size_mismatch`,
   * `digest_mismatch`: an artifact is not the bytes its version records; `signature_mismatch`: an
   * artifact statement of a version record does not match the registry's signature (`outdated`
   * names `signature os-arch`).
   */
  problem: 'missing' | 'stale' | 'removed' | 'invalid' | 'size_mismatch' | 'digest_mismatch' | 'signature_mismatch';
  /** `rebuild`: `shelf rebuild` recomputes it; `restore`: only restoring the object (or re-publishing) can. */
  repair: 'rebuild' | 'restore';
  /** What is wrong, for people (a record's or artifact's issue). */
  detail?: string;
  /** Entries the records call for that the file lacks. */
  missing: string[];
  /** Entries the file has that the records do not. */
  extra: string[];
  /** Entries in both whose content differs. */
  outdated: string[];
}

/** What {@link check} found. */
export interface CheckReport {
  /** True when nothing is missing, damaged or disagrees. */
  clean: boolean;
  /** How many derived files were compared. */
  checked: number;
  /** How many version records and artifacts were verified, and how (`size` or `sha256`). */
  records: { versions: number; artifacts: number; verified: 'size' | 'sha256' };
  /** The files that disagree, by key. */
  issues: CheckIssue[];
}

/**
 * Compares every derived file with what the records give. Writes nothing.
 *
 * @throws TypeError for invalid options (naming the option)
 */
export async function check(store: ObjectStore, options: CheckOptions = {}): Promise<CheckReport> {
  if (options.artifacts !== undefined && options.artifacts !== 'size' && options.artifacts !== 'sha256') {
    throw new TypeError(`"artifacts" option must be "size" or "sha256", got ${JSON.stringify(options.artifacts)}`);
  }
  const verified = options.artifacts ?? 'size';
  const kinds = options.kind ? [options.kind] : [...KINDS];
  // 1. store: neither a configuration nor a record is no registry.
  const listed = (await Promise.all(kinds.map((k) => store.list(kindPrefix(k))))).flat();
  if (listed.length === 0 && !(await store.head(configKey()))) {
    throw new ShelfError('no_registry', `${store.description} holds no registry: no ${configKey()} and no records (a folder that does not exist, an empty bucket, or the wrong prefix?).`);
  }
  const issues: CheckIssue[] = [];
  // 2. config and pages
  issues.push(...(await checkConfigAndPages(store)));
  // 3. records
  const records = await checkRecords(store, listed, kinds, verified);
  issues.push(...records.issues);
  // 4. derived files (a record that cannot be read stops the rebuild they are compared with)
  const derived = await checkDerived(store, options).catch((err: unknown) => {
    if (!isShelfError(err, 'internal_error') || records.issues.length === 0) throw err;
    return { checked: 0, issues: [damaged('(derived files)', 'stale', `not compared: ${err.message} Repair the records above first.`)] };
  });
  issues.push(...derived.issues);
  return { clean: issues.length === 0, checked: derived.checked, records: { versions: records.versions, artifacts: records.artifacts, verified }, issues };
}

/** A problem with one file, which no rebuild repairs. */
function damaged(key: string, problem: CheckIssue['problem'], detail: string): CheckIssue {
  return { key, problem, repair: 'restore', detail, missing: [], extra: [], outdated: [] };
}

/** `v1/config.json`, and the web pages with every asset they load. */
async function checkConfigAndPages(store: ObjectStore): Promise<CheckIssue[]> {
  const issues: CheckIssue[] = [];
  const config = await store.get(configKey());
  if (!config) issues.push(damaged(configKey(), 'missing', 'clients find everything through it: shelf serve writes it at start, scripts/upload-assets.ts on AWS'));
  // A config of the retired search layout is not damaged: the rebuild migrates it (step 4 lists it).
  else if (!ConfigDocumentSchema.safeParse(safeJson(config.body)).success && !(await namesRetiredLayout(store))) {
    issues.push(damaged(configKey(), 'invalid', 'it does not match index-schema/config.schema.json'));
  }
  const assets = new Set<string>();
  for (const page of Object.values(WEB_PAGES)) {
    const html = await store.get(page);
    if (!html) {
      issues.push(damaged(page, 'missing', 'a web page: shelf serve publishes the pages at start, scripts/upload-assets.ts on AWS'));
      continue;
    }
    for (const m of new TextDecoder().decode(html.body).matchAll(/["'/](assets\/[A-Za-z0-9._-]+)["']/g)) assets.add(m[1]!);
  }
  // A page's script imports its chunks (`./chunk.<hash>.js`): they are loaded too.
  const scripts = [...assets].filter((a) => a.endsWith('.js'));
  for (let i = 0; i < scripts.length; i++) {
    const script = await store.get(scripts[i]!);
    if (!script) continue;
    for (const m of new TextDecoder().decode(script.body).matchAll(/["']\.\/([A-Za-z0-9._-]+\.js)["']/g)) {
      const chunk = `assets/${m[1]!}`;
      if (!assets.has(chunk)) {
        assets.add(chunk);
        scripts.push(chunk);
      }
    }
  }
  for (const asset of [...assets].sort()) if (!(await store.head(asset))) issues.push(damaged(asset, 'missing', 'a page loads it'));
  return issues;
}

/**
 * Every version document parses, and every artifact it records is in the bucket with its size
 * (and its sha256, when asked). One listing per kind gives the sizes.
 */
async function checkRecords(
  store: ObjectStore,
  listed: ObjectInfo[],
  kinds: Kind[],
  verified: 'size' | 'sha256',
): Promise<{ issues: CheckIssue[]; versions: number; artifacts: number }> {
  const issues: CheckIssue[] = [];
  const sizes = new Map(listed.map((o) => [o.key, o.size]));
  const versionKeys = listed.map((o) => o.key).filter((key) => {
    const parsed = parseVersionKey(key);
    return parsed !== null && kinds.includes(parsed.kind);
  });
  let artifacts = 0;
  // A version taken down is the rebuild's to finish deleting (a crash mid-takedown), not damage.
  const lifecycles = new Map<string, Promise<LifecycleRecord | null>>();
  const takenDown = async (kind: Kind, full: string, version: string): Promise<boolean> => {
    const pkg = safeName(full);
    if (!pkg) return false;
    const id = `${kind}:${full}`;
    if (!lifecycles.has(id)) lifecycles.set(id, readLifecycle(store, kind, pkg).catch(() => null));
    return removedVersion(await lifecycles.get(id)!, version) !== undefined;
  };
  await eachLimited(versionKeys, 16, async (key) => {
    const parsed = parseVersionKey(key)!;
    if (await takenDown(parsed.kind, parsed.full, parsed.version)) return;
    const stored = await store.get(key);
    const doc = stored ? VersionDocumentSchema.safeParse(safeJson(stored.body)) : null;
    if (!doc?.success) {
      issues.push(damaged(key, stored ? 'invalid' : 'missing', 'a version record that does not match index-schema/version.schema.json'));
      return;
    }
    const of = `${doc.data.name}@${doc.data.version}`;
    for (const artifact of doc.data.artifacts) {
      artifacts++;
      const files = [
        { ...artifact, what: '' },
        ...(artifact.skills_archive ? [{ ...artifact.skills_archive, what: ' (its archive for the skills CLI)' }] : []),
        ...(artifact.attestation ? [{ ...artifact.attestation, what: ' (its Sigstore attestation)' }] : []),
      ];
      for (const file of files) {
        const size = sizes.get(file.path);
        if (size === undefined) {
          issues.push(damaged(file.path, 'missing', `${of} records it${file.what} (${file.size} bytes, sha256 ${file.sha256})`));
        } else if (size !== file.size) {
          issues.push(damaged(file.path, 'size_mismatch', `${size} bytes; ${of} records ${file.size}${file.what}`));
        } else if (verified === 'sha256') {
          const bytes = await store.get(file.path);
          const digest = bytes ? createHash('sha256').update(bytes.body).digest('hex') : 'missing';
          if (digest !== file.sha256) issues.push(damaged(file.path, 'digest_mismatch', `sha256 ${digest}; ${of} records ${file.sha256}${file.what}`));
        }
      }
    }
  });
  issues.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { issues, versions: versionKeys.length, artifacts };
}

/** The derived files: the rebuild, run over a copy-on-write view, and what it would write. */
async function checkDerived(store: ObjectStore, options: CheckOptions): Promise<{ issues: CheckIssue[]; checked: number }> {
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
    // Keys are published by the signer's owner, never derived: a rebuild cannot repair the list.
    if (broken.length > 0) issues.push({ ...damaged(keysKey(), 'invalid', 'entries whose key id is not the hash of their public key (restore v1/keys.json)'), outdated: broken });
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
      repair: 'rebuild',
      missing: [...want.keys()].filter((id) => !have.has(id)),
      extra: [...have.keys()].filter((id) => !want.has(id)),
      outdated: [...want.keys()].filter((id) => have.has(id) && have.get(id) !== want.get(id)),
    };
    // A document that changed needs a new signature anyway: the signature is named only when it is all that differs.
    if (issue.missing.length + issue.extra.length + issue.outdated.length > 1) issue.outdated = issue.outdated.filter((e) => e !== 'signature');
    // The right generation, but immutable files of it that the bucket lacks (a stale generation
    // lists its outdated packages instead: every file of the expected one would be new).
    const sameRoot = stored && expected && Buffer.from(stored.body).equals(Buffer.from(expected.body));
    if (sharded && sameRoot) issue.missing.push(...overlay.written().filter((k) => k.startsWith(searchPrefix(sharded))).map((k) => `file ${k}`));
    issues.push(issue);
  }
  // Statements changed after signing: the rebuild does not sign them again (that would launder
  // the change), so only restoring the version record repairs them.
  const mismatched = new Map<string, string[]>();
  for (const { key, platform } of result.mismatched) mismatched.set(key, [...(mismatched.get(key) ?? []), `signature ${platform}`]);
  for (const [key, outdated] of mismatched) {
    issues.push({ ...damaged(key, 'signature_mismatch', `${outdated.map((o) => o.slice('signature '.length)).join(', ')}: the artifact statement does not match the registry's signature (changed after signing)`), outdated });
  }
  return { issues, checked: result.changed.length + result.unchanged.length };
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
