import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DestinationStream } from 'pino';
import { Agent } from 'undici';
import { ClientKeyring } from './auth/client-keys.js';
import { requireClientKey } from './auth/plugin.js';
import { Catalog, readCatalogFile } from './catalog/catalog.js';
import type { GatewayConfig } from './config/schema.js';
import { registerMetricsRoute, requestRecorder } from './metrics/plugin.js';
import { CLIENT_CLOSED_REQUEST, disabledMetrics, PrometheusMetrics, type GatewayMetrics } from './metrics/registry.js';
import { clientErrorHandler, registerErrorHandling } from './plugins/errors.js';
import { registerJsonBody } from './plugins/json-body.js';
import { Forwarder } from './proxy/forward.js';
import { SecretScrubber } from './proxy/scrub.js';
import type { Usage } from './proxy/usage.js';
import { newRequestContext } from './request-context.js';
import { chatCompletionsRoute } from './routes/chat-completions.js';
import { healthRoute } from './routes/health.js';
import { imagesGenerationsRoute } from './routes/images-generations.js';
import { modelsRoute } from './routes/models.js';
import { UpstreamRouter } from './routing/pool.js';
import { WeightedSelector, type AccountSelector } from './routing/selector.js';

export interface Services {
  readonly config: GatewayConfig;
  readonly catalog: Catalog;
  readonly keyring: ClientKeyring;
  readonly router: UpstreamRouter;
  readonly forwarder: Forwarder;
  readonly selector: AccountSelector;
  /** Prometheus counters; a no-op when `metrics.enabled` is false. */
  readonly metrics: GatewayMetrics;
  /** Set while shutting down: health checks fail so load balancers stop sending traffic. */
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

/** Logged for a request that reported no usage, so every log line carries token counts. */
const NO_USAGE: Readonly<Usage> = Object.freeze({ prompt: 0, completion: 0, cached: 0, total: 0 });

export interface BuildOptions {
  /** Where log lines go; standard output by default. */
  logStream?: DestinationStream;
}

/** Builds a gateway from a validated config, without listening, so tests can build as many as they like. */
export async function buildApp(config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Defence in depth: nothing logs these on purpose, but a stray object must not leak a key.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', '*.apiKey', 'apiKey'], censor: '[redacted]' },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    // One line per request, written by the onResponse hook below with what the gateway learnt.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.timeouts.clientBodyMs,
    // Node enforces these only when it sweeps its connections (every 30 s by default), and would take a
    // headersTimeout (60 s by default) longer than requestTimeout as the limit for the whole request.
    http: {
      requestTimeout: config.timeouts.clientBodyMs,
      headersTimeout: Math.min(60_000, config.timeouts.clientBodyMs),
      connectionsCheckingInterval: Math.min(1_000, config.timeouts.clientBodyMs),
    },
    clientErrorHandler,
    return503OnClosing: true,
  });

  const catalog = new Catalog([...readCatalogFile(config.catalogFile), ...config.models]);
  const keyring = new ClientKeyring(config.clientKeys);
  const router = new UpstreamRouter(config.upstreams);
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
  const prometheus = config.metrics.enabled
    ? new PrometheusMetrics(config.upstreams.flatMap((u) => u.accounts.map((a) => a.name)))
    : undefined;
  const metrics: GatewayMetrics = prometheus ?? disabledMetrics;
  const forwarder = new Forwarder(
    dispatcher,
    {
      upstreamMs: config.timeouts.upstreamMs,
      streamIdleMs: config.timeouts.streamIdleMs,
      maxAttempts: config.retry.maxAttempts,
      cooldownMs: config.health.cooldownMs,
      badKeyCooldownMs: config.health.badKeyCooldownMs,
    },
    new SecretScrubber(router.secrets()),
    app.log,
    { onUpstreamFailure: (account, reason) => metrics.upstreamFailure(account.name, reason) },
  );
  const selector: AccountSelector = new WeightedSelector();
  app.decorate('services', { config, catalog, keyring, router, forwarder, selector, metrics, draining: false });

  const recordMetrics = prometheus === undefined ? undefined : requestRecorder(prometheus, config.metrics);
  /** Writes the one log line of a request and counts it, once, whether its response ended or was cut. */
  const requestEnded = (request: FastifyRequest, status: number): void => {
    const context = request.gateway;
    if (context.ended) return;
    context.ended = true;
    const endedAt = performance.now();
    request.log.info(
      {
        clientKey: context.clientKey?.name ?? 'none',
        model: context.model ?? 'none',
        account: context.account?.name ?? 'none',
        status,
        durationMs: Math.round((endedAt - context.startedAt) * 100) / 100,
        tokens: context.usage ?? NO_USAGE,
        upstreamErrors: context.upstreamErrors,
      },
      `${request.method} ${request.routeOptions.url ?? request.url}`,
    );
    recordMetrics?.(request, status, endedAt);
  };

  app.decorateRequest('gateway', null as never);
  app.addHook('onRequest', async (request, reply) => {
    request.gateway = newRequestContext(performance.now());
    // Fastify runs no onResponse hook for a response its client left before the end (a stream
    // abandoned half-way): such a request is still logged and counted, as 499.
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) requestEnded(request, CLIENT_CLOSED_REQUEST);
    });
  });
  app.addHook('onResponse', (request, reply, done) => {
    requestEnded(request, reply.statusCode);
    done();
  });

  registerErrorHandling(app);
  registerJsonBody(app);
  if (prometheus !== undefined) registerMetricsRoute(app, prometheus, config.metrics);
  await app.register(healthRoute);
  await app.register(async (v1) => {
    requireClientKey(v1, keyring, config.allowUnauthenticated);
    await v1.register(chatCompletionsRoute);
    await v1.register(imagesGenerationsRoute);
    await v1.register(modelsRoute);
  });

  app.addHook('onClose', async () => {
    await selector.close();
    await dispatcher.close();
  });
  return app;
}
