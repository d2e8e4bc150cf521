import type { FastifyPluginAsync } from 'fastify';
import type { EndpointDescription, JsonObject } from '../endpoints/endpoint.js';
import { withStreamUsage } from '../endpoints/stream-usage.js';
import { jsonObjectBody, resolveModel, validateBody } from './model-checks.js';
import { selectAndForward } from './upstream.js';

/**
 * Serves one model endpoint from its description: the checks in the documented order (the key and limits
 * ran in hooks before), then account selection and forwarding. Nothing here is specific to an endpoint.
 */
export const apiEndpointRoute: FastifyPluginAsync<{ endpoint: EndpointDescription }> = async (app, { endpoint }) => {
  const services = app.services;

  app.post(endpoint.path, async (request, reply) => {
    const { catalog, router } = services;
    const body = jsonObjectBody(request);
    const { model, pool } = resolveModel(request, body, endpoint.kinds, catalog, router);
    validateBody(endpoint.schema, body);
    endpoint.checkModel?.(body, model);

    const raw = request.rawBody!;
    const addUsage = endpoint.asksForStreamUsage === true && body.stream === true && !clientAskedForUsage(body);
    return selectAndForward(services, request, reply, body, endpoint, {
      pool,
      path: endpoint.upstreamPath,
      payload: addUsage ? withStreamUsage(raw, body) : raw,
      stripUsageChunk: addUsage,
    });
  });
};

function clientAskedForUsage(body: JsonObject): boolean {
  return (body.stream_options as JsonObject | null | undefined)?.include_usage === true;
}
