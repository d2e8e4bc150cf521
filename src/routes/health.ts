import type { FastifyPluginAsync } from 'fastify';

export const healthRoute: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (_request, reply) => {
    // The store's state is reported (when there is one), never a reason to fail: requests are served from memory.
    const { store } = app.services;
    const extra = store.kind === 'none' ? {} : { store: { engine: store.kind, state: store.state } };
    if (app.services.draining) return reply.code(503).send({ status: 'draining', ...extra });
    return { status: 'ok', ...extra };
  });
};
