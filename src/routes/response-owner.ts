import type { FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import { ANONYMOUS } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';
import type { ResponseOwner } from '../routing/response-owners.js';

/**
 * The owner of a stored response for the request's client key. When only Redis could tell and it cannot be
 * reached, the request is refused (503) rather than sent to an account that may hold another key's response.
 */
export async function findResponseOwner(services: Services, request: FastifyRequest, responseId: string): Promise<ResponseOwner | undefined> {
  try {
    return await services.responses.find((request.gateway.clientKey ?? ANONYMOUS).name, responseId);
  } catch {
    throw new GatewayError(503, 'server_error', 'Which account holds this response is kept in Redis, which cannot be reached right now.', {
      code: 'affinity_unavailable',
    });
  }
}
