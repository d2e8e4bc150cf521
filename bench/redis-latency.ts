// How long the gateway's Redis commands take, as its own timer sees them (Redis time, network and this
// process's event-loop lag together), while the gateway runs at full CPU. What `redis.timeoutMs` is chosen
// from: see the README's Redis section.
//   node --import tsx bench/redis-latency.ts [--duration 60] [--connections 64]
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { parseConfig } from '../src/config/load.js';
import { buildApp } from '../src/app.js';
import { startMockProcess } from '../test/helpers/mock-process.js';
import { startRedis } from '../test/helpers/redis.js';

const { values: args } = parseArgs({ options: { duration: { type: 'string', default: '60' }, connections: { type: 'string', default: '64' } } });

const redis = await startRedis();
const mock = await startMockProcess(); // its own process: the gateway's CPU is the gateway's
const config = parseConfig(
  {
    logLevel: 'warn',
    redis: { url: redis.url, timeoutMs: 10_000 },
    clientKeys: [{ name: 'bench', key: 'gw-bench-key', limits: { requestsPerMinute: 100_000_000, tokensPerMinute: 100_000_000 } }],
    upstreams: [{ name: 'mock', baseUrl: mock.url, accounts: [{ name: 'a', apiKey: 'sk-bench-a-0123456789' }, { name: 'b', apiKey: 'sk-bench-b-0123456789' }] }],
  },
  {},
);
const app = await buildApp(config);
const connection = app.services.redis!;
const latencies: number[] = [];
const run = connection.run.bind(connection);
connection.run = <T>(command: Parameters<typeof run<T>>[0]): Promise<T> => {
  const started = performance.now();
  const done = (): void => void latencies.push(performance.now() - started);
  const reply = run(command);
  reply.then(done, done);
  return reply;
};
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no address');
while (!connection.ready) await new Promise((r) => setTimeout(r, 20));

const lag = monitorEventLoopDelay({ resolution: 10 });
lag.enable();
const body = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }] });
const load = spawn(
  process.execPath,
  [
    'node_modules/autocannon/autocannon.js', '-c', args.connections!, '-d', args.duration!, '-m', 'POST',
    '-H', 'authorization=Bearer gw-bench-key', '-H', 'content-type=application/json', '-H', 'x-conversation-id=bench-conversation',
    '-b', body, `http://127.0.0.1:${address.port}/v1/chat/completions`,
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
await new Promise((resolve) => load.once('exit', resolve));
lag.disable();

latencies.sort((a, b) => a - b);
const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(2);
console.log(`redis commands: ${latencies.length}`);
console.log(`command latency ms: p50 ${at(0.5)}  p99 ${at(0.99)}  p99.9 ${at(0.999)}  p99.99 ${at(0.9999)}  max ${latencies.at(-1)!.toFixed(2)}`);
console.log(`event-loop delay ms: p50 ${(lag.percentile(50) / 1e6).toFixed(2)}  p99 ${(lag.percentile(99) / 1e6).toFixed(2)}  max ${(lag.max / 1e6).toFixed(2)}`);
for (const threshold of [50, 100, 250, 500]) console.log(`  over ${threshold} ms: ${latencies.filter((l) => l > threshold).length}`);
await app.close();
await mock.stop();
await redis.stop();
