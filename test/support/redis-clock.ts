import type { RedisLimitStore } from '../../src/limits/redis-store.js';
import type { RedisConnection } from '../../src/redis/connection.js';

/**
 * Shifts the clock the Redis limit stores read so that it reads `now` at this moment (and runs on from
 * there): tests set the windows' time instead of waiting for the wall clock to leave a minute's edge.
 */
export async function setRedisClock(redis: RedisConnection, stores: Pick<RedisLimitStore, 'clockOffsetMs'>[], now: number): Promise<void> {
  const [seconds, micros] = await redis.run((c) => c.time());
  const offset = now - (Number(seconds) * 1000 + Math.floor(Number(micros) / 1000));
  for (const store of stores) store.clockOffsetMs = offset;
}
