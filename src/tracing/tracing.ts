import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import type { TracingConfig } from '../config/schema.js';
import type { RedisCommand } from '../redis/connection.js';
import { LoggedExporter } from './logged-exporter.js';
import { redisSpans } from './redis-span.js';
import { RequestTrace } from './request-trace.js';

/** Longest the final export may hold up shutdown when the collector is slow or gone. */
const SHUTDOWN_FLUSH_MS = 5_000;

/**
 * Request tracing over OTLP/HTTP, built only when `tracing.otlpEndpoint` is set: without it there is no
 * Tracing object at all, so no hook, wrapper or span exists and the request path is the untraced one.
 *
 * Nothing is registered globally (no global tracer provider, context manager or propagator): several
 * gateways in one process each keep their own, and a library's own instrumentation is not switched on.
 */
export class Tracing {
  /**
   * The request whose work is running, for the Redis commands it issues: set around the request's hook
   * chains (see plugin.ts), so the code between the hooks and Redis needs no parameter for it.
   */
  private readonly active = new AsyncLocalStorage<RequestTrace>();
  /** Wraps each Redis command in a span under the active request (see `RedisConnection.traceCommand`). */
  readonly redisCommand: <T>(command: RedisCommand<T>) => RedisCommand<T>;

  constructor(
    private readonly tracer: Tracer,
    private readonly provider: BasicTracerProvider,
  ) {
    this.redisCommand = redisSpans(tracer, () => this.active.getStore());
  }

  /** Starts a request's server span, continuing the trace of an incoming `traceparent`. */
  startRequest(request: FastifyRequest): RequestTrace {
    return new RequestTrace(this.tracer, request);
  }

  /** Runs `next` (the rest of a hook chain, and what it starts) with `trace` as the active request. */
  within(trace: RequestTrace, next: () => void): void {
    this.active.run(trace, next);
  }

  /**
   * The upstream dispatcher, opening its connections outside any request's context: a pooled connection
   * would otherwise keep the context of the request that opened it, and lend it to the later requests it
   * serves. (Each attempt's span and `traceparent` are passed explicitly, not through this context.)
   */
  detach(dispatcher: Dispatcher): Dispatcher {
    return dispatcher.compose((dispatch) => (options, handler) => this.active.exit(() => dispatch(options, handler)));
  }

  /** Exports the spans still batched, waiting at most {@link SHUTDOWN_FLUSH_MS}. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.provider.shutdown().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** Builds the tracing a config asks for, or nothing when `otlpEndpoint` is not set. */
export function createTracing(config: TracingConfig, log: FastifyBaseLogger): Tracing | undefined {
  if (config.otlpEndpoint === undefined) return undefined;
  const exporter = new LoggedExporter(new OTLPTraceExporter({ url: config.otlpEndpoint, headers: config.headers ?? {} }), log);
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName })),
    // Spans are queued and exported in batches off the request path; a full queue drops spans, never waits.
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  return new Tracing(provider.getTracer('ai-gateway'), provider);
}
