import type { FastifyInstance } from 'fastify';
import type { Catalog } from '../catalog/catalog.js';
import { acceptedKinds } from '../endpoints/endpoint.js';
import { API_ENDPOINTS } from '../endpoints/index.js';
import type { Services } from '../services.js';
import { conversationOf } from './conversation.js';
import type { UpstreamPool, UpstreamRouter } from './pool.js';

/**
 * The pool each API path's requests go to when only one can serve them: the one pool serving every
 * catalog model of the kinds the endpoint takes (a model outside the catalog is refused, never routed).
 * Null when models of those kinds map to several pools, or to none. Built per routing (a reload replaces it).
 */
function onlyPools(catalog: Catalog, router: UpstreamRouter): Map<string, UpstreamPool | null> {
  const byPath = new Map<string, UpstreamPool | null>();
  for (const endpoint of API_ENDPOINTS) {
    const kinds = acceptedKinds(endpoint);
    const pools = new Set<UpstreamPool>();
    for (const model of catalog.all()) {
      if (!kinds.includes(model.kind)) continue;
      const pool = router.poolFor(model.id);
      if (pool !== undefined) pools.add(pool);
    }
    byPath.set(endpoint.path, pools.size === 1 ? pools.values().next().value! : null);
  }
  return byPath;
}

/**
 * Starts a conversation's pin lookup when the request arrives, in the same turn as its limits' admission,
 * so that the two share one round trip to Redis and it overlaps the reading of the body: a conversation
 * request of a limited key then waits for one round trip, not two after each other.
 *
 * Only where the lookup is the one routing will make: the conversation comes from a header that no body
 * source can override (none comes before it in `sticky.sources`), and the pool is known before the body
 * names the model: there is one, or every model the endpoint takes is served by the same one (chat
 * completions beside an `anthropic` pool for the Messages API). Otherwise the pin is looked up once the
 * body is read, as before. With `sticky.pinReads: local` a pin the gateway's local copy holds is not looked
 * up here: routing does not wait for it, and it is read after the request was served.
 */
export function prefetchPins(app: FastifyInstance, services: Services): void {
  let routing: UpstreamRouter | undefined;
  let poolByPath = new Map<string, UpstreamPool | null>();
  app.addHook('onRequest', (request, _reply, done) => {
    const { selector, router, config } = services;
    if (request.method !== 'POST') return done();
    let pool: UpstreamPool | null | undefined = router.pools.length === 1 ? router.pools[0] : undefined;
    if (pool === undefined) {
      if (routing !== router) {
        routing = router;
        poolByPath = onlyPools(services.catalog, router);
      }
      pool = poolByPath.get(request.routeOptions.url ?? '');
    }
    if (pool === undefined || pool === null) return done();
    const id = conversationOf(request.headers, config.sticky.sources, undefined);
    if (id !== undefined) request.gateway.pinLookup = selector.prefetch(pool, request.gateway.clientKey, id);
    done();
  });
}
