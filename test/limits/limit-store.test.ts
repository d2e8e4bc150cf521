// One suite for every LimitStore: in memory, on a real Redis, and on a real three-node Redis Cluster. The
// windows' clock is set by the test (the gateway's for memory, Redis's shifted for Redis), never the wall
// clock, so no test depends on where in the minute or the day it runs.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryLimitStore, type LimitStore } from '../../src/limits/limiter.js';
import { RedisLimitStore, UNLIMITED_FLUSH_MS } from '../../src/limits/redis-store.js';
import { redisBackends } from '../helpers/redis-connection.js';
import { setRedisClock } from '../support/redis-clock.js';

const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

interface StoreUnderTest {
  store: LimitStore;
  /** Another store on the same counts, as a second gateway instance has (the same one in memory). */
  peer: LimitStore;
  /** Makes the windows' clock read `now` (for a Redis store: from this moment on, as Redis's clock runs). */
  setClock(now: number): Promise<void>;
  close(): Promise<void>;
}

const backends: [string, () => Promise<StoreUnderTest>][] = [
  [
    'memory',
    async () => {
      const store = new MemoryLimitStore();
      return { store, peer: store, setClock: async () => {}, close: async () => {} };
    },
  ],
  ...redisBackends.map(([name, open]): [string, () => Promise<StoreUnderTest>] => [
    name,
    async () => {
      const { redis, close } = await open();
      const store = new RedisLimitStore(redis);
      const peer = new RedisLimitStore(redis);
      return { store, peer, setClock: (now) => setRedisClock(redis, [store, peer], now), close };
    },
  ]),
];

describe.each(backends)('limit store on %s', (_name, open) => {
  let backend: StoreUnderTest;
  beforeAll(async () => {
    backend = await open();
    await backend.setClock(MINUTE_START);
  });
  afterAll(() => backend.close());

  it('admits up to the request limit, counting only admitted requests', async () => {
    const limits = { requestsPerMinute: 3 };
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await backend.store.admit('team-a', limits, MINUTE_START + i, 0)).allowed);
    expect(results).toEqual([true, true, true, false, false]);
    expect(await backend.store.counts('team-a', MINUTE_START + 10)).toEqual({ requestsThisMinute: 3, tokensThisMinute: 0, tokensToday: 0 });
  });

  it('starts a new minute afresh, but keeps the day', async () => {
    await backend.store.addTokens('team-b', 40, MINUTE_START);
    await backend.setClock(MINUTE_START + 60_000);
    await backend.store.addTokens('team-b', 2, MINUTE_START + 60_000);
    expect(await backend.store.counts('team-b', MINUTE_START + 60_001)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 2, tokensToday: 42 });
    await backend.setClock(MINUTE_START);
  });

  it('refuses once tokens are spent, and keeps keys apart', async () => {
    await backend.store.addTokens('team-c', 100, MINUTE_START);
    expect(await backend.store.admit('team-c', { tokensPerMinute: 100 }, MINUTE_START + 1, 0)).toMatchObject({ allowed: false, exceeded: 'tokens' });
    expect((await backend.store.admit('team-d', { tokensPerMinute: 100 }, MINUTE_START + 1, 0)).allowed).toBe(true);
  });

  it('holds reservations against the limit for every instance until they are settled', async () => {
    const limits = { tokensPerMinute: 500 };
    const admitted = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? backend.store : backend.peer).admit('team-r', limits, MINUTE_START + 1, 120)));
    const allowed = admitted.filter((a) => a.allowed);
    expect(allowed).toHaveLength(5); // 0, 120, 240, 360 and 480 reserved before each: all under 500
    await Promise.all(allowed.map((a) => backend.peer.settle('team-r', { tokens: 120, minute: a.minute }, 30, MINUTE_START + 2)));
    expect(await backend.store.counts('team-r', MINUTE_START + 3)).toMatchObject({ tokensThisMinute: 150, tokensToday: 150 });
  });

  it('moves a reservation: a larger one is decided on the window without it', async () => {
    const limits = { tokensPerMinute: 500 };
    const first = await backend.store.admit('team-m', limits, MINUTE_START, 100);
    const second = await backend.peer.admit('team-m', limits, MINUTE_START, 100);
    expect((await backend.store.adjust('team-m', limits, { tokens: 100, minute: first.minute }, 520, MINUTE_START)).allowed).toBe(true);
    const refused = await backend.peer.adjust('team-m', limits, { tokens: 100, minute: second.minute }, 450, MINUTE_START);
    expect(refused).toMatchObject({ allowed: false, exceeded: 'tokens' });
    expect((await backend.store.counts('team-m', MINUTE_START)).tokensThisMinute).toBe(620);
    expect((await backend.peer.adjust('team-m', limits, { tokens: 100, minute: second.minute }, 10, MINUTE_START)).allowed).toBe(true);
    expect((await backend.store.counts('team-m', MINUTE_START)).tokensThisMinute).toBe(530);
  });

  it("pays back what requests used beyond their reservations (the probe's case): refused until the window has room again", async () => {
    const limits = { tokensPerMinute: 300, reserveTokens: 30 };
    // Twenty requests at once, each reserving 43 tokens (its prompt and reserveTokens), each using 300.
    const decided = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? backend.store : backend.peer).admit('team-debt', limits, MINUTE_START + 1, 43)));
    const admitted = decided.filter((a) => a.allowed);
    expect(admitted).toHaveLength(7); // 0, 43, ..., 258 reserved before each: all under 300
    await Promise.all(admitted.map((a) => backend.peer.settle('team-debt', { tokens: 43, minute: a.minute }, 300, MINUTE_START + 2)));
    expect(await backend.store.counts('team-debt', MINUTE_START + 3)).toMatchObject({ tokensThisMinute: 2_100, tokensToday: 2_100 });
    // 2,100 tokens are seven minutes' worth: refused in this minute and the six after it, each paying 300 back.
    const refused = await backend.store.admit('team-debt', limits, MINUTE_START + 4, 43);
    expect(refused).toMatchObject({ allowed: false, exceeded: 'tokens', tokens: { limit: 300, remaining: 0 } });
    // Until the seventh minute from this one begins (Redis's clock runs on a little meanwhile).
    expect(refused.retryAfterMs).toBeGreaterThan(6 * 60_000 + 50_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(7 * 60_000 - 4);
    for (let minute = 1; minute <= 6; minute++) {
      await backend.setClock(MINUTE_START + minute * 60_000);
      expect(await backend.store.counts('team-debt', MINUTE_START + minute * 60_000)).toMatchObject({ tokensThisMinute: 2_100 - minute * 300, tokensToday: 2_100 });
      expect((await backend.peer.admit('team-debt', limits, MINUTE_START + minute * 60_000, 43)).allowed).toBe(false);
    }
    await backend.setClock(MINUTE_START + 7 * 60_000);
    expect((await backend.peer.admit('team-debt', limits, MINUTE_START + 7 * 60_000, 43)).allowed).toBe(true);
    await backend.setClock(MINUTE_START);
  });

  it('settles a reservation made before the minute turned out of what that minute carried over, never twice', async () => {
    const limits = { tokensPerMinute: 300 };
    const admission = await backend.store.admit('team-late', limits, MINUTE_START, 200);
    await backend.store.addTokens('team-late', 250, MINUTE_START + 1);
    // The minute ends at 450 (200 of them reserved): it carries 150 over, all of them the reservation's.
    await backend.setClock(MINUTE_START + 60_000);
    expect((await backend.store.counts('team-late', MINUTE_START + 60_000)).tokensThisMinute).toBe(150);
    await backend.peer.settle('team-late', { tokens: 200, minute: admission.minute }, 280, MINUTE_START + 60_001);
    expect(await backend.store.counts('team-late', MINUTE_START + 60_002)).toMatchObject({ tokensThisMinute: 280, tokensToday: 530 });
    await backend.setClock(MINUTE_START);
  });

  it('counts a key without limits at once for itself, and for the other instances within UNLIMITED_FLUSH_MS', async () => {
    for (let i = 0; i < 3; i++) expect((await backend.store.admit('team-e', {}, MINUTE_START + i, 0)).allowed).toBe(true);
    await backend.store.addTokens('team-e', 7, MINUTE_START + 5, false);
    const expected = { requestsThisMinute: 3, tokensThisMinute: 7, tokensToday: 7 };
    expect(await backend.store.counts('team-e', MINUTE_START + 6)).toEqual(expected);
    await vi.waitFor(async () => expect(await backend.peer.counts('team-e', MINUTE_START + 6)).toEqual(expected), {
      timeout: UNLIMITED_FLUSH_MS + 2_000,
      interval: 20,
    });
  });

  it('writes the counts of a key without limits on close', async () => {
    await backend.store.addTokens('team-f', 5, MINUTE_START, false);
    await backend.store.addTokens('team-f', 6, MINUTE_START + 1, false);
    await backend.store.close();
    expect(await backend.peer.counts('team-f', MINUTE_START + 2)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 11, tokensToday: 11 });
  });
});

describe.each(redisBackends)('limit windows on %s', (_name, open) => {
  it('are Redis time: two instances whose clocks are 40 s apart share one minute window', async () => {
    const { redis, close } = await open();
    try {
      const behind = new RedisLimitStore(redis);
      const ahead = new RedisLimitStore(redis);
      await setRedisClock(redis, [behind, ahead], MINUTE_START + 20_000);
      // By their own clocks one instance is 50 s into the minute, the other 30 s into the next one.
      const behindNow = MINUTE_START + 50_000;
      const aheadNow = behindNow + 40_000;
      const limits = { requestsPerMinute: 4 };
      const results = [];
      for (let i = 0; i < 3; i++) {
        results.push((await behind.admit('skewed', limits, behindNow + i, 0)).allowed);
        results.push((await ahead.admit('skewed', limits, aheadNow + i, 0)).allowed);
      }
      expect(results).toEqual([true, true, true, true, false, false]);
      const refused = await ahead.admit('skewed', limits, aheadNow, 0);
      expect(refused.requests?.resetMs).toBeGreaterThan(35_000); // Redis's minute is 20 s old, whatever this instance thinks
    } finally {
      await close();
    }
  });
});
