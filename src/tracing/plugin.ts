import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { RedisConnection } from '../redis/connection.js';
import type { Tracing } from './tracing.js';

export interface TracingPluginOptions {
  tracing: Tracing;
  redis: RedisConnection | undefined;
}

/**
 * Traces every request: registered (at the root, after the hook that makes the request's context) only when
 * tracing is on. The server span starts on arrival and ends where the request's log line is written.
 *
 * The request is made the active one around each of its hook chains that reach Redis: the rest of
 * `onRequest` (client key, limits), `preHandler` and the handler (sticky routing, the forward) and the rest
 * of `onResponse` (token counts). Body parsing between them runs in the socket's context, so each chain
 * is entered anew.
 */
async function tracingHooks(app: FastifyInstance, { tracing, redis }: TracingPluginOptions): Promise<void> {
  if (redis !== undefined) redis.traceCommand = tracing.redisCommand;
  app.addHook('onRequest', (request, _reply, done) => {
    const trace = tracing.startRequest(request);
    request.gateway.trace = trace;
    tracing.within(trace, done);
  });
  app.addHook('preHandler', (request, _reply, done) => {
    const trace = request.gateway.trace;
    if (trace === undefined) return done();
    tracing.within(trace, done);
  });
  app.addHook('onResponse', (request, _reply, done) => {
    const trace = request.gateway.trace;
    if (trace === undefined) return done();
    tracing.within(trace, done);
  });
  app.addHook('onClose', async () => {
    await tracing.shutdown();
  });
}

export const tracingPlugin = fp(tracingHooks, { name: 'ai-gateway-tracing', fastify: '5.x' });
