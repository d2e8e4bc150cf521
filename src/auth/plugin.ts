import type { FastifyInstance } from 'fastify';
import { invalidApiKey } from '../errors.js';
import { ANONYMOUS, bearerToken, type ClientKeyring } from './client-keys.js';

/**
 * Identifies the client of every request in this scope before its body is read, so a missing or unknown
 * key is refused (401) ahead of any other check.
 */
export function requireClientKey(app: FastifyInstance, keyring: ClientKeyring, allowUnauthenticated: boolean): void {
  app.addHook('onRequest', async (request) => {
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      if (allowUnauthenticated) {
        request.gateway.clientKey = ANONYMOUS;
        return;
      }
      throw invalidApiKey('You didn\'t provide an API key. Send it in the Authorization header: "Authorization: Bearer YOUR_KEY".');
    }
    const client = keyring.find(token);
    if (client === undefined) {
      if (allowUnauthenticated && keyring.size === 0) {
        request.gateway.clientKey = ANONYMOUS;
        return;
      }
      throw invalidApiKey('Incorrect API key provided.');
    }
    request.gateway.clientKey = client;
  });
}
