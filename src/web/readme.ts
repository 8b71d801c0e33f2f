/**
 * A package's README on its page: Markdown rendered with markdown-it, raw HTML disabled (every
 * `<tag>` in the source stays text), so the only elements are those markdown-it makes itself.
 * Then, because the text is the publisher's:
 * - links keep only http(s), mailto and in-page targets, and carry `rel="nofollow noopener"`;
 *   a relative link points into the repository at the released commit on GitHub;
 * - images load only over https (a relative one from the repository at that commit); any other
 *   image is shown as its alt text;
 * - the HTML is parsed in an inert `<template>` and checked once more against an allow-list of
 *   elements and attributes before it is shown (defence in depth: markdown-it makes nothing else).
 * The pages' Content-Security-Policy still applies: no script runs whatever the text says.
 *
 * This is the one place the pages parse HTML (see `dom.ts`), and it parses only markdown-it's
 * output.
 *
 * @module
 */
import MarkdownIt from 'markdown-it';

/** Longest README rendered, characters; a longer one is cut there, with a notice. */
export const MAX_README_CHARS = 256 * 1024;

/** Where relative links and images of the README point: the repository at the released commit. */
export interface ReadmeBase {
  /** `owner/repo` on GitHub. */
  repository: string;
  /** The commit the version was released from (40 hex). */
  sha: string;
}

const ELEMENTS = new Set(['a', 'blockquote', 'br', 'code', 'del', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'img', 'li', 'ol', 'p', 'pre', 's', 'strong', 'table', 'tbody', 'td', 'th', 'thead', 'tr', 'ul']);
const ATTRIBUTES: Record<string, readonly string[]> = { a: ['href', 'rel', 'title'], img: ['src', 'alt', 'title', 'loading', 'referrerpolicy'], code: ['class'], ol: ['start'] };
const SAFE_LINK = /^(https?:|mailto:|#)/i;

function renderer(base: ReadmeBase | null) {
  const md = new MarkdownIt({ html: false, linkify: false });
  const resolve = (url: string, raw: boolean): string | null => {
    if (SAFE_LINK.test(url)) return url;
    if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith('//') || !base) return null;
    const path = url.replace(/^\.?\//, '');
    return raw ? `https://raw.githubusercontent.com/${base.repository}/${base.sha}/${path}` : `https://github.com/${base.repository}/blob/${base.sha}/${path}`;
  };
  md.renderer.rules.link_open = (tokens, idx, options, _env, self) => {
    const token = tokens[idx]!;
    const href = resolve(String(token.attrGet('href') ?? ''), false);
    if (href === null) token.attrs = [];
    else token.attrSet('href', href);
    token.attrSet('rel', 'nofollow noopener');
    return self.renderToken(tokens, idx, options);
  };
  const image = md.renderer.rules.image!;
  md.renderer.rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const src = resolve(String(token.attrGet('src') ?? ''), true);
    if (src === null || !/^https:\/\//i.test(src)) return md.utils.escapeHtml(self.renderInlineAsText(token.children ?? [], options, env));
    token.attrSet('src', src);
    token.attrSet('loading', 'lazy');
    token.attrSet('referrerpolicy', 'no-referrer');
    return image(tokens, idx, options, env, self);
  };
  return md;
}

/**
 * The README as a fragment of safe DOM.
 *
 * @param markdown - The README's text.
 * @param base - The repository and commit relative links resolve against; null to drop them.
 */
export function renderReadme(markdown: string, base: ReadmeBase | null): DocumentFragment {
  const cut = markdown.length > MAX_README_CHARS;
  const html = renderer(base).render(cut ? markdown.slice(0, MAX_README_CHARS) : markdown);
  const template = document.createElement('template');
  template.innerHTML = html;
  for (const element of Array.from(template.content.querySelectorAll('*'))) {
    const tag = element.tagName.toLowerCase();
    if (!ELEMENTS.has(tag)) {
      element.replaceWith(document.createTextNode(element.textContent ?? ''));
      continue;
    }
    for (const attribute of Array.from(element.attributes)) {
      if (!(ATTRIBUTES[tag] ?? []).includes(attribute.name)) element.removeAttribute(attribute.name);
    }
    if (tag === 'a' && element.hasAttribute('href') && !SAFE_LINK.test(element.getAttribute('href')!)) element.removeAttribute('href');
    if (tag === 'img' && !/^https:\/\//i.test(element.getAttribute('src') ?? '')) element.replaceWith(document.createTextNode(element.getAttribute('alt') ?? ''));
  }
  if (cut) {
    const notice = document.createElement('p');
    notice.className = 'notice';
    notice.textContent = `This README is longer than ${MAX_README_CHARS / 1024} KiB; the rest is not shown.`;
    template.content.append(notice);
  }
  return template.content;
}
