import type { FastifyRequest } from 'fastify';
import type { MetricsConfig } from '../config/schema.js';
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
