import { timingSafeEqual } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { bearerToken, sha256 } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';
import type { PrometheusMetrics } from '../metrics/registry.js';

/**
 * Serves `GET <metrics.path>` in Prometheus' text format. With `metrics.bearerToken` set, a scrape must
 * send that token; client keys do not open it. The token is read from the current config on each scrape,
 * so a reload changes it.
 */
export const metricsRoute: FastifyPluginAsync<{ metrics: PrometheusMetrics; path: string }> = async (app, { metrics, path }) => {
  app.get(path, async (request, reply) => {
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
};
