// A request's cost costs no write of its own: it goes out with the next command sent to Redis, or within
// SPEND_FLUSH_MS. A real redis-server behind a relay that records the connection's writes.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RedisConnection } from '../../src/redis/connection.js';
import { RedisBudgetStore } from '../../src/spend/redis-budget-store.js';
import { commandsIn, silentLog as silent, startTappedRedis, type RedisTap, type TappedRedis } from '../helpers/redis-tap.js';

const NOW = Date.UTC(2026, 10, 22, 10, 30, 0);

describe('spend written behind', () => {
  let tapped: TappedRedis;
  let tap: RedisTap;
  let redis: RedisConnection;
  let store: RedisBudgetStore;

  beforeAll(async () => {
    tapped = await startTappedRedis();
    ({ tap, redis } = tapped);
    store = new RedisBudgetStore(redis, silent);
    store.settle('warm', 0, 1, NOW);
    await store.flush(); // the script is loaded: one EVALSHA from here on
  });
  afterAll(async () => {
    await store.close();
    await tapped.close();
  });

  it('sends a cost with the next command that goes to Redis, in the same write', async () => {
    const before = tap.writes.length;
    store.settle('team', 0, 1_500, NOW);
    expect(await redis.run((c) => c.ping())).toBe('PONG');
    expect(tap.writes.slice(before)).toHaveLength(1);
    expect(commandsIn(tap.writes[before]!)).toBe(2);
    // Another instance (a store holding nothing) reads it from Redis.
    const other = new RedisBudgetStore(redis, silent);
    expect(await other.spent('team', NOW)).toEqual({ day: 1_500, month: 1_500 });
  });

  it('writes a cost that no command follows within SPEND_FLUSH_MS', async () => {
    const other = new RedisBudgetStore(redis, silent);
    store.settle('quiet', 0, 700, NOW);
    await vi.waitFor(async () => expect(await other.spent('quiet', NOW)).toEqual({ day: 700, month: 700 }), { timeout: 5_000, interval: 5 });
  });
});
