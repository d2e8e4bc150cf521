import type { Metric, Registry } from 'prom-client';

/** One label set of a {@link Histogram}: observation counts per bucket, their sum and count. */
export interface HistogramSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Observations per bucket (not cumulative), in the order of the histogram's bounds. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram kept as plain numbers, registered in a prom-client registry like its own metrics.
 * prom-client's Histogram validates and hashes the label object on every observation; here a request's
 * series are looked up once with its other counters, and an observation is a bucket search and three
 * additions. The exposition is the one prom-client writes for a histogram.
 */
export class Histogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    registry: Registry,
  ) {
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series for `labels`, made on first use; `key` identifies the label values. */
  seriesFor(key: string, labels: Record<string, string>): HistogramSeries {
    let series = this.series.get(key);
    if (series === undefined) {
      series = { labels: Object.freeze({ ...labels }), buckets: new Float64Array(this.bounds.length), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  observe(series: HistogramSeries, value: number): void {
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        series.buckets[i]!++;
        break;
      }
    }
    series.sum += value;
    series.count++;
  }

  /** What prom-client's registry formats: cumulative `_bucket` values up to `+Inf`, then `_sum` and `_count`. */
  get(): { name: string; help: string; type: string; aggregator: string; values: { labels: Record<string, string | number>; value: number; metricName: string }[] } {
    const values = [];
    for (const s of this.series.values()) {
      if (s.count === 0) continue;
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.buckets[i]!;
        values.push({ labels: { le: this.bounds[i]!, ...s.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
