import type { FastifyPluginAsync } from 'fastify';
import { chatRequestSchema } from '../schemas/chat.js';
import { jsonObjectBody, resolveModel, validateBody, type JsonObject } from './model-checks.js';
import { selectAndForward } from './upstream.js';

const INCLUDE_USAGE = '"stream_options":{"include_usage":true},';

export const chatCompletionsRoute: FastifyPluginAsync = async (app) => {
  const services = app.services;

  app.post('/v1/chat/completions', async (request, reply) => {
    const { catalog, router } = services;
    const body = jsonObjectBody(request);
    const { pool } = resolveModel(request, body, 'chat', catalog, router);
    validateBody(chatRequestSchema, body);

    const streamed = body.stream === true;
    const askedForUsage = streamed && (body.stream_options as JsonObject | null | undefined)?.include_usage === true;
    return selectAndForward(services, request, reply, {
      pool,
      path: '/chat/completions',
      payload: streamed && !askedForUsage ? withStreamUsage(request.rawBody!, body) : request.rawBody!,
      stripUsageChunk: streamed && !askedForUsage,
    });
  });
};

/**
 * The body with `stream_options.include_usage` turned on, so every stream reports its tokens. When the
 * client sent no stream_options the field is spliced into the raw bytes (the rest stays exactly as sent);
 * otherwise the body is re-serialised with the option set.
 */
export function withStreamUsage(raw: Buffer, body: JsonObject): Buffer | string {
  if (body.stream_options === undefined) {
    const brace = raw.indexOf(0x7b /* { */);
    return Buffer.concat([raw.subarray(0, brace + 1), Buffer.from(INCLUDE_USAGE), raw.subarray(brace + 1)]);
  }
  const options = (body.stream_options ?? {}) as JsonObject;
  return JSON.stringify({ ...body, stream_options: { ...options, include_usage: true } });
}
