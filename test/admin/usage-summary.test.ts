// The ledger summed by the server, so that an answer grows with the top groups and the days, not with the keys:
// `/admin/usage/summary` (totals, days, top keys, teams and models by spend), `/admin/usage/series` (per day,
// the top groups by tokens and the others as one series) and `/admin/usage/last-used` agree with the ledger's
// own rows; the CSV of the ledger is streamed and holds every row; bad parameters are 400.
import { beforeAll, describe, expect, it } from 'vitest';
import { KEEP_RANKING_OVER } from '../../src/admin/usage-summary-routes.js';
import type { UsageDelta } from '../../src/store/usage-repo.js';
import { admin, ADMIN_TOKEN } from '../helpers/admin.js';
import { useGatewayWithPostgres } from '../helpers/gateway-with-postgres.js';
import type { RunningGateway } from '../helpers/gateway.js';

type Sums = { requests: number; promptTokens: number; cachedTokens: number; cacheWriteTokens: number; completionTokens: number; reasoningTokens: number; costUsd: number };
type Row = Sums & { date: string; key?: string | null; team?: string | null; model?: string | null };

const running = useGatewayWithPostgres();
let gw: RunningGateway;

const DAYS = ['2026-03-01', '2026-03-02', '2026-03-03'];
const MODELS = ['model-a', 'model-b', 'model-c'];
/** Key i spends i micro-dollars per request and uses 10 * (60 - i) tokens: spend and tokens rank the keys in opposite orders. */
const KEYS = 60;
const keyName = (i: number): string => `led-${String(i).padStart(2, '0')}`;
const ledger: UsageDelta[] = DAYS.flatMap((day, d) =>
  Array.from({ length: KEYS }, (_, i) => ({
    day,
    key: keyName(i),
    model: MODELS[(i + d) % MODELS.length]!,
    team: i % 4 === 0 ? '' : `team-${i % 4}`,
    requests: 1 + d,
    promptTokens: 10 * (KEYS - i),
    cachedTokens: 1,
    cacheWriteTokens: d,
    completionTokens: d,
    reasoningTokens: 0,
    costMicros: i * 1_000 + d,
  })),
);

const get = async <T>(path: string): Promise<T> => {
  const answer = await admin<T>(gw.url, 'GET', path);
  expect(answer.status, path).toBe(200);
  return answer.body;
};
const range = `from=${DAYS[0]}&to=${DAYS.at(-1)}`;
const sum = (rows: readonly Sums[]): Sums => {
  const total = { requests: 0, promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0, costUsd: 0 };
  for (const r of rows) for (const k of Object.keys(total) as (keyof Sums)[]) total[k] += r[k];
  return { ...total, costUsd: Math.round(total.costUsd * 1e6) / 1e6 };
};
const round = (r: Sums): Sums => ({ ...r, costUsd: Math.round(r.costUsd * 1e6) / 1e6 });

beforeAll(async () => {
  gw = running.gateway;
  // Written through the store's ledger, as the gateway's flushes write it, in two batches.
  await gw.app.services.store.use(async (r) => {
    await r.usage.apply('summary-1', ledger.slice(0, KEYS));
    await r.usage.apply('summary-2', ledger.slice(KEYS));
  });
});

describe('the usage summary', () => {
  it('answers the totals, each day and the top keys, teams and models by spend, as the ledger sums them', async () => {
    const daily = (await get<{ data: Row[] }>(`/admin/usage/daily?${range}&groupBy=key`)).data;
    const summary = await get<{
      total: Sums;
      days: Row[];
      top: { key: Row[]; team: Row[]; model: Row[] };
      groups: { key: number; team: number; model: number };
    }>(`/admin/usage/summary?${range}&top=5`);
    expect(round(summary.total)).toEqual(sum(daily));
    // Prompt-cache writes are summed like every other count: key i wrote d tokens on day d.
    expect(summary.total.cacheWriteTokens).toBe(KEYS * (0 + 1 + 2));
    expect(summary.days.map((d) => d.cacheWriteTokens)).toEqual([0, KEYS, 2 * KEYS]);
    expect(summary.top.key[0]!.cacheWriteTokens).toBe(0 + 1 + 2);
    expect(summary.days.map((d) => d.date)).toEqual(DAYS);
    for (const day of summary.days) expect(round(day)).toEqual({ date: day.date, ...sum(daily.filter((r) => r.date === day.date)) });

    expect(summary.top.key.map((r) => r.key)).toEqual([59, 58, 57, 56, 55].map(keyName));
    expect(round(summary.top.key[0]!)).toEqual({ key: keyName(59), ...sum(daily.filter((r) => r.key === keyName(59))) });
    expect(summary.groups).toEqual({ key: KEYS, team: 4, model: 3 });
    // Teams' spend: team-3 holds keys 3, 7, ... 59, the most.
    expect(summary.top.team.map((r) => r.team)).toEqual(['team-3', 'team-2', 'team-1', '']);
    const byModel = (await get<{ data: Row[] }>(`/admin/usage/daily?${range}&groupBy=model`)).data;
    for (const top of summary.top.model) expect(round(top)).toEqual({ model: top.model, ...sum(byModel.filter((r) => r.model === top.model)) });
  });

  it('answers zeros and empty lists for a range with no usage', async () => {
    const empty = await get<{ total: Sums; days: Row[]; top: { key: Row[] }; groups: { key: number } }>('/admin/usage/summary?from=2001-01-01&to=2001-01-31');
    expect(empty).toMatchObject({ total: { requests: 0, costUsd: 0 }, days: [], top: { key: [], team: [], model: [] }, groups: { key: 0, team: 0, model: 0 } });
  });
});

describe('the usage series', () => {
  it('gives each day of the top keys by tokens, and the others as one series, adding up to the ledger', async () => {
    const series = await get<{ groupBy: string; top: string[]; others: number; data: Row[] }>(`/admin/usage/series?${range}&groupBy=key&top=4`);
    expect(series.top).toEqual([0, 1, 2, 3].map(keyName));
    expect(series.others).toBe(KEYS - 4);
    expect(series.data).toHaveLength(DAYS.length * 5);
    const daily = (await get<{ data: Row[] }>(`/admin/usage/daily?${range}&groupBy=key`)).data;
    for (const date of DAYS) {
      const ofDay = series.data.filter((r) => r.date === date);
      expect(ofDay.map((r) => r.key)).toEqual([...series.top, null]);
      for (const named of ofDay.slice(0, -1)) expect(named).toEqual(daily.find((r) => r.date === date && r.key === named.key));
      const others = daily.filter((r) => r.date === date && !series.top.includes(r.key!));
      expect(round(ofDay.at(-1)!)).toEqual({ date, key: null, ...sum(others) });
    }
    // The others' prompt-cache writes included: the named keys' and theirs make the ledger's.
    expect(sum(series.data).cacheWriteTokens).toBe(KEYS * (0 + 1 + 2));
  });

  it('ranks a few keys at each answer', async () => {
    const path = `/admin/usage/series?${range}&groupBy=key&top=2`;
    expect((await get<{ top: string[] }>(path)).top).toEqual([0, 1].map(keyName));
    await gw.app.services.store.use((r) => r.usage.apply('few-keys', [{ ...ledger[2]!, promptTokens: 100_000 }]));
    expect((await get<{ top: string[] }>(path)).top).toEqual([2, 0].map(keyName));
  });

  it('keeps which keys are named for a minute when more than 1,000 keys have usage, while every number stays current', async () => {
    // 1,000 more keys with a little usage on the first day: ranking them all is now kept.
    const light = Array.from({ length: KEEP_RANKING_OVER }, (_, i) => ({ ...ledger[0]!, key: `light-${i}`, promptTokens: 1, costMicros: 1 }));
    await gw.app.services.store.use((r) => r.usage.apply('many-keys', light));
    const path = `/admin/usage/series?${range}&groupBy=key&top=3`;
    const before = await get<{ top: string[]; others: number; data: Row[] }>(path);
    expect(before.top).toEqual([2, 0, 1].map(keyName));
    expect(before.others).toBe(KEYS + KEEP_RANKING_OVER - 3);
    // led-59 becomes the key with the most tokens: it is named once the ranking is made again, within a minute.
    await gw.app.services.store.use((r) => r.usage.apply('series-late', [{ ...ledger.at(-1)!, promptTokens: 1_000_000, requests: 5 }]));
    const after = await get<{ top: string[]; data: Row[] }>(path);
    expect(after.top).toEqual(before.top);
    const lastDay = DAYS.at(-1)!;
    const daily = (await get<{ data: Row[] }>(`/admin/usage/daily?from=${lastDay}&to=${lastDay}&groupBy=key`)).data;
    const others = after.data.find((r) => r.date === lastDay && r.key === null)!;
    expect(round(others)).toEqual({ date: lastDay, key: null, ...sum(daily.filter((r) => !after.top.includes(r.key!))) });
    expect(others.promptTokens - before.data.find((r) => r.date === lastDay && r.key === null)!.promptTokens).toBe(1_000_000);
    // Another range is ranked afresh.
    expect((await get<{ top: string[] }>(`/admin/usage/series?from=${lastDay}&to=${lastDay}&groupBy=key&top=3`)).top[0]).toBe(keyName(59));
  });

  it('gives teams and models from the rollup, equal to the ledger, and no others when every group is named', async () => {
    for (const groupBy of ['team', 'model'] as const) {
      const series = await get<{ top: string[]; others: number; data: Row[] }>(`/admin/usage/series?${range}&groupBy=${groupBy}`);
      expect(series.others, groupBy).toBe(0);
      expect(series.top.length, groupBy).toBe(groupBy === 'team' ? 4 : 3);
      const daily = (await get<{ data: Row[] }>(`/admin/usage/daily?${range}&groupBy=${groupBy}`)).data;
      const key = (r: Row): string => `${r.date}/${r[groupBy]}`;
      expect([...series.data].sort((a, b) => key(a).localeCompare(key(b))).map(round)).toEqual([...daily].sort((a, b) => key(a).localeCompare(key(b))).map(round));
    }
  });
});

describe('the last use of keys', () => {
  it("answers the last day each named key made a request, leaving out keys never used", async () => {
    await gw.app.services.store.use((r) => r.usage.apply('unused-day', [{ ...ledger[1]!, day: '2026-03-09', requests: 0, costMicros: 0 }]));
    const answer = await get<{ data: { key: string; date: string }[] }>(`/admin/usage/last-used?keys=${keyName(1)},${keyName(2)},never-used`);
    expect(answer.data).toEqual([
      { key: keyName(1), date: DAYS.at(-1) },
      { key: keyName(2), date: DAYS.at(-1) },
    ]);
    for (const path of ['/admin/usage/last-used', '/admin/usage/last-used?keys=', '/admin/usage/last-used?keys=a%20b']) {
      const refused = await admin(gw.url, 'GET', path);
      expect(refused.status, path).toBe(400);
      expect(refused.body, path).toMatchObject({ error: { type: 'invalid_request_error', param: expect.stringMatching(/^keys/), code: 'invalid_value' } });
    }
  });
});

describe('the ledger as CSV', () => {
  it('streams every row of the range, read from the store a day at a time', async () => {
    // 12,000 keys' rows over two days, with a day without usage between them.
    const many = Array.from({ length: 12_000 }, (_, i) => ({ ...ledger[0]!, day: i < 6_000 ? '2026-04-01' : '2026-04-03', key: `csv-${String(i).padStart(5, '0')}`, costMicros: i }));
    await gw.app.services.store.use((r) => r.usage.apply('csv-many', many));
    const answer = await fetch(`${gw.url}/admin/usage/daily?from=2026-04-01&to=2026-04-03&groupBy=key,model&format=csv`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-length')).toBeNull();
    expect(answer.headers.get('transfer-encoding')).toBe('chunked');
    const lines = (await answer.text()).split('\r\n');
    expect(lines[0]).toBe('date,key,model,requests,promptTokens,cachedTokens,cacheWriteTokens,completionTokens,reasoningTokens,costUsd');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(1, -1);
    expect(rows).toHaveLength(many.length);
    expect(new Set(rows.map((l) => l.split(',')[1])).size).toBe(many.length);
    expect(rows[0]).toBe('2026-04-01,csv-00000,model-a,1,600,1,0,0,0,0');
    expect(rows[5_999]).toBe('2026-04-01,csv-05999,model-a,1,600,1,0,0,0,0.005999');
    expect(rows[6_000]).toBe('2026-04-03,csv-06000,model-a,1,600,1,0,0,0,0.006');
    expect(rows.at(-1)).toBe('2026-04-03,csv-11999,model-a,1,600,1,0,0,0,0.011999');
  });
});

describe('bad parameters', () => {
  it('refuses them with 400 naming the parameter', async () => {
    for (const [path, param] of [
      ['/admin/usage/summary?from=2026-03-02&to=2026-03-01', 'from'],
      ['/admin/usage/summary?to=2026-03-01', 'from'],
      [`/admin/usage/summary?${range}&top=0`, 'top'],
      [`/admin/usage/summary?${range}&top=101`, 'top'],
      [`/admin/usage/series?${range}&top=ten`, 'top'],
      [`/admin/usage/series?${range}&groupBy=key,model`, 'groupBy'],
      ['/admin/usage/series?from=2026-02-30&to=2026-03-01', 'from'],
    ] as const) {
      const answer = await admin(gw.url, 'GET', path);
      expect(answer.status, path).toBe(400);
      expect(answer.body, path).toMatchObject({ error: { type: 'invalid_request_error', param, code: 'invalid_value' } });
    }
  });
});
