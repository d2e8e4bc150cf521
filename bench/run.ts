// `npm run bench`: the gateway with every feature on against two bare Fastify + @fastify/reply-from hops
// (bodies streamed, bodies parsed: the cheaper is the reference), nginx as a plain reverse proxy (when
// installed) and the upstream itself ("direct"), scenario by scenario, alternating targets for several
// rounds; medians win. As an operator would measure from outside: the load generator (wrk when installed,
// else autocannon) and a precomputed fake upstream run in processes of their own, and each process's CPU is
// read from /proc/PID/stat and reported apart. Two more gateways answer the side questions: one with 10,000
// API keys in its store, one with the store, ledger and Messages upstream off.
// Then time to first token on a fresh set of processes whose mock paces its stream events the way a model
// emits tokens; the cost of tracing; key lookups with 1 and 10,000 keys; and 10,000 idle streams
// (bench/streams.ts, in a process of its own).
//   node --import tsx bench/run.ts [--rounds 3] [--duration 3] [--warmup 1] [--ttft 300] [--only chat-c1]
//                                  [--tracing off] [--streams off] [--upstream mock]
import { spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { loadGenerator, requestOf, runLoad, SCENARIOS, type LoadResult, type Scenario, type TargetName } from './lib/load.js';
import { cpuNs, memory, resetPeakRss } from './lib/proc-stats.js';
import { ROOT } from './lib/procs.js';
import { describeMachine, machineLine, readJson, stamp, writeResults } from './lib/report.js';
import { checks, summarise, type Run, type StreamsResult } from './lib/results.js';
import { renderMarkdown } from './lib/results-markdown.js';
import { startStack, type Stack } from './lib/stack.js';
import { measureKeyLookup, renderKeyLookup } from './lib/key-lookup.js';
import { measureTracingCost, renderTracingCost } from './lib/tracing-cost.js';
import { measureTtft, type TtftResult } from './lib/ttft.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    ttft: { type: 'string', default: '300' },
    only: { type: 'string' },
    tracing: { type: 'string', default: 'on' },
    streams: { type: 'string', default: 'on' },
    upstream: { type: 'string', default: 'fake' },
  },
});
const rounds = Number(args.rounds);
const durationS = Number(args.duration);
const warmupS = Number(args.warmup);
const ttftCount = Number(args.ttft);
/** Tracing's cost is a side question: at most two rounds of it. */
const TRACING_ROUNDS = Math.min(rounds, 2);
const scenarios = SCENARIOS.filter((s) => args.only === undefined || s.id.includes(args.only));

interface Target {
  name: TargetName;
  origin: string;
  /** The proxy process whose CPU and memory are measured; none for direct. */
  pid: number | undefined;
  /** The client key's secret its load sends (the gateways'); the proxies forward whatever comes. */
  key: string | undefined;
}

function targetsOf(stack: Stack): Map<TargetName, Target> {
  const { hops, variants } = stack;
  const list: (Target | undefined)[] = [
    { name: 'direct', origin: stack.mock.url, pid: undefined, key: undefined },
    stack.nginx && { name: 'nginx', origin: stack.nginx.url, pid: stack.nginx.pid, key: undefined },
    hops.stream && { name: 'hop-stream', origin: hops.stream.url, pid: hops.stream.pid, key: undefined },
    hops.parse && { name: 'hop-parse', origin: hops.parse.url, pid: hops.parse.pid, key: undefined },
    { name: 'gateway', origin: stack.gateway.url, pid: stack.gateway.pid, key: stack.gateway.key },
    variants['keys-10k'] && { name: 'gateway-10k', origin: variants['keys-10k'].url, pid: variants['keys-10k'].pid, key: variants['keys-10k'].key },
    variants.leased && { name: 'gateway-leased', origin: variants.leased.url, pid: variants.leased.pid, key: variants.leased.key },
    variants.lean && { name: 'gateway-lean', origin: variants.lean.url, pid: variants.lean.pid, key: variants.lean.key },
  ];
  return new Map(list.filter((t): t is Target => t !== undefined).map((t) => [t.name, t]));
}

/** The key a scenario's load sends to a target: the config key in the config-key scenarios, else the target's own. */
const keyFor = (target: Target, scenario: Scenario): string | undefined => (scenario.key === 'config' ? undefined : target.key);

async function measure(target: Target, upstreamPid: number, scenario: Scenario, round: number): Promise<Run> {
  const key = keyFor(target, scenario);
  await runLoad(target.origin, scenario, warmupS, key); // JIT, connection pools
  const pid = target.pid;
  const cpuBefore = pid === undefined ? NaN : cpuNs(pid);
  const upstreamBefore = cpuNs(upstreamPid);
  if (pid !== undefined) resetPeakRss(pid);
  const load: LoadResult = await runLoad(target.origin, scenario, durationS, key);
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
    `  [round ${run.round + 1}/${rounds}] ${label.padEnd(44)} ${run.target.padEnd(12)} ` +
      `${load.rps.toFixed(0).padStart(6)} req/s  p50 ${load.p50.toFixed(3)}  p99 ${load.p99.toFixed(3)}  p99.9 ${load.p999.toFixed(3)} ms${cpu}` +
      `  (upstream ${run.upstreamCpuUs.toFixed(0)}, load gen. ${load.generatorCpuUs.toFixed(0)} µs/req)${failed}`,
  );
}

/** One request of every scenario through each of its targets, so a broken setup fails at once rather than as numbers. */
async function smokeTest(targets: Map<TargetName, Target>): Promise<void> {
  for (const scenario of scenarios) {
    for (const name of scenario.targets) {
      const target = targets.get(name);
      if (target === undefined) continue;
      const request = requestOf(scenario, keyFor(target, scenario));
      const res = await fetch(target.origin + request.path, { method: request.method, headers: request.headers, body: request.body });
      const body = await res.text();
      if (res.status !== 200) throw new Error(`${name} answers ${scenario.id} with ${res.status}: ${body.slice(0, 300)}`);
    }
  }
}

/** Mock events paced this far apart, for the time-to-first-token phase. */
const TTFT_EVENT_GAP_MS = 2;

async function firstTokens(): Promise<Map<string, TtftResult>> {
  console.log(`\nTime to first token: fresh processes, stream events ${TTFT_EVENT_GAP_MS} ms apart, ${ttftCount} sequential streams per target...`);
  const stack = await startStack({ hops: ['stream', 'parse'], mock: { chunkDelayMs: TTFT_EVENT_GAP_MS, streamChunks: 1 } });
  try {
    const stream = SCENARIOS.find((s) => s.id === 'stream-c50')!;
    for (const hop of [stack.hops.stream!, stack.hops.parse!]) await runLoad(hop.url, stream, 1); // JIT
    await runLoad(stack.gateway.url, stream, 1, stack.gateway.key);
    return await measureTtft(
      [
        { name: 'direct', origin: stack.mock.url },
        { name: 'hop-stream', origin: stack.hops.stream!.url },
        { name: 'hop-parse', origin: stack.hops.parse!.url },
        { name: 'gateway', origin: stack.gateway.url, key: stack.gateway.key },
      ],
      ttftCount,
    );
  } finally {
    await stack.stop();
  }
}

/** 10,000 idle streams through one gateway (bench/streams.ts, which writes streams-latest.*), in a process of its own. */
function idleStreams(): void {
  console.log('\nIdle streams: bench/streams.ts...');
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'bench/streams.ts'], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) console.warn(`bench/streams.ts exited with ${result.status ?? result.signal}: the streams row is the last one written`);
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const startedAt = new Date();
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(`Machine: ${machineLine(machine)}`);
  const stack = await startStack({
    hops: ['stream', 'parse'],
    nginx: true,
    variants: ['keys-10k', 'leased', 'lean'],
    upstream: args.upstream === 'mock' ? 'mock' : 'fake',
  });
  console.log(stack.redisLine);
  console.log(stack.metricsLine);
  console.log(stack.keysLine);
  console.log(`Load generator: ${loadGenerator}; nginx: ${stack.nginx === undefined ? 'not installed' : 'on'}`);
  const targets = targetsOf(stack);
  let redisClients: number | undefined;
  const runs: Run[] = [];
  try {
    await smokeTest(targets);
    const perRun = warmupS + durationS;
    const measured = scenarios.reduce((n, s) => n + s.targets.filter((t) => targets.has(t)).length, 0);
    const total = rounds * measured * perRun;
    console.log(`\n${rounds} rounds x ${measured} scenario-target pairs x ${perRun} s = about ${Math.ceil(total / 60)} min, then the side phases\n`);
    for (let round = 0; round < rounds; round++) {
      for (const scenario of scenarios) {
        const mine = scenario.targets.flatMap((name) => targets.get(name) ?? []);
        for (let k = 0; k < mine.length; k++) {
          const target = mine[(round + k) % mine.length]!; // a different target goes first each round
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
  const tracing = args.tracing === 'off' ? undefined : await measureTracingCost({ rounds: TRACING_ROUNDS, warmupS, durationS });

  console.log('\nKey lookup: 1 API key against 10,000...');
  const keyLookup = measureKeyLookup();
  if (args.streams !== 'off') idleStreams();
  const summary = summarise(runs, scenarios, ttft);
  const streams = readJson<StreamsResult>('streams-latest.json');
  const setup = {
    machine,
    startedAt: startedAt.toISOString(),
    elapsedS: (Date.now() - startedAt.getTime()) / 1000,
    command,
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
  const markdown =
    renderMarkdown(setup, summary, targetChecks, streams) +
    (tracing === undefined ? '' : `\n\n${renderTracingCost(tracing, TRACING_ROUNDS)}\n`) +
    `\n\n${renderKeyLookup(keyLookup)}\n`;
  console.log(`\n${markdown}`);
  const files = writeResults('latest', markdown, { setup, summary, checks: targetChecks, runs, tracing, keyLookup }, stamp(startedAt));
  console.log(`written: ${files.join(', ')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
