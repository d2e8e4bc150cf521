import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, quoted } from '../errors.js';
import { RESPONSES_STREAM } from '../proxy/stream-formats.js';
import { findResponseOwner } from './response-owner.js';
import { selectAndForward } from './upstream.js';

/** The operations on one stored response, each relative to `/v1/responses/{id}`. */
const OPERATIONS = [
  { method: 'GET', suffix: '' },
  { method: 'DELETE', suffix: '' },
  { method: 'POST', suffix: '/cancel' },
  { method: 'GET', suffix: '/input_items' },
] as const;

/**
 * Retrieve, delete, cancel and list the input items of a stored response. Each goes to the account that made
 * the response (whatever weights or pins say), and is never tried elsewhere. An id this client key did not
 * create is not found, as OpenAI answers an id it does not know, and nothing goes upstream.
 */
export const responsesByIdRoute: FastifyPluginAsync = async (app) => {
  const services = app.services;

  const handle = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply, method: 'GET' | 'POST' | 'DELETE', suffix: string) => {
    const id = request.params.id;
    const owner = await findResponseOwner(services, request, id);
    const pool = owner === undefined ? undefined : services.router.poolFor(owner.model);
    const account = owner === undefined ? undefined : pool?.account(owner.account);
    if (owner === undefined || pool === undefined || account === undefined) {
      throw new GatewayError(404, 'invalid_request_error', `No response found with id '${quoted(id)}'.`, { code: 'response_not_found' });
    }
    request.gateway.model = owner.model;
    const query = request.url.indexOf('?');
    const clientKey = request.gateway.clientKey;
    if (method === 'DELETE' && clientKey !== undefined) {
      reply.raw.once('finish', () => {
        if (reply.statusCode < 300) services.responses.forget(clientKey.name, id);
      });
    }
    return selectAndForward(services, request, reply, {
      pool,
      method,
      path: `/responses/${encodeURIComponent(id)}${suffix}${query < 0 ? '' : request.url.slice(query)}`,
      payload: undefined,
      stripUsageChunk: false,
      // A background response is streamed again by `GET ...?stream=true`.
      stream: RESPONSES_STREAM,
      conversationId: undefined,
      bound: account,
    });
  };

  for (const { method, suffix } of OPERATIONS) {
    app.route<{ Params: { id: string } }>({
      method,
      url: `/v1/responses/:id${suffix}`,
      handler: (request, reply) => handle(request, reply, method, suffix),
    });
  }
};
