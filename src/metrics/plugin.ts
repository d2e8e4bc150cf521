import { timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { FastifyInstance } from 'fastify';
import { bearerToken, sha256 } from '../auth/client-keys.js';
import type { MetricsConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { ENDPOINTS, NONE, type EndpointLabel, type PrometheusMetrics } from './registry.js';

/** Paths that are not counted at all: scrapes and health checks would drown the API traffic. */
const UNCOUNTED = ['/healthz'];

/**
 * Serves `GET <metrics.path>` and records every other request once its response has ended.
 *
 * `endpoint` is the route path for the API routes; any other path (an unknown URL, a wrong method) is
 * counted as `none`, so that what a client types never becomes a label value. The scrape path and
 * `/healthz` are not counted.
 */
export function registerMetrics(app: FastifyInstance, metrics: PrometheusMetrics, config: MetricsConfig): void {
  const endpoints: ReadonlyMap<string, EndpointLabel> = new Map(ENDPOINTS.map((e) => [e, e]));
  const uncounted: ReadonlySet<string> = new Set([...UNCOUNTED, config.path]);

  app.addHook('onResponse', (request, reply, done) => {
    const url = request.routeOptions.url;
    if (url === undefined || !uncounted.has(url)) {
      const endpoint = (url === undefined ? undefined : endpoints.get(url)) ?? NONE;
      metrics.observeRequest(request.gateway, endpoint, reply.statusCode, performance.now());
    }
    done();
  });

  const tokenDigest = config.bearerToken === undefined ? undefined : sha256(config.bearerToken);
  app.get(config.path, async (request, reply) => {
    if (tokenDigest !== undefined) {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined || !timingSafeEqual(sha256(token), tokenDigest)) {
        throw new GatewayError(
          401,
          'invalid_request_error',
          token === undefined
            ? 'This metrics endpoint needs a bearer token: send "Authorization: Bearer <metrics token>".'
            : 'Incorrect metrics token provided.',
          { code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer realm="metrics"' } },
        );
      }
    }
    const text = await metrics.scrape();
    return reply.type(metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
