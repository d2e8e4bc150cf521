// Two gateways in this process sharing one real Redis: the real case for state shared across instances
// (limits, budgets).
import { expect, vi } from 'vitest';
import type { GatewayConfigInput } from '../../src/config/schema.js';
import { startGateway, type RunningGateway } from './gateway.js';
import { startRedis } from './redis.js';

export interface GatewaysOnRedis {
  gateways: RunningGateway[];
  close(): Promise<void>;
}

/** Starts a Redis and two gateways on it, whose config `config` makes from its `redis` section; waits until both are connected. */
export async function startGatewaysOnRedis(config: (redis: Partial<GatewayConfigInput>) => GatewayConfigInput): Promise<GatewaysOnRedis> {
  const redis = await startRedis();
  const extra = { redis: { url: redis.url, timeoutMs: 1_000 } };
  const gateways = await Promise.all([startGateway(config(extra)), startGateway(config(extra))]);
  for (const g of gateways) await vi.waitFor(() => expect(g.app.services.redis!.ready).toBe(true), { timeout: 10_000, interval: 20 });
  return {
    gateways,
    close: async () => {
      await Promise.all(gateways.map((g) => g.close()));
      await redis.stop();
    },
  };
}
