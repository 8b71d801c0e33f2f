/**
 * The YAML front matter of an agent skill's `SKILL.md`. Pure (no Node APIs) so the packer, the
 * announce handler and the client can all share it.
 *
 * ```markdown
 * ---
 * name: release-notes
 * description: Drafts release notes from git history.
 * metadata: { tags: [release], version: "1.0.0" }
 * ---
 * # Body
 * ```
 *
 * @module
 */
import { parseDocument } from 'yaml';
import { ShelfError } from './errors.ts';

/**
 * Front matter must open the file (an optional BOM aside) with a `---` line and end with the next
 * `---` line. The YAML between may be empty, which {@link readSkillFrontMatter} then refuses.
 */
const FRONT_MATTER_RE = /^\uFEFF?---[ \t]*\r?\n(?:([\s\S]*?)\r?\n)?---[ \t]*(?:\r?\n|$)/;

/** A `SKILL.md` cut in two: the YAML between the `---` lines, and the Markdown after them. */
export interface SkillMarkdownParts {
  /** The raw YAML text, without the `---` fences (may be empty). */
  yaml: string;
  /** Everything after the closing `---` line. */
  body: string;
}

/**
 * Splits a `SKILL.md` into its front-matter YAML and its body, or returns null when the file does
 * not start with a `---` fenced block.
 */
export function splitSkillMarkdown(markdown: string): SkillMarkdownParts | null {
  const match = FRONT_MATTER_RE.exec(markdown);
  if (!match) return null;
  return { yaml: match[1] ?? '', body: markdown.slice(match[0].length) };
}

/**
 * Parses the YAML front matter of a `SKILL.md` into a plain object. Only checks that the front
 * matter exists and is a valid YAML mapping; which fields a skill needs (`name`, `description`,
 * ...) is for the caller to decide.
 *
 * @example
 * ```ts
 * const fm = readSkillFrontMatter(await readFile('SKILL.md', 'utf8'));
 * fm.name; // 'release-notes'
 * ```
 * @throws ShelfError `invalid_skill` (an `Error`) when the front matter is absent, is not valid
 *   YAML (including duplicate keys), or is not a mapping.
 */
export function readSkillFrontMatter(markdown: string): Record<string, unknown> {
  const parts = splitSkillMarkdown(markdown);
  if (!parts) {
    throw new ShelfError('invalid_skill', 'SKILL.md has no front matter: it must start with a "---" line, then YAML, then a "---" line.');
  }
  const doc = parseDocument(parts.yaml, { prettyErrors: true });
  const [error] = doc.errors;
  if (error) {
    throw new ShelfError('invalid_skill', `SKILL.md front matter is not valid YAML: ${error.message}`);
  }
  const value: unknown = doc.toJS({ maxAliasCount: 100 });
  if (value === null || value === undefined) {
    throw new ShelfError('invalid_skill', 'SKILL.md front matter is empty.');
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ShelfError('invalid_skill', 'SKILL.md front matter must be a YAML mapping of keys to values.');
  }
  return value as Record<string, unknown>;
}
