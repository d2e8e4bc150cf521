import { performance } from 'node:perf_hooks';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import { Agent } from 'undici';
import { accessLog } from './access-log.js';
import { requireClientKey } from './auth/plugin.js';
import type { GatewayConfig } from './config/schema.js';
import { registerMetricsRoute, requestRecorder } from './metrics/plugin.js';
import { CLIENT_CLOSED_REQUEST, disabledMetrics, type GatewayMetrics } from './metrics/gateway-metrics.js';
import { PrometheusMetrics } from './metrics/registry.js';
import { quoted } from './errors.js';
import { clientErrorHandler, registerErrorHandling } from './plugins/errors.js';
import { refuseEncodedBodies } from './plugins/content-encoding.js';
import { registerJsonBody } from './plugins/json-body.js';
import { registerMultipartBody } from './plugins/multipart-body.js';
import { registerRequestId, requestIdFor } from './plugins/request-id.js';
import { Forwarder } from './proxy/forward.js';
import { SecretScrubber } from './proxy/scrub.js';
import type { Usage } from './proxy/usage.js';
import { MemoryLimitStore } from './limits/limiter.js';
import { enforceLimits, RateLimiter } from './limits/plugin.js';
import { batchedStdout } from './logging.js';
import { RedisLimitStore } from './limits/redis-store.js';
import { API_ENDPOINTS } from './endpoints/index.js';
import { createRedisConnection } from './redis/client.js';
import { buildRouting, carryOverHealth, forwardOptions, restartOnlyChanges } from './reload.js';
import { newRequestContext } from './request-context.js';
import { loadTracing } from './tracing/load.js';
import { tracingPlugin } from './tracing/plugin.js';
import { onQueuedResponseLost } from './server/queued-responses.js';
import { connectionLimits, defaultMaxConnections, openFileLimit, type Clock } from './server/connections.js';
import { adminHeapRoute } from './routes/admin-heap.js';
import { adminUsageRoute } from './routes/admin-usage.js';
import { apiEndpointRoute } from './routes/api-endpoint.js';
import { healthRoute } from './routes/health.js';
import { modelsRoute } from './routes/models.js';
import { StickySelector, type StickyResult } from './routing/sticky-selector.js';
import { prefetchPins } from './routing/pin-prefetch.js';
import { MemoryBudgetStore } from './spend/budget-store.js';
import { PriceList } from './spend/price-list.js';
import { microsToUsd } from './spend/pricing.js';
import { RedisBudgetStore } from './spend/redis-budget-store.js';
import { enforceBudgets, Spend, warnUnpriced } from './spend/spend.js';
import { MemoryStickyStore } from './routing/sticky/memory-store.js';
import { RedisStickyStore } from './routing/sticky/redis-store.js';
import { ResponseOwners } from './routing/response-owners.js';
import { responsesByIdRoute } from './routes/responses-by-id.js';
import type { Services } from './services.js';

export type { Services };

/** Logged for a request that reported no usage, so every log line carries token counts. */
const NO_USAGE: Readonly<Usage> = Object.freeze({ prompt: 0, completion: 0, cached: 0, reasoning: 0, total: 0 });

export interface BuildOptions {
  /** Where log lines go; standard output, in batches (see `batchedStdout`), by default. */
  logStream?: DestinationStream;
  /** Told how each request with `X-Conversation-Id` was routed (for metrics). */
  onStickyResult?: (result: StickyResult) => void;
  /** Epoch ms now, for the windows of limits and spend budgets kept in memory (their minute, UTC day and month); tests move it. */
  clock?: () => number;
  /** The clock of the once-a-minute summary of rejected connections. */
  connectionLogClock?: Clock;
}

/** Builds a gateway from a validated config, without listening, so tests can build as many as they like. */
export async function buildApp(config: GatewayConfig, options: BuildOptions = {}): Promise<FastifyInstance> {
  // Node refuses a headersTimeout longer than requestTimeout.
  const headersTimeout = Math.min(config.timeouts.headersMs, config.timeouts.clientBodyMs);
  const app = Fastify({
    logger: {
      level: config.logLevel,
      // Defence in depth: nothing logs these on purpose, but a stray object must not leak a key.
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'authorization', '*.apiKey', 'apiKey'], censor: '[redacted]' },
      stream: options.logStream ?? batchedStdout(),
    },
    // One line per request, written by the onResponse hook below with what the gateway learnt.
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
  });

  const { catalog, keyring, router } = buildRouting(config);
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connect: { timeout: 10_000 } });
  const prometheus = config.metrics.enabled
    ? new PrometheusMetrics(config.upstreams.flatMap((u) => u.accounts.map((a) => a.name)))
    : undefined;
  const metrics: GatewayMetrics = prometheus ?? disabledMetrics;
  // Undefined unless `tracing.otlpEndpoint` is set: then nothing of tracing is built, hooked or wrapped.
  const tracing = await loadTracing(config.tracing, app.log);
  const forwarder = new Forwarder(tracing?.detach(dispatcher) ?? dispatcher, forwardOptions(config), new SecretScrubber(router.secrets()), app.log, {
    onUpstreamFailure: (account, reason) => metrics.upstreamFailure(account.name, reason),
  });
  // Connects in the background: a gateway starts and serves while Redis is down.
  const redis = config.redis === undefined ? undefined : createRedisConnection(config.redis, app.log);
  const selector = new StickySelector({
    store: redis === undefined ? new MemoryStickyStore(config.sticky.maxEntries) : new RedisStickyStore(redis, config.sticky.maxPinsPerKey),
    local: redis === undefined ? undefined : new MemoryStickyStore(config.sticky.maxEntries),
    ttlSeconds: config.sticky.ttlSeconds,
    onResult: (result: StickyResult) => {
      metrics.stickyRouting(result);
      options.onStickyResult?.(result);
    },
  });

  const responses = new ResponseOwners(redis, new MemoryStickyStore(config.sticky.maxEntries), config.sticky.ttlSeconds);
  const limiter = new RateLimiter(redis === undefined ? new MemoryLimitStore() : new RedisLimitStore(redis), metrics, app.log, options.clock);
  const spend = new Spend({
    store: redis === undefined ? new MemoryBudgetStore() : new RedisBudgetStore(redis, app.log),
    prices: new PriceList(catalog, router, config.upstreams),
    metrics,
    log: app.log,
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
  });
  warnUnpriced(app.log, spend.prices);

  // The request line's fields are names, numbers and the route: nothing the redaction could find, so it is
  // written without the redaction pass (which costs more than the rest of the line).
  const accessLogger = app.log.child({}, { redact: { paths: [] } });
  const writeAccessLine = accessLog(accessLogger as Logger);

  const services: Services = {
    config,
    catalog,
    keyring,
    router,
    forwarder,
    selector,
    redis,
    limiter,
    spend,
    responses,
    metrics,
    draining: false,
    reload(next: GatewayConfig): void {
      const routing = buildRouting(next);
      carryOverHealth(services.router, routing.router);
      const restart = restartOnlyChanges(services.config, next);
      // Everything is built: swap it in at once.
      // Keys of the old config stay masked too: a request still running may quote one.
      forwarder.update(forwardOptions(next), new SecretScrubber([...routing.router.secrets(), ...services.router.secrets()]));
      selector.ttlSeconds = next.sticky.ttlSeconds;
      responses.ttlSeconds = next.sticky.ttlSeconds;
      services.config = next;
      services.catalog = routing.catalog;
      services.keyring = routing.keyring;
      services.router = routing.router;
      const unpricedBefore = spend.prices.unpriced().join();
      spend.prices = new PriceList(routing.catalog, routing.router, next.upstreams);
      if (spend.prices.unpriced().join() !== unpricedBefore) warnUnpriced(app.log, spend.prices);
      app.log.level = next.logLevel;
      accessLogger.level = next.logLevel;
      if (restart.length > 0) app.log.warn({ settings: restart }, 'config reloaded, but these settings only change on a restart');
      app.log.info(
        { upstreams: next.upstreams.map((u) => ({ name: u.name, accounts: u.accounts.map((a) => a.name) })), clientKeys: next.clientKeys.length },
        'config reloaded',
      );
    },
  };
  // Read at scrape time from the routing in force, so a reload's pools are the ones counted.
  metrics.trackPools(() => services.router.pools.map((pool) => ({ pool: pool.name, available: pool.healthy(Date.now()).length })));
  app.decorate('services', services);

  const recordMetrics = prometheus === undefined ? undefined : requestRecorder(prometheus, config.metrics);
  /**
   * The one place where a request is over, whether its response ended or was cut: writes its log line,
   * counts it in the metrics and spends its tokens against the key's limits, once. `usageKnown` defers
   * that until the usage of a stream whose client left is read (or the upstream gave up).
   */
  const requestEnded = (request: FastifyRequest, status: number, usageKnown?: Promise<void>): void => {
    const context = request.gateway;
    if (context.ended) return;
    context.ended = true;
    if (usageKnown === undefined) settle(request, status);
    else void usageKnown.then(() => settle(request, status));
  };
  const settle = (request: FastifyRequest, status: number): void => {
    const context = request.gateway;
    context.trace?.end(status, context);
    const endedAt = performance.now();
    const costMicros = spend.charge(context);
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
      msg: `${request.method} ${request.routeOptions.url ?? quoted(request.url)}`,
    });
    recordMetrics?.(request, status, endedAt);
    limiter.requestEnded(context, limiter.now());
  };

  registerRequestId(app);
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
      requestEnded(request, CLIENT_CLOSED_REQUEST, draining);
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
  if (tracing !== undefined) await app.register(tracingPlugin, { tracing, redis });

  await app.register(connectionLimits, {
    maxConnections: config.listen.maxConnections ?? defaultMaxConnections(openFileLimit()),
    onRejected: (reason) => metrics.connectionRejected(reason),
    clock: options.connectionLogClock,
  });
  registerErrorHandling(app);
  // No body is read outside the authenticated scope: an unknown path answers 404 at once, its body unread.
  app.removeAllContentTypeParsers();
  if (prometheus !== undefined) registerMetricsRoute(app, prometheus, config.metrics);
  await app.register(healthRoute);
  await app.register(adminUsageRoute);
  await app.register(adminHeapRoute);
  await app.register(async (v1) => {
    requireClientKey(v1, services);
    // Before the hooks that wait for Redis: the pin lookup goes out in the same write as their commands.
    prefetchPins(v1, services);
    enforceBudgets(v1, spend);
    enforceLimits(v1, limiter);
    refuseEncodedBodies(v1);
    registerJsonBody(v1);
    registerMultipartBody(v1);
    for (const endpoint of API_ENDPOINTS) await v1.register(apiEndpointRoute, { endpoint });
    await v1.register(responsesByIdRoute);
    await v1.register(modelsRoute);
  });

  app.addHook('onClose', async () => {
    await selector.close();
    await limiter.close();
    await spend.close();
    await redis?.close();
    await dispatcher.close();
  });
  return app;
}
