/**
 * The pages' loading, empty and error states, so every page says the same thing the same way.
 * Each carries `data-state` (`loading`, `empty`, `not-found`, `invalid`, `unreachable`, `untrusted`, `error`)
 * for styling and tests.
 *
 * Browser module.
 *
 * @module
 */
import { isShelfError } from '../core/errors.ts';
import { h, type Child } from './dom.ts';

/** The kinds of state a page can be in besides showing its content. */
export type StateName = 'loading' | 'empty' | 'not-found' | 'invalid' | 'unreachable' | 'untrusted' | 'error';

/**
 * A state panel: a heading, an explanation and optional actions. Errors are announced
 * assertively (`role="alert"`), loading and empty states politely (`role="status"`).
 */
export function statePanel(state: StateName, title: string, detail?: Child, ...actions: Child[]): HTMLElement {
  const role = state === 'unreachable' || state === 'untrusted' || state === 'error' ? 'alert' : 'status';
  return h(
    'div',
    { class: `state state-${state}`, 'data-state': state, role },
    h('p', { class: 'state-title' }, title),
    detail ? h('p', { class: 'state-detail' }, detail) : null,
    actions.length > 0 ? h('p', { class: 'state-actions' }, ...actions) : null,
  );
}

/** A loading placeholder with the given text. */
export function loadingPanel(text: string): HTMLElement {
  return statePanel('loading', text);
}

/** A button that calls `onClick`; used for "Try again". */
export function actionButton(label: string, onClick: () => void): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'button' }, label);
  button.addEventListener('click', onClick);
  return button;
}

/**
 * Maps an error to its state: `not_found` → not found, `invalid_*` → invalid address,
 * `registry_unreachable` → unreachable, a signature that does not verify → untrusted, anything
 * else → error. The message of a ShelfError is
 * written by the client library for people and is shown as text.
 */
export function errorPanel(error: unknown, options: { notFoundTitle?: string; retry?: () => void; home?: boolean } = {}): HTMLElement {
  const message = error instanceof Error ? error.message : String(error);
  const home = options.home === false ? null : h('a', { href: './', class: 'button button-secondary' }, 'Search the registry');
  const retry = options.retry ? actionButton('Try again', options.retry) : null;
  if (isShelfError(error, 'not_found')) return statePanel('not-found', options.notFoundTitle ?? 'Not found', message, home);
  if (isShelfError(error) && (error.code === 'invalid_name' || error.code === 'invalid_version' || error.code === 'invalid_argument')) {
    return statePanel('invalid', 'This address does not name a package', message, home);
  }
  if (isShelfError(error, 'registry_unreachable')) {
    return statePanel('unreachable', 'The registry could not be reached', message, retry);
  }
  // What the registry serves does not match what it signed: nothing of it is shown.
  if (isShelfError(error, 'signature_invalid') || isShelfError(error, 'key_untrusted') || isShelfError(error, 'rollback_detected')) {
    return statePanel('untrusted', 'This package could not be verified', [message, ` (${error.code})`], home);
  }
  // Not expected: shown rather than swallowed, so a broken page says why.
  console.error(error);
  return statePanel('error', 'Something went wrong', message, retry, home);
}
