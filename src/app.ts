import type { Server } from 'node:http';
import Fastify, { LogController, type FastifyHttpOptions, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { GatewayConfig } from './config/schema.js';
import { batchedStdout } from './logging.js';
import { adminApi } from './admin/plugin.js';
import { adminAuthPlugin } from './admin/auth.js';
import { consolePlugin } from './console/plugin.js';
import { healthRoute } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';
import { v1Routes } from './routes/v1.js';
import { connectionLimits, defaultMaxConnections, openFileLimit, type Clock } from './server/connections.js';
import { drainOnClose } from './server/drain.js';
import { clientErrorHandler, registerErrorHandling } from './server/error-handler.js';
import { registerRequestId, requestIdFor } from './server/request-id.js';
import { requestLifecyclePlugin } from './server/request-lifecycle.js';
import { createServices, type ServiceOptions, type Services } from './services.js';
import { tracingPlugin } from './tracing/plugin.js';

export type { Services };

export interface BuildOptions extends ServiceOptions {
  /** Where log lines go; standard output, in batches (see `batchedStdout`), by default. */
  logStream?: DestinationStream;
  /** The clock of the once-a-minute summary of rejected connections. */
  connectionLogClock?: Clock;
}

/** Builds a gateway from a validated config, without listening, so tests can build as many as they like. */
export async function buildApp(config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(config, options));
  const services = await createServices(config, app.log, options);
  app.decorate('services', services);

  // Every request: its id, its context, and its one log line and count wherever it ends.
  registerRequestId(app);
  await app.register(requestLifecyclePlugin);
  if (services.tracing !== undefined) await app.register(tracingPlugin, { tracing: services.tracing, redis: services.redis });
  await app.register(connectionLimits, {
    maxConnections: config.listen.maxConnections ?? defaultMaxConnections(openFileLimit()),
    onRejected: (reason) => services.metrics.connectionRejected(reason),
    clock: options.connectionLogClock,
  });
  await app.register(drainOnClose);
  registerErrorHandling(app);

  // No body is read outside the authenticated scope: an unknown path answers 404 at once, its body unread.
  app.removeAllContentTypeParsers();
  if (services.prometheus !== undefined) await app.register(metricsRoute, { metrics: services.prometheus, path: config.metrics.path });
  await app.register(healthRoute);
  // The admin API and the console: admin credentials (or a console session) in, failures counted per address.
  const now = (): number => services.limiter.now();
  await app.register(adminAuthPlugin, { now });
  await app.register(consolePlugin, { now });
  await app.register(adminApi);
  await app.register(v1Routes);

  app.addHook('onClose', () => services.close());
  return app;
}

/** Fastify's own settings: logging, request ids, body and time limits. */
function serverOptions(config: GatewayConfig, options: BuildOptions): FastifyHttpOptions<Server> {
  // Node refuses a headersTimeout longer than requestTimeout.
  const headersTimeout = Math.min(config.timeouts.headersMs, config.timeouts.clientBodyMs);
  return {
    logger: {
      level: config.logLevel,
      // Defence in depth: nothing logs these on purpose, but a stray object must not leak a key.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', 'req.headers["x-api-key"]', 'headers["x-api-key"]', '*.apiKey', 'apiKey'], censor: '[redacted]' },
      stream: options.logStream ?? batchedStdout(),
    },
    // One line per request, written by the request lifecycle with what the gateway learnt.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestIdFor,
    bodyLimit: config.bodyLimitBytes,
    requestTimeout: config.timeouts.clientBodyMs,
    // Node enforces these only when it sweeps its connections (every 30 s by default): sweep once a second,
    // or as often as the shorter limit, so a slow connection holds its slot little longer than its limit.
    http: {
      requestTimeout: config.timeouts.clientBodyMs,
      headersTimeout,
      connectionsCheckingInterval: Math.min(1_000, headersTimeout),
    },
    clientErrorHandler,
    return503OnClosing: true,
  };
}
