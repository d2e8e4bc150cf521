// The probe's case against token limits, through real gateways and the official SDK: tokensPerMinute 300,
// reserveTokens 30, and 20 concurrent requests without max_tokens whose answers use 300 tokens each. What
// the admitted ones use beyond their reservations is charged back, and the key is refused, minute after
// minute, until its window has room again: in memory, and on one real Redis shared by two gateways.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startGatewaysOnRedis } from '../helpers/gateways-on-redis.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';
import { setRedisClock } from '../support/redis-clock.js';

const KEY = 'gw-key-overrun-probe';
const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);
const LIMIT = 300;
const hello = [{ role: 'user' as const, content: 'hi' }];

interface Setup {
  /** The gateways the requests are spread over (one, or two on one Redis). */
  gateways: RunningGateway[];
  /** Makes the windows' clock read `now`. */
  setClock(now: number): Promise<void>;
  close(): Promise<void>;
}

const config = (upstreamUrl: string, extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput =>
  testConfig(upstreamUrl, { clientKeys: [{ name: 'probe', key: KEY, limits: { tokensPerMinute: LIMIT, reserveTokens: 30 } }], ...extra });

const setups: [string, (upstream: UsageUpstream) => Promise<Setup>][] = [
  [
    'in memory',
    async (upstream) => {
      let now = MINUTE_START;
      const gateway = await startGateway(config(upstream.url), {}, { clock: () => now });
      return {
        gateways: [gateway],
        setClock: async (t) => void (now = t),
        close: () => gateway.close(),
      };
    },
  ],
  [
    'two gateways on one Redis',
    async (upstream) => {
      const { gateways, close } = await startGatewaysOnRedis((extra) => config(upstream.url, extra));
      const connection = gateways[0]!.app.services.redis!;
      return {
        gateways,
        setClock: (t) => setRedisClock(connection, gateways.map((g) => g.app.services.limiter.store as RedisLimitStore), t),
        close,
      };
    },
  ],
];

describe.each(setups)('token limits that real usage overran, %s', (_name, open) => {
  let upstream: UsageUpstream;
  let setup: Setup;
  beforeAll(async () => {
    upstream = await startUsageUpstream();
    upstream.chatUsage = { prompt_tokens: 10, completion_tokens: 290, total_tokens: 300 };
    setup = await open(upstream);
  });
  afterAll(async () => {
    await setup?.close();
    await upstream?.close();
  });

  const client = (i: number): OpenAI => setup.gateways[i % setup.gateways.length]!.client(KEY);
  const tokensThisMinute = async (): Promise<number> => {
    const { limiter } = setup.gateways[0]!.app.services;
    return (await limiter.store.counts('probe', limiter.now())).tokensThisMinute;
  };

  it('charges the excess back and refuses the key until its window has room again', async () => {
    // A few seconds into the minute, so that the burst stays in it.
    await setup.setClock(MINUTE_START + 5_000);
    let release!: () => void;
    upstream.hold = new Promise<void>((resolve) => (release = resolve));
    let refused = 0;
    const burst = Array.from({ length: 20 }, (_, i) =>
      client(i)
        .chat.completions.create({ model: 'gpt-4o-mini', messages: hello })
        .then(
          (answer) => answer.usage!.total_tokens,
          (error: unknown) => {
            expect(error).toBeInstanceOf(OpenAI.RateLimitError);
            refused++;
            return 0;
          },
        ),
    );
    // Every request is decided (refused, or waiting at the upstream) before any answer comes back.
    await vi.waitFor(() => expect(upstream.chatRequests + refused).toBe(20), { timeout: 10_000, interval: 10 });
    const admitted = upstream.chatRequests;
    expect(admitted).toBeGreaterThanOrEqual(2);
    expect(admitted).toBeLessThanOrEqual(7); // each reserves its prompt and 30 tokens, so 7 at most fit in 300
    release();
    upstream.hold = undefined;
    const used = (await Promise.all(burst)).reduce((a, b) => a + b, 0);
    expect(used).toBe(admitted * 300);

    // The whole excess is charged to the window, which goes far over its limit.
    await vi.waitFor(async () => expect(await tokensThisMinute()).toBe(used), { timeout: 5_000, interval: 20 });
    const error = await client(0).chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    // Refused until the window has paid its excess back, a limit's worth a minute: `admitted` minutes from this one.
    const retryAfter = Number((error as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan((admitted - 1) * 60 + 50);
    expect(retryAfter).toBeLessThanOrEqual(admitted * 60);

    for (let minute = 1; minute < admitted; minute++) {
      await setup.setClock(MINUTE_START + minute * 60_000 + 5_000);
      const late = await client(minute).chat.completions.create({ model: 'gpt-4o-mini', messages: hello }).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(OpenAI.RateLimitError);
    }
    // Over those minutes the key used `admitted` minutes' worth: now it has room again.
    await setup.setClock(MINUTE_START + admitted * 60_000 + 5_000);
    const again = await client(1).chat.completions.create({ model: 'gpt-4o-mini', messages: hello });
    expect(again.usage!.total_tokens).toBe(300);
  });
});
