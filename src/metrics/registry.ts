import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { API_ENDPOINTS } from '../endpoints/index.js';
import { Histogram, type HistogramSeries } from './histogram.js';
import { RESPONSE_BY_ID_PATHS } from '../endpoints/responses.js';
import type { RequestContext } from '../request-context.js';
import type { FailureReason } from '../routing/health.js';
import type { StickyResult } from '../routing/sticky-selector.js';
import { REJECTION_REASONS, type RejectionReason } from '../server/connections.js';

/** The API paths that are `endpoint` label values (a bounded set, from code); every other path counted is `none`. */
export const ENDPOINTS: readonly string[] = [...API_ENDPOINTS.map((e) => e.path), ...RESPONSE_BY_ID_PATHS, '/v1/models', '/v1/models/:id'];
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

/** Running cost totals of one (model, client key, account), in micro-dollars: whole numbers that do not drift. */
interface CostSeries {
  readonly labels: Readonly<{ model: string; client_key: string; account: string }>;
  micros: number;
  savedMicros: number;
}

export const disabledMetrics: GatewayMetrics = {
  observeRequest() {},
  upstreamFailure() {},
  stickyRouting() {},
  rateLimitFailOpen() {},
  requestCost() {},
  trackBudgets() {},
  trackPools() {},
  connectionRejected() {},
};

/**
 * Running totals for one (endpoint, model, client key, account). Counters are plain numbers here and
 * handed to prom-client only when scraped: a request costs one Map lookup and a few additions instead of
 * prom-client's label hashing and validation for each of its counter increments.
 */
interface Series {
  readonly endpoint: EndpointLabel;
  readonly model: string;
  readonly clientKey: string;
  readonly account: string;
  /** Request count by HTTP status. */
  readonly requests: Map<number, number>;
  /** True once a response of this series reported usage: only then are its token series exported. */
  hasUsage: boolean;
  prompt: number;
  completion: number;
  cached: number;
  /** Reasoning tokens, a part of `completion`. */
  reasoning: number;
  /** This series' slots in the histograms, made with it. */
  readonly duration: HistogramSeries;
  readonly overhead: HistogramSeries;
  readonly ttft: HistogramSeries;
}

let processRegistry: Registry | undefined;

/**
 * Node's process metrics (CPU, memory, event loop, GC), collected once per process: they describe the
 * process, not one app, and every collection starts monitors that are never stopped, so gateways built in
 * the same process (as tests do) share one set instead of each starting its own.
 */
function sharedProcessRegistry(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The gateway's Prometheus metrics, in a registry of its own (not prom-client's global one). */
export class PrometheusMetrics implements GatewayMetrics {
  readonly registry = new Registry();
  /** Prometheus' text format, version 0.0.4. */
  readonly contentType: string = this.registry.contentType;
  private readonly series = new Map<string, Series>();
  private readonly duration: Histogram;
  private readonly overhead: Histogram;
  private readonly ttft: Histogram;
  private readonly upstreamErrors: Counter<'account' | 'reason'>;
  private readonly sticky: Counter<'result'>;
  private readonly failOpen: Counter;
  private readonly costs = new Map<string, CostSeries>();
  private readBudgets: () => Iterable<BudgetRemaining> = () => [];
  private readPools: () => Iterable<PoolAvailability> = () => [];
  private readonly connectionRejections: Counter<'reason'>;

  /** `accounts`: every configured account name, whose error series start at 0. */
  constructor(accounts: Iterable<string> = []) {
    const registers = [this.registry];
    const series = this.series;
    new Counter({
      name: 'gateway_requests_total',
      help: 'Requests by endpoint, catalog model, client key, upstream account and HTTP status (499: the client left before the end).',
      labelNames: ['endpoint', 'model', 'client_key', 'account', 'status'],
      registers,
      collect: function (this: Counter<'endpoint' | 'model' | 'client_key' | 'account' | 'status'>) {
        collectRequests(this, series);
      },
    });
    new Counter({
      name: 'gateway_tokens_total',
      help: 'Tokens the upstream reported, by endpoint, catalog model, client key, upstream account and type (prompt, completion, cached; reasoning, which are also completion tokens).',
      labelNames: ['endpoint', 'model', 'client_key', 'account', 'type'],
      registers,
      collect: function (this: Counter<'endpoint' | 'model' | 'client_key' | 'account' | 'type'>) {
        collectTokens(this, series);
      },
    });
    this.duration = new Histogram(
      'gateway_request_duration_seconds',
      'Time from a request arriving to the end of its response (the last byte of a stream).',
      DURATION_BUCKETS,
      this.registry,
    );
    this.overhead = new Histogram(
      'gateway_overhead_seconds',
      'Time the gateway itself added to a request: its duration less the time spent waiting on the upstream.',
      OVERHEAD_BUCKETS,
      this.registry,
    );
    this.ttft = new Histogram(
      'gateway_time_to_first_token_seconds',
      'Time from a streamed request arriving to its first generated token (text, reasoning or tool call).',
      TTFT_BUCKETS,
      this.registry,
    );
    this.upstreamErrors = new Counter({
      name: 'gateway_upstream_errors_total',
      help: 'Failed upstream attempts, by account and reason (rate_limited, server_error, unreachable, bad_key, timeout).',
      labelNames: ['account', 'reason'],
      registers,
    });
    this.sticky = new Counter({
      name: 'gateway_sticky_routing_total',
      help: 'Conversation requests by sticky routing result: hit (pinned account), new (first pin), repinned (moved to another account), fallback (routed without a pin).',
      labelNames: ['result'],
      registers,
    });
    this.failOpen = new Counter({
      name: 'gateway_rate_limit_fail_open_total',
      help: 'Requests let through unchecked because the shared rate-limit counts in Redis could not be reached.',
      registers,
    });
    const costs = this.costs;
    new Counter({
      name: 'gateway_cost_usd_total',
      help: 'What requests cost in US dollars at the configured prices, by catalog model, client key and upstream account.',
      labelNames: ['model', 'client_key', 'account'],
      registers,
      collect: function (this: Counter<'model' | 'client_key' | 'account'>) {
        this.reset();
        for (const c of costs.values()) this.inc(c.labels, c.micros / 1_000_000);
      },
    });
    new Counter({
      name: 'gateway_cost_saved_usd_total',
      help: 'What cached input tokens would have cost at the input price, less what they cost, in US dollars.',
      labelNames: ['model', 'client_key', 'account'],
      registers,
      collect: function (this: Counter<'model' | 'client_key' | 'account'>) {
        this.reset();
        for (const c of costs.values()) this.inc(c.labels, c.savedMicros / 1_000_000);
      },
    });
    const budgets = (): Iterable<BudgetRemaining> => this.readBudgets();
    new Gauge({
      name: 'gateway_budget_remaining_usd',
      help: "What is left of each client key's spend budget in US dollars, per period (day or month, UTC), as this instance knows it.",
      labelNames: ['client_key', 'period'],
      registers,
      collect: function (this: Gauge<'client_key' | 'period'>) {
        this.reset();
        for (const b of budgets()) this.set({ client_key: b.clientKey, period: b.period }, b.micros / 1_000_000);
      },
    });
    const pools = (): Iterable<PoolAvailability> => this.readPools();
    new Gauge({
      name: 'gateway_upstream_accounts_available',
      help: 'Accounts of each upstream pool that are not cooling down after a failure; 0 means every request for its models fails.',
      labelNames: ['pool'],
      registers,
      collect: function (this: Gauge<'pool'>) {
        this.reset();
        for (const p of pools()) this.set({ pool: p.pool }, p.available);
      },
    });
    this.connectionRejections = new Counter({
      name: 'gateway_connection_rejections_total',
      help: 'Client connections closed before their request was read, by reason (headers_timeout, body_timeout, too_many_connections).',
      labelNames: ['reason'],
      registers,
    });
    // Series that exist from the start, so dashboards show 0 rather than "no data".
    for (const reason of REJECTION_REASONS) this.connectionRejections.inc({ reason }, 0);
    for (const result of STICKY_RESULTS) this.sticky.inc({ result }, 0);
    for (const account of accounts) {
      for (const reason of FAILURE_REASONS) this.upstreamErrors.inc({ account, reason }, 0);
    }
  }

  observeRequest(context: RequestContext, endpoint: EndpointLabel, status: number, endedAt: number): void {
    const model = context.model ?? NONE;
    const clientKey = context.clientKey?.name ?? NONE;
    const account = context.account?.name ?? NONE;
    const key = `${endpoint}\u0000${model}\u0000${clientKey}\u0000${account}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = {
        endpoint,
        model,
        clientKey,
        account,
        requests: new Map(),
        hasUsage: false,
        prompt: 0,
        completion: 0,
        cached: 0,
        reasoning: 0,
        duration: this.duration.seriesFor(`${endpoint}\u0000${model}`, { endpoint, model }),
        overhead: this.overhead.seriesFor(endpoint, { endpoint }),
        ttft: this.ttft.seriesFor(model, { model }),
      };
      this.series.set(key, series);
    }
    series.requests.set(status, (series.requests.get(status) ?? 0) + 1);
    const usage = context.usage;
    if (usage !== undefined) {
      series.hasUsage = true;
      series.prompt += usage.prompt;
      series.completion += usage.completion;
      series.cached += usage.cached;
      series.reasoning += usage.reasoning;
    }

    // A request its client left (499) says how long the client waited, not how fast the gateway or the
    // upstream was, and its upstream time is not complete yet: it stays out of the latency histograms.
    if (status !== CLIENT_CLOSED_REQUEST) {
      const seconds = (endedAt - context.startedAt) / 1000;
      this.duration.observe(series.duration, seconds);
      this.overhead.observe(series.overhead, Math.max(0, seconds - context.upstreamMs / 1000));
    }
    if (context.firstTokenAt !== undefined) {
      this.ttft.observe(series.ttft, Math.max(0, (context.firstTokenAt - context.startedAt) / 1000));
    }
  }

  upstreamFailure(account: string, reason: FailureReason): void {
    this.upstreamErrors.inc({ account, reason });
  }

  stickyRouting(result: StickyResult): void {
    this.sticky.inc({ result });
  }

  rateLimitFailOpen(): void {
    this.failOpen.inc();
  }

  requestCost(model: string, clientKey: string, account: string, micros: number, savedMicros: number): void {
    const key = `${model}\u0000${clientKey}\u0000${account}`;
    let series = this.costs.get(key);
    if (series === undefined) {
      series = { labels: Object.freeze({ model, client_key: clientKey, account }), micros: 0, savedMicros: 0 };
      this.costs.set(key, series);
    }
    series.micros += micros;
    series.savedMicros += savedMicros;
  }

  trackBudgets(read: () => Iterable<BudgetRemaining>): void {
    this.readBudgets = read;
  }

  trackPools(read: () => Iterable<PoolAvailability>): void {
    this.readPools = read;
  }

  connectionRejected(reason: RejectionReason): void {
    this.connectionRejections.inc({ reason });
  }

  /** The Prometheus text exposition: the gateway's metrics, then the process's. */
  async scrape(): Promise<string> {
    const [own, proc] = await Promise.all([this.registry.metrics(), sharedProcessRegistry().metrics()]);
    return `${own}\n${proc}`;
  }
}

function collectRequests(counter: Counter<'endpoint' | 'model' | 'client_key' | 'account' | 'status'>, series: Map<string, Series>): void {
  counter.reset();
  for (const s of series.values()) {
    for (const [status, count] of s.requests) {
      counter.inc({ endpoint: s.endpoint, model: s.model, client_key: s.clientKey, account: s.account, status }, count);
    }
  }
}

function collectTokens(counter: Counter<'endpoint' | 'model' | 'client_key' | 'account' | 'type'>, series: Map<string, Series>): void {
  counter.reset();
  for (const s of series.values()) {
    if (!s.hasUsage) continue;
    const labels = { endpoint: s.endpoint, model: s.model, client_key: s.clientKey, account: s.account };
    counter.inc({ ...labels, type: 'prompt' }, s.prompt);
    counter.inc({ ...labels, type: 'completion' }, s.completion);
    counter.inc({ ...labels, type: 'cached' }, s.cached);
    counter.inc({ ...labels, type: 'reasoning' }, s.reasoning);
  }
}
