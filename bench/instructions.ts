// The gateway's own work per request, counted so that a loaded machine does not move it: the gateway runs
// under valgrind's callgrind with instrumentation off while it starts and warms up, then each scenario's
// fixed number of requests is counted (user-space instructions of every thread; the kernel's work for the
// system calls is not in it). With --cpu it runs as `npm start` does and reads its CPU time (user + system)
// from /proc instead, over as many rounds as asked. Requests come from this process (undici), never counted.
//   npm run build && node --import tsx bench/instructions.ts [--scenarios chat-c50,stream-c50] [--requests 2000]
//   node --import tsx bench/instructions.ts --cpu --rounds 5 --requests 20000 [--node-args='--heap-prof']
//   (--admission lease: the gateway admits limits and budgets from leases, limits.admission: lease)
// The callgrind dumps stay in bench/results/instructions/ (git-ignored) for callgrind_annotate.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { recordAnswers } from './lib/answers.js';
import { benchConfig } from './lib/gateway-config.js';
import { requestOf, SCENARIOS, type Scenario } from './lib/load.js';
import { cpuNs } from './lib/proc-stats.js';
import { getFreePort, startFakeUpstream, startGateway, startRedisIfInstalled, stopAll, type Service } from './lib/procs.js';
import { markdownTable, RESULTS_DIR, stamp } from './lib/report.js';

const { values: args } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'chat-c50,stream-c50,responses-c50,chat-c1' },
    requests: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '3' },
    cpu: { type: 'boolean', default: false },
    /** `limits.admission` of the gateway: exact (the default) or lease. */
    admission: { type: 'string', default: 'exact' },
    /** More node flags for the gateway, space-separated (such as `--heap-prof`). */
    'node-args': { type: 'string', default: '' },
  },
});

/** Sends `count` requests of `scenario` over its number of connections, each answer read whole. */
async function send(url: string, scenario: Scenario, count: number): Promise<void> {
  const { method, path, headers, body } = requestOf(scenario);
  const pool = new Pool(url, { connections: scenario.connections });
  let left = count;
  const worker = async (): Promise<void> => {
    while (left > 0) {
      left--;
      const res = await pool.request({ method: method as 'POST', path, headers, body });
      await res.body.arrayBuffer();
      if (res.statusCode !== 200) throw new Error(`${scenario.id}: status ${res.statusCode}`);
    }
  };
  try {
    await Promise.all(Array.from({ length: scenario.connections }, worker));
  } finally {
    await pool.close();
  }
}

function callgrindControl(pid: number, option: string): void {
  execFileSync('callgrind_control', [option, String(pid)], { stdio: 'ignore' });
}

/** The Ir total of a callgrind dump. */
function instructionsIn(file: string): number {
  const text = readFileSync(file, 'utf8');
  const line = /^(?:totals|summary):\s*(\d+)/m.exec(text);
  if (line === null) throw new Error(`no totals in ${file}`);
  return Number(line[1]);
}

async function main(): Promise<void> {
  const scenarios = args.scenarios.split(',').map((id) => {
    const scenario = SCENARIOS.find((s) => s.id === id);
    if (scenario === undefined) throw new Error(`unknown scenario ${id}; one of ${SCENARIOS.map((s) => s.id).join(', ')}`);
    return scenario;
  });
  const requests = Number(args.requests);
  const warmup = Number(args.warmup);
  const dir = join(RESULTS_DIR, 'instructions', stamp());
  mkdirSync(dir, { recursive: true });
  const prefix = join(dir, 'callgrind.out');
  const wrapper = args.cpu ? undefined : ['valgrind', '--tool=callgrind', '--instr-atstart=no', `--callgrind-out-file=${prefix}`];

  const redis = await startRedisIfInstalled();
  const services: (Service | undefined)[] = [];
  try {
    const upstream = await startFakeUpstream(await recordAnswers());
    services.push(upstream);
    const port = await getFreePort();
    if (args.admission !== 'exact' && args.admission !== 'lease') throw new Error(`--admission ${args.admission}: exact or lease`);
    const { config } = benchConfig({ port, upstream: upstream.url, redisUrl: redis?.server.url, admission: args.admission });
    const gateway = await startGateway({ config, port, redisUrl: redis?.server.url, wrapper, nodeArgs: args['node-args'].split(' ').filter(Boolean), readyWithinMs: 180_000 });
    services.push(gateway);
    const rows: string[][] = [];
    for (const scenario of scenarios) {
      await send(gateway.url, scenario, warmup);
      if (args.cpu) {
        const perRequest: number[] = [];
        for (let round = 0; round < Number(args.rounds); round++) {
          const before = cpuNs(gateway.pid);
          await send(gateway.url, scenario, requests);
          perRequest.push((cpuNs(gateway.pid) - before) / 1000 / requests);
        }
        const sorted = [...perRequest].sort((a, b) => a - b);
        rows.push([scenario.id, String(requests), sorted[Math.floor(sorted.length / 2)]!.toFixed(1), perRequest.map((us) => us.toFixed(0)).join(' ')]);
      } else {
        callgrindControl(gateway.pid, '--instr=on');
        callgrindControl(gateway.pid, '--zero');
        await send(gateway.url, scenario, requests);
        const dumped = new Set(readdirSync(dir));
        callgrindControl(gateway.pid, `--dump=${scenario.id}`);
        const file = readdirSync(dir).find((name) => !dumped.has(name));
        if (file === undefined) throw new Error('callgrind wrote no dump');
        const total = instructionsIn(join(dir, file));
        rows.push([scenario.id, String(requests), (total / requests / 1000).toFixed(1), file]);
      }
      console.log(rows[rows.length - 1]!.join('  '));
    }
    const unit = args.cpu ? 'CPU µs/req (median)' : 'instructions/req (thousands)';
    console.log(`\n${markdownTable(['scenario', 'requests', unit, args.cpu ? 'rounds' : 'dump'], rows)}`);
  } finally {
    await stopAll(services);
    await redis?.server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
