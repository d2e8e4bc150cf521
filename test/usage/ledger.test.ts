import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, ADMINS, chat, eventually } from '../helpers/admin.js';
import { anthropicClient, anthropicConfig } from '../helpers/anthropic.js';
import { CLIENT_KEY, startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { parsePrometheus, total } from '../helpers/prometheus.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';

const today = () => new Date().toISOString().slice(0, 10);
type Row = { key?: string; team?: string; model?: string; requests: number; promptTokens: number; cachedTokens: number; cacheWriteTokens: number; completionTokens: number; reasoningTokens: number; costUsd: number };

async function scrape(gw: RunningGateway) {
  return parsePrometheus(await (await fetch(`${gw.url}/metrics`)).text());
}

/** What Prometheus counted on every instance, in the ledger's terms. */
async function counted(gateways: RunningGateway[]) {
  const sums = { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0, costUsd: 0, requests: 0 };
  for (const gw of gateways) {
    const m = await scrape(gw);
    sums.promptTokens += total(m, 'gateway_tokens_total', { type: 'prompt' });
    sums.cachedTokens += total(m, 'gateway_tokens_total', { type: 'cached' });
    sums.cacheWriteTokens += total(m, 'gateway_tokens_total', { type: 'cache_write' });
    sums.completionTokens += total(m, 'gateway_tokens_total', { type: 'completion' });
    sums.reasoningTokens += total(m, 'gateway_tokens_total', { type: 'reasoning' });
    sums.costUsd += total(m, 'gateway_cost_usd_total');
    sums.requests += m.samples.filter((s) => s.name === 'gateway_requests_total' && s.labels.client_key !== 'none').reduce((n, s) => n + s.value, 0);
  }
  return sums;
}

async function ledger(gw: RunningGateway, groupBy = 'key,model'): Promise<Row[]> {
  const answer = await admin<{ data: Row[] }>(gw.url, 'GET', `/admin/usage/daily?from=${today()}&to=${today()}&groupBy=${groupBy}`);
  expect(answer.status).toBe(200);
  return answer.body.data;
}

function summed(rows: Row[]) {
  const sums = { promptTokens: 0, cachedTokens: 0, cacheWriteTokens: 0, completionTokens: 0, reasoningTokens: 0, costUsd: 0, requests: 0 };
  for (const r of rows) for (const k of Object.keys(sums) as (keyof typeof sums)[]) sums[k] += r[k];
  return sums;
}

function expectEqual(ledgerSums: ReturnType<typeof summed>, metricSums: ReturnType<typeof summed>): void {
  const { costUsd: ledgerCost, ...ledgerTokens } = ledgerSums;
  const { costUsd: metricCost, ...metricTokens } = metricSums;
  expect(ledgerTokens).toEqual(metricTokens);
  expect(ledgerCost).toBeCloseTo(metricCost, 6);
}

/** A stream the client abandons after its first chunk. */
async function hangUp(gw: RunningGateway, key: string): Promise<void> {
  const controller = new AbortController();
  const response = await fetch(`${gw.baseURL}/chat/completions`, {
    method: 'POST',
    signal: controller.signal,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hang up on me' }] }),
  });
  const reader = response.body!.getReader();
  await reader.read();
  controller.abort();
  await reader.closed.catch(() => undefined);
}

describe('usage ledger against Prometheus on two instances', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let upstream: MockUpstream;
  let a: RunningGateway;
  let b: RunningGateway;
  let failedOver = 0;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    // The first account fails every third request it gets: the gateway fails over to the second.
    let seenByA = 0;
    upstream = await startMockUpstream({
      chunkDelayMs: 5,
      fault: (rec) => {
        if (rec.headers.authorization !== 'Bearer sk-upstream-a' || ++seenByA % 3 !== 0) return undefined;
        failedOver++;
        return { kind: 'status', status: 500 };
      },
    });
    const config = testConfig(upstream.url, {
      admins: ADMINS,
      database: { url: pg.url },
      redis: { url: redis.url },
      models: [{ id: 'gpt-4o', kind: 'chat', pricing: { inputPerMillion: 2.5, cachedInputPerMillion: 1.25, outputPerMillion: 10 } }],
      teams: [{ name: 'platform' }],
      clientKeys: [{ name: 'team-alpha', key: CLIENT_KEY, team: 'platform' }],
      upstreams: [
        {
          name: 'mock',
          baseUrl: upstream.url,
          accounts: [
            { name: 'acct-a', apiKey: 'sk-upstream-a' },
            { name: 'acct-b', apiKey: 'sk-upstream-b' },
          ],
        },
      ],
    });
    a = await startGateway(config);
    b = await startGateway(config);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await upstream?.close();
    await redis?.stop();
    await pg?.remove();
  });

  it('sums to what gateway_tokens_total and gateway_cost_usd_total counted, streams, hang-ups and failovers included', async () => {
    const apiKey = (await admin<{ key: string }>(a.url, 'POST', '/admin/keys', { name: 'ledger-key' })).body.key;
    let sent = 0;
    for (const gw of [a, b]) {
      for (const key of [CLIENT_KEY, apiKey]) {
        for (let i = 0; i < 4; i++) {
          expect((await chat(gw.baseURL, key)).status).toBe(200);
          const stream = await gw.client(key).chat.completions.create({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream' }] });
          for await (const _chunk of stream) void _chunk;
          await hangUp(gw, key);
          sent += 3;
        }
      }
    }
    await eventually(async () => (await counted([a, b])).requests === sent, 'every request (hang-ups too) to be counted');
    const metrics = await counted([a, b]);
    expect(failedOver).toBeGreaterThan(0);
    expect(metrics.promptTokens).toBeGreaterThan(0);
    expect(metrics.costUsd).toBeGreaterThan(0);
    await Promise.all([a.app.services.ledger.flush(), b.app.services.ledger.flush()]);

    expectEqual(summed(await ledger(b)), metrics);
    const byTeam = await ledger(a, 'team');
    expect(byTeam.map((r) => r.team).sort()).toEqual(['', 'platform']);
    // The metrics carry the key's team too, and agree with the ledger team by team.
    const expositions = await Promise.all([a, b].map(scrape));
    const teamTotal = (name: string, labels: Record<string, string>) => expositions.reduce((n, e) => n + total(e, name, labels), 0);
    for (const row of byTeam) {
      expect(row.promptTokens).toBe(teamTotal('gateway_tokens_total', { team: row.team!, type: 'prompt' }));
      expect(row.costUsd).toBeCloseTo(teamTotal('gateway_cost_usd_total', { team: row.team! }), 6);
      expect(row.requests).toBe(teamTotal('gateway_requests_total', { team: row.team!, client_key: row.team === '' ? 'ledger-key' : 'team-alpha' }));
    }
    const csv = await admin(a.url, 'GET', `/admin/usage/daily?from=${today()}&to=${today()}&groupBy=key&format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('date,key,requests,promptTokens,cachedTokens,cacheWriteTokens,completionTokens,reasoningTokens,costUsd');
    expect(lines.slice(1).map((l) => l.split(',')[1]).sort()).toEqual(['ledger-key', 'team-alpha']);
  });

  it('keeps usage counted while PostgreSQL is down and writes it, once, when it is back', async () => {
    const before = summed(await ledger(a));
    const metricsBefore = await counted([a, b]);
    await pg.stop();
    for (let i = 0; i < 5; i++) expect((await chat(a.baseURL, CLIENT_KEY)).status).toBe(200);
    await a.app.services.ledger.flush();
    await pg.start();
    await eventually(async () => {
      await a.app.services.ledger.flush();
      const after = await admin<{ data: Row[] }>(a.url, 'GET', `/admin/usage/daily?from=${today()}&to=${today()}`);
      return after.status === 200 && summed(after.body.data).requests === before.requests + 5;
    }, 'the rows counted during the outage to be written', 15_000);
    await a.app.services.ledger.flush();
    const metricsAfter = await counted([a, b]);
    const after = summed(await ledger(a));
    expect(after.requests - before.requests).toBe(metricsAfter.requests - metricsBefore.requests);
    expectEqual(after, metricsAfter);
  });

  it('rejects a bad date range with 400 naming the field', async () => {
    const answer = await admin(a.url, 'GET', '/admin/usage/daily?from=2026-13-01&to=2026-12-01');
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: { param: 'from' } });
    expect((await admin(a.url, 'GET', '/admin/usage/daily?from=2026-12-02&to=2026-12-01')).status).toBe(400);
    expect((await admin(a.url, 'GET', `/admin/usage/daily?from=${today()}&to=${today()}&groupBy=account`)).body).toMatchObject({ error: { param: 'groupBy' } });
  });
});

describe('usage ledger in the embedded store', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-ledger-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes what is left on shutdown, and a restarted gateway reads it back', async () => {
    const upstream = await startMockUpstream();
    const config = testConfig(upstream.url, { admins: ADMINS, database: { path: path.join(dir, 'data') } });
    const first = await startGateway(config);
    for (let i = 0; i < 3; i++) expect((await chat(first.baseURL, CLIENT_KEY)).status).toBe(200);
    const metrics = await counted([first]);
    await first.close();
    const second = await startGateway(config);
    try {
      expectEqual(summed(await ledger(second)), metrics);
    } finally {
      await second.close();
      await upstream.close();
    }
  }, 180_000);
});

describe('usage ledger of Anthropic prompt-cache writes', () => {
  let pg: PostgresServer;
  let upstream: MockUpstream;
  let gw: RunningGateway;
  beforeAll(async () => {
    [pg, upstream] = await Promise.all([startPostgres(), startMockUpstream()]);
    gw = await startGateway(anthropicConfig(upstream.url, { admins: ADMINS, database: { url: pg.url } }));
  });
  afterAll(async () => {
    await gw?.close();
    await upstream?.close();
    await pg?.remove();
  });

  it("keeps a Messages stream's cache_creation_input_tokens as the row's cacheWriteTokens, in JSON and CSV", async () => {
    const model = 'claude-sonnet-4-6';
    const system = [{ type: 'text' as const, text: 'A long system prompt worth caching for this test', cache_control: { type: 'ephemeral' as const } }];
    // One session (metadata.user_id) stays on one account, whose cache the first request writes and the second reads.
    const ask = () =>
      anthropicClient(gw).messages.stream({ model, max_tokens: 50, system, metadata: { user_id: 'ledger-session' }, messages: [{ role: 'user', content: 'hi' }] }).finalMessage();
    const first = await ask();
    const second = await ask();
    expect(first.usage.cache_creation_input_tokens).toBeGreaterThan(0);
    expect(second.usage.cache_creation_input_tokens).toBe(0);
    await gw.app.services.ledger.flush();

    const [row] = await ledger(gw);
    expect(row).toMatchObject({ key: 'team-alpha', model, requests: 2, cacheWriteTokens: first.usage.cache_creation_input_tokens });
    expect(row?.cachedTokens).toBe(second.usage.cache_read_input_tokens);
    const metrics = await scrape(gw);
    expect(row?.cacheWriteTokens).toBe(total(metrics, 'gateway_tokens_total', { model, type: 'cache_write' }));

    const csv = await admin(gw.url, 'GET', `/admin/usage/daily?from=${today()}&to=${today()}&groupBy=model&format=csv`);
    const [header, line] = csv.text.trim().split('\r\n').map((l) => l.split(','));
    expect(line?.[header!.indexOf('cacheWriteTokens')]).toBe(String(first.usage.cache_creation_input_tokens));
  });
});
