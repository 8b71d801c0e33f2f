/**
 * The synthetic registry: deterministic, realistic-looking MCP bundles.
 *
 * - **Words**: descriptions, keywords and tool names draw from `bench/data/vocabulary.json` (3.5k
 *   words of developer-tool prose ranked by how widespread they are) with a Zipf law, so a few
 *   words are everywhere and most are rare, as in real text.
 * - **Names**: `@scope/a-b`, 1–3 tokens; 60% of name tokens are fresh pronounceable coinages
 *   (brand names), so the dictionary keeps growing with the registry as real ones do; the rest
 *   are common words, so names like `@x/github-mcp` recur across scopes.
 * - **Scopes**: owners hold a Pareto-distributed number of packages (most 1–3, a few hundreds).
 * - **Bundles**: 1–40 tools (mean ≈ 6), 3–6 keywords, 1–15 versions (mean ≈ 2.9, some
 *   prereleases), one to five platforms, a server type, an author, dates over 18 months.
 *
 * Only bundles are generated: they are the kind with tools and platforms, and skills go through
 * the same derivation code.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Arch, Os } from '../src/core/names.ts';
import { Random, Zipf } from './lib/random.ts';

/** One published version of a synthetic package. */
export interface SyntheticVersion {
  version: string;
  prerelease: boolean;
  /** ISO time of its first artifact; the others follow a second apart. */
  published_at: string;
}

/** A synthetic bundle: everything its manifests and records are built from. */
export interface SyntheticPackage {
  /** `@scope/name`. */
  name: string;
  scope: string;
  /** The name without the scope. */
  short: string;
  displayName: string;
  description: string;
  keywords: string[];
  tools: { name: string; description: string }[];
  serverType: 'node' | 'python' | 'binary' | 'uv';
  platforms: { os: Os; arch: Arch }[];
  author: string;
  license: string;
  /** GitHub repository `owner/repo` and its numeric id (the package pin). */
  repository: string;
  repositoryId: string;
  /** The scope owner's numeric id (the scope pin). */
  ownerId: string;
  /** Oldest first. */
  versions: SyntheticVersion[];
  /** Fresh coinages used in the name (distinctive words for labelled queries). */
  coined: string[];
}

/** A synthetic registry. */
export interface Corpus {
  seed: number;
  packages: SyntheticPackage[];
  /** Scope → owner id, for every scope that has packages. */
  scopes: Map<string, string>;
}

/** Options of {@link generateCorpus}. */
export interface CorpusOptions {
  /** Number of packages (a positive integer). */
  packages: number;
  /** PRNG seed. Default 8. */
  seed?: number;
}

/** Where the generated history starts; fixed, so the corpus does not depend on the clock. */
export const EPOCH = Date.parse('2024-06-01T00:00:00.000Z');
/** Length of the generated history. */
export const HISTORY_DAYS = 540;
const DAY = 86_400_000;

let vocabularyCache: string[] | undefined;

/** The ranked word list (most widespread first). */
export function vocabulary(): string[] {
  vocabularyCache ??= (JSON.parse(readFileSync(new URL('./data/vocabulary.json', import.meta.url), 'utf8')) as { words: string[] }).words;
  return vocabularyCache;
}

/** Short function words: fine in descriptions, useless as keywords, tool nouns or name parts. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  'the and for is to of this in be with or if can an as you will that it by from on not are at your we all but do has have was which when use using also more its so one any these their there than then into out about our may each other such only some what how new see just like get set via no used make'.split(' '),
);

const VERBS = ['get', 'list', 'create', 'update', 'delete', 'search', 'find', 'run', 'fetch', 'query', 'send', 'read', 'write', 'open', 'close', 'start', 'stop', 'check', 'describe', 'export', 'import', 'sync', 'upload', 'download', 'render', 'parse', 'validate', 'convert', 'summarize', 'analyze', 'compare', 'schedule', 'cancel', 'approve', 'merge', 'deploy', 'watch', 'count', 'resolve', 'translate'];
const ONSETS = ['b', 'c', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'br', 'cr', 'dr', 'fl', 'gr', 'kl', 'pl', 'st', 'tr', 'sh', 'ch', 'qu', 'j', 'h', 'w'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ea', 'io', 'ou', 'y'];
const CODAS = ['', '', '', 'n', 'r', 's', 'x', 'l', 'm', 'k', 'th', 'nd'];
const SCOPE_SUFFIXES = ['labs', 'dev', 'io', 'hq', 'ai', 'tools', 'inc', 'oss'];
const LICENSES = ['MIT', 'MIT', 'MIT', 'Apache-2.0', 'Apache-2.0', 'BSD-3-Clause', 'ISC', 'MPL-2.0', 'GPL-3.0-only'];
const BINARY_PLATFORMS: { os: Os; arch: Arch }[] = [
  { os: 'darwin', arch: 'arm64' },
  { os: 'linux', arch: 'x64' },
  { os: 'win32', arch: 'x64' },
  { os: 'darwin', arch: 'x64' },
  { os: 'linux', arch: 'arm64' },
];

/**
 * Generates a registry of `packages` bundles. Deterministic: the same options give the same
 * corpus, byte for byte.
 */
export function generateCorpus(options: CorpusOptions): Corpus {
  const { packages: count } = options;
  const seed = options.seed ?? 8;
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`"packages" option must be a positive integer, got ${String(count)}`);
  if (!Number.isInteger(seed)) throw new TypeError(`"seed" option must be an integer, got ${String(seed)}`);

  const words = vocabulary();
  const content = words.filter((w) => !STOP_WORDS.has(w) && w.length >= 3);
  const random = new Random(seed);
  const gen = new WordSource(random.fork(), words, content);

  // Scopes first, each with its number of packages (Pareto, α = 1.6, capped).
  const scopeRandom = random.fork();
  const scopeNames = new Set<string>();
  const slots: { scope: string; ownerId: string }[] = [];
  for (let s = 0; slots.length < count; s++) {
    let scope: string;
    do {
      scope = scopeRandom.chance(0.7) ? gen.coin() : `${gen.content()}${scopeRandom.chance(0.5) ? `-${scopeRandom.pick(SCOPE_SUFFIXES)}` : ''}`;
    } while (scopeNames.has(scope) || scope.length > 39);
    scopeNames.add(scope);
    const ownerId = String(1_000_000 + s * 7 + 3);
    const size = Math.min(300, Math.floor(1 / (1 - scopeRandom.next()) ** (1 / 1.6)));
    for (let i = 0; i < size && slots.length < count; i++) slots.push({ scope, ownerId });
  }

  const pkgRandom = random.fork();
  const names = new Set<string>();
  const scopes = new Map<string, string>();
  const result: SyntheticPackage[] = [];
  for (let i = 0; i < count; i++) {
    const { scope, ownerId } = slots[i]!;
    const r = pkgRandom.fork();
    let short: string;
    let coined: string[];
    do {
      coined = [];
      const parts: string[] = [];
      const n = r.chance(0.35) ? 1 : r.chance(0.7) ? 2 : 3;
      for (let k = 0; k < n; k++) {
        if (r.chance(0.6)) {
          const c = gen.coin();
          coined.push(c);
          parts.push(c);
        } else parts.push(gen.content());
      }
      if (r.chance(0.2)) parts.push('mcp');
      else if (r.chance(0.1)) parts.push('server');
      short = parts.join('-');
    } while (names.has(`@${scope}/${short}`) || short.length > 100);
    const name = `@${scope}/${short}`;
    names.add(name);
    scopes.set(scope, ownerId);

    const nameWords = short.split('-').filter((w) => w !== 'mcp' && w !== 'server');
    const descLength = r.int(8, 30);
    const desc: string[] = [];
    for (let k = 0; k < descLength; k++) desc.push(gen.any());
    // Half the descriptions mention the package's own name words, as real ones usually do.
    if (r.chance(0.5)) desc.splice(r.int(0, desc.length), 0, ...nameWords);
    const description = `${capitalize(desc.join(' '))}.`;

    const keywords = unique(Array.from({ length: r.int(3, 6) }, () => gen.content()));
    const toolCount = Math.min(40, 1 + Math.floor(-Math.log(1 - r.next()) * 5.5));
    const toolNames = new Set<string>();
    while (toolNames.size < toolCount) {
      const noun = r.chance(0.25) && coined.length > 0 ? r.pick(coined) : gen.content();
      toolNames.add(r.chance(0.3) ? `${r.pick(VERBS)}_${noun}_${gen.content()}` : `${r.pick(VERBS)}_${noun}`);
    }
    const tools = [...toolNames].map((t) => ({
      name: t,
      description: `${capitalize(Array.from({ length: r.int(5, 14) }, () => gen.any()).join(' '))}.`,
    }));

    const kindDraw = r.next();
    let platforms: { os: Os; arch: Arch }[];
    let serverType: SyntheticPackage['serverType'];
    if (kindDraw < 0.45) {
      platforms = [{ os: 'any', arch: 'any' }];
      serverType = r.chance(0.6) ? 'node' : r.chance(0.7) ? 'python' : 'uv';
    } else if (kindDraw < 0.6) {
      platforms = (['darwin', 'linux', 'win32'] as const).slice(0, r.int(2, 3)).map((os) => ({ os, arch: 'any' as const }));
      serverType = r.chance(0.7) ? 'node' : 'python';
    } else {
      platforms = BINARY_PLATFORMS.slice(0, r.int(2, 5));
      serverType = 'binary';
    }

    const created = EPOCH + Math.floor(r.next() * HISTORY_DAYS * 0.9 * DAY);
    const versions: SyntheticVersion[] = [];
    let major = r.chance(0.4) ? 0 : 1;
    let minor = major === 0 ? 1 : 0;
    let patch = 0;
    let at = created;
    const versionCount = r.geometric(0.35, 15);
    for (let v = 0; v < versionCount; v++) {
      if (v > 0) {
        const bump = r.next();
        if (bump < 0.05) [major, minor, patch] = [major + 1, 0, 0];
        else if (bump < 0.3) [minor, patch] = [minor + 1, 0];
        else patch += 1;
        at = Math.min(EPOCH + HISTORY_DAYS * DAY, at + Math.floor(-Math.log(1 - r.next()) * 20 * DAY) + 60_000);
      }
      const prerelease = v < versionCount - 1 && r.chance(0.08);
      const base = `${major}.${minor}.${patch}`;
      versions.push({ version: prerelease ? `${base}-rc.1` : base, prerelease, published_at: new Date(at).toISOString() });
      // A release candidate is followed by its release.
      if (prerelease) {
        at += DAY;
        versions.push({ version: base, prerelease: false, published_at: new Date(at).toISOString() });
        v++;
      }
    }

    const repo = `${scope}/${short.length > 90 ? short.slice(0, 90) : short}`;
    result.push({
      name,
      scope,
      short,
      displayName: nameWords.map(capitalize).join(' ') || capitalize(short),
      description,
      keywords,
      tools,
      serverType,
      platforms,
      author: `${capitalize(scope.split('-')[0]!)} ${r.pick(['Labs', 'Inc.', 'Team', 'Software', 'Contributors', 'Ltd'])}`,
      license: r.pick(LICENSES),
      repository: repo,
      repositoryId: String(50_000_000 + i * 13 + 1),
      ownerId,
      versions,
      coined,
    });
  }
  return { seed, packages: result, scopes };
}

/** The MCPB manifest of one version, valid for `@anthropic-ai/mcpb`'s schemas. */
export function manifestFor(pkg: SyntheticPackage, version: string): Record<string, unknown> {
  const entry = pkg.serverType === 'python' || pkg.serverType === 'uv' ? 'server/main.py' : pkg.serverType === 'binary' ? `server/${pkg.short}` : 'server/index.js';
  const command = pkg.serverType === 'python' ? 'python3' : pkg.serverType === 'uv' ? 'uv' : pkg.serverType === 'binary' ? `\${__dirname}/${entry}` : 'node';
  const oses = [...new Set(pkg.platforms.map((p) => p.os).filter((os) => os !== 'any'))];
  return {
    manifest_version: pkg.serverType === 'uv' ? '0.4' : '0.3',
    name: pkg.name,
    display_name: pkg.displayName,
    version,
    description: pkg.description,
    author: { name: pkg.author, url: `https://github.com/${pkg.scope}` },
    repository: { type: 'git', url: `https://github.com/${pkg.repository}` },
    homepage: `https://github.com/${pkg.repository}`,
    license: pkg.license,
    keywords: pkg.keywords,
    server: {
      type: pkg.serverType,
      entry_point: entry,
      mcp_config: { command, args: command.startsWith('$') ? [] : pkg.serverType === 'uv' ? ['run', `\${__dirname}/${entry}`] : [`\${__dirname}/${entry}`] },
    },
    tools: pkg.tools,
    ...(oses.length > 0 ? { compatibility: { platforms: oses } } : {}),
  };
}

/** Draws words: any word (Zipf over the whole list), a content word, or a fresh coinage. */
class WordSource {
  readonly #random: Random;
  readonly #words: string[];
  readonly #content: string[];
  readonly #anyZipf: Zipf;
  readonly #contentZipf: Zipf;

  constructor(random: Random, words: string[], content: string[]) {
    this.#random = random;
    this.#words = words;
    this.#content = content;
    this.#anyZipf = new Zipf(words.length, 1);
    this.#contentZipf = new Zipf(content.length, 1);
  }

  any(): string {
    return this.#words[this.#anyZipf.sample(this.#random)]!;
  }

  content(): string {
    return this.#content[this.#contentZipf.sample(this.#random)]!;
  }

  /** A pronounceable made-up word of 2–3 syllables, like a product or company name. */
  coin(): string {
    const r = this.#random;
    let w = '';
    const syllables = r.chance(0.7) ? 2 : 3;
    for (let i = 0; i < syllables; i++) w += r.pick(ONSETS) + r.pick(VOWELS) + (i === syllables - 1 || r.chance(0.15) ? r.pick(CODAS) : '');
    return w;
  }
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}
