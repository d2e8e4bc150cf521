// A request's settle costs no write of its own: it goes out with the next admission, which is decided on the
// settled windows, or within SETTLE_DEFER_MS when none comes, and on close. A real redis-server behind a
// relay that records the connection's writes; the windows' clock is set by the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLimitStore } from '../../src/limits/redis-store.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { commandsIn, startTappedRedis, type RedisTap, type TappedRedis } from '../helpers/redis-tap.js';
import { setRedisClock } from '../support/redis-clock.js';

const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);
const LIMITS = { requestsPerMinute: 100, tokensPerMinute: 1_000 };

describe('settles of the Redis limit store', () => {
  let tapped: TappedRedis;
  let tap: RedisTap;
  let redis: RedisConnection;
  let store: RedisLimitStore;

  beforeAll(async () => {
    tapped = await startTappedRedis();
    ({ tap, redis } = tapped);
    store = new RedisLimitStore(redis);
    await setRedisClock(redis, [store], MINUTE_START + 10_000);
    await store.admit('warm', LIMITS, MINUTE_START, 1); // the scripts are loaded: one EVALSHA each from here on
    await store.settle('warm', { tokens: 1, minute: MINUTE_START / 60_000 }, 1);
  });
  afterAll(async () => {
    await store.close();
    await tapped.close();
  });

  it('sends a settle with the next admission, in one write, and decides that admission on the settled window', async () => {
    const first = await store.admit('next', LIMITS, MINUTE_START, 900);
    expect(first.allowed).toBe(true);
    const before = tap.writes.length;
    // The first request ends having used 100 of its 900 tokens; the next one arrives at once.
    const settled = store.settle('next', { tokens: 900, minute: first.minute }, 100);
    const second = await store.admit('next', LIMITS, MINUTE_START, 900);
    await settled;
    expect(tap.writes.slice(before)).toHaveLength(1);
    expect(commandsIn(tap.writes[before]!)).toBe(2);
    // Had it been decided before the settle, 900 tokens of 1,000 would have been spent.
    expect(second.allowed).toBe(true);
    expect(second.tokens?.remaining).toBe(900);
    expect(await store.counts('next')).toMatchObject({ requestsThisMinute: 2, tokensThisMinute: 1_000 });
  });

  it('writes a settle that no admission follows within SETTLE_DEFER_MS', async () => {
    const admitted = await store.admit('alone', LIMITS, MINUTE_START, 500);
    await store.settle('alone', { tokens: 500, minute: admitted.minute }, 20); // resolves once written
    expect(await store.counts('alone')).toMatchObject({ requestsThisMinute: 1, tokensThisMinute: 20 });
  });

  it('writes the settles it holds when it is closed', async () => {
    const closing = new RedisLimitStore(redis);
    closing.clockOffsetMs = store.clockOffsetMs;
    const admitted = await closing.admit('closing', LIMITS, MINUTE_START, 500);
    const settled = closing.settle('closing', { tokens: 500, minute: admitted.minute }, 30);
    await closing.close();
    await settled;
    expect(await store.counts('closing')).toMatchObject({ requestsThisMinute: 1, tokensThisMinute: 30 });
  });
});
