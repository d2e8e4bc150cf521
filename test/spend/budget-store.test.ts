// One suite for every BudgetStore: in memory, on a real Redis, and on a real three-node Redis Cluster.
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryBudgetStore, type BudgetStore } from '../../src/spend/budget-store.js';
import { RedisBudgetStore } from '../../src/spend/redis-budget-store.js';
import { redisBackends } from '../helpers/redis-connection.js';

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
      return { store, peer, flush: () => Promise.all([store.flush(), peer.flush()]).then(() => undefined), close };
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

  it('keeps keys apart', async () => {
    backend.store.settle('team-a', 0, 5, NOON_DEC_30);
    await backend.flush();
    expect(await backend.store.spent('team-b', NOON_DEC_30)).toEqual({ day: 0, month: 0 });
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
