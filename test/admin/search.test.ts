// Finding one key among many: `order=newest` lists the keys made last first, `q` keeps those whose name, team or
// hint holds a text (any case), both kept across pages by the cursor; teams take `q` on their name. Bad values
// are 400 in the admin API's envelope, naming the parameter.
import { beforeAll, describe, expect, it } from 'vitest';
import { admin } from '../helpers/admin.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';
import type { RunningGateway } from '../helpers/gateway.js';

interface ListPage<T> {
  data: T[];
  has_more: boolean;
  next_cursor: string | null;
  total: number;
}
type Key = { id: string; name: string; team: string | null; keyHint: string | null };

const running = useGatewayWithPostgres({ teams: [{ name: 'Config-Finance' }] });
let gw: RunningGateway;
/** The API keys in the order they were made. */
const made: Key[] = [];

const list = async <T>(path: string): Promise<ListPage<T>> => {
  const answer = await admin<ListPage<T>>(gw.url, 'GET', path);
  expect(answer.status, path).toBe(200);
  return answer.body;
};

/** Every page of `path`, `limit` rows at a time. */
async function walk<T>(path: string, limit: number): Promise<ListPage<T>[]> {
  const pages: ListPage<T>[] = [];
  let cursor: string | null = null;
  do {
    pages.push(await list<T>(`${path}&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`));
    cursor = pages.at(-1)!.next_cursor;
  } while (cursor !== null);
  return pages;
}

beforeAll(async () => {
  gw = running.gateway;
  expect((await admin(gw.url, 'POST', '/admin/teams', { name: 'search-team' })).status).toBe(201);
  for (let i = 0; i < 12; i++) {
    const body = { name: `finder-${String(i).padStart(2, '0')}`, ...(i % 3 === 0 ? { team: 'search-team' } : {}) };
    const created = await admin<Key>(gw.url, 'POST', '/admin/keys', body);
    expect(created.status).toBe(201);
    made.push(created.body);
  }
});

describe('keys newest first', () => {
  it('lists the key made last first with order=newest, and keeps the oldest-first default', async () => {
    const newest = await list<Key>('/admin/keys?order=newest&limit=3');
    expect(newest.data.map((k) => k.name)).toEqual(['finder-11', 'finder-10', 'finder-09']);
    const oldest = await list<Key>('/admin/keys');
    // The config key (no creation time) first, then the API keys as they were made.
    expect(oldest.data.map((k) => k.name)).toEqual(['team-alpha', ...made.map((k) => k.name)]);

    const pages = await walk<Key>('/admin/keys?order=newest', 5);
    expect(pages.map((p) => p.data.length)).toEqual([5, 5, 3]);
    expect(pages.flatMap((p) => p.data.map((k) => k.name))).toEqual([...made.map((k) => k.name)].reverse().concat('team-alpha'));

    // A key made during the walk is on the first page of a new walk, and moves no row of this one.
    const first = await list<Key>('/admin/keys?order=newest&limit=5');
    const fresh = await admin<Key>(gw.url, 'POST', '/admin/keys', { name: 'made-later' });
    const second = await list<Key>(`/admin/keys?order=newest&limit=5&cursor=${first.next_cursor}`);
    expect(second.data.map((k) => k.name)).toEqual(pages[1]!.data.map((k) => k.name));
    expect((await list<Key>('/admin/keys?order=newest&limit=1')).data[0]!.name).toBe('made-later');
    await admin(gw.url, 'DELETE', `/admin/keys/${fresh.body.id}`);
  });
});

describe('searching keys and teams', () => {
  it('finds keys by a part of their name, team or hint, in any case, with the total of what matches', async () => {
    const byName = await list<Key>('/admin/keys?q=DER-07');
    expect(byName.data.map((k) => k.name)).toEqual(['finder-07']);
    expect(byName.total).toBe(1);

    const byTeam = await list<Key>('/admin/keys?q=Search-T');
    expect(byTeam.data.map((k) => k.name)).toEqual(['finder-00', 'finder-03', 'finder-06', 'finder-09']);

    const target = made[5]!;
    const byHint = await list<Key>(`/admin/keys?q=${target.keyHint}`);
    expect(byHint.data.map((k) => k.id)).toContain(target.id);
    expect(byHint.data.every((k) => [k.keyHint, k.name, k.team].some((field) => field?.toLowerCase().includes(target.keyHint!.toLowerCase())))).toBe(true);

    expect((await list<Key>('/admin/keys?q=no-such-key')).data).toEqual([]);
    // Revoked keys are found with status=all only, as the list's default is the active keys.
    await admin(gw.url, 'DELETE', `/admin/keys/${made[1]!.id}`);
    expect((await list<Key>('/admin/keys?q=finder-01')).total).toBe(0);
    expect((await list<Key>('/admin/keys?q=finder-01&status=all')).data.map((k) => k.name)).toEqual(['finder-01']);
  });

  it('pages through a search newest first, combined with a team filter', async () => {
    const pages = await walk<Key>('/admin/keys?q=finder&order=newest&status=all', 4);
    expect(pages.flatMap((p) => p.data.map((k) => k.name))).toEqual([...made.map((k) => k.name)].reverse());
    expect(pages.every((p) => p.total === 12)).toBe(true);

    const inTeam = await walk<Key>('/admin/keys?q=finder-0&team=search-team&order=newest', 2);
    expect(inTeam.flatMap((p) => p.data.map((k) => k.name))).toEqual(['finder-09', 'finder-06', 'finder-03', 'finder-00']);
  });

  it('finds teams by a part of their name, in any case', async () => {
    const found = await list<{ name: string }>('/admin/teams?q=FINANCE');
    expect(found.data.map((t) => t.name)).toEqual(['Config-Finance']);
    const pages = await walk<{ name: string }>('/admin/teams?q=e', 1);
    expect(pages.map((p) => p.data[0]!.name)).toEqual(['Config-Finance', 'search-team']);
  });

  it('refuses a bad order, search or a cursor of the other order with 400 naming it', async () => {
    const oldestCursor = (await list<Key>('/admin/keys?limit=2')).next_cursor!;
    for (const [path, param] of [
      ['/admin/keys?order=latest', 'order'],
      ['/admin/keys?q=', 'q'],
      [`/admin/keys?q=${'x'.repeat(201)}`, 'q'],
      ['/admin/teams?q=', 'q'],
      [`/admin/keys?order=newest&limit=2&cursor=${oldestCursor}`, 'cursor'],
    ] as const) {
      const answer = await admin(gw.url, 'GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.body, path).toMatchObject({ error: { type: 'invalid_request_error', param, code: 'invalid_value' } });
    }
  });
});
