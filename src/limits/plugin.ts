import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RateLimiter } from './rate-limiter.js';

/**
 * The bytes whose size estimates a request's prompt: a JSON body's. An uploaded form is audio or an image,
 * whose tokens its size says nothing about: its answer's reservation stands for it until the usage is known.
 */
function promptBytes(request: FastifyRequest): number {
  if (request.headers['content-type']?.startsWith('multipart/') === true) return 0;
  return Number(request.headers['content-length']) || 0;
}

/** Checks limits on the API's POST endpoints of this scope, after the client key is known. */
export function enforceLimits(app: FastifyInstance, limiter: RateLimiter): void {
  // Before the body is read, so a key over its limits costs no upload. Callback hooks: only a key with
  // limits waits (for Redis), and only it costs a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const client = request.gateway.clientKey;
    if (request.method !== 'POST' || client === undefined) return done();
    const admitted = limiter.admit(client, request.gateway, promptBytes(request), limiter.now());
    if (admitted === undefined) return done();
    admitted.then((headers) => {
      if (headers !== undefined) reply.headers(headers);
      done();
    }, done);
  });
  // Once the body is parsed: the reservation follows its size and its max_tokens.
  app.addHook('preValidation', (request, _reply, done) => {
    const adjusted = limiter.adjust(request.gateway, request.body, request.form === undefined ? (request.rawBody?.length ?? 0) : 0, limiter.now());
    if (adjusted === undefined) return done();
    adjusted.then(() => done(), done);
  });
}
