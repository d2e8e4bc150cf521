// The admin console: one page, no framework, its parts in modules of this folder. The session is an HttpOnly
// cookie: nothing here stores or sees a token after sign-in.
import { usageChart } from './chart.js';
import { api, daysAgo, errorNote, h, isoDay, limitsText, num, PAGE_SIZE, paged, query, table, usd, visit } from './dom.js';
import { keysPage, teamsPage } from './keys-pages.js';

const nav = document.getElementById('nav');
const who = document.getElementById('who');

const ADMIN_PAGES = ['Overview', 'Keys', 'Teams', 'Usage', 'Upstreams', 'Audit'];
let session;
const canWrite = () => session?.role === 'admin';

/** The ledger's sums as a card shows them. */
const totals = (sums) => ({ requests: sums?.requests ?? 0, tokens: (sums?.promptTokens ?? 0) + (sums?.completionTokens ?? 0), costUsd: sums?.costUsd ?? 0 });

async function overviewPage() {
  const { page } = visit();
  page('Overview', h('p', {}, 'Loading…'));
  const today = isoDay(new Date());
  const monthStart = `${today.slice(0, 8)}01`;
  try {
    // Summed by the server: its size is the top ten and the month's days, however many keys there are.
    const summary = await api('GET', `/admin/usage/summary?${query({ from: monthStart, to: today, top: 10 })}`);
    const card = (title, sums) => h('div', { class: 'card' }, h('h2', {}, title),
      h('div', { class: 'value' }, usd(sums.costUsd)), h('div', {}, `${num(sums.requests)} requests, ${num(sums.tokens)} tokens`));
    const topTable = (heading, rows, field) => [h('h2', {}, heading),
      table([heading.includes('keys') ? 'Key' : 'Model', 'Spend'], rows.map((r) => h('tr', {}, h('td', {}, r[field]), h('td', {}, usd(r.costUsd)))))];
    page('Overview',
      h('div', { class: 'cards' }, card('Today', totals(summary.days.find((d) => d.date === today))), card('This month', totals(summary.total))),
      topTable('Top keys by spend this month', summary.top.key, 'key'),
      topTable('Top models by spend this month', summary.top.model, 'model'));
  } catch (error) {
    page('Overview', errorNote(error));
  }
}

/** Groups the Usage page names one by one; the others are one series, `Other`. */
const USAGE_TOP = 8;

async function usagePage(groupBy = 'key') {
  const { page } = visit();
  const from = isoDay(daysAgo(29));
  const to = isoDay(new Date());
  const select = h('select', { id: 'group-by', onchange: () => usagePage(select.value) },
    ['key', 'team', 'model'].map((g) => h('option', { value: g, selected: g === groupBy }, g)));
  // The CSV holds every row of the 30 days (streamed by the server); the page shows the top groups only.
  const csv = h('a', { href: `/admin/usage/daily?from=${from}&to=${to}&groupBy=${groupBy}&format=csv`, download: `usage-${from}-${to}.csv` }, 'Download CSV');
  const toolbar = h('div', { class: 'toolbar' }, h('label', { for: 'group-by' }, 'Group by'), select, csv);
  try {
    const series = await api('GET', `/admin/usage/series?${query({ from, to, groupBy, top: USAGE_TOP })}`);
    const other = `Other (${num(series.others)} ${groupBy === 'key' ? 'keys' : `${groupBy}s`})`;
    const label = (row) => (row[groupBy] === null ? other : row[groupBy] || '—');
    const groups = [...series.top.map((name) => name || '—'), ...(series.others > 0 ? [other] : [])];
    const sums = new Map(groups.map((g) => [g, { requests: 0, promptTokens: 0, cacheWriteTokens: 0, completionTokens: 0, costUsd: 0 }]));
    for (const r of series.data) {
      const s = sums.get(label(r));
      for (const field of Object.keys(s)) s[field] += r[field];
    }
    page('Usage', toolbar, h('h2', {}, 'Usage per day'), usageChart(series.data, label, 30, groups),
      // Cache writes (Anthropic's prompt-cache writes) are a part of the prompt tokens, priced apart.
      table([groupBy, 'Requests', 'Prompt tokens', 'Cache writes', 'Completion tokens', 'Spend'], [...sums].map(([g, s]) => h('tr', {}, h('td', {}, g),
        h('td', {}, num(s.requests)), h('td', {}, num(s.promptTokens)), h('td', {}, num(s.cacheWriteTokens)), h('td', {}, num(s.completionTokens)),
        h('td', {}, usd(s.costUsd))))));
  } catch (error) {
    page('Usage', toolbar, errorNote(error));
  }
}

async function upstreamsPage() {
  const { page } = visit();
  try {
    const { data } = await api('GET', '/admin/upstreams');
    page('Upstreams', table(['Pool', 'Account', 'State', 'Until', 'Requests (15 min)', 'Errors (15 min)'], data.map((a) => h('tr', {},
      h('td', {}, a.pool), h('td', {}, a.account),
      h('td', { class: a.available ? 'status-available' : 'status-cooling' }, a.available ? 'available' : `cooling down (${a.reason ?? 'unknown'})`),
      h('td', {}, a.coolingUntil ?? '—'), h('td', {}, num(a.recent.requests)), h('td', {}, num(a.recent.errors))))));
  } catch (error) {
    page('Upstreams', errorNote(error));
  }
}

function auditPage() {
  const { page } = visit();
  const list = paged(
    (cursor) => api('GET', `/admin/audit?${query({ limit: PAGE_SIZE, cursor })}`),
    ({ data }, pager) => page('Audit', table(['When', 'By', 'Action', 'Target', 'Changes'], data.map((e) => h('tr', {},
      h('td', {}, e.at), h('td', {}, e.by), h('td', {}, e.action), h('td', {}, e.target), h('td', {}, e.changes ? JSON.stringify(e.changes) : '')))), pager),
    (error) => page('Audit', errorNote(error)),
  );
  return list.first();
}

async function yourKeyPage() {
  const { page } = visit();
  try {
    const key = await api('GET', '/admin/session/key');
    const row = (term, value) => [h('dt', {}, term), h('dd', {}, value)];
    const left = (value, unit) => (value === null ? 'no limit' : `${num(value)} ${unit}`);
    page('Your key', h('dl', {},
      row('Name', key.name), row('Team', key.team ?? '—'), row('Allowed models', key.models ? key.models.join(', ') : 'all'),
      row('Limits', limitsText(key.limits)),
      row('Left this minute', `${left(key.left.requestsThisMinute, 'requests')}, ${left(key.left.tokensThisMinute, 'tokens')}`),
      row('Left today', left(key.left.tokensToday, 'tokens')),
      row('Budget left today', key.left.usdToday === null ? 'no budget' : usd(key.left.usdToday)),
      row('Budget left this month', key.left.usdThisMonth === null ? 'no budget' : usd(key.left.usdThisMonth)),
      row('Spent today', usd(key.used.usdToday)), row('Spent this month', usd(key.used.usdThisMonth))),
    key.daily === undefined ? null : [h('h2', {}, 'Usage per day'), usageChart(key.daily, () => 'total', 30, ['total'])]);
  } catch (error) {
    page('Your key', errorNote(error));
  }
}

/** The admin pages by their hash (`#/keys?team=platform`: the Keys page of one team). */
const PAGES = {
  overview: overviewPage,
  keys: (params) => keysPage(canWrite(), { team: params.get('team') ?? undefined }),
  teams: () => teamsPage(canWrite()),
  usage: () => usagePage(),
  upstreams: upstreamsPage,
  audit: auditPage,
};

function signInPage(message) {
  const { page } = visit();
  nav.replaceChildren();
  who.replaceChildren();
  const input = h('input', { id: 'token', name: 'token', type: 'text', class: 'masked', autocomplete: 'off', spellcheck: 'false', required: true });
  const status = h('p', { class: 'error', role: 'alert' }, message ?? '');
  const form = h('form', {}, h('label', { for: 'token' }, 'Token'), ' ', input, ' ', h('button', { type: 'submit' }, 'Sign in'), status);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      session = await api('POST', '/admin/session', { token: input.value.trim() });
      input.value = '';
      const target = session.role === 'key' ? '#/key' : '#/overview';
      // Setting another hash routes through `hashchange`; the same hash does not, so route here.
      if (location.hash === target) route();
      else location.hash = target;
    } catch (error) {
      status.textContent = error.message;
    }
  });
  page('Sign in', h('p', {}, 'Sign in with an admin credential or your gateway key.'), form);
  input.focus();
}

async function signOut() {
  try {
    await api('DELETE', '/admin/session');
  } finally {
    session = undefined;
    location.hash = '';
    signInPage();
  }
}

function route() {
  if (session === undefined) return signInPage();
  who.replaceChildren(h('span', {}, `${session.name} (${session.role === 'key' ? 'key' : session.role})`), h('button', { type: 'button', onclick: signOut }, 'Sign out'));
  if (session.role === 'key') {
    nav.replaceChildren();
    return yourKeyPage();
  }
  const [current, params] = location.hash.replace(/^#\//, '').split('?');
  const name = Object.hasOwn(PAGES, current) ? current : 'overview';
  nav.replaceChildren(...ADMIN_PAGES.map((title) => h('a', { href: `#/${title.toLowerCase()}`, 'aria-current': title.toLowerCase() === name ? 'page' : undefined }, title)));
  return PAGES[name](new URLSearchParams(params ?? ''));
}

window.addEventListener('hashchange', route);
// index.html preloads this answer (`rel=preload`, credentials included) while the scripts load; the same
// request here takes it from there.
fetch('/admin/session', { credentials: 'include', mode: 'cors' })
  .then((response) => (response.ok ? response.json() : undefined))
  .then((current) => { session = current; }, () => { session = undefined; })
  .finally(route);
