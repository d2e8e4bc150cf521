// The admin console: one page, no framework. Every value from the API reaches the page as text
// (textContent, input values), never as HTML, so a name such as `<img src=x onerror=...>` shows literally.
// The session is an HttpOnly cookie: nothing here stores or sees a token after sign-in.

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

const ADMIN_PAGES = ['Overview', 'Keys', 'Teams', 'Usage', 'Upstreams', 'Audit'];
let session;

/** An element with attributes and children; strings become text nodes. */
function h(tag, attrs = {}, ...children) {
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

async function api(method, path, body) {
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

const usd = (value) => (typeof value === 'number' ? `$${value.toFixed(value < 1 ? 4 : 2)}` : '—');
const num = (value) => (typeof value === 'number' ? value.toLocaleString('en-US') : '—');
const isoDay = (date) => date.toISOString().slice(0, 10);
const daysAgo = (n) => new Date(Date.now() - n * 86_400_000);
const canWrite = () => session?.role === 'admin';

function limitsText(limits) {
  if (!limits) return '—';
  const parts = [];
  if (limits.requestsPerMinute) parts.push(`${num(limits.requestsPerMinute)} req/min`);
  if (limits.tokensPerMinute) parts.push(`${num(limits.tokensPerMinute)} tok/min`);
  if (limits.tokensPerDay) parts.push(`${num(limits.tokensPerDay)} tok/day`);
  if (limits.usdPerDay) parts.push(`${usd(limits.usdPerDay)}/day`);
  if (limits.usdPerMonth) parts.push(`${usd(limits.usdPerMonth)}/month`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

function table(headers, rows) {
  return h('table', {}, h('thead', {}, h('tr', {}, headers.map((name) => h('th', { scope: 'col' }, name)))), h('tbody', {}, rows));
}

function errorNote(error) {
  return h('p', { class: 'error', role: 'alert' }, error instanceof Error ? error.message : String(error));
}

function page(title, ...content) {
  main.replaceChildren(h('h1', {}, title), ...content.flat().filter((part) => part !== null && part !== undefined));
  document.title = `${title} · AI gateway console`;
}

/** A modal dialog of `fields`; resolves with their values when `submitLabel` is pressed, or undefined. */
function formDialog(title, fields, submitLabel, onSubmit) {
  const inputs = fields.map((field) => ({ field, input: h('input', { name: field.name, type: field.type ?? 'text', autocomplete: 'off' }) }));
  const status = h('p', { class: 'error', role: 'alert' });
  const dialog = h('dialog', { 'aria-label': title });
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', {}, title),
    inputs.map(({ field, input }) => h('label', {}, field.label, input)),
    status,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, submitLabel), h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(inputs.map(({ field, input }) => [field.name, input.value.trim()]));
    try {
      await onSubmit(values, dialog);
    } catch (error) {
      status.textContent = error.message;
    }
  });
  dialog.append(form);
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
  return dialog;
}

function confirmDialog(question, onConfirm) {
  const status = h('p', { class: 'error', role: 'alert' });
  const dialog = h('dialog', { 'aria-label': question });
  dialog.append(
    h('p', {}, question),
    status,
    h(
      'div',
      { class: 'toolbar' },
      h('button', {
        type: 'button',
        onclick: async () => {
          try {
            await onConfirm(dialog);
          } catch (error) {
            status.textContent = error.message;
          }
        },
      }, 'Confirm'),
      h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'),
    ),
  );
  document.body.append(dialog);
  dialog.addEventListener('close', () => dialog.remove());
  dialog.showModal();
}

/** Shows a new secret once, in a read-only field, with Copy and Done. */
function showSecret(dialog, key, onDone) {
  const field = h('input', { id: 'new-key', readonly: true, value: key, autocomplete: 'off' });
  const copied = h('span', { role: 'status' });
  dialog.replaceChildren(
    h('h2', {}, 'Key created'),
    h('p', {}, 'Copy the key now: it is shown only once.'),
    h('label', { for: 'new-key' }, 'New key'),
    field,
    h(
      'div',
      { class: 'toolbar' },
      h('button', {
        type: 'button',
        onclick: async () => {
          field.select();
          try {
            await navigator.clipboard.writeText(key);
            copied.textContent = 'Copied.';
          } catch {
            copied.textContent = 'Press Ctrl+C to copy the selected key.';
          }
        },
      }, 'Copy'),
      h('button', { type: 'button', onclick: () => { dialog.close(); onDone(); } }, 'Done'),
      copied,
    ),
  );
}

const numberOrUndefined = (text) => (text === '' ? undefined : Number(text));
function limitsFrom(values) {
  const limits = {
    requestsPerMinute: numberOrUndefined(values.requestsPerMinute),
    tokensPerMinute: numberOrUndefined(values.tokensPerMinute),
    usdPerDay: numberOrUndefined(values.usdPerDay),
    usdPerMonth: numberOrUndefined(values.usdPerMonth),
  };
  const set = Object.entries(limits).filter(([, v]) => v !== undefined);
  return set.length === 0 ? undefined : Object.fromEntries(set);
}
const modelsFrom = (text) => (text === '' ? undefined : text.split(',').map((m) => m.trim()).filter((m) => m !== ''));
const LIMIT_FIELDS = [
  { name: 'requestsPerMinute', label: 'Requests per minute', type: 'number' },
  { name: 'tokensPerMinute', label: 'Tokens per minute', type: 'number' },
  { name: 'usdPerDay', label: 'USD per day', type: 'number' },
  { name: 'usdPerMonth', label: 'USD per month', type: 'number' },
];

async function overviewPage() {
  page('Overview', h('p', {}, 'Loading…'));
  const today = isoDay(new Date());
  const monthStart = `${today.slice(0, 8)}01`;
  try {
    const { data } = await api('GET', `/admin/usage/daily?from=${monthStart}&to=${today}&groupBy=key,model`);
    const sum = (rows) => rows.reduce((t, r) => ({
      requests: t.requests + r.requests,
      tokens: t.tokens + r.promptTokens + r.completionTokens,
      costUsd: t.costUsd + r.costUsd,
    }), { requests: 0, tokens: 0, costUsd: 0 });
    const day = sum(data.filter((r) => r.date === today));
    const month = sum(data);
    const top = (field) => {
      const by = new Map();
      for (const r of data) by.set(r[field], (by.get(r[field]) ?? 0) + r.costUsd);
      return [...by].sort((a, b) => b[1] - a[1]).slice(0, 10);
    };
    const card = (title, totals) => h('div', { class: 'card' }, h('h2', {}, title),
      h('div', { class: 'value' }, usd(totals.costUsd)), h('div', {}, `${num(totals.requests)} requests, ${num(totals.tokens)} tokens`));
    page('Overview',
      h('div', { class: 'cards' }, card('Today', day), card('This month', month)),
      h('h2', {}, 'Top keys by spend this month'), table(['Key', 'Spend'], top('key').map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, usd(v))))),
      h('h2', {}, 'Top models by spend this month'), table(['Model', 'Spend'], top('model').map(([m, v]) => h('tr', {}, h('td', {}, m), h('td', {}, usd(v))))));
  } catch (error) {
    page('Overview', errorNote(error));
  }
}

async function keysPage() {
  page('Keys', h('p', {}, 'Loading…'));
  let keys;
  try {
    ({ data: keys } = await api('GET', '/admin/keys?status=all'));
  } catch (error) {
    page('Keys', errorNote(error));
    return;
  }
  const budgets = new Map();
  const lastUsed = new Map();
  const [usage, ledger] = await Promise.allSettled([
    api('GET', '/admin/usage'),
    api('GET', `/admin/usage/daily?from=${isoDay(daysAgo(30))}&to=${isoDay(new Date())}&groupBy=key`),
  ]);
  if (usage.status === 'fulfilled') {
    for (const k of usage.value.data) {
      if (k.limits?.usdPerDay !== undefined) budgets.set(k.name, Math.max(0, k.limits.usdPerDay - (k.costUsd?.today ?? 0)));
    }
  }
  if (ledger.status === 'fulfilled') {
    for (const r of ledger.value.data) if (r.requests > 0 && (lastUsed.get(r.key) ?? '') < r.date) lastUsed.set(r.key, r.date);
  }
  const rows = keys.map((key) => h('tr', {},
    h('td', {}, key.name), h('td', {}, key.team ?? '—'), h('td', {}, key.keyHint ? `…${key.keyHint}` : '—'),
    h('td', {}, key.models ? key.models.join(', ') : 'all'), h('td', {}, limitsText(key.limits)),
    h('td', {}, budgets.has(key.name) ? usd(budgets.get(key.name)) : '—'), h('td', {}, lastUsed.get(key.name) ?? '—'),
    h('td', { class: `status-${key.status ?? 'active'}` }, key.status ?? (key.revokedAt ? 'revoked' : 'active')),
    h('td', {}, canWrite() && key.source === 'api' && !key.revokedAt ? [
      h('button', { type: 'button', onclick: () => confirmDialog(`Rotate key ${key.name}?`, async (dialog) => {
        const rotated = await api('POST', `/admin/keys/${encodeURIComponent(key.id)}/rotate`, {});
        showSecret(dialog, rotated.key, keysPage);
      }) }, 'Rotate'),
      h('button', { type: 'button', onclick: () => confirmDialog(`Revoke key ${key.name}?`, async (dialog) => {
        await api('DELETE', `/admin/keys/${encodeURIComponent(key.id)}`);
        dialog.close();
        await keysPage();
      }) }, 'Revoke'),
    ] : [])));
  const create = canWrite() ? h('button', { type: 'button', onclick: () => formDialog('Create key', [
    { name: 'name', label: 'Name' }, { name: 'team', label: 'Team' }, { name: 'models', label: 'Allowed models' },
    ...LIMIT_FIELDS, { name: 'expires', label: 'Expires', type: 'datetime-local' },
  ], 'Create', async (values, dialog) => {
    const created = await api('POST', '/admin/keys', {
      name: values.name,
      team: values.team === '' ? undefined : values.team,
      models: modelsFrom(values.models),
      limits: limitsFrom(values),
      expiresAt: values.expires === '' ? undefined : new Date(values.expires).toISOString(),
    });
    showSecret(dialog, created.key, keysPage);
  }) }, 'Create key') : null;
  page('Keys', h('div', { class: 'toolbar' }, create),
    table(['Name', 'Team', 'Hint', 'Models', 'Limits', 'Budget left today', 'Last used', 'Status', ''], rows));
}

async function teamsPage() {
  page('Teams', h('p', {}, 'Loading…'));
  try {
    const [{ data: teams }, { data: keys }] = await Promise.all([api('GET', '/admin/teams'), api('GET', '/admin/keys')]);
    const rows = teams.map((team) => h('tr', {},
      h('td', {}, team.name), h('td', {}, keys.filter((k) => k.team === team.name).map((k) => k.name).join(', ') || '—'),
      h('td', {}, team.models ? team.models.join(', ') : 'all'), h('td', {}, limitsText(team.limits)),
      h('td', {}, canWrite() && team.source === 'api' ? h('button', { type: 'button', onclick: () => confirmDialog(`Delete team ${team.name}?`, async (dialog) => {
        await api('DELETE', `/admin/teams/${encodeURIComponent(team.name)}`);
        dialog.close();
        await teamsPage();
      }) }, 'Delete') : [])));
    const create = canWrite() ? h('button', { type: 'button', onclick: () => formDialog('Create team', [
      { name: 'name', label: 'Name' }, { name: 'models', label: 'Allowed models' }, ...LIMIT_FIELDS,
    ], 'Create', async (values, dialog) => {
      await api('POST', '/admin/teams', { name: values.name, models: modelsFrom(values.models), limits: limitsFrom(values) });
      dialog.close();
      await teamsPage();
    }) }, 'Create team') : null;
    page('Teams', h('div', { class: 'toolbar' }, create), table(['Name', 'Members', 'Models', 'Limits and budgets', ''], rows));
  } catch (error) {
    page('Teams', errorNote(error));
  }
}

/** Tokens per day, one line per group, over `days`; uPlot draws it when it has loaded. */
function usageChart(rows, groupField, days) {
  const figure = h('figure', { role: 'img', 'aria-label': 'Usage per day' }, h('figcaption', {}, 'Usage per day (tokens)'));
  const dates = Array.from({ length: days }, (_, i) => isoDay(daysAgo(days - 1 - i)));
  const groups = [...new Set(rows.map((r) => (groupField === undefined ? 'total' : r[groupField] ?? '—')))].slice(0, 8);
  const series = groups.map((group) => dates.map((date) => rows
    .filter((r) => r.date === date && (groupField === undefined || (r[groupField] ?? '—') === group))
    .reduce((t, r) => t + r.promptTokens + r.completionTokens, 0)));
  const draw = () => {
    if (typeof globalThis.uPlot !== 'function') return;
    const x = dates.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
    const colors = ['#3366cc', '#dc3912', '#ff9900', '#109618', '#990099', '#0099c6', '#dd4477', '#66aa00'];
    // eslint-disable-next-line no-new
    new globalThis.uPlot({
      width: Math.min(1100, main.clientWidth - 20), height: 280,
      series: [{}, ...groups.map((g, i) => ({ label: String(g), stroke: colors[i % colors.length], width: 2 }))],
      axes: [{}, { size: 70 }],
    }, [x, ...series], figure);
  };
  if (document.readyState === 'complete') queueMicrotask(draw);
  else window.addEventListener('load', draw, { once: true });
  return figure;
}

async function usagePage(groupBy = 'key') {
  const from = isoDay(daysAgo(29));
  const to = isoDay(new Date());
  const select = h('select', { id: 'group-by', onchange: () => usagePage(select.value) },
    ['key', 'team', 'model'].map((g) => h('option', { value: g, selected: g === groupBy }, g)));
  const csv = h('a', { href: `/admin/usage/daily?from=${from}&to=${to}&groupBy=${groupBy}&format=csv`, download: `usage-${from}-${to}.csv` }, 'Download CSV');
  const toolbar = h('div', { class: 'toolbar' }, h('label', { for: 'group-by' }, 'Group by'), select, csv);
  try {
    const { data } = await api('GET', `/admin/usage/daily?from=${from}&to=${to}&groupBy=${groupBy}`);
    page('Usage', toolbar, h('h2', {}, 'Usage per day'), usageChart(data, groupBy, 30),
      table(['Date', groupBy, 'Requests', 'Prompt tokens', 'Completion tokens', 'Spend'],
        data.map((r) => h('tr', {}, h('td', {}, r.date), h('td', {}, r[groupBy] ?? '—'), h('td', {}, num(r.requests)),
          h('td', {}, num(r.promptTokens)), h('td', {}, num(r.completionTokens)), h('td', {}, usd(r.costUsd))))));
  } catch (error) {
    page('Usage', toolbar, errorNote(error));
  }
}

async function upstreamsPage() {
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

async function auditPage() {
  try {
    const { data } = await api('GET', '/admin/audit?limit=200');
    page('Audit', table(['When', 'By', 'Action', 'Target', 'Changes'], data.map((e) => h('tr', {},
      h('td', {}, e.at), h('td', {}, e.by), h('td', {}, e.action), h('td', {}, e.target), h('td', {}, e.changes ? JSON.stringify(e.changes) : '')))));
  } catch (error) {
    page('Audit', errorNote(error));
  }
}

async function yourKeyPage() {
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
    key.daily === undefined ? null : [h('h2', {}, 'Usage per day'), usageChart(key.daily, undefined, 30)]);
  } catch (error) {
    page('Your key', errorNote(error));
  }
}

const PAGES = { overview: overviewPage, keys: keysPage, teams: teamsPage, usage: () => usagePage(), upstreams: upstreamsPage, audit: auditPage };

function signInPage(message) {
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
      location.hash = session.role === 'key' ? '#/key' : '#/overview';
      route();
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
  const current = location.hash.replace(/^#\//, '') || 'overview';
  const name = Object.hasOwn(PAGES, current) ? current : 'overview';
  nav.replaceChildren(...ADMIN_PAGES.map((title) => h('a', { href: `#/${title.toLowerCase()}`, 'aria-current': title.toLowerCase() === name ? 'page' : undefined }, title)));
  return PAGES[name]();
}

window.addEventListener('hashchange', route);
api('GET', '/admin/session').then((current) => { session = current; }, () => { session = undefined; }).finally(route);
