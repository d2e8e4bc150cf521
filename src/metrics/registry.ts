import { Counter, Gauge, Registry } from 'prom-client';
import { API_ENDPOINTS } from '../endpoints/index.js';
import type { RequestContext } from '../request-context.js';
import type { FailureReason } from '../accounts/failure-reason.js';
import type { StickyResult } from '../accounts/sticky-selector.js';
import { REJECTION_REASONS, type RejectionReason } from '../server/connections.js';
import {
  CLIENT_CLOSED_REQUEST,
  DURATION_BUCKETS,
  FAILURE_REASONS,
  NONE,
  OVERHEAD_BUCKETS,
  STICKY_RESULTS,
  TTFT_BUCKETS,
  type BudgetRemaining,
  type EndpointLabel,
  type GatewayMetrics,
  type PoolAvailability,
} from './gateway-metrics.js';
import { Histogram } from './histogram.js';
import { collectRequests, collectTokens, type CostSeries, type Series } from './request-series.js';
import { sharedProcessRegistry } from './process-registry.js';

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
  private teamOf: (clientKey: string) => string = () => '';
  private readonly connectionRejections: Counter<'reason'>;
  private readonly usageEstimated: Counter<'endpoint'>;

  /** `accounts`: every configured account name, whose error series start at 0. */
  constructor(accounts: Iterable<string> = []) {
    const registers = [this.registry];
    const series = this.series;
    new Counter({
      name: 'gateway_requests_total',
      help: "Requests by endpoint, catalog model, client key, the key's team, upstream account and HTTP status (499: the client left before the end).",
      labelNames: ['endpoint', 'model', 'client_key', 'team', 'account', 'status'],
      registers,
      collect: function (this: Counter<'endpoint' | 'model' | 'client_key' | 'team' | 'account' | 'status'>) {
        collectRequests(this, series);
      },
    });
    new Counter({
      name: 'gateway_tokens_total',
      help: "Tokens the upstream reported (or the gateway estimated, for a stream its client left before the usage), by endpoint, catalog model, client key, the key's team, upstream account and type (prompt, completion, cached; reasoning, which are also completion tokens; cache_write, input tokens written to the prompt cache, also prompt tokens).",
      labelNames: ['endpoint', 'model', 'client_key', 'team', 'account', 'type'],
      registers,
      collect: function (this: Counter<'endpoint' | 'model' | 'client_key' | 'team' | 'account' | 'type'>) {
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
    /** A dollar counter over the cost series, kept in micro-dollars and converted only when scraped. */
    const dollars = (name: string, help: string, micros: (c: CostSeries) => number): void => {
      new Counter({
        name,
        help,
        labelNames: ['model', 'client_key', 'team', 'account'],
        registers,
        collect: function (this: Counter<'model' | 'client_key' | 'team' | 'account'>) {
          this.reset();
          for (const c of costs.values()) this.inc(c.labels, micros(c) / 1_000_000);
        },
      });
    };
    dollars('gateway_cost_usd_total', 'What requests cost in US dollars at the configured prices, by catalog model, client key and upstream account.', (c) => c.micros);
    dollars('gateway_cost_saved_usd_total', 'What cached input tokens would have cost at the input price, less what they cost, in US dollars.', (c) => c.savedMicros);
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
    this.usageEstimated = new Counter({
      name: 'gateway_usage_estimated_total',
      help: "Streamed requests whose client left before the upstream's usage came, charged an estimate (prompt and delivered text tokenized), by endpoint.",
      labelNames: ['endpoint'],
      registers,
    });
    // Series that exist from the start, so dashboards show 0 rather than "no data".
    for (const endpoint of API_ENDPOINTS) if (endpoint.stream?.deltaText !== undefined) this.usageEstimated.inc({ endpoint: endpoint.path }, 0);
    for (const reason of REJECTION_REASONS) this.connectionRejections.inc({ reason }, 0);
    for (const result of STICKY_RESULTS) this.sticky.inc({ result }, 0);
    for (const account of accounts) {
      for (const reason of FAILURE_REASONS) this.upstreamErrors.inc({ account, reason }, 0);
    }
  }

  observeRequest(context: RequestContext, endpoint: EndpointLabel, status: number, endedAt: number): void {
    const model = context.model ?? NONE;
    const clientKey = context.clientKey?.name ?? NONE;
    const team = context.clientKey?.team ?? '';
    const account = context.account?.name ?? NONE;
    const key = `${endpoint}\u0000${model}\u0000${clientKey}\u0000${team}\u0000${account}`;
    let series = this.series.get(key);
    if (series === undefined) {
      series = {
        endpoint,
        model,
        clientKey,
        team,
        account,
        requests: new Map(),
        hasUsage: false,
        prompt: 0,
        completion: 0,
        cached: 0,
        reasoning: 0,
        cacheWrite: 0,
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
      series.cacheWrite += usage.cacheWrite ?? 0;
      if (context.usageEstimated) this.usageEstimated.inc({ endpoint });
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
    const team = this.teamOf(clientKey);
    const key = `${model}\u0000${clientKey}\u0000${team}\u0000${account}`;
    let series = this.costs.get(key);
    if (series === undefined) {
      series = { labels: Object.freeze({ model, client_key: clientKey, team, account }), micros: 0, savedMicros: 0 };
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

  trackTeams(teamOf: (clientKey: string) => string): void {
    this.teamOf = teamOf;
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
