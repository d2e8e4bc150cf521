// The cost of tracing: the gateway with tracing off (no `tracing` section: the code path without any
// tracing) against the same config with `tracing.otlpEndpoint` set, exporting every span to a local sink,
// alternating the two for several rounds on one Redis and one mock.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad, SCENARIOS, type LoadResult, type Scenario } from './load.js';
import { cpuNs } from './proc-stats.js';
import { markdownTable, num, ratio } from './report.js';
import { startBenchGateway, startStack, type BenchGateway } from './stack.js';
import { median } from './stats.js';

/** Plain chat at c=1 (latency) and c=50 (CPU), and streams at c=50, each with a conversation (Redis spans). */
const TRACED_SCENARIOS = ['chat-c1', 'chat-c50', 'stream-c50'];

type Mode = 'off' | 'on';

export interface TracingCostRow {
  scenario: string;
  label: string;
  mode: Mode;
  rps: number;
  p50: number;
  cpuUsPerRequest: number;
  failures: number;
}

export interface TracingCost {
  rows: TracingCostRow[];
  /** What the sink received from the traced gateway. */
  exports: number;
  exportedBytes: number;
}

/** An OTLP/HTTP receiver that reads and drops what it is sent, in this (the load generator's) process. */
async function startOtlpSink(): Promise<{ url: string; received: () => { exports: number; bytes: number }; stop: () => Promise<void> }> {
  let exports = 0;
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      exports += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    received: () => ({ exports, bytes }),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function measure(gateway: BenchGateway, scenario: Scenario, warmupS: number, durationS: number): Promise<LoadResult & { cpuUsPerRequest: number }> {
  await runLoad(gateway.url, scenario, warmupS, gateway.key);
  const before = cpuNs(gateway.pid);
  const load = await runLoad(gateway.url, scenario, durationS, gateway.key);
  return { ...load, cpuUsPerRequest: (cpuNs(gateway.pid) - before) / 1000 / load.responses };
}

export async function measureTracingCost(options: { rounds: number; warmupS: number; durationS: number }): Promise<TracingCost> {
  const sink = await startOtlpSink();
  const stack = await startStack({ upstream: 'fake' });
  let traced: BenchGateway | undefined;
  try {
    traced = await startBenchGateway({ variant: 'full', upstream: stack.mock.url, redisUrl: stack.redis?.server.url, tracingEndpoint: sink.url });
    const gateways: Record<Mode, BenchGateway> = { off: stack.gateway, on: traced };
    const scenarios = SCENARIOS.filter((s) => TRACED_SCENARIOS.includes(s.id));
    const runs: { scenario: Scenario; mode: Mode; result: Awaited<ReturnType<typeof measure>> }[] = [];
    for (let round = 0; round < options.rounds; round++) {
      for (const scenario of scenarios) {
        // Which goes first alternates by round.
        for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
          const result = await measure(gateways[mode], scenario, options.warmupS, options.durationS);
          runs.push({ scenario, mode, result });
          console.log(
            `  [tracing ${round + 1}/${options.rounds}] ${scenario.label.padEnd(48)} tracing ${mode.padEnd(3)} ` +
              `${result.rps.toFixed(0).padStart(6)} req/s  p50 ${result.p50.toFixed(3)} ms  cpu ${result.cpuUsPerRequest.toFixed(0)} µs/req`,
          );
        }
      }
    }
    const rows = scenarios.flatMap((scenario) =>
      (['off', 'on'] as const).map((mode): TracingCostRow => {
        const mine = runs.filter((r) => r.scenario === scenario && r.mode === mode).map((r) => r.result);
        return {
          scenario: scenario.id,
          label: scenario.label,
          mode,
          rps: median(mine.map((r) => r.rps)),
          p50: median(mine.map((r) => r.p50)),
          cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
          failures: mine.reduce((n, r) => n + r.failures, 0),
        };
      }),
    );
    // Stopping the traced gateway flushes its last batch.
    await traced.stop();
    traced = undefined;
    const { exports, bytes } = sink.received();
    return { rows, exports, exportedBytes: bytes };
  } finally {
    await traced?.stop();
    await stack.stop();
    await sink.stop();
  }
}

export function renderTracingCost(cost: TracingCost, rounds: number): string {
  const byScenario = new Map<string, Partial<Record<Mode, TracingCostRow>>>();
  for (const row of cost.rows) byScenario.set(row.scenario, { ...byScenario.get(row.scenario), [row.mode]: row });
  const table = markdownTable(
    ['scenario', 'tracing off: req/s', 'p50 ms', 'CPU µs/req', 'tracing on: req/s', 'p50 ms', 'CPU µs/req', 'CPU on/off', 'failures'],
    [...byScenario.values()].map(({ off, on }) => [
      off!.label,
      num(off!.rps),
      num(off!.p50, 3),
      num(off!.cpuUsPerRequest),
      num(on!.rps),
      num(on!.p50, 3),
      num(on!.cpuUsPerRequest),
      ratio(on!.cpuUsPerRequest / off!.cpuUsPerRequest),
      num(off!.failures + on!.failures),
    ]),
  );
  return [
    '## Tracing',
    '',
    'Tracing off is the config without `tracing.otlpEndpoint`: no tracing object, hook or wrapper exists, so its',
    'cost is none by construction (the rows above are this same path). Tracing on exports every span (server,',
    `Redis, upstream attempts) in batches over OTLP/HTTP to a sink in the load generator's process. ${rounds} rounds, medians.`,
    '',
    table,
    '',
    `The sink received ${num(cost.exports)} export requests, ${num(cost.exportedBytes / 2 ** 20, 1)} MiB.`,
  ].join('\n');
}
