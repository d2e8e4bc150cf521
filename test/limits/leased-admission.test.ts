// Leased admission (limits.admission: lease), through two real gateways sharing one real Redis and the
// official SDK: bursts across both never admit more than a limit or a budget allows, a key's requests after
// its first cost no Redis command, and what the requests used is in Redis exactly once the gateways stop
// (their leases given back). The windows' clock is set: the gateways' injected, Redis's shifted to match.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { dayWindow } from '../../src/time-windows.js';
import { budgetBurst } from '../helpers/budget-burst.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';
import { setRedisClock } from '../support/redis-clock.js';

/** A few seconds into a minute, so that a test stays in it. */
const NOW = Date.UTC(2026, 10, 22, 10, 30, 5);
const PRICING = { inputPerMillion: 1, outputPerMillion: 100 };
/** What each answer reports: 10 × $1/M + 300 × $100/M = $0.03001. */
const USAGE = { prompt_tokens: 10, completion_tokens: 300, total_tokens: 310 };
const COST_MICROS = 30_010;
const ROOMY = { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000, usdPerDay: 100 };
const KEYS = {
  rpm: { key: 'gw-lease-rpm', limits: { requestsPerMinute: 20 } },
  tpm: { key: 'gw-lease-tpm', limits: { tokensPerMinute: 5_000 } },
  usd: { key: 'gw-lease-usd', limits: { usdPerDay: 0.1 } },
  roomy: { key: 'gw-lease-roomy', limits: ROOMY },
  settled: { key: 'gw-lease-settled', limits: ROOMY },
  free: { key: 'gw-lease-free', limits: undefined },
  unbudgeted: { key: 'gw-lease-unbudgeted', limits: { requestsPerMinute: 1_000, tokensPerMinute: 1_000_000 } },
};
const hello = [{ role: 'user' as const, content: 'hi' }];

const config = (upstreamUrl: string, redisUrl: string): GatewayConfigInput =>
  testConfig(upstreamUrl, {
    clientKeys: Object.entries(KEYS).map(([name, { key, limits }]) => ({ name, key, limits })),
    models: [{ id: 'priced-chat', kind: 'chat', pricing: PRICING }],
    redis: { url: redisUrl, timeoutMs: 1_000 },
    // Large shares, the worst case for a burst; costs stay in the lease until the gateway stops.
    limits: { admission: 'lease', lease: { share: 0.5, flushMs: 600_000 } },
  });

interface Setup {
  redis: RedisServer;
  direct: Redis;
  gateways: RunningGateway[];
  /** Sets the windows' clock: the gateways' and Redis's (which may disagree by a little). */
  setClock(now: number, redisNow?: number): Promise<void>;
}

async function startSetup(upstream: UsageUpstream): Promise<Setup> {
  const redis = await startRedis();
  let now = NOW;
  const gateways = await Promise.all([0, 1].map(() => startGateway(config(upstream.url, redis.url), {}, { clock: () => now })));
  for (const g of gateways) await vi.waitFor(() => expect(g.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 20 });
  const setClock = async (t: number, redisNow = t): Promise<void> => {
    now = t;
    const stores = gateways.map((g) => g.app.services.limiter.store as unknown as { clockOffsetMs: number });
    await setRedisClock(gateways[0]!.app.services.redis!, stores, redisNow);
  };
  await setClock(NOW);
  return { redis, direct: new Redis(redis.url), gateways, setClock };
}

/**
 * Watches Redis (MONITOR) for commands that name `keyName`'s keys, Lua's calls inside scripts included;
 * `seen` resolves with them once Redis ran a marker sent after everything before it.
 */
async function watchKey(direct: Redis, keyName: string): Promise<{ seen(): Promise<string[]> }> {
  const monitor = await direct.monitor();
  const naming: string[] = [];
  let marked: (() => void) | undefined;
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args.some((arg) => arg.includes(`{${keyName}}`))) naming.push(args.join(' '));
    if (args[0]?.toLowerCase() === 'echo' && args[1] === 'lease-test-marker') marked?.();
  });
  return {
    async seen() {
      const reached = new Promise<void>((resolve) => (marked = resolve));
      await direct.echo('lease-test-marker');
      await reached;
      monitor.disconnect();
      return naming;
    },
  };
}

const chat = (g: RunningGateway, key: string) => g.client(key).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 300 });

describe('leased admission on two gateways sharing one Redis', () => {
  let upstream: UsageUpstream;
  let setup: Setup;
  beforeAll(async () => {
    upstream = await startUsageUpstream();
    upstream.chatUsage = USAGE;
    setup = await startSetup(upstream);
  });
  afterAll(async () => {
    setup?.direct.disconnect();
    await Promise.all(setup?.gateways.map((g) => g.close()) ?? []);
    await setup?.redis.stop();
    await upstream?.close();
  });

  /**
   * One request of `key` on each gateway (each takes a lease), then 30 at once across both while the upstream
   * holds its answers; returns how many of the 30 reached it.
   */
  async function burst(key: string): Promise<number> {
    for (const g of setup.gateways) await chat(g, key);
    let release!: () => void;
    upstream.hold = new Promise<void>((resolve) => (release = resolve));
    const before = upstream.chatRequests;
    const { refusals, settled } = budgetBurst(30, 'priced-chat', (i) => setup.gateways[i % 2]!.client(key));
    await vi.waitFor(() => expect(upstream.chatRequests - before + refusals.length).toBe(30), { timeout: 10_000, interval: 10 });
    const admitted = upstream.chatRequests - before;
    upstream.hold = undefined;
    release();
    expect(await settled).toBe(admitted);
    return admitted;
  }

  it('admits at most requestsPerMinute across both gateways', async () => {
    const admitted = await burst(KEYS.rpm.key);
    // Both leases (9 and 4 requests) are used up before Redis is asked again.
    expect(admitted).toBeGreaterThanOrEqual(13);
    expect(2 + admitted).toBeLessThanOrEqual(20);
  });

  it('admits no more reservations than tokensPerMinute holds (the last one may pass its edge, as without leases)', async () => {
    // The first two used 310 tokens each; each of the burst reserves its max_tokens and its prompt.
    const reservation = 300 + Math.ceil(JSON.stringify({ model: 'priced-chat', messages: hello, max_tokens: 300 }).length / 4);
    const admitted = await burst(KEYS.tpm.key);
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(Math.floor((5_000 - 2 * 310 - 1) / reservation) + 1);
  });

  it('admits at most 3 concurrent $0.03 requests against $0.10 a day', async () => {
    const admitted = await burst(KEYS.usd.key);
    expect(2 + admitted).toBeLessThanOrEqual(3);
  });

  it("sends a key's requests after its first on one gateway without a Redis command", async () => {
    const gateway = setup.gateways[0]!;
    await chat(gateway, KEYS.roomy.key);
    const watch = await watchKey(setup.direct, 'roomy');
    for (let i = 0; i < 5; i++) {
      const { data, response } = await gateway.client(KEYS.roomy.key).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 300 }).withResponse();
      expect(data.usage?.total_tokens).toBe(310);
      expect(Number(response.headers.get('x-ratelimit-remaining-requests'))).toBeLessThan(1_000);
      expect(response.headers.get('x-gateway-budget-remaining-usd')).not.toBeNull();
    }
    expect(await watch.seen()).toEqual([]);
  });

  it('fails open, as without leases, when Redis cannot be reached for a key without a lease', async () => {
    await setup.redis.stop();
    try {
      const answer = await chat(setup.gateways[1]!, KEYS.settled.key);
      expect(answer.usage?.total_tokens).toBe(310);
    } finally {
      await setup.redis.start();
    }
  });
});

describe('usage settled through leases', () => {
  it('is in Redis exactly once the gateways stop, and their leases are given back', async () => {
    const upstream = await startUsageUpstream();
    upstream.chatUsage = USAGE;
    const setup = await startSetup(upstream);
    try {
      // Five requests in one minute, seven in the next: the first minute's leases go back as it ends.
      for (let i = 0; i < 5; i++) await chat(setup.gateways[i % 2]!, KEYS.settled.key);
      await setup.setClock(NOW + 60_000);
      const requests = 7;
      for (let i = 0; i < requests; i++) await chat(setup.gateways[i % 2]!, KEYS.settled.key);
      for (let i = 0; i < 3; i++) await chat(setup.gateways[i % 2]!, KEYS.free.key);
      // While the gateways run, Redis holds their leases: more than was used.
      expect(Number(await setup.direct.hget('gw:limit:{settled}', 'r'))).toBeGreaterThan(requests);
      await Promise.all(setup.gateways.map((g) => g.close()));
      const window = await setup.direct.hgetall('gw:limit:{settled}');
      expect(Number(window.r)).toBe(requests);
      expect(Number(window.t)).toBe(requests * USAGE.total_tokens);
      expect(Number(window.dt)).toBe((5 + requests) * USAGE.total_tokens);
      expect(Number(await setup.direct.get(`gw:spend:{settled}:d:${dayWindow(NOW)}`))).toBe((5 + requests) * COST_MICROS);
      expect(await setup.direct.hgetall('gw:spend:{settled}:held')).toEqual({});
      // A key without limits: counted, and its costs written, as without leases.
      expect(Number(await setup.direct.get(`gw:spend:{free}:d:${dayWindow(NOW)}`))).toBe(3 * COST_MICROS);
      expect(Number(await setup.direct.hget('gw:limit:{free}', 'dt'))).toBe(3 * USAGE.total_tokens);
    } finally {
      setup.direct.disconnect();
      await setup.redis.stop();
      await upstream.close();
    }
  });

  it('holds when a body moves a reservation (admitted before the body is read), with the gateways’ clocks a minute off Redis’s', async () => {
    const upstream = await startUsageUpstream();
    upstream.chatUsage = USAGE;
    const setup = await startSetup(upstream);
    try {
      // The windows are Redis's: the gateways' own minute is another one.
      await setup.setClock(NOW + 60_000, NOW);
      const ask = (g: RunningGateway, maxTokens: number) =>
        g.client(KEYS.unbudgeted.key).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: maxTokens });
      // Reserved at the key's default 1,000 from Content-Length, then grown to 5,000 or lowered to 300 by the body.
      for (let i = 0; i < 6; i++) await ask(setup.gateways[i % 2]!, i % 3 === 0 ? 5_000 : 300);
      await Promise.all(setup.gateways.map((g) => g.close()));
      const window = await setup.direct.hgetall('gw:limit:{unbudgeted}');
      expect(Number(window.r)).toBe(6);
      expect(Number(window.t)).toBe(6 * USAGE.total_tokens);
      expect(Number(window.dt)).toBe(6 * USAGE.total_tokens);
    } finally {
      setup.direct.disconnect();
      await setup.redis.stop();
      await upstream.close();
    }
  });
});
