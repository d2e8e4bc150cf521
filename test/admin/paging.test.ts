// The admin API's lists in pages: `limit` and `cursor` on keys, teams and the audit, a stable order that keys
// created between two pages do not disturb, bad paging parameters refused in the API's envelope, and usage
// asked for the rows a page shows only.
import { beforeAll, describe, expect, it } from 'vitest';
import { admin } from '../helpers/admin.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';
import type { RunningGateway } from '../helpers/gateway.js';

interface ListPage<T> {
  object: string;
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
  total?: number;
}
type Key = { id: string; name: string; team: string | null; status: string };

const running = useGatewayWithPostgres({ teams: [{ name: 'config-team', limits: { usdPerDay: 3 } }] });
let gw: RunningGateway;

async function createKeys(prefix: string, count: number, team?: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const created = await admin(gw.url, 'POST', '/admin/keys', { name: `${prefix}-${String(i).padStart(2, '0')}`, ...(team !== undefined ? { team } : {}) });
    expect(created.status).toBe(201);
  }
}

/** Every page of `path` (which may have a query), `limit` rows at a time; `between` runs after each page with it. */
async function walk<T>(path: string, limit: number, between: (page: ListPage<T>, index: number) => Promise<void> = async () => {}): Promise<ListPage<T>[]> {
  const pages: ListPage<T>[] = [];
  let cursor: string | null = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const answer: { status: number; body: ListPage<T> } = await admin<ListPage<T>>(gw.url, 'GET', `${path}${separator}limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
    expect(answer.status).toBe(200);
    pages.push(answer.body);
    cursor = answer.body.next_cursor;
    expect(cursor === null).toBe(!answer.body.has_more);
    await between(answer.body, pages.length - 1);
  } while (cursor !== null);
  return pages;
}

beforeAll(async () => {
  gw = running.gateway;
  expect((await admin(gw.url, 'POST', '/admin/teams', { name: 'api-team', limits: { usdPerMonth: 50 } })).status).toBe(201);
  await createKeys('paged', 20, 'api-team');
});

describe('paged key lists', () => {
  it('walks every key once, in a stable order, while keys are created between pages', async () => {
    const before = await admin<ListPage<Key>>(gw.url, 'GET', '/admin/keys?status=all');
    expect(before.body.has_more).toBe(false);
    expect(before.body.next_cursor).toBeNull();
    const names = before.body.data.map((k) => k.name);
    expect(names.length).toBeGreaterThanOrEqual(21);

    let made = 0;
    const pages = await walk<Key>('/admin/keys?status=all', 6, async () => {
      await admin(gw.url, 'POST', '/admin/keys', { name: `between-${made++}` });
    });
    expect(pages.slice(0, -1).every((p) => p.data.length === 6)).toBe(true);
    const seen = pages.flatMap((p) => p.data.map((k) => k.name));
    expect(new Set(seen).size).toBe(seen.length);
    // Every key there from the start, in the first listing's order, then keys made during the walk.
    expect(seen.slice(0, names.length)).toEqual(names);
    expect(seen.slice(names.length).every((n) => n.startsWith('between-'))).toBe(true);
    expect(pages[0]!.total).toBe(names.length);
  });

  it('keeps a filter across pages: a key revoked after its page was served moves no other key', async () => {
    const revoked = (await admin<ListPage<Key>>(gw.url, 'GET', '/admin/keys?team=api-team&limit=1')).body.data[0]!;
    await admin(gw.url, 'DELETE', `/admin/keys/${revoked.id}`);
    const active = (await admin<ListPage<Key>>(gw.url, 'GET', '/admin/keys?team=api-team')).body.data.map((k) => k.name);
    expect(active).toHaveLength(19);

    const pages = await walk<Key>('/admin/keys?team=api-team', 7, async (page, index) => {
      // The first key of the first page leaves the filter: an offset would now skip a key.
      if (index === 0) await admin(gw.url, 'DELETE', `/admin/keys/${page.data[0]!.id}`);
    });
    const keys = pages.flatMap((p) => p.data);
    expect(keys.map((k) => k.name)).toEqual(active);
    expect(keys.every((k) => k.team === 'api-team' && k.status === 'active')).toBe(true);
    expect(pages.map((p) => p.total)).toEqual([19, 18, 18]);
  });

  it('refuses a bad limit or cursor with 400 naming it, in the admin API envelope', async () => {
    for (const query of ['limit=0', 'limit=1001', 'limit=ten', 'limit=2.5']) {
      const answer = await admin(gw.url, 'GET', `/admin/keys?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body, query).toMatchObject({ error: { type: 'invalid_request_error', param: 'limit', code: 'invalid_value' } });
    }
    const teamCursor = (await admin<ListPage<unknown>>(gw.url, 'GET', '/admin/teams?limit=1')).body.next_cursor!;
    for (const [path, cursor] of [
      ['/admin/keys', 'not-a-cursor'],
      ['/admin/keys', '%%%'],
      ['/admin/keys', teamCursor],
      ['/admin/keys', Buffer.from('{"a":1}').toString('base64url')],
      ['/admin/teams', Buffer.from('[1]').toString('base64url')],
      ['/admin/audit', Buffer.from('["x1"]').toString('base64url')],
      ['/admin/audit', 'A'.repeat(600)],
    ] as const) {
      const answer = await admin(gw.url, 'GET', `${path}?limit=5&cursor=${cursor}`);
      expect(answer.status, `${path} ${cursor}`).toBe(400);
      expect(answer.body, `${path} ${cursor}`).toMatchObject({ error: { type: 'invalid_request_error', param: 'cursor', code: 'invalid_value' } });
    }
  });
});

describe('paged teams and audit', () => {
  it('lists teams by name in pages, each with its active members', async () => {
    await admin(gw.url, 'POST', '/admin/teams', { name: 'aaa-first' });
    const pages = await walk<{ name: string; source: string; members: number; memberNames: string[] }>('/admin/teams', 1);
    expect(pages.map((p) => p.data[0]!.name)).toEqual(['aaa-first', 'api-team', 'config-team']);
    expect(pages.map((p) => p.total)).toEqual([3, 3, 3]);
    const apiTeam = pages[1]!.data[0]!;
    expect(apiTeam.members).toBe(18);
    expect(apiTeam.memberNames).toHaveLength(10);
    expect(apiTeam.memberNames.every((n) => n.startsWith('paged-'))).toBe(true);
  });

  it('walks the audit newest first with no entry twice, while entries are written between pages', async () => {
    const whole = (await admin<ListPage<{ id: string; action: string; target: string }>>(gw.url, 'GET', '/admin/audit?limit=1000')).body.data;
    expect(whole.length).toBeGreaterThan(20);
    let made = 0;
    const pages = await walk<{ id: string }>('/admin/audit', 8, async () => {
      await admin(gw.url, 'POST', '/admin/keys', { name: `audited-${made++}` });
    });
    const ids = pages.flatMap((p) => p.data.map((e) => e.id));
    expect(ids).toEqual(whole.map((e) => e.id));
    expect(pages.at(-1)!.has_more).toBe(false);
    // Without paging parameters the audit answers as before: the newest 100 at most.
    expect((await admin<ListPage<unknown>>(gw.url, 'GET', '/admin/audit')).body.data.length).toBe(Math.min(100, whole.length + made));
  });
});

describe('usage of the rows a page shows', () => {
  it('answers the counts and spend of the named keys and teams only', async () => {
    const keys = await admin<ListPage<{ name: string; costUsd: { today: number } }>>(gw.url, 'GET', '/admin/usage?keys=paged-05,paged-06,team-alpha');
    expect(keys.status).toBe(200);
    expect(keys.body.data.map((k) => k.name).sort()).toEqual(['paged-05', 'paged-06', 'team-alpha']);
    expect(keys.body.data[0]!.costUsd.today).toBe(0);
    const teams = await admin<ListPage<{ name: string; limits: Record<string, number>; costUsd: { today: number; month: number } }>>(
      gw.url,
      'GET',
      '/admin/usage/teams?teams=config-team,api-team',
    );
    expect(teams.body.data).toEqual([
      expect.objectContaining({ name: 'config-team', limits: { usdPerDay: 3 }, costUsd: { today: 0, month: 0 } }),
      expect.objectContaining({ name: 'api-team', limits: { usdPerMonth: 50 }, costUsd: { today: 0, month: 0 } }),
    ]);
    for (const path of ['/admin/usage?keys=', '/admin/usage?keys=a,,b', '/admin/usage/teams?teams=bad%20name', '/admin/usage/daily?from=2026-01-01&to=2026-01-02&keys=x;y']) {
      const answer = await admin(gw.url, 'GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.body, path).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_value' } });
    }
  });

  it("filters the ledger to the named keys", async () => {
    const first = await admin<{ key: string }>(gw.url, 'POST', '/admin/keys', { name: 'ledger-one' });
    const second = await admin<{ key: string }>(gw.url, 'POST', '/admin/keys', { name: 'ledger-two' });
    for (const secret of [first.body.key, second.body.key]) await gw.client(secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    const today = new Date().toISOString().slice(0, 10);
    const rows = await admin<ListPage<{ key: string; requests: number }>>(gw.url, 'GET', `/admin/usage/daily?from=${today}&to=${today}&groupBy=key&keys=ledger-two`);
    expect(rows.body.data).toEqual([expect.objectContaining({ key: 'ledger-two', requests: 1 })]);
  });
});
