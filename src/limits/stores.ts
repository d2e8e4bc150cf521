import type { FastifyBaseLogger } from 'fastify';
import type { GatewayConfig } from '../config/schema.js';
import type { RedisConnection } from '../redis/connection.js';
import { MemoryBudgetStore, type BudgetStore } from '../spend/budget-store.js';
import { LeasedBudgetStore } from '../spend/leased-budget-store.js';
import { RedisBudgetStore } from '../spend/redis-budget-store.js';
import { LeasedLimitStore } from './leased-store.js';
import { MemoryLimitStore, type LimitStore } from './limiter.js';
import { RedisLimitStore } from './redis-store.js';

/**
 * Where the keys' limits and budgets are counted: in this process without Redis; in Redis, asked for every
 * request (`limits.admission: exact`) or for leases this instance admits from (`lease`).
 */
export function limitStores(config: GatewayConfig, redis: RedisConnection | undefined, log: FastifyBaseLogger): { limits: LimitStore; budgets: BudgetStore } {
  if (redis === undefined) return { limits: new MemoryLimitStore(), budgets: new MemoryBudgetStore() };
  if (config.limits.admission === 'exact') return { limits: new RedisLimitStore(redis), budgets: new RedisBudgetStore(redis, log) };
  const { share, flushMs } = config.limits.lease;
  return { limits: new LeasedLimitStore(redis, share), budgets: new LeasedBudgetStore(redis, log, share, flushMs) };
}
