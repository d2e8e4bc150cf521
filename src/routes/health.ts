import type { FastifyPluginAsync } from 'fastify';

export const healthRoute: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (_request, reply) => {
    // The store's state is reported, never a reason to fail: requests are served from memory without it.
    const { store } = app.services;
    const storeState = { engine: store.kind, state: store.state };
    if (app.services.draining) return reply.code(503).send({ status: 'draining', store: storeState });
    return { status: 'ok', store: storeState };
  });
};
