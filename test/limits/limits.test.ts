import { createHash } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { parsePrometheus, value } from '../helpers/prometheus.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { setRedisClock } from '../support/redis-clock.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const RPM_KEY = 'gw-key-requests-limited';
const TPM_KEY = 'gw-key-tokens-per-minute';
const TPD_KEY = 'gw-key-tokens-per-day';
const HASHED_KEY = 'gw-key-stored-as-a-hash';
const OPEN_KEY = 'gw-key-without-limits';

/** Each request the mock answers for "hi there" costs 5 prompt + 3 completion tokens. */
const TOKENS_PER_REQUEST = 8;
const message = [{ role: 'user' as const, content: 'hi there' }];

function limitedConfig(upstreamUrl: string, redisUrl: string) {
  return testConfig(upstreamUrl, {
    adminToken: ADMIN_TOKEN,
    redis: { url: redisUrl, timeoutMs: 1_000 },
    clientKeys: [
      { name: 'rpm', key: RPM_KEY, limits: { requestsPerMinute: 10 } },
      { name: 'tpm', key: TPM_KEY, limits: { tokensPerMinute: 20 } },
      { name: 'tpd', key: TPD_KEY, limits: { tokensPerDay: 30 } },
      { name: 'hashed', keySha256: createHash('sha256').update(HASHED_KEY).digest('hex'), models: ['gpt-4o-mini', 'gpt-image-2'] },
      { name: 'open', key: OPEN_KEY },
    ],
  });
}

/** Where the windows' clock (Redis's, shifted) is set: 10:30 UTC, so no test runs across a minute's or a day's edge. */
const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

/** Sets the clock of every gateway's limit store to `now`. */
async function setClock(gateways: RunningGateway[], now: number): Promise<void> {
  for (const gateway of gateways) {
    await setRedisClock(gateway.app.services.redis!, [gateway.app.services.limiter.store as RedisLimitStore], now);
  }
}

async function post(baseURL: string, key: string): Promise<Response> {
  return fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: message }),
  });
}

interface UsageRow {
  name: string;
  requestsThisMinute: number;
  tokensThisMinute: number;
  tokensToday: number;
}

async function usage(url: string): Promise<UsageRow[]> {
  const response = await fetch(`${url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: UsageRow[] }).data;
}

/** Token counts are settled just after a response ends (its reservation replaced by its usage): wait until they have. */
async function tokensRecorded(url: string, name: string, tokens: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await usage(url)).find((row) => row.name === name)!.tokensThisMinute === tokens) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`tokens of ${name} never reached ${tokens}`);
}

describe('per-key limits shared across two gateways on one Redis', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let gateways: RunningGateway[];

  beforeAll(async () => {
    [redis, mock] = await Promise.all([startRedis(), startMockUpstream()]);
    const config = limitedConfig(mock.url, redis.url);
    gateways = await Promise.all([startGateway(config), startGateway(config)]);
    // Each connects to Redis in the background; /admin/usage answers 200 once its counts are readable.
    for (const gateway of gateways) {
      while ((await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status !== 200) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    await setClock(gateways, MINUTE_START);
  });
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.close()));
    await mock.close();
    await redis.stop();
  });

  it('holds requestsPerMinute in total across both instances', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) statuses.push((await post(gateways[i % 2]!.baseURL, RPM_KEY)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429, 429, 429, 429, 429]);
  });

  it('answers 429 rate_limit_exceeded with Retry-After and the x-ratelimit headers, raised by the SDK as RateLimitError', async () => {
    const response = await post(gateways[0]!.baseURL, RPM_KEY);
    expect(response.status).toBe(429);
    const body = (await response.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: 'rate_limit_exceeded', type: 'rate_limit_error' });
    const retryAfter = Number(response.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBe('10');
    expect(response.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(response.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$/);

    const client = new OpenAI({ apiKey: RPM_KEY, baseURL: gateways[1]!.baseURL, maxRetries: 0 });
    const error = await client.chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect((error as InstanceType<typeof OpenAI.RateLimitError>).code).toBe('rate_limit_exceeded');
  });

  it('cuts in once real usage spends tokensPerMinute, whichever instance served it', async () => {
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    // 0, 8 and 16 tokens spent: each under 20, so each is admitted; then 24 are spent.
    for (const [i, gateway] of [a, b, a].entries()) {
      const response = await post(gateway.baseURL, TPM_KEY);
      expect(response.status).toBe(200);
      expect(response.headers.get('x-ratelimit-limit-tokens')).toBe('20');
      expect(response.headers.get('x-ratelimit-remaining-tokens')).toBe(String(Math.max(0, 20 - i * TOKENS_PER_REQUEST)));
      await tokensRecorded(a.url, 'tpm', (i + 1) * TOKENS_PER_REQUEST);
    }
    const refused = await post(b.baseURL, TPM_KEY);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('x-ratelimit-remaining-tokens')).toBe('0');
  });

  it('refuses once tokensPerDay is spent, until midnight UTC', async () => {
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    for (const [i, gateway] of [a, b, a, b].entries()) {
      expect((await post(gateway.baseURL, TPD_KEY)).status).toBe(200);
      await tokensRecorded(a.url, 'tpd', (i + 1) * TOKENS_PER_REQUEST);
    }
    const refused = await post(b.baseURL, TPD_KEY);
    expect(refused.status).toBe(429);
    const untilMidnight = 13.5 * 3_600; // the windows' clock reads 10:30 UTC
    expect(Math.abs(Number(refused.headers.get('retry-after')) - untilMidnight)).toBeLessThan(5);
  });

  it('reports every key in /admin/usage, behind the admin token', async () => {
    const rows = await usage(gateways[1]!.url);
    expect(rows.map((r) => r.name)).toEqual(['rpm', 'tpm', 'tpd', 'hashed', 'open']);
    expect(rows.find((r) => r.name === 'tpd')).toMatchObject({ tokensToday: 32 });
    expect((await fetch(`${gateways[0]!.url}/admin/usage`)).status).toBe(401);
    expect((await fetch(`${gateways[0]!.url}/admin/usage`, { headers: { authorization: `Bearer ${OPEN_KEY}` } })).status).toBe(401);
  });

  it('sends no x-ratelimit headers for a key without limits', async () => {
    const response = await post(gateways[0]!.baseURL, OPEN_KEY);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ratelimit-limit-requests')).toBeNull();
  });
});

describe('client keys stored as hashes, with allow-lists', () => {
  let mock: MockUpstream;
  let gateway: RunningGateway;
  beforeAll(async () => {
    mock = await startMockUpstream();
    gateway = await startGateway({ ...limitedConfig(mock.url, 'redis://127.0.0.1:1'), redis: undefined });
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
  });

  it('authenticates a key stored as keySha256, and not a wrong key', async () => {
    await expect(gateway.client(HASHED_KEY).chat.completions.create({ model: 'gpt-4o-mini', messages: message })).resolves.toMatchObject({
      model: 'gpt-4o-mini',
      choices: [{ message: { content: 'Echo: hi there' } }],
    });
    await expect(gateway.client(`${HASHED_KEY}-wrong`).chat.completions.create({ model: 'gpt-4o-mini', messages: message })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('holds the allow-list on both endpoints and in the model list', async () => {
    const client = gateway.client(HASHED_KEY);
    const chat = await client.chat.completions.create({ model: 'gpt-4o', messages: message }).catch((e: unknown) => e);
    expect(chat).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((chat as InstanceType<typeof OpenAI.PermissionDeniedError>).code).toBe('model_not_allowed');
    expect((chat as Error).message).toContain('gpt-4o');
    const openClient = gateway.client(OPEN_KEY);
    await expect(openClient.images.generate({ model: 'gpt-image-2', prompt: 'otter' })).resolves.toMatchObject({ data: [{ b64_json: expect.any(String) }] });
    gateway.app.services.reload({
      ...gateway.app.services.config,
      clientKeys: gateway.app.services.config.clientKeys.map((k) => (k.name === 'open' ? { ...k, models: ['gpt-4o'] } : k)),
    });
    const image = await openClient.images.generate({ model: 'gpt-image-2', prompt: 'otter' }).catch((e: unknown) => e);
    expect(image).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((await client.models.list()).data.map((m) => m.id).sort()).toEqual(['gpt-4o-mini', 'gpt-image-2']);
  });
});

describe('limits while Redis is down', () => {
  let redis: RedisServer;
  let mock: MockUpstream;
  let gateway: RunningGateway;
  beforeAll(async () => {
    [redis, mock] = await Promise.all([startRedis(), startMockUpstream()]);
    gateway = await startGateway(limitedConfig(mock.url, redis.url));
    // The gateway connects in the background; count from the moment Redis is in use.
    while (!gateway.app.services.redis!.ready) await new Promise((resolve) => setTimeout(resolve, 10));
    await setClock([gateway], MINUTE_START);
  });
  afterAll(async () => {
    await gateway.close();
    await mock.close();
    await redis.stop();
  });

  it('fail open: requests pass, counted in gateway_rate_limit_fail_open_total, the outage logged once', async () => {
    for (let i = 0; i < 10; i++) expect((await post(gateway.baseURL, RPM_KEY)).status).toBe(200);
    expect((await post(gateway.baseURL, RPM_KEY)).status).toBe(429);
    await redis.kill();
    for (let i = 0; i < 12; i++) expect((await post(gateway.baseURL, RPM_KEY)).status).toBe(200);
    const report = await fetch(`${gateway.url}/admin/usage`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(report.status).toBe(503);
    const metrics = parsePrometheus(await (await fetch(`${gateway.url}/metrics`)).text());
    expect(value(metrics, 'gateway_rate_limit_fail_open_total')).toBe(12);
    expect(gateway.logs.lines.filter((l) => String(l.msg).startsWith('redis unavailable'))).toHaveLength(1);
  });
});
