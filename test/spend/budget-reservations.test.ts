// Dollar budgets under concurrency, through real gateways and the official SDK: the probe's case (30
// concurrent requests of $0.03 against usdPerDay 0.10, a slow upstream, max_tokens set), and reservations
// given back however a request ends: success, upstream error, client hang-up, refusal after admission. In
// memory, and on two gateways sharing one real Redis.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { budgetBurst } from '../helpers/budget-burst.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startGatewaysOnRedis } from '../helpers/gateways-on-redis.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';

const ADMIN_TOKEN = 'admin-token-0123456789';
const KEY = 'gw-budget-key-probe';
const ROOMY_KEY = 'gw-budget-key-roomy';
const hello = [{ role: 'user' as const, content: 'hi' }];
/** $1 per million input tokens, $100 per million output tokens: 300 output tokens are $0.03. */
const PRICING = { inputPerMillion: 1, outputPerMillion: 100 };
/** What each answer reports: 10 × $1/M + 300 × $100/M = $0.03001. */
const USAGE = { prompt_tokens: 10, completion_tokens: 300, total_tokens: 310 };
const COST = 0.03001;

interface Setup {
  /** The gateways the requests are spread over (one, or two on one Redis). */
  gateways: RunningGateway[];
  close(): Promise<void>;
}

const config = (upstreamUrl: string, extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput =>
  testConfig(upstreamUrl, {
    adminToken: ADMIN_TOKEN,
    clientKeys: [
      { name: 'probe', key: KEY, limits: { usdPerDay: 0.1 } },
      { name: 'roomy', key: ROOMY_KEY, limits: { usdPerDay: 10 } },
    ],
    models: [{ id: 'priced-chat', kind: 'chat', pricing: PRICING }],
    ...extra,
  });

const setups: [string, (upstream: UsageUpstream) => Promise<Setup>][] = [
  [
    'in memory',
    async (upstream) => {
      const gateway = await startGateway(config(upstream.url));
      return { gateways: [gateway], close: () => gateway.close() };
    },
  ],
  [
    'two gateways on one Redis',
    (upstream) => startGatewaysOnRedis((extra) => config(upstream.url, extra)),
  ],
];

describe.each(setups)('dollar budgets under concurrency, %s', (_name, open) => {
  let upstream: UsageUpstream;
  let setup: Setup;
  beforeAll(async () => {
    upstream = await startUsageUpstream();
    upstream.chatUsage = USAGE;
    setup = await open(upstream);
  });
  afterAll(async () => {
    await setup?.close();
    await upstream?.close();
  });

  const gateway = (i: number): RunningGateway => setup.gateways[i % setup.gateways.length]!;
  const store = () => setup.gateways[0]!.app.services.spend.store;
  const spentToday = async (): Promise<number> => (await store().spent('probe', Date.now())).day;
  /** Waits until nothing is held for the key on any gateway (its settles are written within milliseconds). */
  const nothingHeld = (keyName: string): Promise<void> =>
    vi.waitFor(async () => expect(await store().held(keyName)).toBe(0), { timeout: 5_000, interval: 10 });
  const ended = (g: RunningGateway, status: number): Promise<void> =>
    vi.waitFor(() => expect(g.logs.lines.some((l) => l.status === status)).toBe(true), { timeout: 5_000, interval: 10 });

  /** Holds the upstream's answers until `release` is called. */
  function holdUpstream(): () => void {
    let release!: () => void;
    upstream.hold = new Promise<void>((resolve) => (release = resolve));
    return () => {
      upstream.hold = undefined;
      release();
    };
  }

  it("admits at most 4 of 30 concurrent $0.03 requests against $0.10 a day, and ends at most one request's cost over", async () => {
    const release = holdUpstream();
    const before = upstream.chatRequests;
    const { refusals, settled } = budgetBurst(30, 'priced-chat', (i) => gateway(i).client(KEY));
    // Every request is decided (refused, or waiting at the slow upstream) before any of them ends.
    await vi.waitFor(() => expect(upstream.chatRequests - before + refusals.length).toBe(30), { timeout: 10_000, interval: 10 });
    const admitted = upstream.chatRequests - before;
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(4);
    for (const refusal of refusals) expect(refusal.code).toBe('insufficient_quota');
    // Refused for what the requests in flight hold: room may come back, so the SDKs may retry.
    expect(refusals[0]!.headers.get('x-should-retry')).toBeNull();
    release();
    expect(await settled).toBe(admitted);

    await nothingHeld('probe');
    await vi.waitFor(async () => expect(await spentToday()).toBe(Math.round(admitted * COST * 1e6)), { timeout: 5_000, interval: 10 });
    expect(await spentToday()).toBeLessThanOrEqual((0.1 + COST) * 1e6);
    // What is left cannot pay for another such request: refused until midnight UTC, and not to be retried.
    const late = await gateway(1).client(KEY).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 300 }).catch((e: unknown) => e);
    expect(late).toBeInstanceOf(OpenAI.RateLimitError);
    expect((late as InstanceType<typeof OpenAI.RateLimitError>).headers.get('x-should-retry')).toBe('false');
  });

  it('gives the reservation back when the client hangs up while the upstream is still answering', async () => {
    const release = holdUpstream();
    const before = upstream.chatRequests;
    const abort = new AbortController();
    const g = gateway(1);
    const request = g.client(ROOMY_KEY).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 100 }, { signal: abort.signal });
    await vi.waitFor(() => expect(upstream.chatRequests).toBe(before + 1), { timeout: 5_000, interval: 10 });
    expect(await store().held('roomy')).toBeGreaterThan(0);
    abort.abort();
    await expect(request).rejects.toThrow();
    await ended(g, 499);
    await nothingHeld('roomy');
    release();
  });

  it('gives the reservation back when the upstream fails', async () => {
    upstream.chatError = 500;
    try {
      const error = await gateway(0).client(ROOMY_KEY).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.APIError);
    } finally {
      upstream.chatError = undefined;
    }
    await nothingHeld('roomy');
  });

  it('gives the reservation back when a later check refuses the request (its body)', async () => {
    const invalid = await gateway(1)
      .client(ROOMY_KEY)
      .chat.completions.create({ model: 'priced-chat', messages: 'hi' as never, max_tokens: 100 })
      .catch((e: unknown) => e);
    expect(invalid).toBeInstanceOf(OpenAI.BadRequestError);
    await ended(gateway(1), 400);
    await nothingHeld('roomy');
  });
});
