import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_PATH,
} from '@opentelemetry/semantic-conventions';
import type { FastifyRequest } from 'fastify';
import type { UpstreamResponse } from '../proxy/upstream-request.js';
import type { Usage } from '../proxy/usage.js';
import type { Account } from '../accounts/pool.js';
import { GATEWAY_ACCOUNT, GATEWAY_ATTEMPT, GATEWAY_CLIENT_KEY, GATEWAY_UPSTREAM, GATEWAY_UPSTREAM_ERRORS, GEN_AI_MODEL, GEN_AI_USAGE, GATEWAY_USAGE } from './attributes.js';

/** W3C `traceparent` / `tracestate`: read from the client's request, written on each upstream attempt. */
const propagator = new W3CTraceContextPropagator();

/** What the gateway learnt about a request by its end: names and counts only (a RequestContext fits). */
export interface TracedOutcome {
  readonly clientKey: { readonly name: string } | undefined;
  readonly model: string | undefined;
  readonly account: { readonly name: string } | undefined;
  readonly usage: Usage | undefined;
  readonly upstreamErrors: readonly string[] | undefined;
}

/**
 * The server span of one request, and the context its child spans (Redis commands, upstream attempts) start
 * in. Only names, numbers, the route and statuses become attributes: never a key, a header, a body or a query.
 */
export class RequestTrace {
  readonly span: Span;
  /** The context with the server span in it: the parent of every child span. */
  readonly context: Context;
  private attempts = 0;

  constructor(
    private readonly tracer: Tracer,
    request: FastifyRequest,
  ) {
    const parent = propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter);
    const route = request.routeOptions.url;
    const queryAt = request.url.indexOf('?');
    this.span = tracer.startSpan(
      route === undefined ? request.method : `${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: request.method,
          [ATTR_URL_PATH]: queryAt === -1 ? request.url : request.url.slice(0, queryAt),
          ...(route === undefined ? {} : { [ATTR_HTTP_ROUTE]: route }),
        },
      },
      parent,
    );
    this.context = trace.setSpan(parent, this.span);
  }

  /**
   * Starts the span of one upstream attempt and writes its `traceparent` (and any `tracestate`) into the
   * attempt's request headers, so the upstream continues this trace.
   */
  upstreamAttempt(account: Account, method: string, path: string, headers: Record<string, string>): UpstreamAttempt {
    this.attempts += 1;
    const url = new URL(account.pool.origin);
    const queryAt = path.indexOf('?');
    const span = this.tracer.startSpan(
      `upstream ${method}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_SERVER_ADDRESS]: url.hostname,
          [ATTR_SERVER_PORT]: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
          [ATTR_URL_PATH]: queryAt === -1 ? path : path.slice(0, queryAt),
          [GATEWAY_UPSTREAM]: account.pool.name,
          [GATEWAY_ACCOUNT]: account.name,
          [GATEWAY_ATTEMPT]: this.attempts,
        },
      },
      this.context,
    );
    propagator.inject(trace.setSpan(this.context, span), headers, defaultTextMapSetter);
    return new UpstreamAttempt(span);
  }

  /** Ends the server span with what the request came to. Called once, however the request ended. */
  end(status: number, outcome: TracedOutcome): void {
    const span = this.span;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, status);
    if (outcome.clientKey !== undefined) span.setAttribute(GATEWAY_CLIENT_KEY, outcome.clientKey.name);
    if (outcome.model !== undefined) span.setAttribute(GEN_AI_MODEL, outcome.model);
    if (outcome.account !== undefined) span.setAttribute(GATEWAY_ACCOUNT, outcome.account.name);
    if (outcome.upstreamErrors !== undefined) span.setAttribute(GATEWAY_UPSTREAM_ERRORS, [...outcome.upstreamErrors]);
    const usage = outcome.usage;
    if (usage !== undefined) {
      span.setAttribute(GEN_AI_USAGE.input, usage.prompt);
      span.setAttribute(GEN_AI_USAGE.output, usage.completion);
      span.setAttribute(GATEWAY_USAGE.cached, usage.cached);
      span.setAttribute(GATEWAY_USAGE.total, usage.total);
    }
    // Server spans count only 5xx as errors: a 4xx is the client's mistake, not the gateway's.
    if (status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, String(status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

/** One try at one upstream account, from sending the request until its response body is done with. */
export class UpstreamAttempt {
  constructor(private readonly span: Span) {}

  /** The request failed before any answer (a refused connection, a timeout, the client leaving). */
  failed(error: Error & { code?: string }): void {
    this.span.setAttribute(ATTR_ERROR_TYPE, error.code ?? error.name);
    this.span.setStatus({ code: SpanStatusCode.ERROR });
    this.span.end();
  }

  /** The upstream answered: the span ends when the body closes, read to the end, cut or abandoned. */
  answered(response: UpstreamResponse): void {
    const span = this.span;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, response.statusCode);
    if (response.statusCode >= 400) {
      span.setAttribute(ATTR_ERROR_TYPE, String(response.statusCode));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    // A second listener: the forwarder handles the body's errors; this only notes that the body failed.
    response.body.once('error', (err: Error & { code?: string }) => {
      span.setAttribute(ATTR_ERROR_TYPE, err.code ?? err.name);
      span.setStatus({ code: SpanStatusCode.ERROR });
    });
    response.body.once('close', () => span.end());
  }
}
