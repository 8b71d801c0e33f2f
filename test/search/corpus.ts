/**
 * A small deterministic corpus of package summaries for the sharded index tests: a Zipf
 * vocabulary (a few words everywhere, most rare), coined names, 1–12 tools, platforms and server
 * types, so that common words get paged fields and rare ones stay inline.
 */
import type { PackageSummary } from '../../src/core/schemas.ts';

/** mulberry32: a tiny seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ru', 'te', 'vo', 'xa', 'zen', 'qui', 'bra', 'sto', 'ple', 'dri', 'fon', 'gu', 'ha', 'jex', 'nor'];
const COMMON = ['server', 'tools', 'api', 'data', 'file', 'files', 'search', 'github', 'query', 'database', 'weather', 'slack', 'image', 'notes', 'calendar', 'email'];
const PLATFORMS = [['any-any'], ['darwin-arm64', 'linux-x64', 'win32-x64'], ['linux-x64'], ['darwin-any', 'linux-any'], ['win32-arm64']];
const TYPES = ['node', 'python', 'binary', 'uv'];

/** Options of {@link makeCorpus}. */
export interface CorpusOptions {
  count: number;
  seed?: number;
  /** Size of the description vocabulary (Zipf). Default 400. */
  vocabulary?: number;
}

/** A word made of 2–3 syllables. */
function coin(random: () => number): string {
  const n = random() < 0.6 ? 2 : 3;
  let w = '';
  for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)]!;
  return w;
}

/** Generates `count` summaries with unique names; equal options give equal corpora. */
export function makeCorpus(options: CorpusOptions): PackageSummary[] {
  const random = prng(options.seed ?? 1);
  const vocabSize = options.vocabulary ?? 400;
  const vocab = [...COMMON];
  while (vocab.length < vocabSize) {
    const w = coin(random);
    if (!vocab.includes(w)) vocab.push(w);
  }
  // Zipf over the vocabulary: rank r drawn with probability ∝ 1/(r+1).
  const cdf: number[] = [];
  let sum = 0;
  for (let r = 0; r < vocab.length; r++) cdf.push((sum += 1 / (r + 1)));
  const word = (): string => {
    const u = random() * sum;
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return vocab[lo]!;
  };
  const out: PackageSummary[] = [];
  const names = new Set<string>();
  const epoch = Date.parse('2025-01-01T00:00:00.000Z');
  while (out.length < options.count) {
    const scope = coin(random);
    const parts = [random() < 0.7 ? coin(random) : word()];
    if (random() < 0.5) parts.push(random() < 0.5 ? coin(random) : word());
    if (random() < 0.15) parts.push('server');
    const name = `@${scope}/${parts.join('-')}`;
    if (names.has(name)) continue;
    names.add(name);
    const tools = Array.from({ length: 1 + Math.floor(random() * 12) }, () => `${word()}_${word()}`);
    const updated = new Date(epoch + Math.floor(random() * 300 * 86_400_000)).toISOString();
    const summary: PackageSummary = {
      kind: 'bundle',
      name,
      display_name: parts.map((p) => p[0]!.toUpperCase() + p.slice(1)).join(' '),
      description: Array.from({ length: 5 + Math.floor(random() * 20) }, word).join(' '),
      latest: '1.0.0',
      newest: '1.0.0',
      server_type: TYPES[Math.floor(random() * TYPES.length)]!,
      platforms: PLATFORMS[Math.floor(random() * PLATFORMS.length)]!,
      tools: [...new Set(tools)],
      keywords: [...new Set(Array.from({ length: 1 + Math.floor(random() * 4) }, word))],
      author: scope,
      published_at: updated,
      updated_at: updated,
      verified: true,
    };
    out.push(summary);
  }
  return out;
}

/** One package summary with the given name and description (a node bundle for linux-x64, published 2025-01-01), plus `more`. */
export function makeSummary(name: string, description: string, more: Partial<PackageSummary> = {}): PackageSummary {
  return {
    kind: 'bundle',
    name,
    description,
    latest: '1.0.0',
    newest: '1.0.0',
    server_type: 'node',
    platforms: ['linux-x64'],
    tools: [],
    keywords: [],
    published_at: '2025-01-01T00:00:00.000Z',
    updated_at: '2025-01-01T00:00:00.000Z',
    verified: true,
    ...more,
  };
}

/** A tiny policy, so that a few hundred packages already make multi-level trees and paged fields. */
export const SMALL_POLICY = {
  terms: { min: 1_500, target: 3_500, max: 7_000 },
  dict: { min: 700, target: 1_800, max: 3_500 },
  refs: { min: 400, target: 1_000, max: 2_000 },
  pages: { min: 600, target: 1_400, max: 2_800 },
  catalog: { min: 800, target: 2_000, max: 4_000 },
  page_threshold: 1_800,
  root_max: 1_200,
  paged_root_max: 500,
};
