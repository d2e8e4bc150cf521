// Exact against leased admission (limits.admission), side by side: two gateways (the bench's config, its
// limited config key with a budget) on one Redis and one precomputed upstream, each scenario's load sent to
// one then the other, the order swapped every round. Prints latency, throughput, the gateway's CPU per
// request and the Redis commands per request (INFO commandstats). `--no-conversation` drops the
// X-Conversation-Id, whose pin lookup is a round trip to Redis in both modes. `--modes` picks the gateways:
// an admission, `+local` for `sticky.pinReads: local` (lease,lease+local compares the pin reads).
//   node --import tsx bench/admission.ts [--scenarios chat-c1,chat-c50] [--modes exact,lease] [--rounds 3] [--duration 5] [--no-conversation]
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { recordAnswers } from './lib/answers.js';
import { benchConfig } from './lib/gateway-config.js';
import { runLoad, SCENARIOS } from './lib/load.js';
import { cpuNs } from './lib/proc-stats.js';
import { getFreePort, startFakeUpstream, startGateway, startRedisIfInstalled, stopAll, type Service } from './lib/procs.js';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'chat-c1,chat-c50' },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5' },
    modes: { type: 'string', default: 'exact,lease' },
    'no-conversation': { type: 'boolean', default: false },
  },
});

const MODES = args.modes.split(',');

/** A mode of `--modes`: `exact` or `lease`, with `+local` for local pin reads. */
function modeConfig(mode: string): { admission: 'exact' | 'lease'; pinReads: 'shared' | 'local' } {
  const [admission, pinReads = 'shared'] = mode.split('+');
  if ((admission !== 'exact' && admission !== 'lease') || (pinReads !== 'shared' && pinReads !== 'local')) throw new Error(`unknown mode ${mode}`);
  return { admission, pinReads };
}

/** Calls per command Redis has run so far, INFO's own left out. */
async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const stats = await redis.info('commandstats');
  return new Map([...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)].filter((m) => m[1] !== 'info').map((m) => [m[1]!, Number(m[2])]));
}

async function main(): Promise<void> {
  const redis = await startRedisIfInstalled();
  if (redis === undefined) throw new Error('admission needs redis-server on PATH');
  const direct = new Redis(redis.server.url);
  const services: Service[] = [];
  try {
    const upstream = await startFakeUpstream(await recordAnswers());
    services.push(upstream);
    const gateways = new Map<string, Service>();
    for (const mode of MODES) {
      const port = await getFreePort();
      const { config } = benchConfig({ port, upstream: upstream.url, redisUrl: redis.server.url, ...modeConfig(mode) });
      const gateway = await startGateway({ config, port, redisUrl: redis.server.url });
      services.push(gateway);
      gateways.set(mode, gateway);
    }
    for (const id of args.scenarios.split(',')) {
      const found = SCENARIOS.find((s) => s.id === id);
      if (found === undefined) throw new Error(`unknown scenario ${id}`);
      // The limited config key: the store's API key is issued by the full bench only.
      const scenario = { ...found, key: 'config' as const, conversation: !args['no-conversation'] };
      for (let round = 0; round < Number(args.rounds); round++) {
        for (const mode of round % 2 === 0 ? MODES : [...MODES].reverse()) {
          const gateway = gateways.get(mode)!;
          await runLoad(gateway.url, scenario, 1);
          const calls = await commandCalls(direct);
          const cpu = cpuNs(gateway.pid);
          const load = await runLoad(gateway.url, scenario, Number(args.duration));
          const cpuUs = (cpuNs(gateway.pid) - cpu) / 1000 / load.responses;
          const after = await commandCalls(direct);
          const perRequest = (name: string): number => ((after.get(name) ?? 0) - (calls.get(name) ?? 0)) / load.responses;
          const commands = [...after.keys()].reduce((n, name) => n + perRequest(name), 0);
          console.log(
            `${id} round ${round + 1} ${mode.padEnd(11)} p50 ${load.p50.toFixed(3)} p99 ${load.p99.toFixed(3)} ms, ${load.rps.toFixed(0)} req/s, ` +
              `CPU ${cpuUs.toFixed(0)} µs/req, Redis: ${perRequest('evalsha').toFixed(3)} script calls and ${commands.toFixed(2)} commands in all per request`,
          );
        }
      }
    }
  } finally {
    direct.disconnect();
    await stopAll(services);
    await redis.server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
