import type { FastifyPluginAsync } from 'fastify';

export const healthRoute: FastifyPluginAsync = async (app) => {
  app.get('/healthz', async (_request, reply) => {
    if (app.services.draining) return reply.code(503).send({ status: 'draining' });
    return { status: 'ok' };
  });
};
