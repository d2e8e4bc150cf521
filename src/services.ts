import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { Agent } from 'undici';
import type { UpstreamRouter } from './accounts/pool.js';
import { ResponseOwners } from './accounts/response-owners.js';
import { MemoryStickyStore } from './accounts/sticky/memory-store.js';
import { RedisStickyStore } from './accounts/sticky/redis-store.js';
import { StickySelector, type StickyResult } from './accounts/sticky-selector.js';
import type { ClientKeyring } from './auth/client-keys.js';
import type { Catalog } from './catalog/catalog.js';
import type { GatewayConfig } from './config/schema.js';
import { RateLimiter } from './limits/rate-limiter.js';
import { limitStores } from './limits/stores.js';
import { disabledMetrics, type GatewayMetrics } from './metrics/gateway-metrics.js';
import { PrometheusMetrics } from './metrics/registry.js';
import { Forwarder } from './proxy/forward.js';
import { SecretScrubber } from './proxy/scrub.js';
import { createRedisConnection } from './redis/client.js';
import type { RedisConnection } from './redis/connection.js';
import { buildRouting, forwardOptions, reloadServices } from './reload.js';
import { PriceList } from './spend/price-list.js';
import { logPriceSources } from './spend/price-log.js';
import { Spend } from './spend/spend.js';
import { keyService } from './keys/service.js';
import type { KeyRegistry } from './keys/registry.js';
import type { Store } from './store/store.js';
import { loadTracing } from './tracing/load.js';
import type { Tracing } from './tracing/tracing.js';
import type { UsageLedger } from './usage/ledger.js';

/** What the gateway is made of, built by `createServices` from a config and shared by its routes as `app.services`. */
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
  readonly selector: StickySelector;
  /** Prometheus counters; a no-op when `metrics.enabled` is false. */
  readonly metrics: GatewayMetrics;
  /** The same counters and their registry, for the scrape route; undefined when `metrics.enabled` is false. */
  readonly prometheus: PrometheusMetrics | undefined;
  /** Undefined unless `tracing.otlpEndpoint` is set: then nothing of tracing is built, hooked or wrapped. */
  readonly tracing: Tracing | undefined;
  /** The shared Redis connection (behind its circuit breaker) when `redis` is configured. */
  readonly redis: RedisConnection | undefined;
  /** Per-key request and token limits, counted in Redis when it is configured. */
  readonly limiter: RateLimiter;
  /** Prices, each request's cost, and per-key spend budgets. */
  readonly spend: Spend;
  /** Which account made each stored response (Responses API), per client key. */
  readonly responses: ResponseOwners;
  /**
   * Where the one line per request goes: a child of the app's logger without the redaction pass (the line
   * holds names, numbers and the route, nothing the redaction could find, and the pass costs more than the
   * rest of the line).
   */
  readonly accessLogger: Logger;
  /**
   * Applies a new config without a restart (see src/reload.ts). Throws, changing nothing, when the new
   * config cannot be built.
   */
  reload(config: GatewayConfig): void;
  /** Set while shutting down: health checks fail so load balancers stop sending traffic. */
  draining: boolean;
  /** Keys as a service (docs/keys.md): the database, the API keys held in memory, the daily usage ledger. */
  readonly store: Store;
  readonly keys: KeyRegistry;
  readonly ledger: UsageLedger;
  /** Writes what is held back (counts, spend) and closes every connection the services opened. */
  close(): Promise<void>;
}

export interface ServiceOptions {
  /** Told how each request with a conversation was routed (for metrics). */
  onStickyResult?: ((result: StickyResult) => void) | undefined;
  /** Epoch ms now, for the windows of limits and spend budgets kept in memory; tests move it. */
  clock?: (() => number) | undefined;
}

/** Builds every collaborator of the gateway from a config. Redis connects in the background: a gateway starts and serves while it is down. */
export async function createServices(config: GatewayConfig, log: FastifyBaseLogger, options: ServiceOptions = {}): Promise<Services> {
  const { catalog, keyring, router } = buildRouting(config);
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
  const prometheus = config.metrics.enabled ? new PrometheusMetrics(config.upstreams.flatMap((u) => u.accounts.map((a) => a.name))) : undefined;
  const metrics: GatewayMetrics = prometheus ?? disabledMetrics;
  const tracing = await loadTracing(config.tracing, log);
  const forwarder = new Forwarder(tracing?.detach(dispatcher) ?? dispatcher, forwardOptions(config), new SecretScrubber(router.secrets()), log, {
    onUpstreamFailure: (account, reason) => metrics.upstreamFailure(account.name, reason),
  });
  const redis = config.redis === undefined ? undefined : createRedisConnection(config.redis, log);
  const selector = new StickySelector({
    store: redis === undefined ? new MemoryStickyStore(config.sticky.maxEntries) : new RedisStickyStore(redis, config.sticky.maxPinsPerKey),
    local: redis === undefined ? undefined : new MemoryStickyStore(config.sticky.maxEntries),
    ttlSeconds: config.sticky.ttlSeconds,
    pinReads: config.sticky.pinReads,
    onResult: (result: StickyResult) => {
      metrics.stickyRouting(result);
      options.onStickyResult?.(result);
    },
  });
  const stores = limitStores(config, redis, log);
  const limiter = new RateLimiter(stores.limits, metrics, log, options.clock);
  const spend = new Spend({
    store: stores.budgets,
    prices: new PriceList(catalog, router, config.upstreams),
    metrics,
    log,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  logPriceSources(log, spend.prices);

  // Keys as a service (src/keys, src/store, src/admin): API keys join the keyring, requests feed the ledger.
  const keys = keyService(config, log, (next) => (services.keyring = next), () => services.config);

  const services: Services = {
    store: keys.store,
    keys: keys.registry,
    ledger: keys.ledger,
    config,
    catalog,
    keyring,
    router,
    forwarder,
    selector,
    metrics,
    prometheus,
    tracing,
    redis,
    limiter,
    spend,
    responses: new ResponseOwners(redis, new MemoryStickyStore(config.sticky.maxEntries), config.sticky.ttlSeconds),
    accessLogger: log.child({}, { redact: { paths: [] } }) as Logger,
    draining: false,
    reload: (next) => reloadServices(services, next, log),
    async close() {
      await keys.close();
      await selector.close();
      await limiter.close();
      await spend.close();
      await redis?.close();
      await dispatcher.close();
    },
  };
  // Read at scrape time from the routing in force, so a reload's pools are the ones counted.
  metrics.trackPools(() => services.router.pools.map((pool) => ({ pool: pool.name, available: pool.healthy(Date.now()).length })));
  metrics.trackTeams((clientKey) => services.keyring.teamOf(clientKey));
  await keys.start();
  return services;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}
