import type { FastifyInstance } from 'fastify';
import { invalidApiKey } from '../errors.js';
import { ANONYMOUS, bearerToken, hasExpired, type ClientKeyring } from './client-keys.js';

/** Where the keys come from; read per request, so a config reload takes effect at once. */
export interface KeySource {
  readonly keyring: ClientKeyring;
  readonly config: { readonly allowUnauthenticated: boolean };
}

/**
 * Identifies the client of every request in this scope before its body is read, so a missing or unknown
 * key is refused (401) ahead of any other check.
 */
export function requireClientKey(app: FastifyInstance, source: KeySource): void {
  // A callback hook, not an async one: it never waits, and a promise per request buys nothing.
  app.addHook('onRequest', (request, _reply, done) => {
    const { keyring } = source;
    const { allowUnauthenticated } = source.config;
    // `x-api-key` is how Anthropic's SDKs and Claude Code (`ANTHROPIC_API_KEY`) send a key.
    const xApiKey = request.headers['x-api-key'];
    const token = bearerToken(request.headers.authorization) ?? (typeof xApiKey === 'string' && xApiKey !== '' ? xApiKey : undefined);
    if (token === undefined) {
      if (allowUnauthenticated) {
        request.gateway.clientKey = ANONYMOUS;
        return done();
      }
      return done(invalidApiKey('You didn\'t provide an API key. Send it in the Authorization header: "Authorization: Bearer YOUR_KEY".'));
    }
    const client = keyring.find(token);
    if (client === undefined) {
      if (allowUnauthenticated && keyring.size === 0) {
        request.gateway.clientKey = ANONYMOUS;
        return done();
      }
      return done(invalidApiKey('Incorrect API key provided.'));
    }
    if (hasExpired(client, Date.now())) {
      return done(invalidApiKey(`This API key expired at ${new Date(client.expiresAt).toISOString()}.`));
    }
    request.gateway.clientKey = client;
    done();
  });
}
