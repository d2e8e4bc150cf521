import type { FastifyPluginAsync } from 'fastify';
import { selectAndForward } from '../accounts/dispatch.js';
import { ANONYMOUS } from '../auth/client-keys.js';
import type { StoredResponseEndpoint } from '../endpoints/endpoint.js';
import { GatewayError, quoted } from '../errors.js';

/**
 * Serves one operation on a stored response from its description. It goes to the account that made the
 * response (whatever weights or pins say), and is never tried elsewhere. An id this client key did not
 * create is not found, as OpenAI answers an id it does not know, and nothing goes upstream.
 */
export const storedResponseRoute: FastifyPluginAsync<{ endpoint: StoredResponseEndpoint }> = async (app, { endpoint }) => {
  const services = app.services;

  app.route<{ Params: { id: string } }>({
    method: endpoint.method,
    url: endpoint.path,
    handler: async (request, reply) => {
      const id = request.params.id;
      const clientKey = request.gateway.clientKey ?? ANONYMOUS;
      const owner = await services.responses.findForRequest(clientKey.name, id);
      const pool = owner === undefined ? undefined : services.router.poolFor(owner.model);
      const account = owner === undefined ? undefined : pool?.account(owner.account);
      if (owner === undefined || pool === undefined || account === undefined) {
        throw new GatewayError(404, 'invalid_request_error', `No response found with id '${quoted(id)}'.`, { code: 'response_not_found' });
      }
      request.gateway.model = owner.model;
      if (endpoint.forgetsOwner === true) {
        reply.raw.once('finish', () => {
          if (reply.statusCode < 300) services.responses.forget(clientKey.name, id);
        });
      }
      const query = request.url.indexOf('?');
      return selectAndForward(services.selector, services.forwarder, request, reply, {
        pool,
        method: endpoint.method,
        path: endpoint.upstreamPath.replace(':id', encodeURIComponent(id)) + (query < 0 ? '' : request.url.slice(query)),
        payload: undefined,
        stripUsageChunk: false,
        stream: endpoint.stream,
        conversationId: undefined,
        bound: account,
      });
    },
  });
};
