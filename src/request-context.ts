import type { Account } from './accounts/pool.js';
import type { PinLookup } from './accounts/selector.js';
import type { ClientKey } from './auth/client-keys.js';
import type { GatewayError } from './errors.js';
import type { TokenReservation } from './limits/limiter.js';
import type { UpstreamAbort } from './proxy/upstream-request.js';
import type { Usage } from './proxy/usage.js';
import type { RequestTrace } from './tracing/request-trace.js';

/**
 * What the gateway learns about one request as it goes, for the log line, the metrics, limits and spend.
 * Each field has one writer, named in its group; everyone else only reads it. A field not known (yet) is
 * `undefined`, never absent: every context has the same shape.
 */
export interface RequestContext {
  // Written by the request lifecycle (src/server/request-lifecycle.ts).
  /** performance.now() when the request arrived. */
  startedAt: number;
  /** Set once the request has been logged and counted. */
  ended: boolean;

  // Written by the auth hook (src/auth/plugin.ts).
  clientKey: ClientKey | undefined;

  // Written by the limits hooks (src/limits/plugin.ts).
  /** Tokens held against the client key's limits until the request ends (see src/limits/reservation.ts). */
  tokenReservation: TokenReservation | undefined;
  /** Tokens held against its team's limits, shared by the team's keys. */
  teamReservation: TokenReservation | undefined;
  /** A smaller reservation on its way to the store; the request's end settles once it is there. */
  reservationMoving: Promise<void> | undefined;
  /**
   * The admission that waits for the body, to go to the store in one write with the budget's reservation;
   * made by whatever answers first: the body's checks, or an error refusing the request before them.
   */
  pendingAdmission: (() => Promise<Record<string, string> | undefined> | undefined) | undefined;

  // Written by the budget hooks (src/spend/spend.ts).
  /** Micro-dollars held against the client key's budget until the request ends (see src/spend/reservation.ts). */
  budgetReservation: number | undefined;
  /** Micro-dollars held against its team's budget. */
  teamBudgetReservation: number | undefined;
  /** The budget reservation on its way to the store: the request's end settles once it is decided. */
  budgetReserving: Promise<void> | undefined;
  /** The budget's decision, started once the body is parsed and waited for before the handler; rejects with a refusal. */
  budgetAdmitted: Promise<void> | undefined;

  // Written by the pin prefetch (src/accounts/pin-prefetch.ts).
  /** The conversation's pin lookup, started with the admission. */
  pinLookup: PinLookup | undefined;

  // Written by the route's model check (src/endpoints/checks.ts, src/routes/stored-response.ts).
  /** Catalog id, set once the model is known to exist. */
  model: string | undefined;

  // Written by the forwarder (src/proxy/forward.ts).
  /** The account that served the request (the last one tried, if every attempt failed). */
  account: Account | undefined;
  /** Milliseconds spent waiting on the upstream, over every attempt. */
  upstreamMs: number;
  /** Why an attempt failed upstream, for the log line. */
  upstreamErrors: string[] | undefined;
  /** Aborts the upstream request; made when the request goes upstream, fired when its client leaves first. */
  upstreamAbort: UpstreamAbort | undefined;

  // Written by the relay of the upstream's answer (src/proxy/relay.ts, and its usage estimate in
  // src/proxy/usage-estimate.ts).
  usage: Usage | undefined;
  /** True when `usage` is the gateway's estimate for a stream its client left before the upstream's usage came. */
  usageEstimated: boolean;
  /**
   * True while `usage` holds only the first part of a stream's usage (Anthropic's input, from
   * `message_start`): a client that leaves before the rest is charged an estimate of the output on top.
   */
  usagePartial: boolean;
  /** performance.now() of the first generated token of a stream. */
  firstTokenAt: number | undefined;
  /**
   * What to answer when the upstream response body failed after it was handed to Fastify but before any of
   * it reached the client (a reset, a silence): Fastify's error handler sees only the raw error.
   */
  upstreamFailure: GatewayError | undefined;
  /**
   * Set while a stream is relayed. Called when its client left first: returns a promise while the rest of
   * the upstream is read for its usage (the client left after the finish chunk), undefined when there is
   * nothing worth waiting for and the upstream is to be closed at once.
   */
  drainForUsage: (() => Promise<void> | undefined) | undefined;
  /**
   * Set while a stream whose usage can be estimated is relayed. Called once its client left and the upstream
   * was read for its usage or closed: when no usage came, sets an estimate.
   */
  estimateUsage: (() => Promise<void>) | undefined;

  // Written by the tracing plugin (src/tracing/plugin.ts), only when tracing is on.
  /** The request's server span. */
  trace: RequestTrace | undefined;
}

export function newRequestContext(startedAt: number): RequestContext {
  return {
    startedAt,
    ended: false,
    clientKey: undefined,
    tokenReservation: undefined,
    teamReservation: undefined,
    reservationMoving: undefined,
    pendingAdmission: undefined,
    budgetReservation: undefined,
    teamBudgetReservation: undefined,
    budgetReserving: undefined,
    budgetAdmitted: undefined,
    pinLookup: undefined,
    model: undefined,
    account: undefined,
    upstreamMs: 0,
    upstreamErrors: undefined,
    upstreamAbort: undefined,
    usage: undefined,
    usageEstimated: false,
    usagePartial: false,
    firstTokenAt: undefined,
    upstreamFailure: undefined,
    drainForUsage: undefined,
    estimateUsage: undefined,
    trace: undefined,
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    gateway: RequestContext;
    /** The request body exactly as received, forwarded upstream without re-serialising. */
    rawBody: Buffer | undefined;
  }
}
