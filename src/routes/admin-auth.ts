import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { bearerToken, sha256 } from '../auth/client-keys.js';
import { GatewayError } from '../errors.js';

/**
 * Lets an admin route's request through only with `adminToken`, read from the current config on each
 * request so that a reload changes it. Without one the route answers 404, as an unknown URL does: then
 * this returns false and the reply is already sent.
 */
export function admitAdmin(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply): boolean {
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
