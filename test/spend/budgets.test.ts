// Per-key spend budgets through a real listening gateway and the official SDK: refused with the SDK's
// RateLimitError once spent, until the next UTC day or month (a moved clock, not a wait), shared by two
// gateway processes on one real Redis, and let through when Redis cannot be reached.
import OpenAI, { RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway, startGatewayProcess, testConfig, type GatewayProcess, type RunningGateway } from '../helpers/gateway.js';
import { find, parsePrometheus } from '../helpers/prometheus.js';
import { getFreePort, startRedis, type RedisServer } from '../helpers/redis.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const keyOf = (name: string): string => `gw-budget-key-${name}`;
const hello = [{ role: 'user' as const, content: 'hi' }];

/** Each request costs 1,200 × $2/M + 300 × $8/M = $0.0048 with the upstream's usage below. */
const USAGE = { prompt_tokens: 1_200, completion_tokens: 300, total_tokens: 1_500 };

function budgetConfig(upstreamUrl: string, clientKeys: GatewayConfigInput['clientKeys'], extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return testConfig(upstreamUrl, {
    adminToken: ADMIN_TOKEN,
    clientKeys,
    models: [{ id: 'priced-chat', kind: 'chat', pricing: { inputPerMillion: 2, outputPerMillion: 8 } }],
    ...extra,
  });
}

async function budgetHeader(client: OpenAI): Promise<string | null> {
  const { response } = await client.chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 }).withResponse();
  return response.headers.get('x-gateway-budget-remaining-usd');
}

async function refusal(client: OpenAI): Promise<RateLimitError> {
  const error: unknown = await client.chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 }).catch((err: unknown) => err);
  expect(error).toBeInstanceOf(RateLimitError);
  return error as RateLimitError;
}

/** Waits until the key's request has been charged (its log line is written when its response ended). */
async function charged(gateway: RunningGateway, name: string, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (gateway.logs.lines.filter((l) => l.clientKey === name && l.status === 200).length < count) {
    if (Date.now() > deadline) throw new Error(`${name}: ${count} requests not charged`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('spend budgets in one gateway', () => {
  let upstream: UsageUpstream;
  let gateway: RunningGateway;
  let now = Date.UTC(2026, 11, 31, 23, 0, 0);
  let keysInForce: GatewayConfigInput['clientKeys'] = [];
  let upstreamUrl = '';

  beforeAll(async () => {
    upstream = await startUsageUpstream();
    upstream.chatUsage = USAGE;
    upstreamUrl = upstream.url;
    const keys = [
      { name: 'daily', key: keyOf('daily'), limits: { usdPerDay: 0.01 } },
      { name: 'monthly', key: keyOf('monthly'), limits: { usdPerMonth: 0.005 } },
      { name: 'both', key: keyOf('both'), limits: { usdPerDay: 1, usdPerMonth: 0.006, requestsPerMinute: 100 } },
      { name: 'free', key: keyOf('free') },
      { name: 'raised', key: keyOf('raised'), limits: { usdPerDay: 0.005 } },
    ];
    gateway = await startGateway(budgetConfig(upstream.url, keys), {}, { clock: () => now });
    keysInForce = keys;
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('admits requests while the day budget lasts, says what is left, then refuses with insufficient_quota until midnight UTC', async () => {
    now = Date.UTC(2026, 11, 31, 23, 0, 0);
    const client = gateway.client(keyOf('daily'));
    expect(await budgetHeader(client)).toBe('0.01');
    await charged(gateway, 'daily', 1);
    expect(await budgetHeader(client)).toBe('0.0052');
    await charged(gateway, 'daily', 2);
    expect(await budgetHeader(client)).toBe('0.0004');
    await charged(gateway, 'daily', 3);

    const error = await refusal(client);
    expect(error.status).toBe(429);
    expect(error.code).toBe('insufficient_quota');
    expect(error.type).toBe('insufficient_quota');
    expect(error.message).toContain('usdPerDay');
    expect(error.headers.get('retry-after')).toBe('3600');
    expect(error.headers.get('x-gateway-budget-remaining-usd')).toBe('0');
    expect(error.headers.get('x-should-retry')).toBe('false');
    const metrics = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
    expect(find(metrics, 'gateway_budget_remaining_usd', { client_key: 'daily', period: 'day' })[0]?.value).toBe(0);

    // A second past midnight: a new day, and the budget is whole again.
    now = Date.UTC(2027, 0, 1, 0, 0, 1);
    expect(await budgetHeader(client)).toBe('0.01');
  });

  it('refuses a spent month budget until the first of the next month', async () => {
    now = Date.UTC(2026, 11, 15, 12, 0, 0);
    const client = gateway.client(keyOf('monthly'));
    expect(await budgetHeader(client)).toBe('0.005');
    await charged(gateway, 'monthly', 1);
    await charged(gateway, 'monthly', 1);
    expect(await budgetHeader(client)).toBe('0.0002');
    await charged(gateway, 'monthly', 2);
    const error = await refusal(client);
    expect(error.message).toContain('usdPerMonth');
    // Sixteen and a half days to 2027-01-01T00:00Z.
    expect(error.headers.get('retry-after')).toBe(String(16.5 * 86_400));
    now = Date.UTC(2027, 0, 1, 0, 0, 0);
    expect(await budgetHeader(client)).toBe('0.005');
  });

  it('tells the smallest remaining budget, and keeps the x-ratelimit headers as they are', async () => {
    now = Date.UTC(2026, 11, 10, 8, 0, 0);
    const { response } = await gateway.client(keyOf('both')).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 }).withResponse();
    expect(response.headers.get('x-gateway-budget-remaining-usd')).toBe('0.006');
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('100');
  });

  it('tells what is left on its other responses too, as last known (the models list)', async () => {
    now = Date.UTC(2026, 11, 10, 9, 0, 0);
    await gateway.client(keyOf('both')).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 });
    const list = await fetch(`${gateway.baseURL}/models`, { headers: { authorization: `Bearer ${keyOf('both')}` } });
    expect(list.status, await list.clone().text()).toBe(200);
    expect(list.headers.get('x-gateway-budget-remaining-usd')).toMatch(/^\d+(\.\d+)?$/);
  });

  it('admits again at once when a reload raises a spent budget', async () => {
    now = Date.UTC(2026, 11, 20, 12, 0, 0);
    const client = gateway.client(keyOf('raised'));
    await budgetHeader(client);
    await budgetHeader(client);
    await charged(gateway, 'raised', 2);
    expect((await refusal(client)).message).toContain('usdPerDay');
    const raised = keysInForce!.map((k) => (k.name === 'raised' ? { ...k, limits: { usdPerDay: 1 } } : k));
    gateway.app.services.reload(parseConfig(budgetConfig(upstreamUrl, raised), {}));
    expect(await budgetHeader(client)).toBe('0.9904');
  });

  it('adds no budget header for a key without a budget', async () => {
    const { response } = await gateway.client(keyOf('free')).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 }).withResponse();
    expect(response.headers.get('x-gateway-budget-remaining-usd')).toBeNull();
  });
});

describe('spend budgets when Redis cannot be reached', () => {
  let upstream: UsageUpstream;
  let gateway: RunningGateway;

  beforeAll(async () => {
    upstream = await startUsageUpstream();
    const port = await getFreePort();
    const keys = [{ name: 'budgeted', key: keyOf('budgeted'), limits: { usdPerDay: 0.000001 } }];
    gateway = await startGateway(budgetConfig(upstream.url, keys, { redis: { url: `redis://127.0.0.1:${port}` } }));
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it('lets the request through, as the token limits do, and counts it as failed open', async () => {
    const client = gateway.client(keyOf('budgeted'));
    for (let i = 0; i < 2; i++) expect(await budgetHeader(client)).toBeNull();
    const metrics = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
    expect(find(metrics, 'gateway_rate_limit_fail_open_total')[0]?.value).toBeGreaterThanOrEqual(2);
  });
});

describe('a usdPerDay budget shared by two gateway processes on one Redis', () => {
  let redis: RedisServer;
  let upstream: UsageUpstream;
  let first: GatewayProcess;
  let second: GatewayProcess;

  beforeAll(async () => {
    [redis, upstream] = await Promise.all([startRedis(), startUsageUpstream()]);
    upstream.chatUsage = USAGE;
    const config = budgetConfig(upstream.url, [{ name: 'shared', key: keyOf('shared'), limits: { usdPerDay: 0.01 } }], {
      redis: { url: redis.url, timeoutMs: 1_000 },
    });
    [first, second] = await Promise.all([startGatewayProcess(config), startGatewayProcess(config)]);
    await Promise.all([first.waitForOutput(/redis connected/), second.waitForOutput(/redis connected/)]);
  });
  afterAll(async () => {
    await Promise.all([first?.stop(), second?.stop()]);
    await upstream?.close();
    await redis?.stop();
  });

  const client = (gateway: GatewayProcess): OpenAI => new OpenAI({ apiKey: keyOf('shared'), baseURL: gateway.baseURL, maxRetries: 0 });

  async function spentToday(gateway: GatewayProcess): Promise<number> {
    const response = await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const rows = ((await response.json()) as { data: { name: string; costUsd: { today: number } }[] }).data;
    return rows.find((r) => r.name === 'shared')!.costUsd.today;
  }

  it('stops new requests on both once the budget is spent, with the SDK rate-limit error', async () => {
    // $0.0048 each: three requests spread over both instances spend $0.0144 of the $0.01.
    await client(first).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 });
    await client(second).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 });
    await client(first).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 1 });
    const deadline = Date.now() + 10_000;
    while ((await spentToday(second)) < 0.0144) {
      if (Date.now() > deadline) throw new Error(`the second instance sees $${await spentToday(second)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await spentToday(second)).toBe(0.0144);
    for (const gateway of [second, first]) {
      const error = await refusal(client(gateway));
      expect(error.status).toBe(429);
      expect(error.code).toBe('insufficient_quota');
    }
  });
});
