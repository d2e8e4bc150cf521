// `npm run bench`: the gateway against a bare Fastify + @fastify/reply-from hop, against nginx as a plain
// reverse proxy (when installed) and against the upstream itself ("direct"), scenario by scenario,
// alternating targets for several rounds; medians win. As an operator would measure from outside: the
// load generator (wrk when installed, else autocannon) and a precomputed fake upstream run in processes
// of their own, and each process's CPU is read from /proc/PID/stat and reported apart.
// Time to first token is measured last, on a fresh set of processes whose mock paces its stream events
// the way a model emits tokens, so that holding a token back shows instead of hiding in a burst.
// Then the cost of tracing: the gateway with tracing off against tracing on, exporting to a local sink.
//   node --import tsx bench/run.ts [--rounds 2] [--duration 3] [--warmup 1] [--ttft 300] [--only chat-c1] [--tracing off] [--upstream mock]
import { parseArgs } from 'node:util';
import { loadGenerator, runLoad, SCENARIOS, type LoadResult, type Scenario } from './lib/load.js';
import { cpuNs, memory, resetPeakRss } from './lib/proc-stats.js';
import { describeMachine, machineLine, readJson, stamp, writeResults } from './lib/report.js';
import { checks, renderMarkdown, summarise, type Run, type StreamsResult, type TargetName } from './lib/results.js';
import { startStack } from './lib/stack.js';
import { measureKeyLookup, renderKeyLookup } from './lib/key-lookup.js';
import { measureTracingCost, renderTracingCost } from './lib/tracing-cost.js';
import { measureTtft, type TtftResult } from './lib/ttft.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    ttft: { type: 'string', default: '300' },
    only: { type: 'string' },
    tracing: { type: 'string', default: 'on' },
    upstream: { type: 'string', default: 'fake' },
  },
});
const rounds = Number(args.rounds);
const durationS = Number(args.duration);
const warmupS = Number(args.warmup);
const ttftCount = Number(args.ttft);
const scenarios = SCENARIOS.filter((s) => args.only === undefined || s.id.includes(args.only));

interface Target {
  name: TargetName;
  origin: string;
  /** The proxy process whose CPU and memory are measured; none for direct. */
  pid: number | undefined;
}

async function measure(target: Target, upstreamPid: number, scenario: Scenario, round: number): Promise<Run> {
  await runLoad(target.origin, scenario, warmupS); // JIT, connection pools
  const pid = target.pid;
  const cpuBefore = pid === undefined ? NaN : cpuNs(pid);
  const upstreamBefore = cpuNs(upstreamPid);
  if (pid !== undefined) resetPeakRss(pid);
  const load: LoadResult = await runLoad(target.origin, scenario, durationS);
  const cpuUsPerRequest = pid === undefined ? NaN : (cpuNs(pid) - cpuBefore) / 1000 / load.responses;
  const upstreamCpuUs = (cpuNs(upstreamPid) - upstreamBefore) / 1000 / load.responses;
  const peakRssMiB = pid === undefined ? NaN : memory(pid).hwm / 2 ** 20;
  return { round, scenario: scenario.id, target: target.name, load, cpuUsPerRequest, peakRssMiB, upstreamCpuUs };
}

function progress(run: Run, label: string): void {
  const { load } = run;
  const cpu = Number.isNaN(run.cpuUsPerRequest) ? '' : `  cpu ${run.cpuUsPerRequest.toFixed(0)} µs/req  peak ${run.peakRssMiB.toFixed(0)} MiB`;
  const failed = load.failures > 0 ? `  FAILURES ${load.failures}` : '';
  console.log(
    `  [round ${run.round + 1}/${rounds}] ${label.padEnd(52)} ${run.target.padEnd(7)} ` +
      `${load.rps.toFixed(0).padStart(6)} req/s  p50 ${load.p50.toFixed(3)} ms  p99 ${load.p99.toFixed(3)} ms${cpu}` +
      `  (upstream ${run.upstreamCpuUs.toFixed(0)}, load gen. ${load.generatorCpuUs.toFixed(0)} µs/req)${failed}`,
  );
}

/** One request of each kind through each target, so a broken setup fails at once rather than as numbers. */
async function smokeTest(targets: Target[]): Promise<void> {
  for (const target of targets) {
    for (const scenario of SCENARIOS.filter((s) => s.conversation || s.kind === 'image')) {
      const result = await runLoad(target.origin, { ...scenario, connections: 1 }, 1);
      if (result.responses === 0 || result.failures > 0) {
        throw new Error(`${target.name} fails ${scenario.id}: ${result.failures} failures in ${result.responses} responses`);
      }
    }
  }
}

/** Mock events paced this far apart, for the time-to-first-token phase. */
const TTFT_EVENT_GAP_MS = 2;

async function firstTokens(): Promise<Map<string, TtftResult>> {
  console.log(`\nTime to first token: fresh processes, stream events ${TTFT_EVENT_GAP_MS} ms apart, ${ttftCount} sequential streams per target...`);
  const stack = await startStack({ referenceHop: true, mock: { chunkDelayMs: TTFT_EVENT_GAP_MS, streamChunks: 1 } });
  try {
    const stream = SCENARIOS.find((s) => s.id === 'stream-c50')!;
    for (const proxy of [stack.hop!, stack.gateway]) await runLoad(proxy.url, stream, 1); // JIT
    return await measureTtft(
      [
        { name: 'direct', origin: stack.mock.url },
        { name: 'hop', origin: stack.hop!.url },
        { name: 'gateway', origin: stack.gateway.url },
      ],
      ttftCount,
    );
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const startedAt = new Date();
  console.log(`Machine: ${machineLine(machine)}`);
  const stack = await startStack({ referenceHop: true, nginx: true, upstream: args.upstream === 'mock' ? 'mock' : 'fake' });
  console.log(stack.redisLine);
  console.log(stack.metricsLine);
  console.log(stack.keysLine);
  console.log(`Load generator: ${loadGenerator}; nginx: ${stack.nginx === undefined ? 'not installed' : 'on'}`);
  const targets: Target[] = [
    { name: 'direct', origin: stack.mock.url, pid: undefined },
    ...(stack.nginx === undefined ? [] : [{ name: 'nginx' as const, origin: stack.nginx.url, pid: stack.nginx.pid }]),
    { name: 'hop', origin: stack.hop!.url, pid: stack.hop!.pid },
    { name: 'gateway', origin: stack.gateway.url, pid: stack.gateway.pid },
  ];
  let redisClients: number | undefined;
  const runs: Run[] = [];
  try {
    await smokeTest(targets);
    const perRun = warmupS + durationS;
    const total = rounds * scenarios.length * targets.length * perRun;
    const about = total < 120 ? `${Math.ceil(total)} s` : `${Math.ceil(total / 60)} min`;
    console.log(`\n${rounds} rounds x ${scenarios.length} scenarios x ${targets.length} targets x ${perRun} s = about ${about}\n`);
    for (let round = 0; round < rounds; round++) {
      for (const scenario of scenarios) {
        for (let k = 0; k < targets.length; k++) {
          const target = targets[(round + k) % targets.length]!; // a different target goes first each round
          const run = await measure(target, stack.mock.pid, scenario, round);
          runs.push(run);
          progress(run, scenario.label);
        }
      }
    }
    redisClients = await stack.redis?.clients();
  } finally {
    await stack.stop();
  }
  const ttft = ttftCount > 0 ? await firstTokens() : undefined;
  if (args.tracing !== 'off') console.log('\nTracing: the gateway with tracing off and on, alternating...');
  const tracing = args.tracing === 'off' ? undefined : await measureTracingCost({ rounds, warmupS, durationS });

  console.log('\nKey lookup: 1 API key against 10,000...');
  const keyLookup = measureKeyLookup();
  const summary = summarise(runs, scenarios, ttft);
  const streams = readJson<StreamsResult>('streams-latest.json');
  const setup = {
    machine,
    startedAt: startedAt.toISOString(),
    rounds,
    durationS,
    warmupS,
    ttftEventGapMs: TTFT_EVENT_GAP_MS,
    redis: stack.redisLine + (redisClients === undefined ? '' : `; gateway connections to it at the end: ${redisClients}`),
    metrics: stack.metricsLine,
    keys: stack.keysLine,
    loadGenerator: loadGenerator === 'wrk' ? 'wrk (1 thread)' : 'autocannon',
    upstream:
      args.upstream === 'mock'
        ? 'the mock (src/mock, answers built per request)'
        : 'a precomputed fake upstream (bench/fake-upstream.ts: answers recorded from the mock, 20-event streams)',
  };
  const targetChecks = checks(summary, streams, { redis: stack.redis !== undefined, metrics: stack.metricsLine.startsWith('Metrics: on') });
  const markdown = renderMarkdown(setup, summary, targetChecks, streams) + (tracing === undefined ? '' : `\n\n${renderTracingCost(tracing)}\n`) + `\n\n${renderKeyLookup(keyLookup)}\n`;
  console.log(`\n${markdown}`);
  const files = writeResults('latest', markdown, { setup, summary, checks: targetChecks, runs, tracing, keyLookup }, stamp(startedAt));
  console.log(`written: ${files.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
