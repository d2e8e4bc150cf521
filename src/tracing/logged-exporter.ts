import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { FastifyBaseLogger } from 'fastify';

/**
 * An exporter that says when exporting starts failing and when it works again, once each, like the Redis
 * outage: otherwise a wrong endpoint or a collector that is down would drop every span without a word.
 */
export class LoggedExporter implements SpanExporter {
  private failing = false;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly log: FastifyBaseLogger,
  ) {}

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    this.exporter.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        if (!this.failing) this.log.warn({ err: result.error?.message, spans: spans.length }, 'trace export failed: spans are dropped until the collector takes them');
        this.failing = true;
      } else if (this.failing) {
        this.failing = false;
        this.log.info('trace export works again');
      }
      resultCallback(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }
}
