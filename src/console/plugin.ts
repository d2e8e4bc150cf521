import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import secureJson from 'secure-json-parse';
import { GatewayError } from '../errors.js';
import { loadAssets, pickEncoding, readAsset, type Asset } from './assets.js';
import { consoleIdentityFor } from './identity.js';
import { isHttps, isSameOrigin, readCookie, sessionCookie, SESSION_COOKIE } from './http.js';
import { keyHolderView } from './key-holder.js';
import { SessionStore, type ConsoleSession } from './sessions.js';

/** The console's own files, shipped beside `dist/` (see package.json's `files`). */
const CONSOLE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'console');
/** A sign-in body holds one token. */
const SIGN_IN_BODY_LIMIT = 4 * 1024;
/** The chart library's build, served from its package as the console's own asset. */
const CHART_FILES = { 'uPlot.iife.min.js': 'uplot/dist/uPlot.iife.min.js', 'uPlot.min.css': 'uplot/dist/uPlot.min.css' };

/** What every console page and answer carries: nothing from elsewhere, no framing, no sniffing, no referrer. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * The admin console: its page and assets at `/admin/`, and its sign-in. A session lives in an HttpOnly,
 * SameSite=Strict cookie and nowhere in the page; requests that change something must come from the
 * console's own origin.
 */
async function adminConsole(app: FastifyInstance, options: { now?: (() => number) | undefined }): Promise<void> {
  const { services } = app;
  const assets = loadConsoleAssets();
  const sessions = new SessionStore(services.redis, options.now);

  const sessionOf = (request: FastifyRequest): Promise<ConsoleSession | undefined> =>
    sessions.find(readCookie(request.headers.cookie, SESSION_COOKIE)).catch(() => {
      throw new GatewayError(503, 'server_error', 'Console sessions are kept in Redis, which cannot be reached right now.', { code: 'store_unavailable' });
    });
  app.decorate('consoleSessions', { of: sessionOf });
  await app.register((scope) => consoleRoutes(scope, { assets, sessions, sessionOf }));
}

interface ConsoleParts {
  assets: ReadonlyMap<string, Asset>;
  sessions: SessionStore;
  sessionOf: (request: FastifyRequest) => Promise<ConsoleSession | undefined>;
}

/** The console's routes, in a scope of their own: the only one outside `/v1` that reads a (small) JSON body. */
async function consoleRoutes(app: FastifyInstance, { assets, sessions, sessionOf }: ConsoleParts): Promise<void> {
  const { services, adminFailures: failures } = app;
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: SIGN_IN_BODY_LIMIT }, (_request, body, done) => {
    try {
      done(null, secureJson.parse(body as string, undefined, { protoAction: 'error', constructorAction: 'error' }));
    } catch {
      done(new GatewayError(400, 'invalid_request_error', 'The request body is not valid JSON.', { code: 'invalid_json' }));
    }
  });

  const sendAsset = (request: FastifyRequest, reply: FastifyReply, asset: Asset | undefined): FastifyReply => {
    if (asset === undefined) {
      reply.callNotFound();
      return reply;
    }
    reply.headers(SECURITY_HEADERS).header('content-type', asset.type).header('etag', asset.etag).header('vary', 'accept-encoding');
    reply.header('cache-control', asset.type.startsWith('text/html') ? 'no-cache' : 'public, max-age=300');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    const encoding = pickEncoding(request.headers['accept-encoding']);
    if (encoding !== 'identity') reply.header('content-encoding', encoding);
    return reply.send(asset[encoding]);
  };

  app.get('/admin', (_request, reply) => reply.redirect('/admin/', 302));
  app.get('/admin/', (request, reply) => sendAsset(request, reply, assets.get('index.html')));
  app.get<{ Params: { name: string } }>('/admin/assets/:name', (request, reply) => sendAsset(request, reply, assets.get(request.params.name)));

  app.post('/admin/session', async (request, reply) => {
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store');
    requireSameOrigin(request);
    failures.refuseIfBlocked(request.ip);
    const token = (request.body as { token?: unknown } | undefined)?.token;
    const identity = typeof token === 'string' && token.length > 0 && token.length <= 512 ? consoleIdentityFor(services, token) : undefined;
    if (identity === undefined) {
      failures.failed(request.ip);
      throw new GatewayError(401, 'invalid_request_error', 'That token is not an admin credential or a gateway key.', { code: 'invalid_api_key' });
    }
    const id = await sessions.open(identity).catch(() => {
      throw new GatewayError(503, 'server_error', 'Console sessions are kept in Redis, which cannot be reached right now.', { code: 'store_unavailable' });
    });
    reply.header('set-cookie', sessionCookie(id, isHttps(request)));
    return { role: identity.role, name: identity.name };
  });

  app.get('/admin/session', async (request, reply) => {
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store');
    const session = await sessionOf(request);
    if (session === undefined) throw notSignedIn();
    return { role: session.identity.role, name: session.identity.name, expiresAt: new Date(session.expiresAt).toISOString() };
  });

  app.delete('/admin/session', async (request, reply) => {
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store');
    requireSameOrigin(request);
    await sessions.close(readCookie(request.headers.cookie, SESSION_COOKIE)).catch(() => undefined);
    reply.header('set-cookie', sessionCookie('', isHttps(request), 0));
    return reply.code(204).send();
  });

  // A key holder's own page: what their key may do and what is left of it. Nothing about any other key.
  app.get('/admin/session/key', async (request, reply) => {
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-store');
    const session = await sessionOf(request);
    if (session === undefined) throw notSignedIn();
    if (session.identity.role !== 'key') throw new GatewayError(404, 'invalid_request_error', 'This session is not a gateway key\'s.', { code: 'not_found' });
    const view = await keyHolderView(services, session.identity.name);
    if (view === undefined) throw notSignedIn();
    return view;
  });
}

function loadConsoleAssets(): ReadonlyMap<string, Asset> {
  const assets = loadAssets(CONSOLE_DIR);
  const require = createRequire(import.meta.url);
  for (const [name, path] of Object.entries(CHART_FILES)) assets.set(name, readAsset(require.resolve(path))!);
  return assets;
}

function requireSameOrigin(request: FastifyRequest): void {
  if (!isSameOrigin(request)) {
    throw new GatewayError(403, 'invalid_request_error', 'This request must come from the console\'s own origin.', { code: 'forbidden' });
  }
}

function notSignedIn(): GatewayError {
  return new GatewayError(401, 'invalid_request_error', 'Not signed in to the console.', { code: 'invalid_api_key' });
}

export const consolePlugin = fp(adminConsole, { name: 'ai-gateway-console', fastify: '5.x' });
