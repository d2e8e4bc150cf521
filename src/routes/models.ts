import type { FastifyPluginAsync, RouteHandlerMethod } from 'fastify';
import { ANONYMOUS, mayUseModel, type ClientKey } from '../auth/client-keys.js';
import type { CatalogModel } from '../catalog/catalog.js';
import type { CatalogEndpoint } from '../endpoints/endpoint.js';
import { CATALOG_ENDPOINTS } from '../endpoints/index.js';
import { modelNotFound } from '../errors.js';
import type { UpstreamRouter } from '../accounts/pool.js';

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
        .map(modelObject);
      json = JSON.stringify({ object: 'list', data });
      listByKey.set(client, json);
    }
    return json;
  };

  const answers: Record<CatalogEndpoint['answers'], RouteHandlerMethod> = {
    'model-list': async (request, reply) =>
      reply.type('application/json; charset=utf-8').send(listFor(request.gateway.clientKey ?? ANONYMOUS)),
    // A model outside the key's allow-list is answered as unknown, so the list of what exists is not revealed.
    model: async (request) => {
      const { catalog, router } = services;
      const { id } = request.params as { id: string };
      const model = catalog.get(id);
      if (model === undefined || router.poolFor(model.id) === undefined || !mayUseModel(request.gateway.clientKey ?? ANONYMOUS, model.id)) {
        throw modelNotFound(id);
      }
      return modelObject(model);
    },
  };
  for (const endpoint of CATALOG_ENDPOINTS) app.route({ method: endpoint.method, url: endpoint.path, handler: answers[endpoint.answers] });
};

/** OpenAI's model object. */
function modelObject(model: CatalogModel): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id: model.id, object: 'model', created: CREATED, owned_by: model.ownedBy };
}
