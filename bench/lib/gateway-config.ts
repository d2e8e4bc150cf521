// The gateway config the benchmarks run: what a small production setup looks like.
import { parseConfig } from '../../src/config/load.js';
import { BENCH_ADMIN_TOKEN } from './keys-store.js';
import { CLIENT_KEYS, MESSAGES_MODEL } from './requests.js';

export interface BenchConfigOptions {
  port: number;
  /** The mock upstream's origin. */
  upstream: string;
  /** Set when a private redis-server runs for the bench (the gateway also gets REDIS_URL). */
  redisUrl?: string;
  /** Set to trace every request, exporting to this OTLP/HTTP traces URL. */
  tracingEndpoint?: string;
  /**
   * The keys store (embedded PGlite in this folder) with an admin credential, and an `anthropic` upstream
   * for the Messages API beside the OpenAI one. Left out: config keys only, no database, one upstream (the
   * "features off" gateway).
   */
  storePath?: string;
  /** `limits.admission`: how limits and budgets admit (exact when left out, as the config's default). */
  admission?: 'exact' | 'lease';
  /** `sticky.pinReads`: where a conversation's pin is read before routing (shared when left out, as the config's default). */
  pinReads?: 'shared' | 'local';
}

export interface BenchConfig {
  config: Record<string, unknown>;
  /** The client keys and their limits, for the report. */
  keys: string;
  /** Whether the metrics switch below went into the config, and why not when it did not. */
  metrics: { inConfig: boolean; note: string };
}

// ---------------------------------------------------------------------------------------------
// METRICS: the one place the bench switches Prometheus metrics on. The config schema is strict, so
// this block is only added once the schema accepts it (checked below); until then the gateway runs
// without it and the output says "Metrics: off".
const METRICS_CONFIG = { metrics: { enabled: true } };
// ---------------------------------------------------------------------------------------------

/**
 * Far above anything a run reaches: a run sends well under a million requests a minute, of a few dozen
 * tokens each (a few millionths of a dollar). Counted and priced on every request, never reached.
 */
export const BENCH_LIMITS = {
  requestsPerMinute: 100_000_000,
  tokensPerMinute: 1_000_000_000,
  tokensPerDay: 100_000_000_000,
  usdPerDay: 1_000_000,
  usdPerMonth: 10_000_000,
};

const LIMITS_NOTE =
  `limits ${BENCH_LIMITS.requestsPerMinute.toLocaleString('en-US')} requests/min, ` +
  `${BENCH_LIMITS.tokensPerMinute.toLocaleString('en-US')} tokens/min, ${BENCH_LIMITS.tokensPerDay.toLocaleString('en-US')} tokens/day, ` +
  `budgets $${BENCH_LIMITS.usdPerDay.toLocaleString('en-US')}/day and $${BENCH_LIMITS.usdPerMonth.toLocaleString('en-US')}/month: counted and priced, never reached`;

const KEYS_NOTE =
  'Client keys: every load request uses a limited key with a budget issued through the admin API into the keys store ' +
  `(embedded PGlite in a temp folder; ${LIMITS_NOTE}); config keys team-batch (the same limits, used by the "config key" ` +
  'scenarios) and team-web (a model allow-list) are configured too';
const CONFIG_KEYS_NOTE = `Client keys: config keys only, the load's being team-batch (${LIMITS_NOTE}); no keys store, no anthropic upstream`;

/**
 * Two config client keys (one with a model allow-list, the other with rate, token and spend limits far above
 * what a run sends, so the limiter's counting path runs without refusing anything), one pool of three accounts
 * weighted 2/1/1, info logs (the access log line of every request, to /dev/null); with `storePath`, the keys
 * store and an admin (the load's key is issued into it at start, see keys-store.ts) and an `anthropic` pool.
 */
export function benchConfig(options: BenchConfigOptions): BenchConfig {
  const base: Record<string, unknown> = {
    listen: { host: '127.0.0.1', port: options.port },
    logLevel: 'info',
    clientKeys: [
      { name: 'team-web', key: CLIENT_KEYS[0], models: ['gpt-4o', 'gpt-4o-mini', 'gpt-image-2'] },
      { name: 'team-batch', key: CLIENT_KEYS[1], limits: BENCH_LIMITS },
    ],
    upstreams: [
      ...(options.storePath === undefined
        ? []
        : [{ name: 'anthropic', api: 'anthropic', baseUrl: `${options.upstream}/v1`, models: [MESSAGES_MODEL], accounts: [{ name: 'acct-anthropic', apiKey: 'sk-ant-bench-upstream-0123456789' }] }]),
      {
        name: 'mock',
        baseUrl: `${options.upstream}/v1`,
        models: ['*'],
        accounts: [
          { name: 'acct-a', apiKey: 'sk-bench-upstream-a-0123456789', weight: 2 },
          { name: 'acct-b', apiKey: 'sk-bench-upstream-b-0123456789' },
          { name: 'acct-c', apiKey: 'sk-bench-upstream-c-0123456789' },
        ],
      },
    ],
    ...(options.storePath === undefined
      ? {}
      : { database: { path: options.storePath }, admins: [{ name: 'bench', token: BENCH_ADMIN_TOKEN, role: 'admin' }] }),
    ...(options.redisUrl !== undefined ? { redis: { url: options.redisUrl } } : {}),
    ...(options.tracingEndpoint !== undefined ? { tracing: { otlpEndpoint: options.tracingEndpoint } } : {}),
    ...(options.admission === 'lease' ? { limits: { admission: 'lease' } } : {}),
    ...(options.pinReads === 'local' ? { sticky: { pinReads: 'local' } } : {}),
  };
  parseConfig(base, {}, 'bench config'); // a mistake here must stop the bench, not skew it
  const keys = options.storePath === undefined ? CONFIG_KEYS_NOTE : KEYS_NOTE;

  const withMetrics = { ...base, ...METRICS_CONFIG };
  try {
    parseConfig(withMetrics, {}, 'bench config');
    return { config: withMetrics, keys, metrics: { inConfig: true, note: 'metrics.enabled: true' } };
  } catch {
    return { config: base, keys, metrics: { inConfig: false, note: 'this build has no `metrics` config field yet' } };
  }
}
