// A gateway whose Redis connection goes through a tap (see redis-tap.ts), with the mock upstream: to see
// which commands a request sends to Redis, and in how many writes.
import { expect, vi } from 'vitest';
import { startGateway, type RunningGateway } from './gateway.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startMockUpstream, type MockUpstream } from './mock-upstream.js';
import { startRedis, type RedisServer } from './redis.js';
import { startRedisTap, type RedisTap } from './redis-tap.js';

export interface TappedGateway {
  readonly tap: RedisTap;
  readonly mock: MockUpstream;
  readonly gateway: RunningGateway;
  close(): Promise<void>;
}

/** Starts Redis, its tap, the mock and a gateway configured by `configOf` (given the mock's and the tap's URLs), once its Redis is ready. */
export async function startTappedGateway(configOf: (urls: { mock: string; redis: string }) => GatewayConfigInput): Promise<TappedGateway> {
  const [redis, mock]: [RedisServer, MockUpstream] = await Promise.all([startRedis(), startMockUpstream()]);
  const tap = await startRedisTap(redis.port);
  const gateway = await startGateway(configOf({ mock: mock.url, redis: tap.url }));
  await vi.waitFor(() => expect(gateway.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 20 });
  return {
    tap,
    mock,
    gateway,
    close: async () => {
      await gateway.close();
      await tap.close();
      await Promise.all([mock.close(), redis.stop()]);
    },
  };
}
