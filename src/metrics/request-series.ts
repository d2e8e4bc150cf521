// What the gateway counts per request, kept as plain numbers and handed to prom-client only when scraped.
import type { Counter } from 'prom-client';
import type { EndpointLabel } from './gateway-metrics.js';
import type { HistogramSeries } from './histogram.js';

/** Running cost totals of one (model, client key, team, account), in micro-dollars: whole numbers that do not drift. */
export interface CostSeries {
  readonly labels: Readonly<{ model: string; client_key: string; team: string; account: string }>;
  micros: number;
  savedMicros: number;
}

/**
 * Running totals for one (endpoint, model, client key, account). Counters are plain numbers here and
 * handed to prom-client only when scraped: a request costs one Map lookup and a few additions instead of
 * prom-client's label hashing and validation for each of its counter increments.
 */
export interface Series {
  readonly endpoint: EndpointLabel;
  readonly model: string;
  readonly clientKey: string;
  /** The client key's team; empty for a key without one. */
  readonly team: string;
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
  /** Input tokens written to the prompt cache (Anthropic's), a part of `prompt`; exported once there are some. */
  cacheWrite: number;
  /** This series' slots in the histograms, made with it. */
  readonly duration: HistogramSeries;
  readonly overhead: HistogramSeries;
  readonly ttft: HistogramSeries;
}

export function collectRequests(counter: Counter<'endpoint' | 'model' | 'client_key' | 'team' | 'account' | 'status'>, series: Map<string, Series>): void {
  counter.reset();
  for (const s of series.values()) {
    for (const [status, count] of s.requests) {
      counter.inc({ endpoint: s.endpoint, model: s.model, client_key: s.clientKey, team: s.team, account: s.account, status }, count);
    }
  }
}

export function collectTokens(counter: Counter<'endpoint' | 'model' | 'client_key' | 'team' | 'account' | 'type'>, series: Map<string, Series>): void {
  counter.reset();
  for (const s of series.values()) {
    if (!s.hasUsage) continue;
    const labels = { endpoint: s.endpoint, model: s.model, client_key: s.clientKey, team: s.team, account: s.account };
    counter.inc({ ...labels, type: 'prompt' }, s.prompt);
    counter.inc({ ...labels, type: 'completion' }, s.completion);
    counter.inc({ ...labels, type: 'cached' }, s.cached);
    counter.inc({ ...labels, type: 'reasoning' }, s.reasoning);
    if (s.cacheWrite > 0) counter.inc({ ...labels, type: 'cache_write' }, s.cacheWrite);
  }
}
