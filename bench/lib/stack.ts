// The processes every bench command needs: Redis (when installed), the mock upstream, the gateway and,
// for comparisons, the reference hop.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchConfig } from './gateway-config.js';
import { recordAnswers } from './answers.js';
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
  type MockOptions,
  type Service,
} from './procs.js';

export interface StackOptions {
  referenceHop?: boolean;
  /** nginx as a plain reverse proxy too, when it is installed. */
  nginx?: boolean;
  /**
   * 'fake': the precomputed fake upstream (answers recorded from the mock, served as stored bytes);
   * 'mock' (default): the mock itself, which `mock` configures (paced streams).
   */
  upstream?: 'mock' | 'fake';
  mock?: MockOptions;
  /** Extra node flags for the gateway and the reference hop, such as --cpu-prof. */
  gatewayNodeArgs?: string[];
  hopNodeArgs?: string[];
  gatewayFdLimit?: number;
}

export interface Stack {
  redis: BenchRedis | undefined;
  /** The upstream every target forwards to: the mock or the fake upstream. */
  mock: Service;
  hop: Service | undefined;
  nginx: Service | undefined;
  gateway: Service;
  /** "Redis: on (...)" or "Redis: off (...)". */
  redisLine: string;
  /** "Metrics: on (...)" or "Metrics: off (...)". */
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
    const hop = options.referenceHop === true ? await startReferenceHop(mock.url, options.hopNodeArgs) : undefined;
    started.push(hop);
    const nginxPath = options.nginx === true ? nginxBinary() : undefined;
    const nginx = nginxPath === undefined ? undefined : await startNginx(nginxPath, mock.url);
    started.push(nginx);
    const port = await getFreePort();
    const { config, metrics, keys } = benchConfig({ port, upstream: mock.url, redisUrl: redis?.server.url });
    const gateway = await startGateway({
      config,
      port,
      redisUrl: redis?.server.url,
      nodeArgs: options.gatewayNodeArgs,
      fdLimit: options.gatewayFdLimit,
    });
    started.push(gateway);

    const metricsStatus = await fetch(`${gateway.url}/metrics`).then(
      async (res) => (await res.arrayBuffer(), res.status),
      () => 0,
    );
    const metricsLine =
      metrics.inConfig && metricsStatus === 200
        ? `Metrics: on (${metrics.note}; GET /metrics answers 200)`
        : `Metrics: off (${metrics.note}; GET /metrics answers ${metricsStatus})`;
    const redisLine =
      redis === undefined
        ? 'Redis: off (no redis-server on PATH; the gateway runs without redis.url)'
        : `Redis: on (redis-server ${redis.version} on ${redis.server.url}, passed as redis.url and REDIS_URL)`;

    const all = [...started];
    const stack: Stack = {
      redis,
      mock,
      hop,
      nginx,
      gateway,
      redisLine,
      metricsLine,
      keysLine: keys,
      async stop() {
        await stopAll(all);
        await redis?.server.stop();
      },
    };
    return stack;
  } catch (err) {
    await stopAll(started);
    await redis?.server.stop();
    throw err;
  }
}
