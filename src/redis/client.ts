import type { FastifyBaseLogger } from 'fastify';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/schema.js';
import { RedisConnection, type RedisClient } from './connection.js';

/** Reconnect after 100 ms, doubling up to 1 s, forever: Redis coming back is noticed within a second. */
export function reconnectDelay(times: number): number {
  return Math.min(100 * 2 ** Math.min(Math.max(times - 1, 0), 4), 1_000);
}

/** Builds the client for a `redis` config and wraps it. Connects in the background: never throws for an unreachable Redis. */
export function createRedisConnection(config: RedisConfig, log: FastifyBaseLogger): RedisConnection {
  // No `commandTimeout`: ioredis would set and clear a timer per command. Callers stop waiting after
  // `timeoutMs` through `run`, whose one timer watches every batch in flight; a command Redis never answers
  // stays in ioredis's queue until the connection closes, with or without ioredis's own timeout.
  const perNode: RedisOptions = {
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    connectTimeout: 5_000,
  };
  // `run` sends the commands of a turn of the event loop (the pins, admissions and settles of every request that
  // turn handled) as one write to a single node. On a Cluster, ioredis's auto-pipelining groups them per node.
  let client: RedisClient;
  if ('url' in config) {
    client = new Redis(config.url, { ...perNode, enableOfflineQueue: false, retryStrategy: reconnectDelay });
  } else if ('cluster' in config) {
    const options: ClusterOptions = {
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: 2_000,
      redisOptions: { ...perNode, ...clusterAuth(config.cluster[0]!) },
    };
    client = new Cluster(config.cluster, options);
  } else {
    client = new Redis({
      ...perNode,
      sentinels: config.sentinels,
      name: config.name,
      ...(config.password !== undefined ? { password: config.password } : {}),
      enableOfflineQueue: false,
      retryStrategy: reconnectDelay,
    });
  }
  return new RedisConnection(client, config, log);
}

/** Credentials and TLS of a cluster's first startup URL, which apply to every node it discovers. */
function clusterAuth(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url.includes('://') ? url : `redis://${url}`);
  } catch {
    return {};
  }
  const options: RedisOptions = {};
  if (parsed.username !== '') options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') options.password = decodeURIComponent(parsed.password);
  if (parsed.protocol === 'rediss:') options.tls = {};
  return options;
}
