// The processes every bench command needs: Redis (when installed), the upstream, the gateway (every feature
// on, its load's key issued into its keys store) and, for comparisons, the reference hops, nginx and other
// gateway variants.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchConfig, BENCH_LIMITS } from './gateway-config.js';
import { recordAnswers } from './answers.js';
import { issueKey, prepareStore, storeFolder } from './keys-store.js';
import {
  getFreePort,
  nginxBinary,
  ROOT,
  startGateway,
  startFakeUpstream,
  startMock,
  startNginx,
  startRedisIfInstalled,
  startReferenceHop,
  stopAll,
  type BenchRedis,
  type HopKind,
  type MockOptions,
  type Service,
} from './procs.js';
import { CLIENT_KEYS, LIMITED_KEY } from './requests.js';

/**
 * 'full': every feature on (keys store with the load's key issued through the admin API, an `anthropic`
 * upstream beside the OpenAI one, metrics, the access log, Redis limits and pins); 'keys-10k': the same with
 * 10,000 API keys in its store; 'leased': the same with `limits.admission: lease`; 'lean': config keys only,
 * no store, one upstream (features off).
 */
export type GatewayVariant = 'full' | 'keys-10k' | 'leased' | 'lean';

/** API keys in the store of the 'keys-10k' gateway, the load's own included. */
export const MANY_KEYS = 10_000;

export interface BenchGateway extends Service {
  variant: GatewayVariant;
  /** The secret its load sends: the key issued into its store, or the limited config key (lean). */
  key: string;
  /** "Metrics: on (...)" or "Metrics: off (...)". */
  metricsLine: string;
  /** Which client keys the load uses and their limits. */
  keysLine: string;
}

export interface BenchGatewayOptions {
  variant: GatewayVariant;
  upstream: string;
  redisUrl?: string;
  tracingEndpoint?: string;
  /** Extra node flags, such as --cpu-prof. */
  nodeArgs?: string[];
  withoutStartFlags?: boolean;
  fdLimit?: number;
}

/** A gateway of `variant`, ready, its load's key issued. */
export async function startBenchGateway(options: BenchGatewayOptions): Promise<BenchGateway> {
  const store = options.variant === 'lean' ? undefined : storeFolder();
  try {
    if (store !== undefined) await prepareStore(store.path, options.variant === 'keys-10k' ? MANY_KEYS - 1 : 0);
    const port = await getFreePort();
    const { config, metrics, keys } = benchConfig({
      port,
      upstream: options.upstream,
      redisUrl: options.redisUrl,
      tracingEndpoint: options.tracingEndpoint,
      storePath: store?.path,
      admission: options.variant === 'leased' ? 'lease' : 'exact',
    });
    const gateway = await startGateway({ config, port, redisUrl: options.redisUrl, nodeArgs: options.nodeArgs, withoutStartFlags: options.withoutStartFlags, fdLimit: options.fdLimit });
    const stop = (): Promise<void> => gateway.stop().finally(() => store?.remove());
    try {
      const key = store === undefined ? CLIENT_KEYS[LIMITED_KEY] : await issueKey(gateway.url, { name: 'bench-limited', limits: BENCH_LIMITS });
      const metricsStatus = await fetch(`${gateway.url}/metrics`).then(
        async (res) => (await res.arrayBuffer(), res.status),
        () => 0,
      );
      const metricsLine =
        metrics.inConfig && metricsStatus === 200
          ? `Metrics: on (${metrics.note}; GET /metrics answers 200)`
          : `Metrics: off (${metrics.note}; GET /metrics answers ${metricsStatus})`;
      const keysLine = options.variant === 'keys-10k' ? `${keys}; ${MANY_KEYS.toLocaleString('en-US')} API keys in the store` : keys;
      return { ...gateway, variant: options.variant, key, metricsLine, keysLine, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  } catch (err) {
    store?.remove();
    throw err;
  }
}

export interface StackOptions {
  /** The reference hops to start (the 'stream' hop is bench/reference-hop.ts, 'parse' bench/reply-from-hop.ts). */
  hops?: HopKind[];
  /** nginx as a plain reverse proxy too, when it is installed. */
  nginx?: boolean;
  /** Gateway variants besides the 'full' one (stack.gateway). */
  variants?: Exclude<GatewayVariant, 'full'>[];
  /**
   * 'fake': the precomputed fake upstream (answers recorded from the mock, served as stored bytes);
   * 'mock' (default): the mock itself, which `mock` configures (paced streams).
   */
  upstream?: 'mock' | 'fake';
  mock?: MockOptions;
  /** Extra node flags for the gateway and the reference hops, such as --cpu-prof. */
  gatewayNodeArgs?: string[];
  hopNodeArgs?: string[];
  gatewayFdLimit?: number;
}

export interface Stack {
  redis: BenchRedis | undefined;
  /** The upstream every target forwards to: the mock or the fake upstream. */
  mock: Service;
  hops: Partial<Record<HopKind, Service>>;
  nginx: Service | undefined;
  /** The gateway with every feature on. */
  gateway: BenchGateway;
  variants: Partial<Record<GatewayVariant, BenchGateway>>;
  /** "Redis: on (...)" or "Redis: off (...)". */
  redisLine: string;
  /** "Metrics: on (...)" or "Metrics: off (...)", of the full gateway. */
  metricsLine: string;
  /** Which client keys the load uses and their limits. */
  keysLine: string;
  stop(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) throw new Error('dist/main.js is missing: run `npm run build` first');
  const started: (Service | undefined)[] = [];
  let redis: BenchRedis | undefined;
  try {
    redis = await startRedisIfInstalled();
    const mock = options.upstream === 'fake' ? await startFakeUpstream(await recordAnswers()) : await startMock(options.mock);
    started.push(mock);
    const hops: Partial<Record<HopKind, Service>> = {};
    for (const kind of options.hops ?? []) {
      hops[kind] = await startReferenceHop(mock.url, options.hopNodeArgs, kind);
      started.push(hops[kind]);
    }
    const nginxPath = options.nginx === true ? nginxBinary() : undefined;
    const nginx = nginxPath === undefined ? undefined : await startNginx(nginxPath, mock.url);
    started.push(nginx);
    const launch = async (variant: GatewayVariant): Promise<BenchGateway> => {
      const gateway = await startBenchGateway({
        variant,
        upstream: mock.url,
        redisUrl: redis?.server.url,
        nodeArgs: options.gatewayNodeArgs,
        fdLimit: options.gatewayFdLimit,
      });
      started.push(gateway);
      return gateway;
    };
    const gateway = await launch('full');
    const variants: Partial<Record<GatewayVariant, BenchGateway>> = { full: gateway };
    for (const variant of options.variants ?? []) variants[variant] = await launch(variant);

    const redisLine =
      redis === undefined
        ? 'Redis: off (no redis-server on PATH; the gateway runs without redis.url)'
        : `Redis: on (redis-server ${redis.version} on ${redis.server.url}, passed as redis.url and REDIS_URL)`;

    const all = [...started];
    return {
      redis,
      mock,
      hops,
      nginx,
      gateway,
      variants,
      redisLine,
      metricsLine: gateway.metricsLine,
      keysLine: gateway.keysLine,
      async stop() {
        await stopAll(all);
        await redis?.server.stop();
      },
    };
  } catch (err) {
    await stopAll(started);
    await redis?.server.stop();
    throw err;
  }
}
