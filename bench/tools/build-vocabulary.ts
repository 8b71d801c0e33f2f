/**
 * Builds `bench/data/vocabulary.json`, the word list the synthetic corpus draws from: the 5,000
 * most widespread words of the prose (code blocks and inline code removed) of the READMEs under
 * `node_modules` (AWS SDK/CDK folders skipped: they alone would dominate), ranked by the number of
 * READMEs a word appears in, then by count, keeping words found in at least 2 READMEs so one-off
 * identifiers are left out. Developer-tool prose is close to how MCP servers describe
 * themselves, and ranking by real frequency gives the Zipf draw a realistic head (including
 * stop words, which real descriptions have too).
 *
 * Run once: `npx tsx bench/tools/build-vocabulary.ts`. The output is committed, so the corpus does
 * not depend on what happens to be installed.
 *
 * @module
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = new URL('../../node_modules/', import.meta.url).pathname;
const OUT = new URL('../data/vocabulary.json', import.meta.url).pathname;
const SIZE = 5000;
const SKIP = new Set(['aws-cdk-lib', '@aws-sdk', '@aws-crypto', '@smithy', '@aws-cdk', '.cache']);

function* readmes(dir: string, depth = 0): Generator<string> {
  if (depth > 6) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      // The AWS SDK and CDK ship hundreds of READMEs that would make the vocabulary all AWS.
      if (!SKIP.has(e.name)) yield* readmes(p, depth + 1);
    }
    else if (/^readme(\.md|\.markdown)?$/i.test(e.name) && statSync(p).size < 2_000_000) yield p;
  }
}

const counts = new Map<string, number>();
const docFreq = new Map<string, number>();
for (const file of readmes(ROOT)) {
  const prose = readFileSync(file, 'utf8')
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`[^`]*`/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\]\([^)]*\)/g, ' ')
    .replace(/https?:\/\/\S+/g, ' ');
  const seen = new Set<string>();
  for (const word of prose.toLowerCase().split(/[^a-z]+/)) {
    if (word.length < 2 || word.length > 14) continue;
    counts.set(word, (counts.get(word) ?? 0) + 1);
    seen.add(word);
  }
  for (const w of seen) docFreq.set(w, (docFreq.get(w) ?? 0) + 1);
}
const ranked = [...counts.entries()]
  .filter(([w]) => (docFreq.get(w) ?? 0) >= 2)
  .sort((a, b) => docFreq.get(b[0])! - docFreq.get(a[0])! || b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  .slice(0, SIZE)
  .map(([w]) => w);
writeFileSync(OUT, `${JSON.stringify({ source: 'README prose under node_modules (AWS SDK/CDK skipped), by number of READMEs', words: ranked })}\n`);
console.log(`${ranked.length} words → ${OUT}; head: ${ranked.slice(0, 30).join(' ')}`);
