import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { isSameOrigin } from '../console/http.js';
import { GatewayError } from '../errors.js';
import { bearerToken, sha256 } from './client-keys.js';
import { FailedAttempts } from './failed-attempts.js';

/** Who is calling the admin API, and what they may do. */
export interface AdminIdentity {
  readonly name: string;
  readonly role: 'admin' | 'viewer';
}

/**
 * Authenticates an admin API request: `Authorization: Bearer <adminToken>`, or the console's session cookie
 * of an admin or a viewer. A viewer may only read; a key holder's session reaches no admin route; a write
 * with a cookie must come from the console's own origin. Without any admin credential configured, the admin
 * API does not exist (404). Failures count against the caller's address (429 past the limit).
 */
export async function requireAdmin(app: FastifyInstance, request: FastifyRequest, access: 'read' | 'write'): Promise<AdminIdentity> {
  const { adminToken } = app.services.config;
  if (adminToken === undefined) throw new GatewayError(404, 'invalid_request_error', `Unknown request URL: ${request.method} ${request.url}.`, { code: 'unknown_url' });
  const retryAfter = app.adminFailures.blockedFor(request.ip);
  if (retryAfter > 0) {
    throw new GatewayError(429, 'rate_limit_error', 'Too many failed admin authentications from this address; try again later.', {
      code: 'rate_limit_exceeded',
      headers: { 'retry-after': String(retryAfter) },
    });
  }
  const token = bearerToken(request.headers.authorization);
  let identity: AdminIdentity | undefined;
  if (token !== undefined) {
    if (timingSafeEqual(sha256(token), sha256(adminToken))) identity = { name: 'admin', role: 'admin' };
  } else {
    const session = await app.consoleSessions.of(request);
    if (session !== undefined) {
      if (session.identity.role === 'key') throw forbidden('A gateway key\'s console session cannot use the admin API.');
      if (access === 'write' && !isSameOrigin(request)) throw forbidden('This request must come from the console\'s own origin.');
      identity = { name: session.identity.name, role: session.identity.role };
    }
  }
  if (identity === undefined) {
    app.adminFailures.failed(request.ip);
    throw new GatewayError(401, 'invalid_request_error', 'This endpoint needs an admin credential: send "Authorization: Bearer <admin token>".', {
      code: 'invalid_api_key',
    });
  }
  if (access === 'write' && identity.role !== 'admin') throw forbidden('A viewer may only read.');
  return identity;
}

function forbidden(message: string): GatewayError {
  return new GatewayError(403, 'invalid_request_error', message, { code: 'forbidden' });
}

/** Counts failed admin authentications (for `requireAdmin` and the console's sign-in) per client address. */
export const adminAuthPlugin = fp<{ now?: (() => number) | undefined }>(
  async (app, options) => {
    app.decorate('adminFailures', new FailedAttempts(options.now));
  },
  { name: 'ai-gateway-admin-auth', fastify: '5.x' },
);
