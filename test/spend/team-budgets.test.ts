// A team's dollar budget, shared by its keys on every instance: two gateways on one real Redis, two keys of
// one team with a team usdPerDay. Once the team's budget is spent it refuses both keys, while each key's
// own budget is untouched; what the team's requests hold is given back however they end.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { budgetBurst } from '../helpers/budget-burst.js';
import { testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startGatewaysOnRedis, type GatewaysOnRedis } from '../helpers/gateways-on-redis.js';
import { startUsageUpstream, type UsageUpstream } from '../helpers/usage-upstream.js';

const ALICE = 'gw-team-budget-alice';
const BOB = 'gw-team-budget-bob';
const CAROL = 'gw-team-budget-carol';
const OUTSIDER = 'gw-team-budget-outsider';
const DAVE = 'gw-team-budget-dave';
const ERIN = 'gw-team-budget-erin';
/** $1 per million input tokens, $100 per million output tokens. */
const PRICING = { inputPerMillion: 1, outputPerMillion: 100 };
/** What each answer reports: 10 × $1/M + 300 × $100/M = $0.03001. */
const USAGE = { prompt_tokens: 10, completion_tokens: 300, total_tokens: 310 };
const COST_MICROS = 30_010;
const hello = [{ role: 'user' as const, content: 'hi' }];

describe('a team budget shared by two keys on two instances', () => {
  let upstream: UsageUpstream;
  let setup: GatewaysOnRedis;
  beforeAll(async () => {
    upstream = await startUsageUpstream();
    upstream.chatUsage = USAGE;
    setup = await startGatewaysOnRedis((extra) =>
      testConfig(upstream.url, {
        ...extra,
        models: [{ id: 'priced-chat', kind: 'chat', pricing: PRICING }],
        teams: [
          { name: 'platform', limits: { usdPerDay: 0.05 } },
          { name: 'roomy', limits: { usdPerDay: 10 } },
          { name: 'burst', limits: { usdPerDay: 0.05 } },
        ],
        clientKeys: [
          { name: 'alice', key: ALICE, team: 'platform', limits: { usdPerDay: 10 } },
          { name: 'bob', key: BOB, team: 'platform', limits: { usdPerDay: 10 } },
          { name: 'carol', key: CAROL, team: 'roomy', limits: { usdPerDay: 0.02 } },
          { name: 'outsider', key: OUTSIDER, limits: { usdPerDay: 10 } },
          { name: 'dave', key: DAVE, team: 'burst', limits: { usdPerDay: 10 } },
          { name: 'erin', key: ERIN, team: 'burst' },
        ],
      }),
    );
  });
  afterAll(async () => {
    await setup?.close();
    await upstream?.close();
  });

  const gateway = (i: number): RunningGateway => setup.gateways[i]!;
  const store = () => gateway(0).app.services.spend.store;
  const spentToday = async (name: string): Promise<number> => (await store().spent(name, Date.now())).day;
  const nothingHeld = (name: string): Promise<void> => vi.waitFor(async () => expect(await store().held(name)).toBe(0), { timeout: 5_000, interval: 10 });
  const ask = (g: RunningGateway, key: string) => g.client(key).chat.completions.create({ model: 'priced-chat', messages: hello, max_tokens: 100 });
  const refused = async (g: RunningGateway, key: string): Promise<InstanceType<typeof OpenAI.RateLimitError>> => {
    const error = await ask(g, key).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    return error as InstanceType<typeof OpenAI.RateLimitError>;
  };

  it("refuses both keys once the team's budget is spent, while each key's own budget is untouched", async () => {
    await ask(gateway(0), ALICE);
    await vi.waitFor(async () => expect(await spentToday('team:platform')).toBe(COST_MICROS), { timeout: 5_000, interval: 10 });
    await ask(gateway(1), BOB);
    // The team's day now holds both keys' spend, over its $0.05.
    await vi.waitFor(async () => expect(await spentToday('team:platform')).toBe(2 * COST_MICROS), { timeout: 5_000, interval: 10 });

    for (const [i, key] of [
      [1, ALICE],
      [0, BOB],
    ] as const) {
      const error = await refused(gateway(i), key);
      expect(error.code).toBe('insufficient_quota');
      expect(error.message).toContain("The team 'platform' has spent its usdPerDay budget of $0.05");
      expect(error.headers.get('x-should-retry')).toBe('false');
    }
    // Each key spent only its own request, far under its own $10, and holds nothing for the refused ones.
    expect(await spentToday('alice')).toBe(COST_MICROS);
    expect(await spentToday('bob')).toBe(COST_MICROS);
    await nothingHeld('alice');
    await nothingHeld('bob');
    await nothingHeld('team:platform');
    // A key outside the team is not refused.
    await ask(gateway(1), OUTSIDER);
  });

  it("names the key when the key's own budget is the one that refuses, and gives back what the team held", async () => {
    // $0.01 reserved for max_tokens 100 fits carol's $0.02; its cost, $0.03, spends it.
    await ask(gateway(0), CAROL);
    await vi.waitFor(async () => expect(await spentToday('carol')).toBe(COST_MICROS), { timeout: 5_000, interval: 10 });
    const error = await refused(gateway(1), CAROL);
    expect(error.message).toContain("The key 'carol' has spent its usdPerDay budget");
    expect(error.message).not.toContain('team');
    await nothingHeld('team:roomy');
    expect(await spentToday('team:roomy')).toBe(COST_MICROS);
  });

  it("holds the team's budget for requests in flight: concurrent requests of both keys on both instances cannot pass on the same dollars", async () => {
    let release!: () => void;
    upstream.hold = new Promise<void>((resolve) => (release = resolve));
    const before = upstream.chatRequests;
    // $0.03 held for each (max_tokens 300) against the team's $0.05: one fits, a second would not.
    const { refusals, settled } = budgetBurst(10, 'priced-chat', (i) => gateway(i % 2).client(i % 4 < 2 ? DAVE : ERIN));
    await vi.waitFor(() => expect(upstream.chatRequests - before + refusals.length).toBe(10), { timeout: 10_000, interval: 10 });
    expect(upstream.chatRequests - before).toBe(1);
    for (const refusal of refusals) {
      expect(refusal.code).toBe('insufficient_quota');
      expect(refusal.message).toContain("team 'burst'");
    }
    upstream.hold = undefined;
    release();
    expect(await settled).toBe(1);
    // The refused requests' reservations against their keys' own budgets are given back, and the team's too.
    await nothingHeld('dave');
    await nothingHeld('erin');
    await nothingHeld('team:burst');
    await vi.waitFor(async () => expect(await spentToday('team:burst')).toBe(COST_MICROS), { timeout: 5_000, interval: 10 });
  });
});
