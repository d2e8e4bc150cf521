import { performance } from 'node:perf_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { accessLog } from '../access-log.js';
import { quoted } from '../errors.js';
import { CLIENT_CLOSED_REQUEST } from '../metrics/gateway-metrics.js';
import { requestRecorder } from '../metrics/request-recorder.js';
import type { Usage } from '../proxy/usage.js';
import { newRequestContext } from '../request-context.js';
import { microsToUsd } from '../spend/pricing.js';
import { onQueuedResponseLost } from './queued-responses.js';

/** Logged for a request that reported no usage, so every log line carries token counts. */
const NO_USAGE: Readonly<Usage> = Object.freeze({ prompt: 0, completion: 0, cached: 0, reasoning: 0, total: 0 });

/**
 * The life of every request: its context is made when it arrives, and the one place where it is over,
 * whether its response ended or was cut, writes its log line, counts it in the metrics, charges its cost
 * and settles its tokens against the key's limits, once.
 */
async function requestLifecycle(app: FastifyInstance): Promise<void> {
  const { services } = app;
  const { spend, limiter, prometheus } = services;
  const recordMetrics = prometheus === undefined ? undefined : requestRecorder(prometheus, services.config.metrics);
  const writeAccessLine = accessLog(services.accessLogger);

  const settle = (request: FastifyRequest, status: number): void => {
    const context = request.gateway;
    context.trace?.end(status, context);
    const endedAt = performance.now();
    const costMicros = spend.charge(context);
    services.ledger.add(context, costMicros, limiter.now());
    writeAccessLine({
      requestId: request.id,
      clientKey: context.clientKey?.name ?? 'none',
      model: context.model ?? 'none',
      account: context.account?.name ?? 'none',
      status,
      durationMs: Math.round((endedAt - context.startedAt) * 100) / 100,
      tokens: context.usage ?? NO_USAGE,
      costUsd: microsToUsd(costMicros),
      upstreamErrors: context.upstreamErrors,
      usageEstimated: context.usageEstimated,
      msg: `${request.method} ${request.routeOptions.url ?? quoted(request.url)}`,
    });
    recordMetrics?.(request, status, endedAt);
    limiter.requestEnded(context, limiter.now());
  };

  /** `usageKnown` defers the end until the usage of a stream whose client left is read (or the upstream gave up). */
  const requestEnded = (request: FastifyRequest, status: number, usageKnown?: Promise<void>): void => {
    request.bodyHold?.release();
    const context = request.gateway;
    if (context.ended) return;
    context.ended = true;
    if (usageKnown === undefined) settle(request, status);
    else void usageKnown.then(() => settle(request, status));
  };

  /**
   * When the usage of a stream its client left is final: once the rest of the stream was read for it (or at
   * once), and, when it never came, once the estimate was made. An estimate that fails leaves the request
   * without usage, still logged and counted.
   */
  const usageAfterLeaving = (request: FastifyRequest, draining: Promise<void> | undefined): Promise<void> | undefined => {
    const estimate = request.gateway.estimateUsage;
    if (estimate === undefined) return draining;
    return (draining ?? Promise.resolve()).then(estimate).catch((err: unknown) => {
      app.log.error({ reqId: request.id, err: (err as Error).message }, 'could not estimate the usage of a stream its client left');
    });
  };

  app.decorateRequest('gateway', null as never);
  app.addHook('onRequest', (request, reply, done) => {
    const context = newRequestContext(performance.now());
    request.gateway = context;
    // The one listener for a client that leaves before its response ended (a stream abandoned half-way):
    // its upstream request is aborted at once (or, after the finish chunk, once the usage that follows
    // was read), and the request is still logged and counted, as 499 (Fastify runs no onResponse hook
    // for it).
    const raw = reply.raw;
    const clientGone = (): void => {
      if (raw.writableFinished) return;
      const draining = context.drainForUsage?.();
      const abort = (): void => context.upstreamAbort?.abort();
      if (draining === undefined) abort();
      else void draining.then(abort);
      requestEnded(request, CLIENT_CLOSED_REQUEST, usageAfterLeaving(request, draining));
    };
    raw.on('close', clientGone);
    // Queued behind an earlier answer on a pipelining connection: without this, its upstream request would
    // run on unread once the connection closed (see onQueuedResponseLost).
    if (raw.socket === null) onQueuedResponseLost(request.raw.socket, raw, clientGone);
    done();
  });
  app.addHook('onResponse', (request, reply, done) => {
    requestEnded(request, reply.statusCode);
    done();
  });
}

export const requestLifecyclePlugin = fp(requestLifecycle, { name: 'ai-gateway-request-lifecycle', fastify: '5.x' });
