import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ClientKey } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import { rateLimitHeaders } from './headers.js';
import { hasLimits, type KeyLimits, type LimitStore, type WindowCounts } from './limiter.js';

export interface KeyUsage extends WindowCounts {
  name: string;
  limits: KeyLimits;
}

/**
 * Applies each client key's limits, and counts every key's requests and tokens for /admin/usage.
 *
 * When the store (Redis) fails, limits fail open: the request passes, the metric
 * `gateway_rate_limit_fail_open_total` counts it, and the connection logs the outage once. A gateway
 * exists to keep model calls flowing; refusing every call because the limit counter is unreachable would
 * turn a Redis outage into a full outage.
 */
export class RateLimiter {
  constructor(
    private readonly store: LimitStore,
    private readonly metrics: GatewayMetrics,
    private readonly log: FastifyBaseLogger,
  ) {}

  /** Admits or refuses one request; returns the rate-limit headers its response carries (none for an unlimited key). */
  async admit(client: ClientKey, now: number): Promise<Record<string, string> | undefined> {
    const limits = client.config.limits;
    let admission;
    try {
      admission = await this.store.admit(client.name, limits ?? {}, now);
    } catch {
      this.metrics.rateLimitFailOpen();
      return undefined;
    }
    if (!hasLimits(limits)) return undefined;
    const headers = rateLimitHeaders(admission);
    if (!admission.allowed) {
      const what = admission.exceeded === 'requests' ? 'requests per minute' : 'tokens';
      throw new GatewayError(429, 'rate_limit_error', `Rate limit reached for ${what} on key '${client.name}'. Retry after ${headers['retry-after']} s.`, {
        code: 'rate_limit_exceeded',
        headers,
      });
    }
    return headers;
  }

  /** Counts a finished request's tokens; never delays or fails the request. */
  recordTokens(client: ClientKey, tokens: number, now: number): void {
    if (tokens <= 0) return;
    // Only a key with limits needs its tokens counted at once: its next request is decided on them.
    this.store.addTokens(client.name, tokens, now, hasLimits(client.config.limits)).catch((err: Error) => {
      this.log.debug({ err: err.message, clientKey: client.name, tokens }, 'token count not recorded');
    });
  }

  /** Writes the counts the store still holds back (on shutdown, before the Redis connection closes). */
  close(): Promise<void> {
    return this.store.close();
  }

  async usage(clients: readonly ClientKey[], now: number): Promise<KeyUsage[]> {
    return Promise.all(
      clients.map(async (client) => ({ name: client.name, limits: client.config.limits ?? {}, ...(await this.store.counts(client.name, now)) })),
    );
  }
}

/** Checks limits on the API's POST endpoints of this scope, after the client key is known. */
export function enforceLimits(app: FastifyInstance, limiter: RateLimiter): void {
  app.addHook('onRequest', async (request, reply) => {
    const client = request.gateway.clientKey;
    if (request.method !== 'POST' || client === undefined) return;
    const headers = await limiter.admit(client, Date.now());
    if (headers !== undefined) reply.headers(headers);
  });
  app.addHook('onResponse', async (request) => {
    const { clientKey, usage } = request.gateway;
    if (request.method === 'POST' && clientKey !== undefined && usage !== undefined) limiter.recordTokens(clientKey, usage.total, Date.now());
  });
}
