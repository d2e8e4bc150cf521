import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ClientKey } from '../auth/client-keys.js';
import type { LimitsConfig } from '../config/schema.js';
import type { RateLimiter } from './rate-limiter.js';
import { answerCap } from './reservation.js';

/**
 * The largest body whose key's admission waits for it when the key has a budget too: a body this small
 * comes with its headers, so waiting costs no upload and the admission shares its write to Redis (its round
 * trip) with the budget's reservation. A larger body, or a form upload, is admitted before it is read, so
 * that a key over its limits costs no upload.
 */
export const ADMIT_WITH_BODY_BYTES = 64 * 1024;

/**
 * The bytes whose size estimates a request's prompt: a JSON body's. An uploaded form is audio or an image,
 * whose tokens its size says nothing about: its answer's reservation stands for it until the usage is known.
 */
function promptBytes(request: FastifyRequest): number {
  if (request.headers['content-type']?.startsWith('multipart/') === true) return 0;
  return Number(request.headers['content-length']) || 0;
}

const budgeted = (limits: LimitsConfig | undefined): boolean => limits?.usdPerDay !== undefined || limits?.usdPerMonth !== undefined;

/** Whether the key's admission waits for its body: a small JSON body of a key (or team) with a budget. */
function admitsWithBody(request: FastifyRequest, client: ClientKey): boolean {
  if (!budgeted(client.config.limits) && !budgeted(client.teamLimits)) return false;
  const length = request.headers['content-length'];
  if (length === undefined || request.headers['content-type']?.startsWith('multipart/') === true) return false;
  return Number(length) <= ADMIT_WITH_BODY_BYTES;
}

/** Checks limits on the API's POST endpoints of this scope, after the client key is known. */
export function enforceLimits(app: FastifyInstance, limiter: RateLimiter): void {
  // Before the body is read, so a key over its limits costs no upload. Callback hooks: only a key with
  // limits waits (for Redis), and only it costs a promise.
  app.addHook('onRequest', (request, reply, done) => {
    const client = request.gateway.clientKey;
    if (request.method !== 'POST' || client === undefined) return done();
    if (admitsWithBody(request, client)) {
      // Should the request be refused before its body is checked, the admission is made first, as it is
      // for any other key: a key over its limits is told so before anything about its body.
      request.gateway.pendingAdmission = () => limiter.admit(client, request.gateway, promptBytes(request), limiter.now());
      return done();
    }
    const admitted = limiter.admit(client, request.gateway, promptBytes(request), limiter.now());
    if (admitted === undefined) return done();
    admitted.then((headers) => {
      if (headers !== undefined) reply.headers(headers);
      done();
    }, done);
  });
  // Once the body is parsed: the admission that waited for it (in the budget's write), or the reservation
  // made before it set to its size and its max_tokens.
  app.addHook('preValidation', (request, reply, done) => {
    const context = request.gateway;
    const bodyBytes = request.form === undefined ? (request.rawBody?.length ?? 0) : 0;
    if (context.pendingAdmission !== undefined) {
      context.pendingAdmission = undefined;
      const admitted = limiter.admit(context.clientKey!, context, bodyBytes, limiter.now(), answerCap(request.body));
      if (admitted === undefined) return done();
      admitted.then((headers) => {
        if (headers !== undefined) reply.headers(headers);
        done();
      }, done);
      return;
    }
    const adjusted = limiter.adjust(context, request.body, bodyBytes, limiter.now());
    if (adjusted === undefined) return done();
    adjusted.then(() => done(), done);
  });
}
