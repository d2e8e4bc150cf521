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
      // A keep-alive connection of the SDK's pool on which a client hung up can stay counted as busy after
      // a burst; the suite does not wait for the client to time it out.
      for (const g of gateways) g.app.server.closeAllConnections();
      await Promise.all(gateways.map((g) => g.close()));
      await redis.stop();
    },
  };
}
