import type { FastifyBaseLogger } from 'fastify';
import type { TracingConfig } from '../config/schema.js';
import type { Tracing } from './tracing.js';

/**
 * The tracing a config asks for, or undefined when `otlpEndpoint` is not set. The OpenTelemetry SDK and its
 * exporter are imported only then: a gateway without tracing does not load them (several MiB of resident
 * memory it would never use).
 */
export async function loadTracing(config: TracingConfig, log: FastifyBaseLogger): Promise<Tracing | undefined> {
  if (config.otlpEndpoint === undefined) return undefined;
  const { createTracing } = await import('./tracing.js');
  return createTracing(config, log);
}
