import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { bearerToken } from '../auth/client-keys.js';
import { isSameOrigin } from '../console/http.js';
import { GatewayError, quoted } from '../errors.js';
import { adminConfigured, findAdminCredential, requireWriter, type AdminCredential } from './credentials.js';
import { FailedAttempts } from './failed-attempts.js';

/**
 * Authenticates an admin API request: `Authorization: Bearer <admin credential>` (an entry of `admins[]`, or
 * `adminToken`), or the console's session cookie of an admin or a viewer. A viewer may only read; a key
 * holder's session reaches no admin route; a write made with the cookie must come from the console's own
 * origin. Without any admin credential configured, the admin API does not exist (404). Failures count
 * against the caller's address, and past the limit it is refused without a check (429).
 */
export async function requireAdmin(app: FastifyInstance, request: FastifyRequest, access: 'read' | 'write'): Promise<AdminCredential> {
  const { config } = app.services;
  if (!adminConfigured(config)) {
    throw new GatewayError(404, 'invalid_request_error', `Unknown request URL: ${request.method} ${quoted(request.url)}.`, { code: 'unknown_url' });
  }
  app.adminFailures.refuseIfBlocked(request.ip);
  const token = bearerToken(request.headers.authorization);
  let credential: AdminCredential | undefined;
  if (token !== undefined) credential = findAdminCredential(config, token);
  else {
    const session = await app.consoleSessions.of(request);
    if (session !== undefined) {
      if (session.identity.role === 'key') throw forbidden("A gateway key's console session cannot use the admin API.");
      if (access === 'write' && !isSameOrigin(request)) throw forbidden("This request must come from the console's own origin.");
      credential = { name: session.identity.name, role: session.identity.role };
    }
  }
  if (credential === undefined) {
    app.adminFailures.failed(request.ip);
    throw new GatewayError(401, 'invalid_request_error', 'The admin API needs an admin credential: send "Authorization: Bearer <admin token>".', {
      code: 'invalid_api_key',
    });
  }
  if (access === 'write') requireWriter(credential);
  return credential;
}

function forbidden(message: string): GatewayError {
  return new GatewayError(403, 'permission_error', message, { code: 'forbidden' });
}

/** Counts failed admin authentications (the admin API's and the console's sign-in) per client address. */
export const adminAuthPlugin = fp<{ now?: (() => number) | undefined }>(
  async (app, options) => {
    app.decorate('adminFailures', new FailedAttempts(options.now));
  },
  { name: 'ai-gateway-admin-auth', fastify: '5.x' },
);
