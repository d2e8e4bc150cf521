import type { ClientKey } from './auth/client-keys.js';
import type { GatewayError } from './errors.js';
import type { TokenReservation } from './limits/limiter.js';
import type { UpstreamAbort } from './proxy/upstream-request.js';
import type { Usage } from './proxy/usage.js';
import type { Account } from './routing/pool.js';
import type { PinLookup } from './routing/selector.js';
import type { RequestTrace } from './tracing/request-trace.js';

/** What the gateway learns about one request as it goes, for the log line and the metrics. */
export interface RequestContext {
  clientKey: ClientKey | undefined;
  /** Catalog id, set once the model is known to exist. */
  model: string | undefined;
  /** The account that served the request (the last one tried, if every attempt failed). */
  account: Account | undefined;
  usage: Usage | undefined;
  /** Milliseconds spent waiting on the upstream, over every attempt. */
  upstreamMs: number;
  /** performance.now() of the first generated token of a stream. */
  firstTokenAt: number | undefined;
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Why an attempt failed upstream, for the log line. */
  upstreamErrors: string[] | undefined;
  /** Set once the request has been logged and counted. */
  ended: boolean;
  /**
   * What to answer when the upstream response body failed after it was handed to Fastify but before any of
   * it reached the client (a reset, a silence): Fastify's error handler sees only the raw error.
   */
  upstreamFailure: GatewayError | undefined;
  /** Aborts the upstream request; made when the request goes upstream, fired when its client leaves first. */
  upstreamAbort: UpstreamAbort | undefined;
  /** Tokens held against the client key's limits until the request ends (see src/limits/reservation.ts). */
  tokenReservation: TokenReservation | undefined;
  /** A smaller reservation on its way to the store; the request's end settles once it is there. */
  reservationMoving?: Promise<void> | undefined;
  /** Micro-dollars held against the client key's budget until the request ends (src/spend/reservation.ts). */
  budgetReservation?: number | undefined;
  /** The budget reservation on its way to the store: the request's end settles once it is decided. */
  budgetReserving?: Promise<void> | undefined;
  /** The budget's decision, started once the body is parsed and waited for before the handler; rejects with a refusal. */
  budgetAdmitted?: Promise<void> | undefined;
  /** The conversation's pin lookup, started with the admission (src/routing/pin-prefetch.ts). */
  pinLookup?: PinLookup | undefined;
  /**
   * Set while a stream is relayed. Called when its client left first: returns a promise while the rest of
   * the upstream is read for its usage (the client left after the finish chunk), undefined when there is
   * nothing worth waiting for and the upstream is to be closed at once.
   */
  drainForUsage: (() => Promise<void> | undefined) | undefined;
  /** The request's server span, when tracing is on (set by the tracing plugin; absent otherwise). */
  trace?: RequestTrace;
}

export function newRequestContext(startedAt: number): RequestContext {
  return {
    clientKey: undefined,
    model: undefined,
    account: undefined,
    usage: undefined,
    upstreamMs: 0,
    firstTokenAt: undefined,
    startedAt,
    upstreamErrors: undefined,
    ended: false,
    upstreamFailure: undefined,
    upstreamAbort: undefined,
    tokenReservation: undefined,
    drainForUsage: undefined,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: RequestContext;
    /** The request body exactly as received, forwarded upstream without re-serialising. */
    rawBody: Buffer | undefined;
  }
}
