// `npm run bench:profile`: runs the gateway (or the reference hop) under `node --cpu-prof` with the plain
// chat c=50 load, then prints where its main thread spent its time. Profiles go to bench/results/profiles/
// (git-ignored); open one in Chrome DevTools or speedscope for the call tree.
// With --syscalls it profiles nothing but counts system calls per request of the hop and the gateway
// under the same load, with strace.
//   node --import tsx bench/profile.ts [--target gateway|hop-stream|hop-parse] [--scenario chat-c50] [--duration 10] [--top 25]
//   node --import tsx bench/profile.ts --syscalls [--scenario chat-c1]
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { renderProfile, summariseProfile } from './lib/cpuprofile.js';
import { runLoad, SCENARIOS, type Scenario } from './lib/load.js';
import { ROOT } from './lib/procs.js';
import { RESULTS_DIR, stamp } from './lib/report.js';
import { startStack } from './lib/stack.js';
import { countSyscalls, renderSyscalls, straceInstalled } from './lib/syscalls.js';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'gateway' },
    scenario: { type: 'string', default: 'chat-c50' },
    duration: { type: 'string', default: '10' },
    top: { type: 'string', default: '25' },
    syscalls: { type: 'boolean', default: false },
  },
});

async function syscalls(scenario: Scenario): Promise<void> {
  if (!straceInstalled()) throw new Error('--syscalls needs strace on PATH');
  const stack = await startStack({ hops: ['stream', 'parse'], upstream: 'fake' });
  try {
    for (const target of [stack.hops.stream!, stack.hops.parse!, stack.gateway]) {
      const key = target === stack.gateway ? stack.gateway.key : undefined;
      await runLoad(target.url, scenario, 1, key);
      const counts = await countSyscalls(target.pid, async () => (await runLoad(target.url, scenario, 3, key)).responses);
      console.log(`\n${target.name}, "${scenario.label}", system calls per request (all threads):\n\n${renderSyscalls(counts)}`);
    }
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const scenario = SCENARIOS.find((s) => s.id === args.scenario);
  if (scenario === undefined) throw new Error(`unknown scenario ${args.scenario}; one of ${SCENARIOS.map((s) => s.id).join(', ')}`);
  if (args.syscalls) return syscalls(scenario);
  const hop = args.target === 'hop-stream' || args.target === 'hop' ? 'stream' : args.target === 'hop-parse' ? 'parse' : undefined;
  if (args.target !== 'gateway' && hop === undefined) throw new Error('--target is gateway, hop-stream or hop-parse');
  // Seconds in the name: two runs in the same minute must not share a directory (and read each other's profile).
  const dir = join(RESULTS_DIR, 'profiles', `${stamp()}${String(new Date().getSeconds()).padStart(2, '0')}-${args.target}`);
  const profiling = ['--cpu-prof', '--cpu-prof-dir', dir];
  const stack = await startStack(hop !== undefined ? { hops: [hop], hopNodeArgs: profiling, upstream: 'fake' } : { gatewayNodeArgs: profiling, upstream: 'fake' });
  console.log(stack.redisLine);
  console.log(stack.metricsLine);
  console.log(stack.keysLine);
  const target = hop !== undefined ? stack.hops[hop]! : stack.gateway;
  const key = hop !== undefined ? undefined : stack.gateway.key;
  let responses = 0;
  try {
    await runLoad(target.url, scenario, 1, key);
    console.log(`profiling the ${target.name} under "${scenario.label}" for ${args.duration} s...`);
    const load = await runLoad(target.url, scenario, Number(args.duration), key);
    responses = load.responses;
    console.log(`${load.rps.toFixed(0)} req/s, p50 ${load.p50.toFixed(3)} ms, p99 ${load.p99.toFixed(3)} ms, ${load.failures} failures`);
  } finally {
    await stack.stop(); // the profile is written when the process exits
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (file === undefined) throw new Error(`no .cpuprofile in ${dir}: did the ${target.name} exit cleanly?`);
  // The warm-up second is in the profile too; per-request figures count its requests only roughly.
  console.log(`\n${renderProfile(summariseProfile(join(dir, file), ROOT), Number(args.top), responses)}`);
  console.log(`\nprofile: ${join(dir, file).slice(ROOT.length)}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
