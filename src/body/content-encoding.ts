import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../errors.js';

/**
 * Refuses request bodies sent compressed (`Content-Encoding: gzip`, `br`, ...) with 415 before a byte of
 * them is read. The gateway reads a body to check it and forwards the same bytes, so it would have to
 * inflate it first, and a small compressed body can inflate to far more than `bodyLimitBytes`. The
 * OpenAI SDKs send their bodies uncompressed. `identity` means no encoding and is accepted.
 */
export function refuseEncodedBodies(app: FastifyInstance): void {
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = request.headers['content-encoding'];
    if (encoding === undefined || encoding.trim().toLowerCase() === 'identity') return done(null, payload);
    done(
      new GatewayError(415, 'invalid_request_error', `Content-Encoding '${encoding.slice(0, 40)}' is not supported; send the request body uncompressed.`, {
        code: 'unsupported_content_encoding',
      }),
    );
  });
}
