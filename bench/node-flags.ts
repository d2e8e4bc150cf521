// `npm run bench:flags`: what node flags bring to the gateway. Two gateways on one Redis and one fake
// upstream, one with Node's defaults and one with the flags (by default those of `npm start`), measured
// alternately; CPU per request from /proc/PID/stat, medians over rounds.
//   node --import tsx bench/node-flags.ts [--flags=--max-semi-space-size=64] [--rounds 4] [--duration 3]
import { parseArgs } from 'node:util';
import { runLoad, SCENARIOS } from './lib/load.js';
import { cpuNs } from './lib/proc-stats.js';
import { startScriptNodeFlags } from './lib/procs.js';
import { markdownTable, num, ratio } from './lib/report.js';
import { startBenchGateway, startStack, type BenchGateway } from './lib/stack.js';
import { median } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    flags: { type: 'string' },
    rounds: { type: 'string', default: '4' },
    duration: { type: 'string', default: '3' },
  },
});
const flags = args.flags?.split(/\s+/).filter(Boolean) ?? startScriptNodeFlags();
if (flags.length === 0) throw new Error('no flags to measure: `npm start` has none; pass --flags');
const MEASURED = ['chat-c50', 'stream-c50', 'responses-c50'];

async function main(): Promise<void> {
  const stack = await startStack({ upstream: 'fake' });
  const started: BenchGateway[] = [];
  try {
    const launch = async (nodeArgs: string[]): Promise<BenchGateway> => {
      const gateway = await startBenchGateway({ variant: 'full', upstream: stack.mock.url, redisUrl: stack.redis?.server.url, nodeArgs, withoutStartFlags: true });
      started.push(gateway);
      return gateway;
    };
    const variants = [
      { name: 'defaults', gateway: await launch([]) },
      { name: flags.join(' '), gateway: await launch(flags) },
    ];
    const rows: string[][] = [];
    for (const scenario of SCENARIOS.filter((s) => MEASURED.includes(s.id))) {
      const cpu = variants.map(() => [] as number[]);
      const rps = variants.map(() => [] as number[]);
      for (let round = 0; round < Number(args.rounds); round++) {
        for (let k = 0; k < variants.length; k++) {
          const v = (round + k) % variants.length;
          const { gateway } = variants[v]!;
          await runLoad(gateway.url, scenario, 1, gateway.key);
          const before = cpuNs(gateway.pid);
          const load = await runLoad(gateway.url, scenario, Number(args.duration), gateway.key);
          cpu[v]!.push((cpuNs(gateway.pid) - before) / 1000 / load.responses);
          rps[v]!.push(load.rps);
          console.log(`  ${scenario.id.padEnd(20)} ${variants[v]!.name.padEnd(30)} ${load.rps.toFixed(0).padStart(6)} req/s  cpu ${cpu[v]!.at(-1)!.toFixed(0)} µs/req`);
        }
      }
      const [base, flagged] = cpu.map(median) as [number, number];
      const [baseRps, flaggedRps] = rps.map(median) as [number, number];
      rows.push([scenario.label, num(base), num(flagged), ratio(flagged / base), num(baseRps), num(flaggedRps)]);
    }
    console.log(
      `\n${markdownTable(['scenario', 'CPU µs/req, defaults', `CPU µs/req, ${flags.join(' ')}`, 'ratio', 'req/s, defaults', 'req/s, with flags'], rows)}`,
    );
  } finally {
    for (const gateway of started) await gateway.stop();
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
