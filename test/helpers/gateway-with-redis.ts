// A gateway in this process on a real Redis and the mock upstream: what the suites about shared state
// (limits, pins, budgets) start before their tests.
import { afterAll, beforeAll, expect, vi } from 'vitest';
import type { BuildOptions } from '../../src/app.js';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { startMockUpstream, type MockUpstream } from './mock-upstream.js';
import { startRedis, type RedisServer } from './redis.js';

export interface GatewayWithRedis {
  redis: RedisServer;
  mock: MockUpstream;
  gateway: RunningGateway;
}

/**
 * Registers hooks that start Redis and the mock, then a gateway whose config `config` makes from their URLs,
 * and wait until it is connected to Redis; all three are closed after the suite. The returned object is
 * filled in by `beforeAll`.
 */
export function useGatewayWithRedis(
  config: (urls: { mock: string; redis: string }) => GatewayConfigInput,
  options: Omit<BuildOptions, 'logStream'> = {},
): GatewayWithRedis {
  const running = {} as GatewayWithRedis;
  beforeAll(async () => {
    [running.redis, running.mock] = await Promise.all([startRedis(), startMockUpstream()]);
    running.gateway = await startGateway(config({ mock: running.mock.url, redis: running.redis.url }), {}, options);
    await vi.waitFor(() => expect(running.gateway.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 20 });
  });
  afterAll(async () => {
    await running.gateway?.close();
    await Promise.all([running.mock?.close(), running.redis?.stop()]);
  });
  return running;
}
