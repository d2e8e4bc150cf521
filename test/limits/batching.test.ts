// Admissions and settles of a limited key asked for in one turn of the event loop share one Redis command,
// decided in arrival order as if sent one by one. A real Redis (single and Cluster); the windows' clock is
// set by the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisLimitStore } from '../../src/limits/redis-store.js';
import { redisBackends, scriptCalls, type RedisBackend } from '../helpers/redis-connection.js';
import { setRedisClock } from '../support/redis-clock.js';

const MINUTE_START = Date.UTC(2026, 10, 22, 10, 30, 0);

describe.each(redisBackends)('limit batches on %s', (_name, open) => {
  let backend: RedisBackend;
  let store: RedisLimitStore;

  beforeAll(async () => {
    backend = await open();
    store = new RedisLimitStore(backend.redis);
    await setRedisClock(backend.redis, [store], MINUTE_START + 10_000);
  });
  afterAll(async () => {
    await store.close();
    await backend.close();
  });

  it('decides five admissions sent together with one script, in order, as one by one would', async () => {
    const limits = { requestsPerMinute: 3, tokensPerMinute: 1_000 };
    await store.admit('warm', limits, MINUTE_START, 1); // the script is loaded: EVALSHA from here on
    const before = await scriptCalls(backend.redis);
    const admissions = await Promise.all([1, 2, 3, 4, 5].map(() => store.admit('batched', limits, MINUTE_START, 100)));
    expect(await scriptCalls(backend.redis)).toBe(before + 1);
    expect(admissions.map((a) => a.allowed)).toEqual([true, true, true, false, false]);
    expect(admissions.map((a) => a.requests?.remaining)).toEqual([2, 1, 0, 0, 0]);
    expect(await store.counts('batched')).toMatchObject({ requestsThisMinute: 3, tokensThisMinute: 300 });
  });

  it('settles three reservations sent together with one script, to the tokens used', async () => {
    const limits = { tokensPerMinute: 10_000 };
    const admitted = await Promise.all([1, 2, 3].map(() => store.admit('settled', limits, MINUTE_START, 500)));
    const minute = admitted[0]!.minute;
    const before = await scriptCalls(backend.redis);
    await Promise.all([10, 20, 30].map((used) => store.settle('settled', { tokens: 500, minute }, used)));
    expect(await scriptCalls(backend.redis)).toBe(before + 1);
    expect(await store.counts('settled')).toMatchObject({ requestsThisMinute: 3, tokensThisMinute: 60 });
  });
});
