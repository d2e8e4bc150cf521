import type { FastifyInstance } from 'fastify';
import type { Services } from '../services.js';
import { conversationOf } from './conversation.js';

/**
 * Starts a conversation's pin lookup when the request arrives, in the same turn as its limits' admission,
 * so that the two share one round trip to Redis and it overlaps the reading of the body: a conversation
 * request of a limited key then waits for one round trip, not two after each other.
 *
 * Only where the lookup is the one routing will make: the conversation comes from a header that no body
 * source can override (none comes before it in `sticky.sources`), and the pool is known before the body
 * names the model, because there is one. Otherwise the pin is looked up once the body is read, as before.
 */
export function prefetchPins(app: FastifyInstance, services: Services): void {
  app.addHook('onRequest', (request, _reply, done) => {
    const { selector, router, config } = services;
    if (request.method !== 'POST' || router.pools.length !== 1) return done();
    const id = conversationOf(request.headers, config.sticky.sources, undefined);
    if (id !== undefined) request.gateway.pinLookup = selector.prefetch(router.pools[0]!, request.gateway.clientKey, id);
    done();
  });
}
