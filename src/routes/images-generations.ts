import type { FastifyPluginAsync } from 'fastify';
import { invalidRequest } from '../errors.js';
import { imageRequestSchema } from '../schemas/images.js';
import { jsonObjectBody, resolveModel, validateBody } from './model-checks.js';
import { selectAndForward } from './upstream.js';

export const imagesGenerationsRoute: FastifyPluginAsync = async (app) => {
  const services = app.services;

  app.post('/v1/images/generations', async (request, reply) => {
    const { catalog, router } = services;
    const body = jsonObjectBody(request);
    const { model, pool } = resolveModel(request, body, 'image', catalog, router);
    validateBody(imageRequestSchema, body);
    const n = typeof body.n === 'number' ? body.n : 1;
    if (model.maxImagesPerRequest !== undefined && n > model.maxImagesPerRequest) {
      throw invalidRequest(`Invalid value for 'n': ${model.id} supports at most n=${model.maxImagesPerRequest}.`, 'n', 'invalid_value');
    }

    return selectAndForward(services, request, reply, {
      pool,
      path: '/images/generations',
      payload: request.rawBody!,
      stripUsageChunk: false,
    });
  });
};
