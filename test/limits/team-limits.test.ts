// A team's request and token limits, shared by its keys on every instance: two gateways on one real Redis,
// two keys of one team, each checked against its own limits and its team's.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import { startGateway, testConfig, type RunningGateway } from '../helpers/gateway.js';
import { startGatewaysOnRedis, type GatewaysOnRedis } from '../helpers/gateways-on-redis.js';
import { startMockUpstream, type MockUpstream } from '../helpers/mock-upstream.js';
import { setRedisClock } from '../support/redis-clock.js';

const ALICE = 'gw-team-key-alice';
const BOB = 'gw-team-key-bob';
const CAROL = 'gw-team-key-carol';
const DAN = 'gw-team-key-dan';
const ERIN = 'gw-team-key-erin';
const OUTSIDER = 'gw-key-without-a-team';
/** Each request the mock answers for "hi there" costs 5 prompt + 3 completion tokens. */
const TOKENS_PER_REQUEST = 8;
/** 10:30 UTC, so no test runs across a minute's edge. */
const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

describe('team limits shared by its keys on two gateways on one Redis', () => {
  let upstream: MockUpstream;
  let setup: GatewaysOnRedis;
  beforeAll(async () => {
    upstream = await startMockUpstream();
    setup = await startGatewaysOnRedis((extra) =>
      testConfig(upstream.url, {
        ...extra,
        teams: [
          { name: 'platform', limits: { requestsPerMinute: 3 } },
          { name: 'wide', limits: { requestsPerMinute: 50 } },
          { name: 'tokens', limits: { tokensPerMinute: 20, reserveTokens: 1 } },
        ],
        clientKeys: [
          { name: 'alice', key: ALICE, team: 'platform', limits: { requestsPerMinute: 100 } },
          { name: 'bob', key: BOB, team: 'platform' },
          { name: 'carol', key: CAROL, team: 'wide', limits: { requestsPerMinute: 1 } },
          { name: 'dan', key: DAN, team: 'tokens', limits: { reserveTokens: 1, tokensPerMinute: 1_000 } },
          { name: 'erin', key: ERIN, team: 'tokens' },
          { name: 'outsider', key: OUTSIDER },
        ],
      }),
    );
    for (const g of setup.gateways) await setRedisClock(g.app.services.redis!, [g.app.services.limiter.store as RedisLimitStore], MINUTE_START);
  });
  afterAll(async () => {
    await setup?.close();
    await upstream?.close();
  });

  const gateway = (i: number): RunningGateway => setup.gateways[i]!;
  const post = fetchAs;
  const refusal = async (res: Response): Promise<string> => {
    expect(res.status).toBe(429);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe('rate_limit_exceeded');
    return body.error.message;
  };

  it("counts a team's requests per minute across its keys and instances, shows the tighter limit, and names the team in the 429", async () => {
    const first = await post(gateway(0), ALICE);
    expect(first.status).toBe(200);
    // Alice's own limit is 100 a minute; her team's 3 is the tighter one.
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('2');
    const second = await post(gateway(1), BOB);
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-limit-requests')).toBe('3');
    expect(second.headers.get('x-ratelimit-remaining-requests')).toBe('1');
    expect((await post(gateway(1), ALICE)).status).toBe(200);

    const refused = await post(gateway(0), BOB);
    expect(await refusal(refused)).toContain("Rate limit reached for requests per minute on team 'platform'");
    expect(refused.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await refusal(await post(gateway(1), ALICE))).toContain("on team 'platform'");
    // Alice's own window is far from spent: only one request of hers beyond her team's was refused.
    const own = await gateway(0).app.services.limiter.store.counts('alice', MINUTE_START);
    expect(own.requestsThisMinute).toBeLessThanOrEqual(3);
    // A key outside the team is not touched by it.
    expect((await post(gateway(0), OUTSIDER)).status).toBe(200);
  });

  it("names the key in the 429 when the key's own limit is the one reached, and shows it as the tighter one", async () => {
    const first = await post(gateway(0), CAROL);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('1');
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const refused = await post(gateway(1), CAROL);
    const message = await refusal(refused);
    expect(message).toContain("on key 'carol'");
    expect(message).not.toContain('team');
    expect(refused.headers.get('x-ratelimit-limit-requests')).toBe('1');
  });

  it("counts a team's tokens per minute across its keys and instances, and gives the key's reservation back when the team refuses", async () => {
    const store = gateway(0).app.services.limiter.store;
    const teamTokens = async (): Promise<number> => (await store.counts('team:tokens', MINUTE_START)).tokensThisMinute;
    const keys: [number, string][] = [
      [0, DAN],
      [1, ERIN],
      [1, DAN],
    ];
    for (const [n, [i, key]] of keys.entries()) {
      const res = await post(gateway(i), key);
      expect(res.status).toBe(200);
      // The team's window is the tighter one: 20 against Dan's 1,000.
      expect(res.headers.get('x-ratelimit-limit-tokens')).toBe('20');
      // Settled with the tokens used once the request ends.
      await vi.waitFor(async () => expect(await teamTokens()).toBe(TOKENS_PER_REQUEST * (n + 1)), { timeout: 5_000, interval: 10 });
    }
    const danBefore = await store.counts('dan', MINUTE_START);
    expect(await refusal(await post(gateway(0), DAN))).toContain("Rate limit reached for tokens on team 'tokens'");
    expect(await refusal(await post(gateway(1), ERIN))).toContain("on team 'tokens'");
    // What Dan's refused request reserved against his own window is given back.
    await vi.waitFor(async () => expect((await store.counts('dan', MINUTE_START)).tokensThisMinute).toBe(danBefore.tokensThisMinute), {
      timeout: 5_000,
      interval: 10,
    });
  });
});

describe('team limits on one gateway, counted in memory', () => {
  let upstream: MockUpstream;
  let gateway: RunningGateway;
  beforeAll(async () => {
    upstream = await startMockUpstream();
    gateway = await startGateway(
      testConfig(upstream.url, {
        teams: [{ name: 'platform', limits: { requestsPerMinute: 2 } }],
        clientKeys: [
          { name: 'alice', key: ALICE, team: 'platform' },
          { name: 'bob', key: BOB, team: 'platform', limits: { requestsPerMinute: 10 } },
        ],
      }),
      {},
      { clock: () => MINUTE_START },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
  });

  it("refuses the team's keys together once the team's minute is spent, naming the team", async () => {
    const first = await fetchAs(gateway, ALICE);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-requests')).toBe('2');
    expect((await fetchAs(gateway, BOB)).status).toBe(200);
    for (const key of [ALICE, BOB]) {
      const refused = await fetchAs(gateway, key);
      expect(refused.status).toBe(429);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("on team 'platform'");
    }
  });
});

function fetchAs(g: RunningGateway, key: string): Promise<Response> {
  return fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi there' }] }),
  });
}
