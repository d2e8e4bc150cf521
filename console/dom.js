// Building the page from API answers. Every value from the API reaches the page as text (text nodes, input
// values), never as HTML, so a name such as `<img src=x onerror=...>` shows literally.

export const main = document.getElementById('main');

/** An element with attributes and children; strings become text nodes. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'value') el.value = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A call to the admin API with the session cookie; rejects with the API's error message. */
export async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined;
  const text = await response.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = new Error(json?.error?.message ?? `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return json;
}

/** A query string of the values that are set. */
export function query(values) {
  const set = Object.entries(values).filter(([, v]) => v !== undefined && v !== null && v !== '');
  return new URLSearchParams(set).toString();
}

export const usd = (value) => (typeof value === 'number' ? `$${value.toFixed(value < 1 ? 4 : 2)}` : '—');
export const num = (value) => (typeof value === 'number' ? value.toLocaleString('en-US') : '—');
export const isoDay = (date) => date.toISOString().slice(0, 10);
export const daysAgo = (n) => new Date(Date.now() - n * 86_400_000);

export function limitsText(limits) {
  if (!limits) return '—';
  const parts = [];
  if (limits.requestsPerMinute) parts.push(`${num(limits.requestsPerMinute)} req/min`);
  if (limits.tokensPerMinute) parts.push(`${num(limits.tokensPerMinute)} tok/min`);
  if (limits.tokensPerDay) parts.push(`${num(limits.tokensPerDay)} tok/day`);
  if (limits.usdPerDay) parts.push(`${usd(limits.usdPerDay)}/day`);
  if (limits.usdPerMonth) parts.push(`${usd(limits.usdPerMonth)}/month`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

export function table(headers, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))), h('tbody', {}, rows));
}

export function errorNote(error) {
  return h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error));
}

const present = (content) => content.flat().filter((part) => part !== null && part !== undefined);

/** Puts a page in place; the `console:rendered` mark tells when (what `npm run bench:console` measures). */
export function page(title, ...content) {
  main.replaceChildren(h('h1', {}, title), ...present(content));
  document.title = `${title} · AI gateway console`;
  performance.mark('console:rendered', { detail: title });
}

let visits = 0;

/**
 * A visit of a page: its `page()` draws only while no other page has been opened since, so that a slow answer
 * never covers the page the user went on to (`current()` tells whether it still may draw).
 */
export function visit() {
  const mine = ++visits;
  const current = () => mine === visits;
  return { current, page: (title, ...content) => current() && page(title, ...content) };
}

/** Puts new content in one part of the page (the rest, a search box being typed in, stays), marked as page() does. */
function refill(region, title, ...content) {
  region.replaceChildren(...present(content));
  performance.mark('console:rendered', { detail: title });
}

/** Rows per page of the Keys, Teams and Audit tables. */
export const PAGE_SIZE = 50;

/**
 * Keyset paging over a list route: `load(cursor)` answers one page ({data, has_more, next_cursor, total?}),
 * `show(list, pager)` draws it with the pager's `Previous` / `Next` buttons, `fail(error)` says why it could
 * not. Previous walks back through the cursors seen on the way; `reload()` draws the current page again.
 */
export function paged(load, show, fail) {
  const cursors = [undefined];
  let at = 0;
  const go = async (to) => {
    let list;
    try {
      list = await load(cursors[to]);
    } catch (error) {
      fail(error);
      return;
    }
    at = to;
    const first = at * PAGE_SIZE + 1;
    const range = list.data.length === 0 ? 'No rows' : `Rows ${num(first)}–${num(first + list.data.length - 1)}${typeof list.total === 'number' ? ` of ${num(list.total)}` : ''}`;
    const pager = h(
      'div',
      { class: 'toolbar pager' },
      h('button', { type: 'button', disabled: at === 0, onclick: () => go(at - 1) }, 'Previous'),
      h('button', {
        type: 'button',
        disabled: !list.has_more,
        onclick: () => {
          cursors[at + 1] = list.next_cursor;
          return go(at + 1);
        },
      }, 'Next'),
      h('span', { class: 'range' }, range),
    );
    await show(list, pager);
  };
  return { first: () => go(0), reload: () => go(at) };
}

/** How long typing in a search box pauses before the search is asked for (Enter asks at once). */
const SEARCH_PAUSE_MS = 200;

/**
 * A page of `tools(list)` and the search box `Search` over a paged table: `load(q, cursor)` answers one page of
 * the search `q` ('' for all), `draw(answer, list)` what the page shows of it (awaited: it may ask for more). Only the
 * latest search's answer is drawn, below the box, which keeps its text and focus. `list.reload()` draws the
 * current page again; `list.restart()` empties the box and draws the first page (a row just made is there).
 */
export function searchablePage(title, tools, load, draw) {
  const shown = visit();
  const input = h('input', { id: 'search', type: 'search', autocomplete: 'off', spellcheck: 'false' });
  const results = h('div', {}, h('p', {}, 'Loading…'));
  let searches = 0;
  let current;
  const search = () => {
    const mine = ++searches;
    const latest = () => mine === searches && shown.current();
    current = paged(
      (cursor) => load(input.value.trim(), cursor),
      async (answer, pager) => {
        const content = await draw(answer, list);
        if (latest()) refill(results, title, content, pager);
      },
      (error) => latest() && refill(results, title, errorNote(error)),
    );
    return current.first();
  };
  let pause;
  input.addEventListener('input', () => {
    clearTimeout(pause);
    pause = setTimeout(search, SEARCH_PAUSE_MS);
  });
  const form = h('form', { role: 'search' }, h('label', { for: 'search' }, 'Search'), ' ', input);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(pause);
    search();
  });
  const list = {
    reload: () => current.reload(),
    restart: () => {
      input.value = '';
      return search();
    },
  };
  shown.page(title, h('div', { class: 'toolbar' }, tools(list), form), results);
  search();
  return list;
}
