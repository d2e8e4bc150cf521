import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ClientKey } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';
import type { GatewayMetrics } from '../metrics/registry.js';
import type { RequestContext } from '../request-context.js';
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

  /**
   * Admits or refuses one request; resolves with the rate-limit headers its response carries. A key without
   * limits is only counted: that is decided at once, and `undefined` (no promise, no headers) is returned.
   */
  admit(client: ClientKey, now: number): Promise<Record<string, string> | undefined> | undefined {
    const limits = client.config.limits;
    if (!hasLimits(limits)) {
      this.store.count(client.name, now);
      return undefined;
    }
    return this.admitLimited(client, limits, now);
  }

  private async admitLimited(client: ClientKey, limits: KeyLimits, now: number): Promise<Record<string, string> | undefined> {
    let admission;
    try {
      admission = await this.store.admit(client.name, limits, now);
    } catch {
      this.metrics.rateLimitFailOpen();
      return undefined;
    }
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

  /** Settles a request that is over (its response ended or its client left) with its final usage. */
  requestEnded(context: RequestContext, now: number): void {
    if (context.clientKey !== undefined && context.usage !== undefined) this.recordTokens(context.clientKey, context.usage.total, now);
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
  // Callback hooks: only a key with limits waits (for Redis), and only it costs a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const client = request.gateway.clientKey;
    if (request.method !== 'POST' || client === undefined) return done();
    const admitted = limiter.admit(client, Date.now());
    if (admitted === undefined) return done();
    admitted.then((headers) => {
      if (headers !== undefined) reply.headers(headers);
      done();
    }, done);
  });
}
