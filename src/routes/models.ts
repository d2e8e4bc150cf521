import type { FastifyPluginAsync } from 'fastify';
import { ANONYMOUS, mayUseModel, type ClientKey } from '../auth/client-keys.js';
import type { UpstreamRouter } from '../routing/pool.js';

/** A fixed `created` for catalog models: the catalog has no dates, and a stable value keeps the list cacheable. */
const CREATED = 1_700_000_000;

export const modelsRoute: FastifyPluginAsync = async (app) => {
  const services = app.services;
  // The list depends only on the key (and the config), so each key's JSON is built once per config.
  const listsByRouter = new WeakMap<UpstreamRouter, Map<ClientKey, string>>();
  const listFor = (client: ClientKey): string => {
    const { catalog, router } = services;
    let listByKey = listsByRouter.get(router);
    if (listByKey === undefined) {
      listByKey = new Map();
      listsByRouter.set(router, listByKey);
    }
    let json = listByKey.get(client);
    if (json === undefined) {
      const data = [...catalog.all()]
        .filter((m) => router.poolFor(m.id) !== undefined && mayUseModel(client, m.id))
        .map((m) => ({ id: m.id, object: 'model', created: CREATED, owned_by: m.ownedBy }));
      json = JSON.stringify({ object: 'list', data });
      listByKey.set(client, json);
    }
    return json;
  };

  app.get('/v1/models', async (request, reply) =>
    reply.type('application/json; charset=utf-8').send(listFor(request.gateway.clientKey ?? ANONYMOUS)),
  );
};
