/**
 * The announces the benchmark times, planned from the corpus so every one is accepted: a mix
 * of the three things publishers do, in turn —
 *
 * - `new-version`: a new version of an existing package (its scope and repository pins match);
 * - `new-package`: a first package in an existing scope (the scope pin matches);
 * - `new-scope`: a first package of a new owner (both pins are created).
 *
 * Each is one artifact (one platform), as the announce contract has it.
 *
 * @module
 */
import type { Arch, Os } from '../src/core/names.ts';
import { generateCorpus, manifestFor, type Corpus, type SyntheticPackage } from './corpus.ts';
import { Random } from './lib/random.ts';

/** The three kinds of announce, in the order the plan cycles through them. */
export const ANNOUNCE_KINDS = ['new-version', 'new-package', 'new-scope'] as const;
/** One kind of announce. */
export type AnnounceKind = (typeof ANNOUNCE_KINDS)[number];

/** One announce to make: the body's parts and the token claims it needs. */
export interface PlannedAnnounce {
  kind: AnnounceKind;
  name: string;
  short: string;
  version: string;
  manifest: Record<string, unknown>;
  os: Os;
  arch: Arch;
  repository: string;
  repositoryId: string;
  owner: string;
  ownerId: string;
}

/**
 * Plans `count` announces against `corpus` (the registry as loaded). Deterministic for a seed.
 * Each planned announce is distinct, so all of them can run against the same registry.
 *
 * @throws TypeError when `count` is not a positive integer.
 */
export function planAnnounces(corpus: Corpus, count: number, seed = 88): PlannedAnnounce[] {
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`"count" must be a positive integer, got ${String(count)}`);
  const random = new Random(seed);
  // Fresh packages come from another corpus; they are renamed into place so names never clash.
  const extra = generateCorpus({ packages: count, seed: seed * 7919 }).packages;
  const used = new Set<string>();
  const plan: PlannedAnnounce[] = [];
  for (let i = 0; i < count; i++) {
    const kind = ANNOUNCE_KINDS[i % ANNOUNCE_KINDS.length]!;
    if (kind === 'new-version') {
      let p: SyntheticPackage;
      do p = random.pick(corpus.packages);
      while (used.has(p.name) && used.size < corpus.packages.length);
      used.add(p.name);
      const highest = p.versions.map((v) => Number(v.version.split('.')[0])).reduce((a, b) => Math.max(a, b), 0);
      const version = `${highest + 1}.0.0`;
      plan.push(announceOf(kind, p, version, random.pick(p.platforms)));
    } else {
      const source = extra[i]!;
      const existing = random.pick(corpus.packages);
      const scope = kind === 'new-package' ? existing.scope : uniqueScope(corpus, `${source.scope.slice(0, 30)}-b${i}`);
      const ownerId = kind === 'new-package' ? existing.ownerId : String(9_000_000 + i);
      const short = `${source.short.slice(0, 60)}-b${i}`;
      const p: SyntheticPackage = {
        ...source,
        name: `@${scope}/${short}`,
        scope,
        short,
        repository: `${scope}/${short}`,
        repositoryId: String(90_000_000 + i),
        ownerId,
      };
      plan.push(announceOf(kind, p, '1.0.0', p.platforms[0]!));
    }
  }
  return plan;
}

function announceOf(kind: AnnounceKind, p: SyntheticPackage, version: string, platform: { os: Os; arch: Arch }): PlannedAnnounce {
  return {
    kind,
    name: p.name,
    short: p.short,
    version,
    manifest: manifestFor(p, version),
    os: platform.os,
    arch: platform.arch,
    repository: p.repository,
    repositoryId: p.repositoryId,
    owner: p.scope,
    ownerId: p.ownerId,
  };
}

function uniqueScope(corpus: Corpus, candidate: string): string {
  let scope = candidate;
  for (let n = 2; corpus.scopes.has(scope); n++) scope = `${candidate}-${n}`;
  return scope;
}
