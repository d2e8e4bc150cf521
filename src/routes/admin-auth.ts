import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, sha256 } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';

/**
 * Whether an admin route may answer: false (the reply already sent as 404, as for an unknown URL) when no
 * `adminToken` is configured; throws 401 when the request does not carry it. The token is read from the
 * current config on each request, so a reload changes it.
 */
export function adminAllowed(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): boolean {
  const { adminToken } = app.services.config;
  if (adminToken === undefined) {
    reply.callNotFound();
    return false;
  }
  const token = bearerToken(request.headers.authorization);
  if (token === undefined || !timingSafeEqual(sha256(token), sha256(adminToken))) {
    throw new GatewayError(401, 'invalid_request_error', 'This endpoint needs the admin token: send "Authorization: Bearer <adminToken>".', {
      code: 'invalid_api_key',
    });
  }
  return true;
}
