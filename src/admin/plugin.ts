import secureJson from 'secure-json-parse';
import type { FastifyPluginAsync } from 'fastify';
import { invalidRequest } from '../errors.js';
import { requireAdmin } from './auth.js';
import type { AdminCredential } from './credentials.js';
import { adminHeapRoute, forceGc } from './heap-route.js';
import { keysRoutes } from './keys-routes.js';
import { adminPricesRoute } from './prices-route.js';
import { reportsRoutes } from './reports-routes.js';
import { usageSummaryRoutes } from './usage-summary-routes.js';
import { teamsRoutes } from './teams-routes.js';
import { adminUpstreamsRoute } from './upstreams-route.js';
import { adminUsageRoute } from './usage-route.js';

/** Largest admin request body; anything bigger is 413. */
export const ADMIN_BODY_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** The admin credential that made this request (admin routes only). */
    admin: AdminCredential;
  }
}

/**
 * The admin API (docs/keys.md): keys, teams, audit and the usage ledger, the counts of the current minute and
 * day, prices and upstream accounts, behind `admins[]` / `adminToken` or an admin's console session.
 * Without any admin credential configured, its URLs answer 404 as unknown ones do.
 */
export const adminApi: FastifyPluginAsync = async (app) => {
  app.decorateRequest('admin', null as never);
  app.addHook('onRequest', async (request) => {
    request.admin = await requireAdmin(app, request, request.method === 'GET' ? 'read' : 'write');
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
  await app.register(usageSummaryRoutes);
  await app.register(adminUsageRoute);
  await app.register(adminPricesRoute);
  await app.register(adminUpstreamsRoute);
  if (forceGc !== undefined) await app.register(adminHeapRoute);
};
