import type { ClientKeyring } from './auth/client-keys.js';
import type { Catalog } from './catalog/catalog.js';
import type { GatewayConfig } from './config/schema.js';
import type { RateLimiter } from './limits/plugin.js';
import type { GatewayMetrics } from './metrics/gateway-metrics.js';
import type { Forwarder } from './proxy/forward.js';
import type { RedisConnection } from './redis/connection.js';
import type { UpstreamRouter } from './routing/pool.js';
import type { ResponseOwners } from './routing/response-owners.js';
import type { AccountSelector } from './routing/selector.js';
import type { Spend } from './spend/spend.js';
import type { KeyRegistry } from './keys/registry.js';
import type { Store } from './store/store.js';
import type { UsageLedger } from './usage/ledger.js';

/** What the gateway is made of, built by `buildApp` from a config and shared by its routes as `app.services`. */
export interface Services {
  /**
   * The config and what is built from it. A reload replaces them together, between two requests: read them
   * when a request needs them (not once at start-up), and a request keeps the objects it has already read.
   */
  config: GatewayConfig;
  catalog: Catalog;
  keyring: ClientKeyring;
  router: UpstreamRouter;
  readonly forwarder: Forwarder;
  readonly selector: AccountSelector;
  /** Prometheus counters; a no-op when `metrics.enabled` is false. */
  readonly metrics: GatewayMetrics;
  /** The shared Redis connection (behind its circuit breaker) when `redis` is configured. */
  readonly redis: RedisConnection | undefined;
  /** Per-key request and token limits, counted in Redis when it is configured. */
  readonly limiter: RateLimiter;
  /** Prices, each request's cost, and per-key spend budgets. */
  readonly spend: Spend;
  /** Which account made each stored response (Responses API), per client key. */
  readonly responses: ResponseOwners;
  /**
   * Applies a new config without a restart: accounts, weights, client keys, models, timeouts, retries, the
   * pin TTL, `adminToken` and `metrics.bearerToken`. Settings that need a restart are logged and left as
   * they are. Throws, changing nothing, when the new config cannot be built.
   */
  reload(config: GatewayConfig): void;
  /** Set while shutting down: health checks fail so load balancers stop sending traffic. */
  draining: boolean;
  /** Keys as a service (docs/keys.md): the database, the API keys held in memory, the daily usage ledger. */
  readonly store: Store;
  readonly keys: KeyRegistry;
  readonly ledger: UsageLedger;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
