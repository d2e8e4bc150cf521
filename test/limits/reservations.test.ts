// Token limits under concurrency, and a Redis that refuses to count: a real gateway, a real Redis, the mock
// upstream and the official openai client.
import OpenAI from 'openai';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import { testConfig } from '../helpers/gateway.js';
import { useGatewayWithRedis } from '../helpers/gateway-with-redis.js';
import { sendCommand } from '../helpers/redis.js';
import { setRedisClock } from '../support/redis-clock.js';

const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);
const DEFAULT_KEY = 'gw-key-default-reservation';
const SMALL_KEY = 'gw-key-small-reservation';
const OPEN_KEY = 'gw-key-without-limits';
/** Sixty words: the mock counts each as a prompt token, and echoes them back. */
const PROMPT = Array.from({ length: 60 }, (_, i) => `word${i}`).join(' ');

describe('token limits with Redis', () => {
  const running = useGatewayWithRedis((urls) =>
    testConfig(urls.mock, {
      redis: { url: urls.redis, timeoutMs: 1_000 },
      clientKeys: [
        { name: 'default-reserve', key: DEFAULT_KEY, limits: { tokensPerMinute: 500 } },
        { name: 'small-reserve', key: SMALL_KEY, limits: { tokensPerMinute: 500, reserveTokens: 100 } },
        { name: 'open', key: OPEN_KEY },
      ],
    }),
  );
  // The windows are Redis's: set its clock to the start of a minute, so the burst never straddles two.
  beforeAll(() => setRedisClock(running.gateway.app.services.redis!, [running.gateway.app.services.limiter.store as RedisLimitStore], MINUTE_START));

  const tokensThisMinute = async (name: string): Promise<number> => (await running.gateway.app.services.limiter.store.counts(name, Date.now())).tokensThisMinute;

  it.each([
    ['the default reservation', 'default-reserve', DEFAULT_KEY],
    ['reserveTokens', 'small-reserve', SMALL_KEY],
  ])('holds a burst of 40 concurrent requests within tokensPerMinute plus one request, with %s', async (_label, name, key) => {
    const client = running.gateway.client(key);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 40 }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: PROMPT }] })),
    );
    const served = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.usage!.total_tokens] : []));
    const refused = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as unknown] : []));
    expect(served.length).toBeGreaterThanOrEqual(1);
    for (const error of refused) expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    const oneRequest = Math.max(...served);
    const spent = served.reduce((a, b) => a + b, 0);
    expect(oneRequest).toBeGreaterThan(100); // so that 40 of them would be 8 times the limit
    expect(spent).toBeLessThanOrEqual(500 + oneRequest);
    // Every reservation is settled with what its request used: nothing more stays counted.
    await vi.waitFor(async () => expect(await tokensThisMinute(name)).toBe(spent), { timeout: 5_000, interval: 20 });
  });

  it('refuses keys with limits with 503 limits_unavailable while Redis is out of memory, and serves keys without', async () => {
    await sendCommand(running.redis.port, 'CONFIG SET maxmemory-policy noeviction');
    await sendCommand(running.redis.port, 'CONFIG SET maxmemory 1');
    try {
      const limited = await running.gateway.client(SMALL_KEY).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
      expect(limited).toBeInstanceOf(OpenAI.InternalServerError);
      expect((limited as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
      expect((limited as InstanceType<typeof OpenAI.APIError>).code).toBe('limits_unavailable');
      expect((limited as InstanceType<typeof OpenAI.APIError>).type).toBe('server_error');
      await expect(running.gateway.client(OPEN_KEY).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).resolves.toMatchObject({
        choices: [{ message: { content: 'Echo: hi' } }],
      });
      // Redis answered: it is not down, and the breaker stays closed.
      expect(running.gateway.app.services.redis!.available).toBe(true);
    } finally {
      await sendCommand(running.redis.port, 'CONFIG SET maxmemory 0');
    }
    await expect(running.gateway.client(SMALL_KEY).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })).resolves.toMatchObject({
        choices: [{ message: { content: 'Echo: hi' } }],
      });
  });
});
