/**
 * The home page: a search box answering as the user types, filters (kind, server type, OS,
 * architecture) and sort, over the prebuilt index that `RegistryClient.search` downloads once
 * per kind and queries locally. The state lives in the URL (see `home-state.ts`): typing
 * replaces the current history entry after a short pause, a new query or a filter change pushes
 * one, and `popstate` restores the controls and results.
 *
 * The form is in the page's HTML (so nothing moves when the script starts); this module wires it.
 *
 * Browser module.
 *
 * @module
 */
import type { Kind } from '../core/names.ts';
import type { RegistryClient } from '../client/registry-client.ts';
import type { SearchHit } from '../search/query.ts';
import { byId, h, replaceChildren } from './dom.ts';
import { DEFAULT_HOME_STATE, MAX_QUERY_LENGTH, historyAction, homeStateToSearch, parseHomeState, type HomeState } from './home-state.ts';
import { packageListItem } from './results.ts';
import { actionButton, errorPanel, loadingPanel, statePanel } from './states.ts';

/**
 * Results of a query shown at first. Each needs its package's display file, so this is what a
 * first query downloads beyond the index: 5 fill the first screen (3–4 results on a laptop, 1 on
 * a phone) with one to spare, and arrive in one round even over HTTP/1.1's 6 connections per
 * host; Pagefind's UI loads 5 too. README, "The web pages".
 */
export const RESULTS_PAGE = 5;
/** Results "Show more" adds to a query's. */
export const MORE_RESULTS = 10;
/**
 * Packages listed at first and added by "Show more" when there is no query: the catalog pages
 * carry their summaries, so a longer list costs no more requests.
 */
export const LISTING_PAGE = 30;

/**
 * The results after "Show more": those already on screen first, in their order, then the new
 * ones. A larger page can rank its first results a little differently (more candidates are scored
 * again), and a list that reorders above the reader's place would lose it.
 */
export function extendShown<T extends { name: string }>(shown: readonly T[], hits: readonly T[]): T[] {
  const seen = new Set(shown.map((h) => h.name));
  return [...shown, ...hits.filter((h) => !seen.has(h.name))];
}

/** How many results a state shows at first, and how many "Show more" adds. */
export function pageSizes(state: Pick<HomeState, 'q'>): { first: number; more: number } {
  return state.q.trim() === '' ? { first: LISTING_PAGE, more: LISTING_PAGE } : { first: RESULTS_PAGE, more: MORE_RESULTS };
}
/** Pause after the last keystroke before the URL follows the search box. */
export const TYPING_DELAY_MS = 300;

const DEFAULT_TITLE = 'Shelf — MCP bundles and agent skills';

const nothingPublished = (noun: string) =>
  statePanel('empty', `No ${noun} have been published yet.`, 'Publishers announce them from GitHub Actions; see the project README.');

/** The home page's controls, found by id in its HTML. */
interface Controls {
  form: HTMLFormElement;
  q: HTMLInputElement;
  kinds: HTMLInputElement[];
  type: HTMLSelectElement;
  os: HTMLSelectElement;
  arch: HTMLSelectElement;
  sort: HTMLSelectElement;
  count: HTMLElement;
  results: HTMLElement;
}

function findControls(doc: Document): Controls {
  return {
    form: byId<HTMLFormElement>('search-form', doc),
    q: byId<HTMLInputElement>('q', doc),
    kinds: [byId<HTMLInputElement>('kind-bundle', doc), byId<HTMLInputElement>('kind-skill', doc)],
    type: byId<HTMLSelectElement>('type', doc),
    os: byId<HTMLSelectElement>('os', doc),
    arch: byId<HTMLSelectElement>('arch', doc),
    sort: byId<HTMLSelectElement>('sort', doc),
    count: byId('result-count', doc),
    results: byId('results', doc),
  };
}

/**
 * Starts the home page: reads the state from the URL, shows results, and keeps URL, controls
 * and results in step from then on.
 */
export function startHomePage(client: RegistryClient, win: Window = window): void {
  const doc = win.document;
  const c = findControls(doc);
  let state = parseHomeState(win.location.search);
  let limit = pageSizes(state).first;
  let generation = 0;
  /** After "Show more", the first new result gets the focus (the button it replaced is gone). */
  let focusIndex: number | undefined;
  /** "Show more": the search that extends the list, and the results it keeps on top. */
  let extending: { generation: number; shown: SearchHit[] } | undefined;
  let typingTimer: ReturnType<typeof setTimeout> | undefined;
  const ready = new Set<Kind>();

  const urlOf = (s: HomeState) => `${win.location.pathname}${homeStateToSearch(s)}`;

  /** Puts the state into the controls (at start and on back/forward). */
  const syncControls = () => {
    if (c.q.value !== state.q) c.q.value = state.q;
    for (const radio of c.kinds) radio.checked = radio.value === state.kind;
    c.type.value = state.type ?? '';
    c.type.disabled = state.kind !== 'bundle';
    c.os.value = state.os ?? '';
    c.arch.value = state.arch ?? '';
    c.sort.value = state.sort;
    c.q.placeholder = state.kind === 'bundle' ? 'Search MCP bundles…' : 'Search agent skills…';
    doc.title = state.q.trim() ? `${state.q.trim()} · Shelf search` : DEFAULT_TITLE;
  };

  /** Writes the state into the URL: a new entry or a replaced one (see historyAction). */
  const commit = (cause: 'typing' | 'control') => {
    clearTimeout(typingTimer);
    typingTimer = undefined;
    const action = historyAction(parseHomeState(win.location.search), state, cause);
    if (action === 'push') win.history.pushState(null, '', urlOf(state));
    else if (action === 'replace') win.history.replaceState(null, '', urlOf(state));
  };

  const search = async () => {
    const mine = ++generation;
    const s = state;
    const noun = s.kind === 'bundle' ? 'bundles' : 'skills';
    if (!ready.has(s.kind)) {
      c.results.setAttribute('aria-busy', 'true');
      c.count.textContent = '';
      replaceChildren(c.results, loadingPanel(`Loading the ${s.kind} index…`));
    }
    let hits: SearchHit[];
    let more: boolean;
    try {
      ({ hits, more } = await client.searchPage(s.kind, s.q, { type: s.type, os: s.os, arch: s.arch, sort: s.sort, limit }));
    } catch (error) {
      // A kind with no index yet is not an error: the search answers no hits (shown below).
      if (mine !== generation) return;
      c.results.setAttribute('aria-busy', 'false');
      c.count.textContent = '';
      replaceChildren(c.results, errorPanel(error, { retry: () => void search(), home: false }));
      return;
    }
    if (mine !== generation) return; // a newer keystroke already answered
    if (extending?.generation === mine) hits = extendShown(extending.shown, hits).slice(0, limit);
    extending = undefined;
    ready.add(s.kind);
    c.results.setAttribute('aria-busy', 'false');
    const filtered = s.q.trim() !== '' || s.type !== undefined || s.os !== undefined || s.arch !== undefined;
    if (hits.length === 0) {
      // Nothing matched: the nearest words of the index, as "did you mean" (a failure to read them shows no suggestion).
      const suggestion = s.q.trim() ? await client.suggest(s.kind, s.q).catch(() => null) : null;
      if (mine !== generation) return;
      c.count.textContent = `No ${noun} found`;
      replaceChildren(
        c.results,
        filtered
          ? statePanel(
              'empty',
              s.q.trim() ? `No ${noun} match “${s.q.trim()}”${s.type || s.os || s.arch ? ' with these filters' : ''}.` : `No ${noun} match these filters.`,
              suggestion ? didYouMean(suggestion) : 'Check the spelling, or try fewer words or filters.',
              actionButton('Clear search and filters', () => {
                state = { ...DEFAULT_HOME_STATE, kind: state.kind };
                limit = pageSizes(state).first;
                syncControls();
                commit('control');
                void search();
                c.q.focus();
              }),
            )
          : nothingPublished(noun),
      );
      return;
    }
    const countText = `${hits.length}${more ? '+' : ''} ${hits.length === 1 && !more ? noun.slice(0, -1) : noun}`;
    c.count.textContent = s.q.trim() ? `${countText} matching “${s.q.trim()}”` : countText;
    const list = h('ol', { class: 'results', 'aria-label': `Search results: ${noun}` }, hits.map(packageListItem));
    const moreButton = more
      ? actionButton('Show more', () => {
          focusIndex = hits.length;
          extending = { generation: generation + 1, shown: hits };
          limit += pageSizes(s).more;
          void search();
        })
      : null;
    replaceChildren(c.results, list, moreButton);
    if (focusIndex !== undefined) {
      list.querySelectorAll<HTMLAnchorElement>('.result-link')[focusIndex]?.focus();
      focusIndex = undefined;
    }
  };

  /** "Did you mean …?", its link searching for the suggestion in place. */
  const didYouMean = (suggestion: string): HTMLElement => {
    const next: HomeState = { ...state, q: suggestion };
    const link = h('a', { href: urlOf(next), class: 'suggestion' }, suggestion);
    link.addEventListener('click', (event) => {
      event.preventDefault();
      update(next, 'control');
    });
    return h('span', {}, 'Did you mean ', link, '?');
  };

  const update = (next: HomeState, cause: 'typing' | 'control') => {
    state = next;
    limit = pageSizes(state).first;
    syncControls();
    void search();
    if (cause === 'control') commit('control');
    else {
      clearTimeout(typingTimer);
      typingTimer = setTimeout(() => commit('typing'), TYPING_DELAY_MS);
    }
  };

  c.q.addEventListener('input', () => update({ ...state, q: c.q.value.slice(0, MAX_QUERY_LENGTH) }, 'typing'));
  c.form.addEventListener('submit', (event) => {
    event.preventDefault();
    commit('typing');
  });
  for (const radio of c.kinds) {
    radio.addEventListener('change', () => {
      if (!radio.checked) return;
      const kind: Kind = radio.value === 'skill' ? 'skill' : 'bundle';
      const next: HomeState = { ...state, kind };
      if (kind !== 'bundle') delete next.type;
      update(next, 'control');
    });
  }
  const onSelect = (select: HTMLSelectElement, apply: (value: string) => HomeState) =>
    select.addEventListener('change', () => update(parseHomeState(new URLSearchParams(homeStateToSearch(apply(select.value)))), 'control'));
  onSelect(c.type, (type) => ({ ...state, type }));
  onSelect(c.os, (os) => ({ ...state, os: os as HomeState['os'] }));
  onSelect(c.arch, (arch) => ({ ...state, arch: arch as HomeState['arch'] }));
  onSelect(c.sort, (sort) => ({ ...state, sort: sort as HomeState['sort'] }));

  // Leaving for a result before the pause ends must still leave this search in the history.
  const flushTyping = () => {
    if (typingTimer !== undefined) commit('typing');
  };
  c.results.addEventListener('click', flushTyping, true);
  win.addEventListener('pagehide', flushTyping);

  win.addEventListener('popstate', () => {
    clearTimeout(typingTimer);
    typingTimer = undefined;
    state = parseHomeState(win.location.search);
    limit = pageSizes(state).first;
    syncControls();
    void search();
  });

  // "/" jumps to the search box, as on most code hosts; not while typing in a field.
  doc.addEventListener('keydown', (event) => {
    if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target as HTMLElement | null;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    event.preventDefault();
    c.q.focus();
    c.q.select();
  });

  // A hand-written URL with unknown values gets its canonical form, without a new entry.
  const canonical = homeStateToSearch(state);
  if (canonical !== win.location.search) win.history.replaceState(null, '', urlOf(state));
  syncControls();
  void search();
}
