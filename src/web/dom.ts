/**
 * The one way the web pages build DOM. Every string a package supplies (names, descriptions,
 * tool names, author...) is untrusted, so strings only ever become text nodes: nothing here
 * parses HTML, event-handler attributes are refused, and URL attributes must be http(s) or
 * relative.
 *
 * Browser module: uses `document`.
 *
 * @module
 */
import { isSafeUrl } from './format.ts';

/** What {@link h} accepts as children: nodes, text, and nested lists; nullish and `false` are skipped. */
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Attributes: strings and numbers are set, `true` sets an empty attribute, nullish and `false` skip it. */
export type Attributes = Record<string, string | number | boolean | null | undefined>;

const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href']);

/**
 * Creates an element with attributes and children.
 *
 * @example
 * ```ts
 * h('a', { href: 'package.html?bundle=@acme/echo', class: 'result-link' }, pkg.display_name)
 * ```
 * @throws TypeError when an attribute is an event handler (`on*`), or a URL attribute is not an
 *   http(s) or relative URL; both are programming errors, never data-dependent silently.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    const lower = name.toLowerCase();
    if (lower.startsWith('on')) throw new TypeError(`Event handler attribute "${name}" is not allowed; use addEventListener.`);
    const text = value === true ? '' : String(value);
    if (URL_ATTRIBUTES.has(lower) && !isSafeUrl(text)) throw new TypeError(`Refusing ${name}="${text}": only http(s) and relative URLs.`);
    element.setAttribute(name, text);
  }
  append(element, children);
  return element;
}

/** Appends children (see {@link Child}) to a parent; strings become text nodes. */
export function append(parent: Node, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child as readonly Child[]);
    else if (typeof child === 'string' || typeof child === 'number') parent.appendChild(document.createTextNode(String(child)));
    else parent.appendChild(child as Node);
  }
}

/** Replaces every child of `parent`. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Finds a required element by id.
 *
 * @throws Error when the page's HTML lacks it (the page and its script are built together, so this
 *   only happens with a broken build).
 */
export function byId<T extends HTMLElement = HTMLElement>(id: string, root: Document = document): T {
  const element = root.getElementById(id);
  if (!element) throw new Error(`The page has no #${id} element.`);
  return element as T;
}

/** A link to an external site: opens normally, tells it nothing about this page. Null when the URL is unsafe. */
export function externalLink(url: string | null, ...children: Child[]): HTMLAnchorElement | null {
  if (url === null || !isSafeUrl(url) || !/^https?:/i.test(url)) return null;
  return h('a', { href: url, rel: 'noopener noreferrer nofollow', class: 'external' }, ...children);
}
