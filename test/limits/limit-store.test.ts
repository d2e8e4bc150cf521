// One suite for every LimitStore: in memory, on a real Redis, and on a real three-node Redis Cluster.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryLimitStore, type LimitStore } from '../../src/limits/limiter.js';
import { RedisLimitStore, UNLIMITED_FLUSH_MS } from '../../src/limits/redis-store.js';
import { redisBackends } from '../helpers/redis-connection.js';

const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

interface StoreUnderTest {
  store: LimitStore;
  /** Another store on the same counts, as a second gateway instance has (the same one in memory). */
  peer: LimitStore;
  close(): Promise<void>;
}

const backends: [string, () => Promise<StoreUnderTest>][] = [
  [
    'memory',
    async () => {
      const store = new MemoryLimitStore();
      return { store, peer: store, close: async () => {} };
    },
  ],
  ...redisBackends.map(([name, open]): [string, () => Promise<StoreUnderTest>] => [
    name,
    async () => {
      const { redis, close } = await open();
      return { store: new RedisLimitStore(redis), peer: new RedisLimitStore(redis), close };
    },
  ]),
];

describe.each(backends)('limit store on %s', (_name, open) => {
  let backend: StoreUnderTest;
  beforeAll(async () => {
    backend = await open();
  });
  afterAll(() => backend.close());

  it('admits up to the request limit, counting only admitted requests', async () => {
    const limits = { requestsPerMinute: 3 };
    const results = [];
    for (let i = 0; i < 5; i++) results.push((await backend.store.admit('team-a', limits, MINUTE_START + i)).allowed);
    expect(results).toEqual([true, true, true, false, false]);
    expect(await backend.store.counts('team-a', MINUTE_START + 10)).toEqual({ requestsThisMinute: 3, tokensThisMinute: 0, tokensToday: 0 });
  });

  it('starts a new minute afresh, but keeps the day', async () => {
    await backend.store.addTokens('team-b', 40, MINUTE_START);
    await backend.store.addTokens('team-b', 2, MINUTE_START + 60_000);
    expect(await backend.store.counts('team-b', MINUTE_START + 60_001)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 2, tokensToday: 42 });
  });

  it('refuses once tokens are spent, and keeps keys apart', async () => {
    await backend.store.addTokens('team-c', 100, MINUTE_START);
    expect(await backend.store.admit('team-c', { tokensPerMinute: 100 }, MINUTE_START + 1)).toMatchObject({ allowed: false, exceeded: 'tokens' });
    expect((await backend.store.admit('team-d', { tokensPerMinute: 100 }, MINUTE_START + 1)).allowed).toBe(true);
  });

  it('decides at once on tokens it has counted, before they are written', async () => {
    const recorded = backend.store.addTokens('team-g', 100, MINUTE_START);
    expect(await backend.store.admit('team-g', { tokensPerMinute: 100 }, MINUTE_START + 1)).toMatchObject({ allowed: false, exceeded: 'tokens' });
    await recorded;
    expect(await backend.peer.admit('team-g', { tokensPerMinute: 100 }, MINUTE_START + 2)).toMatchObject({ allowed: false, exceeded: 'tokens' });
  });

  it('writes the tokens of a key with limits counted close together as one sum', async () => {
    await Promise.all([backend.store.addTokens('team-h', 3, MINUTE_START), backend.store.addTokens('team-h', 4, MINUTE_START + 1)]);
    expect(await backend.peer.counts('team-h', MINUTE_START + 2)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 7, tokensToday: 7 });
  });

  it('counts a key without limits at once for itself, and for the other instances within UNLIMITED_FLUSH_MS', async () => {
    for (let i = 0; i < 3; i++) expect((await backend.store.admit('team-e', {}, MINUTE_START + i)).allowed).toBe(true);
    await backend.store.addTokens('team-e', 7, MINUTE_START + 5, false);
    const expected = { requestsThisMinute: 3, tokensThisMinute: 7, tokensToday: 7 };
    expect(await backend.store.counts('team-e', MINUTE_START + 6)).toEqual(expected);
    await vi.waitFor(async () => expect(await backend.peer.counts('team-e', MINUTE_START + 6)).toEqual(expected), {
      timeout: UNLIMITED_FLUSH_MS + 2_000,
      interval: 20,
    });
  });

  it('writes the last minute of a key without limits as soon as the next one starts, and everything on close', async () => {
    await backend.store.addTokens('team-f', 5, MINUTE_START, false);
    await backend.store.addTokens('team-f', 6, MINUTE_START + 60_000, false);
    // Well before UNLIMITED_FLUSH_MS: the first minute's 5 went out when the second minute began.
    await vi.waitFor(async () => expect((await backend.peer.counts('team-f', MINUTE_START + 60_001)).tokensToday).toBeGreaterThanOrEqual(5), {
      timeout: UNLIMITED_FLUSH_MS / 2,
      interval: 5,
    });
    await backend.store.close();
    expect(await backend.peer.counts('team-f', MINUTE_START + 60_001)).toEqual({ requestsThisMinute: 0, tokensThisMinute: 6, tokensToday: 11 });
  });
});
