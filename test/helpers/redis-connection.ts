import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { expect, vi } from 'vitest';
import { redisSchema } from '../../src/config/redis-schema.js';
import type { RedisConfig } from '../../src/config/schema.js';
import { createRedisConnection } from '../../src/redis/client.js';
import type { RedisConnection } from '../../src/redis/connection.js';
import { startRedis, startRedisCluster } from './redis.js';

const silent = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;

export interface RedisBackend {
  /** A ready connection, with a generous timeout: store suites test the store, not the breaker. */
  readonly redis: RedisConnection;
  /** Closes the connection and stops the server(s). */
  close(): Promise<void>;
}

/** Connects to the Redis that `input` (a `redis` config section) names, and waits until it is ready. */
export async function connectRedis(input: object, stop: () => Promise<void>): Promise<RedisBackend> {
  const redis = createRedisConnection(redisSchema.parse({ ...input, timeoutMs: 1_000 }) as RedisConfig, silent);
  await vi.waitFor(() => expect(redis.ready).toBe(true), { timeout: 10_000, interval: 20 });
  return {
    redis,
    close: async () => {
      await redis.close();
      await stop();
    },
  };
}

/** Every shape of Redis a store must work on, for `describe.each`: one server, and a three-node Cluster. */
export const redisBackends: [string, () => Promise<RedisBackend>][] = [
  [
    'Redis',
    async () => {
      const server = await startRedis();
      return connectRedis({ url: server.url }, () => server.stop());
    },
  ],
  [
    'a three-node Redis Cluster',
    async () => {
      const cluster = await startRedisCluster(3);
      return connectRedis({ cluster: cluster.urls }, () => cluster.stop());
    },
  ],
];

/** Scripts run by every node, from INFO commandstats (EVALSHA, or EVAL the first time a script is sent). */
export async function scriptCalls(redis: RedisConnection): Promise<number> {
  const nodes = 'nodes' in redis.client ? redis.client.nodes('master') : [redis.client];
  let calls = 0;
  for (const node of nodes) {
    const info = await node.info('commandstats');
    for (const m of info.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) calls += Number(m[1]);
  }
  return calls;
}
