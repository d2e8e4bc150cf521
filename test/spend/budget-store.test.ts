// One suite for every BudgetStore: in memory, on a real Redis, and on a real three-node Redis Cluster.
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryBudgetStore, type BudgetStore } from '../../src/spend/budget-store.js';
import { HOLD_LEASE_MS, RedisBudgetStore } from '../../src/spend/redis-budget-store.js';
import { redisBackends, scriptCalls, type RedisBackend } from '../helpers/redis-connection.js';

const silent = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
const NOON_DEC_30 = Date.UTC(2026, 11, 30, 12, 0, 0);
const DAY = 86_400_000;

interface StoreUnderTest {
  store: BudgetStore;
  /** Another store on the same totals, as a second gateway instance has (the same one in memory). */
  peer: BudgetStore;
  /** Writes what the stores hold back. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const DAY_BUDGET = { day: 100_000 };

const backends: [string, () => Promise<StoreUnderTest>][] = [
  [
    'memory',
    async () => {
      const store = new MemoryBudgetStore();
      return { store, peer: store, flush: async () => {}, close: async () => {} };
    },
  ],
  ...redisBackends.map(([name, open]): [string, () => Promise<StoreUnderTest>] => [
    name,
    async () => {
      const { redis, close } = await open();
      const store = new RedisBudgetStore(redis, silent);
      const peer = new RedisBudgetStore(redis, silent);
      return {
        store,
        peer,
        flush: () => Promise.all([store.flush(), peer.flush()]).then(() => undefined),
        close: async () => {
          await Promise.all([store.close(), peer.close()]);
          await close();
        },
      };
    },
  ]),
];

describe.each(backends)('budget store on %s', (_name, open) => {
  let backend: StoreUnderTest;
  beforeAll(async () => {
    backend = await open();
  });
  afterAll(() => backend.close());

  it("adds every instance's spend into one day and one month total, exactly", async () => {
    const { store, peer } = backend;
    store.settle('shared', 0, 1_234_567, NOON_DEC_30);
    // This instance decides at once on what it has not written yet.
    expect(await store.spent('shared', NOON_DEC_30)).toEqual({ day: 1_234_567, month: 1_234_567 });
    peer.settle('shared', 0, 1, NOON_DEC_30);
    await backend.flush();
    expect(await peer.spent('shared', NOON_DEC_30)).toEqual({ day: 1_234_568, month: 1_234_568 });
  });

  it('starts a new day at midnight UTC and a new month on the first, keeping the month over the days', async () => {
    const { store } = backend;
    store.settle('windows', 0, 100, NOON_DEC_30);
    store.settle('windows', 0, 20, NOON_DEC_30 + DAY);
    await backend.flush();
    expect(await store.spent('windows', NOON_DEC_30 + DAY)).toEqual({ day: 20, month: 120 });
    // New Year's Day: a new day and a new month.
    store.settle('windows', 0, 3, NOON_DEC_30 + 2 * DAY);
    await backend.flush();
    expect(await store.spent('windows', NOON_DEC_30 + 2 * DAY)).toEqual({ day: 3, month: 3 });
  });

  it('reserves only what fits beside the spend and what requests in flight hold, on every instance', async () => {
    const { store, peer } = backend;
    store.settle('held', 0, 10_000, NOON_DEC_30);
    await backend.flush();
    const decided = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? store : peer).reserve('held', DAY_BUDGET, 30_000, NOON_DEC_30)));
    // 10,000 spent and three reservations of 30,000 fill the 100,000: a fourth would not fit.
    expect(decided.filter((d) => d.allowed)).toHaveLength(3);
    expect(await peer.held('held')).toBe(90_000);
    const refused = decided.find((d) => !d.allowed)!;
    expect(refused).toMatchObject({ spent: { day: 10_000 }, held: 90_000 });

    // One ends, costing less than it reserved: what it held is replaced by its cost.
    const ended = decided.findIndex((d) => d.allowed);
    (ended % 2 === 0 ? store : peer).settle('held', 30_000, 25_000, NOON_DEC_30);
    await backend.flush();
    expect(await store.held('held')).toBe(60_000);
    expect(await store.spent('held', NOON_DEC_30)).toEqual({ day: 35_000, month: 35_000 });
    expect((await peer.reserve('held', DAY_BUDGET, 5_001, NOON_DEC_30)).allowed).toBe(false);
    expect((await peer.reserve('held', DAY_BUDGET, 5_000, NOON_DEC_30)).allowed).toBe(true);
  });

  it('admits nothing on a spent budget, not even a request that reserves nothing', async () => {
    backend.store.settle('spent', 0, 100_000, NOON_DEC_30);
    await backend.flush();
    expect(await backend.peer.reserve('spent', DAY_BUDGET, 0, NOON_DEC_30)).toMatchObject({ allowed: false, spent: { day: 100_000 } });
    expect((await backend.peer.reserve('spent', { month: 200_000 }, 0, NOON_DEC_30)).allowed).toBe(true);
  });

  it('keeps keys apart', async () => {
    backend.store.settle('team-a', 0, 5, NOON_DEC_30);
    await backend.flush();
    expect(await backend.store.spent('team-b', NOON_DEC_30)).toEqual({ day: 0, month: 0 });
  });
});

describe.each(redisBackends)('what requests in flight hold, on %s', (_name, open) => {
  let backend: RedisBackend;
  let store: RedisBudgetStore;
  beforeAll(async () => {
    backend = await open();
    store = new RedisBudgetStore(backend.redis, silent);
  });
  afterAll(async () => {
    await store.close();
    await backend.close();
  });
  const heldKey = (keyName: string): string => `${backend.redis.keyPrefix}spend:{${keyName}}:held`;
  const setField = (keyName: string, ...fieldsAndValues: (string | number)[]): Promise<unknown> =>
    backend.redis.run((client) => client.hset(heldKey(keyName), ...fieldsAndValues));

  it('decides the reservations of one turn with one script, in order, as one by one would', async () => {
    await store.reserve('warm', DAY_BUDGET, 0, NOON_DEC_30); // the script is loaded: EVALSHA from here on
    const before = await scriptCalls(backend.redis);
    const decisions = await Promise.all([40_000, 40_000, 40_000, 20_000].map((micros) => store.reserve('batched', DAY_BUDGET, micros, NOON_DEC_30)));
    expect(await scriptCalls(backend.redis)).toBe(before + 1);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false, true]);
    expect(decisions.map((d) => d.held)).toEqual([0, 40_000, 80_000, 80_000]);
    expect(await store.held('batched')).toBe(100_000);
  });

  it('stops counting what an instance that died held once its lease has ended', async () => {
    await setField('orphaned', 'dead', 50_000, 'dead:t', 1, 'alive', 20_000, 'alive:t', Date.now() + HOLD_LEASE_MS);
    expect(await store.held('orphaned')).toBe(20_000);
    expect((await store.reserve('orphaned', DAY_BUDGET, 80_000, NOON_DEC_30)).allowed).toBe(true);
    expect(await backend.redis.run((client) => client.hexists(heldKey('orphaned'), 'dead'))).toBe(0);
  });

  it('sets what this instance holds right when it renews its lease: a lost write, a lapsed lease', async () => {
    expect((await store.reserve('healed', DAY_BUDGET, 40_000, NOON_DEC_30)).allowed).toBe(true);
    await setField('healed', store.instanceId, 90_000); // as if a settle was counted twice
    store.renew();
    await vi.waitFor(async () => expect(await store.held('healed')).toBe(40_000), { timeout: 5_000, interval: 20 });
    await backend.redis.run((client) => client.del(heldKey('healed'))); // as if the lease lapsed while Redis was away
    store.renew();
    await vi.waitFor(async () => expect(await store.held('healed')).toBe(40_000), { timeout: 5_000, interval: 20 });
    store.settle('healed', 40_000, 0, NOON_DEC_30);
    await store.flush();
    expect(await store.held('healed')).toBe(0);
  });
});

describe('budget store on a Redis that goes away and comes back', () => {
  it('keeps what it could not send and sends it once Redis is back, so no spend is lost', async () => {
    const { startRedis } = await import('../helpers/redis.js');
    const { connectRedis } = await import('../helpers/redis-connection.js');
    const server = await startRedis();
    const { redis, close } = await connectRedis({ url: server.url, breakerMs: 50 }, () => server.stop());
    try {
      const store = new RedisBudgetStore(redis, silent);
      await server.stop();
      // Redis is away as far as the gateway can tell: a command written before the client saw the connection
      // close may have been run, and is dropped rather than risk counting it twice (see RedisBudgetStore).
      await vi.waitFor(() => expect(redis.available).toBe(false), { timeout: 10_000, interval: 10 });
      store.settle('outage', 0, 7, NOON_DEC_30);
      await store.flush();
      await server.start();
      await vi.waitFor(() => expect(redis.ready).toBe(true), { timeout: 10_000, interval: 20 });
      await vi.waitFor(
        async () => {
          await store.flush();
          expect(await store.spent('outage', NOON_DEC_30)).toEqual({ day: 7, month: 7 });
          // Written, not only held: a second store on the same Redis sees it too.
          expect(await new RedisBudgetStore(redis, silent).spent('outage', NOON_DEC_30)).toEqual({ day: 7, month: 7 });
        },
        { timeout: 10_000, interval: 50 },
      );
    } finally {
      await close();
    }
  });
});
