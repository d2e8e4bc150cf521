import { isDeepStrictEqual } from 'node:util';
import type { FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { UpstreamRouter } from './accounts/pool.js';
import type { ResponseOwners } from './accounts/response-owners.js';
import type { StickySelector } from './accounts/sticky-selector.js';
import { ClientKeyring, configTeams } from './auth/client-keys.js';
import { Catalog, readCatalogFile } from './catalog/catalog.js';
import type { GatewayConfig } from './config/schema.js';
import type { KeyRegistry } from './keys/registry.js';
import type { Forwarder, ForwardOptions } from './proxy/forward.js';
import { SecretScrubber } from './proxy/scrub.js';
import { PriceList } from './spend/price-list.js';
import { logPriceSources } from './spend/price-log.js';
import type { Spend } from './spend/spend.js';

/** What a config decides per request, rebuilt whole on a reload and swapped in at once. */
export interface Routing {
  catalog: Catalog;
  keyring: ClientKeyring;
  router: UpstreamRouter;
}

/** What a reload replaces or updates: the gateway's services (src/services.ts) have all of it. */
export interface Reloadable extends Routing {
  config: GatewayConfig;
  readonly forwarder: Forwarder;
  readonly selector: StickySelector;
  readonly responses: ResponseOwners;
  readonly spend: Spend;
  readonly accessLogger: Logger;
  readonly keys: KeyRegistry;
}

/**
 * Applies a new config to running services (on SIGHUP): accounts, weights, client keys, models, prices,
 * timeouts, retries, the pin TTL and pin reads, the log level, `adminToken` and `metrics.bearerToken`. Everything is built
 * first and swapped in at once, between two requests; settings that need a restart are logged and left as
 * they are. Throws, changing nothing, when the new config cannot be built.
 */
export function reloadServices(services: Reloadable, next: GatewayConfig, log: FastifyBaseLogger): void {
  // A config key or team may not take the name of one the API made.
  services.keys.checkConfig(next);
  const routing = buildRouting(next);
  carryOverHealth(services.router, routing.router);
  const restart = restartOnlyChanges(services.config, next);
  // Keys of the old config stay masked too: a request still running may quote one.
  services.forwarder.update(forwardOptions(next), new SecretScrubber([...routing.router.secrets(), ...services.router.secrets()]));
  services.selector.ttlSeconds = next.sticky.ttlSeconds;
  services.selector.pinReads = next.sticky.pinReads;
  services.responses.ttlSeconds = next.sticky.ttlSeconds;
  services.config = next;
  services.catalog = routing.catalog;
  services.keyring = services.keys.keyringFor(next);
  services.router = routing.router;
  const { spend } = services;
  const pricesBefore = spend.prices;
  spend.prices = new PriceList(routing.catalog, routing.router, next.upstreams);
  logPriceSources(log, spend.prices, pricesBefore);
  log.level = next.logLevel;
  services.accessLogger.level = next.logLevel;
  if (restart.length > 0) log.warn({ settings: restart }, 'config reloaded, but these settings only change on a restart');
  log.info(
    { upstreams: next.upstreams.map((u) => ({ name: u.name, accounts: u.accounts.map((a) => a.name) })), clientKeys: next.clientKeys.length },
    'config reloaded',
  );
}

/** Throws (a ConfigError for a bad catalog file) without side effects, so a failed reload changes nothing. */
export function buildRouting(config: GatewayConfig): Routing {
  return {
    catalog: new Catalog([...readCatalogFile(config.catalogFile), ...config.models]),
    keyring: new ClientKeyring(config.clientKeys, configTeams(config)),
    router: new UpstreamRouter(config.upstreams),
  };
}

export function forwardOptions(config: GatewayConfig): ForwardOptions {
  return {
    upstreamMs: config.timeouts.upstreamMs,
    streamIdleMs: config.timeouts.streamIdleMs,
    maxAttempts: config.retry.maxAttempts,
    cooldownMs: config.health.cooldownMs,
    badKeyCooldownMs: config.health.badKeyCooldownMs,
  };
}

/**
 * Keeps the cool-downs of accounts that survive a reload: same name, same key. (A new key, or a renamed
 * account, starts healthy: that is usually the fix for what cooled it.)
 */
function carryOverHealth(from: UpstreamRouter, to: UpstreamRouter): void {
  const old = new Map(from.pools.flatMap((pool) => pool.accounts.map((a) => [a.name, a] as const)));
  for (const pool of to.pools) {
    for (const account of pool.accounts) {
      const previous = old.get(account.name);
      if (previous !== undefined && previous.apiKey === account.apiKey) account.coolingUntil = previous.coolingUntil;
    }
  }
}

/**
 * Settings a reload cannot apply to a running process; they wait for a restart. (`adminToken` and
 * `metrics.bearerToken` are read per request, so a reload applies them.)
 */
export function restartOnlyChanges(current: GatewayConfig, next: GatewayConfig): string[] {
  const changed: string[] = [];
  const check = (name: string, a: unknown, b: unknown): void => {
    if (!isDeepStrictEqual(a, b)) changed.push(name);
  };
  check('listen', current.listen, next.listen);
  check('redis', current.redis, next.redis);
  check('bodyLimitBytes', current.bodyLimitBytes, next.bodyLimitBytes);
  check('timeouts.clientBodyMs', current.timeouts.clientBodyMs, next.timeouts.clientBodyMs);
  check('timeouts.headersMs', current.timeouts.headersMs, next.timeouts.headersMs);
  check('sticky.maxEntries', current.sticky.maxEntries, next.sticky.maxEntries);
  // The Redis pin store takes its per-key cap when it is built.
  check('sticky.maxPinsPerKey', current.sticky.maxPinsPerKey, next.sticky.maxPinsPerKey);
  // The scrape route and the request counting are set up once; only the scrape token follows a reload.
  check('metrics.enabled', current.metrics.enabled, next.metrics.enabled);
  check('metrics.path', current.metrics.path, next.metrics.path);
  check('tracing', current.tracing, next.tracing);
  // The limit and budget stores are chosen when they are built.
  check('limits.admission', current.limits.admission, next.limits.admission);
  check('limits.lease', current.limits.lease, next.limits.lease);
  return changed;
}
