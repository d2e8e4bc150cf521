import { isDeepStrictEqual } from 'node:util';
import { ClientKeyring, type TeamModels } from './auth/client-keys.js';
import { Catalog, readCatalogFile } from './catalog/catalog.js';
import type { GatewayConfig } from './config/schema.js';
import type { ForwardOptions } from './proxy/forward.js';
import { UpstreamRouter } from './routing/pool.js';

/** What a config decides per request, rebuilt whole on a reload and swapped in at once. */
export interface Routing {
  catalog: Catalog;
  keyring: ClientKeyring;
  router: UpstreamRouter;
}

/** Throws (a ConfigError for a bad catalog file) without side effects, so a failed reload changes nothing. */
export function buildRouting(config: GatewayConfig): Routing {
  return {
    catalog: new Catalog([...readCatalogFile(config.catalogFile), ...config.models]),
    keyring: new ClientKeyring(config.clientKeys, configTeams(config)),
    router: new UpstreamRouter(config.upstreams),
  };
}

/** The model lists of the config's teams, by name. */
export function configTeams(config: GatewayConfig): TeamModels {
  return new Map(config.teams.map((team) => [team.name, team.models]));
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
export function carryOverHealth(from: UpstreamRouter, to: UpstreamRouter): void {
  const old = new Map(from.pools.flatMap((pool) => pool.accounts.map((a) => [a.name, a] as const)));
  for (const pool of to.pools) {
    for (const account of pool.accounts) {
      const previous = old.get(account.name);
      if (previous !== undefined && previous.authorization === account.authorization) account.coolingUntil = previous.coolingUntil;
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
  // The scrape route and the request counting are set up once; only the scrape token follows a reload.
  check('metrics.enabled', current.metrics.enabled, next.metrics.enabled);
  check('metrics.path', current.metrics.path, next.metrics.path);
  check('tracing', current.tracing, next.tracing);
  return changed;
}
