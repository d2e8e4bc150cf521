import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { bearerToken, sha256 } from '../auth/client-keys.js';
import type { MetricsConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { ENDPOINTS, NONE, type EndpointLabel } from './gateway-metrics.js';
import type { PrometheusMetrics } from './registry.js';

/** Paths that are not counted at all: scrapes and health checks would drown the API traffic. */
const UNCOUNTED = ['/healthz'];

/**
 * Returns what records a request once it has ended (`endedAt` is performance.now() then).
 *
 * `endpoint` is the route path for the API routes; any other path (an unknown URL, a wrong method) is
 * counted as `none`, so that what a client types never becomes a label value. The scrape path and
 * `/healthz` are not counted.
 */
export function requestRecorder(metrics: PrometheusMetrics, config: MetricsConfig): (request: FastifyRequest, status: number, endedAt: number) => void {
  const endpoints: ReadonlyMap<string, EndpointLabel> = new Map(ENDPOINTS.map((e) => [e, e]));
  const uncounted: ReadonlySet<string> = new Set([...UNCOUNTED, config.path]);
  return (request, status, endedAt) => {
    const url = request.routeOptions.url;
    if (url !== undefined && uncounted.has(url)) return;
    const endpoint = (url === undefined ? undefined : endpoints.get(url)) ?? NONE;
    metrics.observeRequest(request.gateway, endpoint, status, endedAt);
  };
}

/**
 * Serves `GET <metrics.path>` in Prometheus' text format. With `metrics.bearerToken` set, a scrape must
 * send that token; client keys do not open it. The token is read from the current config on each scrape,
 * so a reload changes it.
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: PrometheusMetrics, config: MetricsConfig): void {
  app.get(config.path, async (request, reply) => {
    const required = app.services.config.metrics.bearerToken;
    if (required !== undefined) {
      const token = bearerToken(request.headers.authorization);
      if (token === undefined || !timingSafeEqual(sha256(token), sha256(required))) {
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
