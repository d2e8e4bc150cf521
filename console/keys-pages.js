// The Keys and Teams pages: one page of rows at a time, with what is left of each row's budget asked for the
// rows shown only.
import { confirmDialog, formDialog, showSecret } from './dialogs.js';
import { api, h, limitsText, PAGE_SIZE, query, searchablePage, table, usd } from './dom.js';

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
const left = (limit, spent) => (typeof limit === 'number' ? usd(Math.max(0, limit - (spent ?? 0))) : '—');

/** What the page's keys have left of today's budget, and the day each was last used (from the ledger). */
async function keysUsage(names) {
  if (names.length === 0) return { budgets: new Map(), lastUsed: new Map() };
  const keys = names.join(',');
  const [usage, ledger] = await Promise.allSettled([api('GET', `/admin/usage?${query({ keys })}`), api('GET', `/admin/usage/last-used?${query({ keys })}`)]);
  const budgets = new Map();
  if (usage.status === 'fulfilled') for (const k of usage.value.data) budgets.set(k.name, left(k.limits?.usdPerDay, k.costUsd?.today));
  const lastUsed = new Map(ledger.status === 'fulfilled' ? ledger.value.data.map((k) => [k.key, k.date]) : []);
  return { budgets, lastUsed };
}

export function keysPage(canWrite, filter = {}) {
  const title = filter.team === undefined ? 'Keys' : `Keys of team ${filter.team}`;
  const keyAction = (label, question, act) => h('button', { type: 'button', onclick: () => confirmDialog(question, act) }, label);
  const rowOf = (key, usage, reload) => h('tr', {},
    h('td', {}, key.name), h('td', {}, key.team ?? '—'), h('td', {}, key.keyHint ? `…${key.keyHint}` : '—'),
    h('td', {}, key.models ? key.models.join(', ') : 'all'), h('td', {}, limitsText(key.limits)),
    h('td', {}, usage.budgets.get(key.name) ?? '—'), h('td', {}, usage.lastUsed.get(key.name) ?? '—'),
    h('td', { class: `status-${key.status}` }, key.status),
    h('td', {}, canWrite && key.source === 'api' && key.status !== 'revoked' ? [
      keyAction('Rotate', `Rotate key ${key.name}?`, async (dialog) => {
        const rotated = await api('POST', `/admin/keys/${encodeURIComponent(key.id)}/rotate`, {});
        showSecret(dialog, 'Key rotated', rotated.key, reload);
      }),
      keyAction('Revoke', `Revoke key ${key.name}?`, async (dialog) => {
        await api('DELETE', `/admin/keys/${encodeURIComponent(key.id)}`);
        dialog.close();
        await reload();
      }),
    ] : []));
  const create = (reload) => canWrite ? h('button', { type: 'button', onclick: () => formDialog('Create key', [
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
    showSecret(dialog, 'Key created', created.key, reload);
  }) }, 'Create key') : null;

  // Newest first: a key just made is on the first page.
  return searchablePage(title, (list) => h('span', {}, create(list.restart)),
    (q, cursor) => api('GET', `/admin/keys?${query({ status: 'all', order: 'newest', team: filter.team, q, limit: PAGE_SIZE, cursor })}`),
    async ({ data: keys }, list) => {
      const usage = await keysUsage(keys.filter((k) => k.status === 'active').map((k) => k.name));
      return table(['Name', 'Team', 'Hint', 'Models', 'Limits', 'Budget left today', 'Last used', 'Status', ''], keys.map((key) => rowOf(key, usage, list.reload)));
    });
}

export function teamsPage(canWrite) {
  const members = (team) => team.members === 0 ? '—' : [
    h('a', { href: `#/keys?team=${encodeURIComponent(team.name)}` }, `${team.members} ${team.members === 1 ? 'key' : 'keys'}`),
    `: ${team.memberNames.join(', ')}${team.members > team.memberNames.length ? ', …' : ''}`,
  ];
  const rowOf = (team, spent, reload) => h('tr', {},
    h('td', {}, team.name), h('td', {}, members(team)),
    h('td', {}, team.models ? team.models.join(', ') : 'all'), h('td', {}, limitsText(team.limits)),
    h('td', {}, spent.has(team.name) ? left(team.limits.usdPerDay, spent.get(team.name).today) : '—'),
    h('td', {}, spent.has(team.name) ? left(team.limits.usdPerMonth, spent.get(team.name).month) : '—'),
    h('td', {}, canWrite && team.source === 'api' ? h('button', { type: 'button', onclick: () => confirmDialog(`Delete team ${team.name}?`, async (dialog) => {
      await api('DELETE', `/admin/teams/${encodeURIComponent(team.name)}`);
      dialog.close();
      await reload();
    }) }, 'Delete') : []));
  const create = (reload) => canWrite ? h('button', { type: 'button', onclick: () => formDialog('Create team', [
    { name: 'name', label: 'Name' }, { name: 'models', label: 'Allowed models' }, ...LIMIT_FIELDS,
  ], 'Create', async (values, dialog) => {
    await api('POST', '/admin/teams', { name: values.name, models: modelsFrom(values.models), limits: limitsFrom(values) });
    dialog.close();
    await reload();
  }) }, 'Create team') : null;

  return searchablePage('Teams', (list) => h('span', {}, create(list.reload)),
    (q, cursor) => api('GET', `/admin/teams?${query({ q, limit: PAGE_SIZE, cursor })}`),
    async ({ data: teams }, list) => {
      const budgeted = teams.filter((t) => t.limits?.usdPerDay !== undefined || t.limits?.usdPerMonth !== undefined).map((t) => t.name);
      const spent = new Map();
      if (budgeted.length > 0) {
        const usage = await api('GET', `/admin/usage/teams?${query({ teams: budgeted.join(',') })}`).catch(() => ({ data: [] }));
        for (const t of usage.data) spent.set(t.name, t.costUsd);
      }
      return table(['Name', 'Members', 'Models', 'Limits and budgets', 'Budget left today', 'Budget left this month', ''], teams.map((team) => rowOf(team, spent, list.reload)));
    });
}
