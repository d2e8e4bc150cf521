// What the rest of the gateway records, and the label values it records with: the interface, its no-op, and
// the bounded sets of label values. The Prometheus implementation is in registry.ts.
import { ENDPOINT_PATHS } from '../endpoints/index.js';
import type { RequestContext } from '../request-context.js';
import type { FailureReason } from '../accounts/failure-reason.js';
import type { StickyResult } from '../accounts/sticky-selector.js';
import type { RejectionReason } from '../server/connections.js';

/** The API paths that are `endpoint` label values (a bounded set, from code); every other path counted is `none`. */
export const ENDPOINTS: readonly string[] = ENDPOINT_PATHS;
/** One of {@link ENDPOINTS}, or `none`. */
export type EndpointLabel = string;

export const FAILURE_REASONS: readonly FailureReason[] = ['rate_limited', 'server_error', 'unreachable', 'bad_key', 'timeout'];

export const STICKY_RESULTS: readonly StickyResult[] = ['hit', 'new', 'repinned', 'fallback'];

/** The status of a request whose client went away before its response ended (nginx's convention). */
export const CLIENT_CLOSED_REQUEST = 499;

/** The label value for a request refused before its key, model or account was known. */
export const NONE = 'none';

/** Whole-request latency of LLM calls: sub-second for small answers, minutes for reasoning models. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
/** Time to the first generated token of a stream. */
export const TTFT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60];
/** What the gateway itself adds: well under a millisecond when healthy. */
export const OVERHEAD_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

/** What the rest of the gateway records; a no-op when metrics are disabled. */
export interface GatewayMetrics {
  /** One finished request; `endedAt` is performance.now() when its response ended. */
  observeRequest(context: RequestContext, endpoint: EndpointLabel, status: number, endedAt: number): void;
  /** An upstream attempt failed on this account. */
  upstreamFailure(account: string, reason: FailureReason): void;
  /** The sticky selector placed a request. */
  stickyRouting(result: StickyResult): void;
  /** A rate-limit check could not reach Redis, so the request passed unchecked. */
  rateLimitFailOpen(): void;
  /** A client connection was closed before its request was read: too slow, or one too many. */
  connectionRejected(reason: RejectionReason): void;
  /** A request with usage was priced: its cost and its cached-input saving, in micro-dollars. */
  requestCost(model: string, clientKey: string, account: string, micros: number, savedMicros: number): void;
  /** Where `gateway_budget_remaining_usd` is read from when scraped (micro-dollars left per key and period). */
  trackBudgets(read: () => Iterable<BudgetRemaining>): void;
  /** How many accounts of each pool are not cooling down, read at scrape time. */
  trackPools(read: () => Iterable<PoolAvailability>): void;
  /** Where the `team` label of a client key's cost is read from (empty for a key without a team). */
  trackTeams(teamOf: (clientKey: string) => string): void;
}

export interface PoolAvailability {
  pool: string;
  available: number;
}

export interface BudgetRemaining {
  clientKey: string;
  period: 'day' | 'month';
  micros: number;
}

export const disabledMetrics: GatewayMetrics = {
  observeRequest() {},
  upstreamFailure() {},
  stickyRouting() {},
  rateLimitFailOpen() {},
  requestCost() {},
  trackBudgets() {},
  trackPools() {},
  trackTeams() {},
  connectionRejected() {},
};
