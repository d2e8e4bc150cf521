import type { FastifyPluginAsync, RouteHandlerMethod } from 'fastify';
import { ANONYMOUS, mayUseModel, type ClientKey } from '../auth/client-keys.js';
import type { Catalog, CatalogModel } from '../catalog/catalog.js';
import type { CatalogEndpoint } from '../endpoints/endpoint.js';
import { CATALOG_ENDPOINTS } from '../endpoints/index.js';
import { modelNotFound } from '../errors.js';
import type { UpstreamRouter } from '../accounts/pool.js';
import { anthropicModel, anthropicModelPage } from './anthropic-models.js';

/** A fixed `created` for catalog models: the catalog has no dates, and a stable value keeps the list cacheable. */
const CREATED = 1_700_000_000;

export const modelsRoute: FastifyPluginAsync = async (app) => {
  const services = app.services;
  // The lists depend only on the key (and the config), so each key's is built once per config.
  const usable = (client: ClientKey, router: UpstreamRouter, model: CatalogModel): boolean => router.poolFor(model.id) !== undefined && mayUseModel(client, model.id);
  const listFor = perKeyAndConfig(services, (client, { catalog, router }) =>
    JSON.stringify({ object: 'list', data: [...catalog.all()].filter((m) => usable(client, router, m)).map(modelObject) }),
  );
  // Anthropic's list holds the Messages models alone.
  const claudeFor = perKeyAndConfig(services, (client, { catalog, router }) =>
    [...catalog.all()].filter((m) => m.kind === 'messages' && usable(client, router, m)).map((m) => anthropicModel(m, CREATED)),
  );

  const answers: Record<CatalogEndpoint['answers'], RouteHandlerMethod> = {
    'model-list': async (request, reply) => {
      const client = request.gateway.clientKey ?? ANONYMOUS;
      if (request.headers['anthropic-version'] !== undefined) return anthropicModelPage(claudeFor(client), request.query as Record<string, unknown>);
      return reply.type('application/json; charset=utf-8').send(listFor(client));
    },
    // A model outside the key's allow-list is answered as unknown, so the list of what exists is not revealed.
    model: async (request) => {
      const { catalog, router } = services;
      const { id } = request.params as { id: string };
      const model = catalog.get(id);
      // Anthropic's list holds Messages models alone, and so does its model lookup.
      const anthropic = request.headers['anthropic-version'] !== undefined;
      if (model === undefined || router.poolFor(model.id) === undefined || !mayUseModel(request.gateway.clientKey ?? ANONYMOUS, model.id) || (anthropic && model.kind !== 'messages')) {
        throw modelNotFound(id);
      }
      return anthropic ? anthropicModel(model, CREATED) : modelObject(model);
    },
  };
  for (const endpoint of CATALOG_ENDPOINTS) app.route({ method: endpoint.method, url: endpoint.path, handler: answers[endpoint.answers] });
};

/** OpenAI's model object. */
function modelObject(model: CatalogModel): { id: string; object: 'model'; created: number; owned_by: string } {
  return { id: model.id, object: 'model', created: CREATED, owned_by: model.ownedBy };
}

/** A value per client key, built once for each config (each router a reload makes). */
function perKeyAndConfig<T>(
  services: { readonly catalog: Catalog; readonly router: UpstreamRouter },
  build: (client: ClientKey, state: { catalog: Catalog; router: UpstreamRouter }) => T,
): (client: ClientKey) => T {
  const byRouter = new WeakMap<UpstreamRouter, Map<ClientKey, T>>();
  return (client) => {
    const { catalog, router } = services;
    let byKey = byRouter.get(router);
    if (byKey === undefined) {
      byKey = new Map();
      byRouter.set(router, byKey);
    }
    let value = byKey.get(client);
    if (value === undefined) {
      value = build(client, { catalog, router });
      byKey.set(client, value);
    }
    return value;
  };
}
