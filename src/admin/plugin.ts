import secureJson from 'secure-json-parse';
import type { FastifyPluginAsync } from 'fastify';
import { bearerToken } from '../auth/client-keys.js';
import { GatewayError, invalidRequest, quoted } from '../errors.js';
import { adminConfigured, AdminGate, type AdminCredential } from './credentials.js';
import { keysRoutes } from './keys-routes.js';
import { reportsRoutes } from './reports-routes.js';
import { teamsRoutes } from './teams-routes.js';

/** Largest admin request body; anything bigger is 413. */
export const ADMIN_BODY_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin credential that made this request (admin routes only). */
    admin: AdminCredential;
  }
}

/**
 * The admin API (docs/keys.md): keys, teams, audit and the usage ledger, behind `admins[]` / `adminToken`.
 * Without any admin credential configured, its URLs answer 404 as unknown ones do.
 */
export const adminApi: FastifyPluginAsync<{ now: () => number }> = async (app, options) => {
  const gate = new AdminGate(options.now);
  app.decorateRequest('admin', null as never);
  app.addHook('onRequest', (request, _reply, done) => {
    const { config } = app.services;
    if (!adminConfigured(config)) {
      return done(new GatewayError(404, 'invalid_request_error', `Unknown request URL: ${request.method} ${quoted(request.url)}.`, { code: 'unknown_url' }));
    }
    try {
      request.admin = gate.authenticate(config, bearerToken(request.headers.authorization), request.ip);
    } catch (err) {
      return done(err as GatewayError);
    }
    done();
  });
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: ADMIN_BODY_LIMIT }, (_request, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, secureJson.parse(body as string));
    } catch {
      done(invalidRequest('The request body is not valid JSON.', null, 'invalid_json'));
    }
  });
  await app.register(keysRoutes);
  await app.register(teamsRoutes);
  await app.register(reportsRoutes);
};
