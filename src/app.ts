import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import { Agent } from 'undici';
import { ClientKeyring } from './auth/client-keys.js';
import { requireClientKey } from './auth/plugin.js';
import { Catalog, readCatalogFile } from './catalog/catalog.js';
import type { GatewayConfig } from './config/schema.js';
import { clientErrorHandler, registerErrorHandling } from './plugins/errors.js';
import { registerJsonBody } from './plugins/json-body.js';
import { Forwarder } from './proxy/forward.js';
import { SecretScrubber } from './proxy/scrub.js';
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
  /** Set while shutting down: health checks fail so load balancers stop sending traffic. */
  draining: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    services: Services;
  }
}

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
  );
  const selector: AccountSelector = new WeightedSelector();
  app.decorate('services', { config, catalog, keyring, router, forwarder, selector, draining: false });

  app.decorateRequest('gateway', null as never);
  app.addHook('onRequest', async (request) => {
    request.gateway = newRequestContext(performance.now());
  });
  app.addHook('onResponse', async (request, reply) => {
    const context = request.gateway;
    request.log.info(
      {
        clientKey: context.clientKey?.name ?? 'none',
        model: context.model ?? 'none',
        account: context.account?.name ?? 'none',
        status: reply.statusCode,
        durationMs: Math.round(reply.elapsedTime * 100) / 100,
        tokens: context.usage,
        upstreamErrors: context.upstreamErrors,
      },
      `${request.method} ${request.routeOptions.url ?? request.url}`,
    );
  });

  registerErrorHandling(app);
  registerJsonBody(app);
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
