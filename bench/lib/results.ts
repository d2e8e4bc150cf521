// From raw runs to the summary and the target checks that `npm run bench` prints and writes.
import { HOPS, type HopName, type LoadResult, type Scenario, type TargetName } from './load.js';
import { num, ratio, type Machine } from './report.js';
import { median } from './stats.js';
import type { TtftResult } from './ttft.js';

export type { TargetName };
const TARGETS: TargetName[] = ['direct', 'nginx', 'hop-stream', 'hop-parse', 'gateway', 'gateway-10k', 'gateway-leased', 'gateway-lean'];

export interface Run {
  round: number;
  scenario: string;
  target: TargetName;
  load: LoadResult;
  /** CPU time of the proxy process per response, µs (NaN for direct). */
  cpuUsPerRequest: number;
  /** VmHWM of the proxy process during the measured run, MiB (NaN for direct). */
  peakRssMiB: number;
  /** CPU time of the upstream process per response, µs. */
  upstreamCpuUs: number;
}

/** Medians over rounds; "added" values are medians of per-round differences to direct. */
export interface Row {
  scenario: string;
  label: string;
  target: TargetName;
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  addedP50: number;
  addedP99: number;
  addedMean: number;
  cpuUsPerRequest: number;
  peakRssMiB: number;
  upstreamCpuUs: number;
  generatorCpuUs: number;
  failures: number;
}

/** One target over another in one scenario: throughput, CPU per request, added latency, peak RSS. */
export interface Ratio {
  rps: number;
  cpu: number;
  addedP50: number;
  addedP99: number;
  peakRss: number;
}

export interface RatioRow {
  scenario: string;
  label: string;
  /** Gateway / the reference hop. */
  hop: Ratio;
  /** Gateway / nginx, when nginx ran. */
  nginx?: Ratio;
}

/** The cheaper hop of the run, by the geometric mean of its CPU per request over the scenarios both ran. */
export interface Reference {
  hop: HopName;
  /** Geometric mean CPU µs per request of each hop over those scenarios. */
  cpu: Record<HopName, number>;
  scenarios: number;
}

export interface TtftRow extends TtftResult {
  target: TargetName;
  addedP50: number;
  addedMean: number;
}

export interface Summary {
  rows: Row[];
  reference: Reference;
  ratios: RatioRow[];
  ttft: TtftRow[];
}

export const rowOf = (rows: Row[], scenario: string, target: TargetName): Row | undefined =>
  rows.find((r) => r.scenario === scenario && r.target === target);

/**
 * Added latency over added latency; none when either is not above zero (on a loaded machine direct's own
 * tail can exceed a proxy's, and a ratio of such differences means nothing).
 */
const addedRatio = (a: number, b: number): number => (a > 0 && b > 0 ? a / b : NaN);

/** a / b on every field. */
export function ratioOf(a: Row, b: Row): Ratio {
  return {
    rps: a.rps / b.rps,
    cpu: a.cpuUsPerRequest / b.cpuUsPerRequest,
    addedP50: addedRatio(a.addedP50, b.addedP50),
    addedP99: addedRatio(a.addedP99, b.addedP99),
    peakRss: a.peakRssMiB / b.peakRssMiB,
  };
}

function rowsOf(runs: Run[], scenario: Scenario): Row[] {
  const of = (target: TargetName): Run[] => runs.filter((r) => r.scenario === scenario.id && r.target === target);
  const direct = of('direct');
  const added = (run: Run, field: 'p50' | 'p99' | 'mean'): number => run.load[field] - (direct.find((d) => d.round === run.round)?.load[field] ?? NaN);
  return TARGETS.flatMap((target): Row[] => {
    const mine = of(target);
    if (mine.length === 0) return [];
    const addedMedian = (field: 'p50' | 'p99' | 'mean'): number => (target === 'direct' ? NaN : median(mine.map((r) => added(r, field))));
    return [
      {
        scenario: scenario.id,
        label: scenario.label,
        target,
        rps: median(mine.map((r) => r.load.rps)),
        p50: median(mine.map((r) => r.load.p50)),
        p99: median(mine.map((r) => r.load.p99)),
        p999: median(mine.map((r) => r.load.p999)),
        addedP50: addedMedian('p50'),
        addedP99: addedMedian('p99'),
        addedMean: addedMedian('mean'),
        cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
        peakRssMiB: Math.max(...mine.map((r) => r.peakRssMiB)),
        upstreamCpuUs: median(mine.map((r) => r.upstreamCpuUs)),
        generatorCpuUs: median(mine.map((r) => r.load.generatorCpuUs)),
        failures: mine.reduce((n, r) => n + r.load.failures, 0),
      },
    ];
  });
}

export function chooseReference(rows: Row[]): Reference {
  const scenarios = [...new Set(rows.map((r) => r.scenario))].filter((id) => HOPS.every((hop) => Number.isFinite(rowOf(rows, id, hop)?.cpuUsPerRequest)));
  const geomean = (hop: HopName): number =>
    scenarios.length === 0 ? NaN : Math.exp(scenarios.reduce((sum, id) => sum + Math.log(rowOf(rows, id, hop)!.cpuUsPerRequest), 0) / scenarios.length);
  const cpu = { 'hop-stream': geomean('hop-stream'), 'hop-parse': geomean('hop-parse') };
  // With one hop measured (or none), that one.
  const present = HOPS.filter((hop) => rows.some((r) => r.target === hop));
  const hop = present.length === 1 ? present[0]! : cpu['hop-parse'] < cpu['hop-stream'] ? 'hop-parse' : 'hop-stream';
  return { hop, cpu, scenarios: scenarios.length };
}

export function summarise(runs: Run[], scenarios: Scenario[], ttft: Map<string, TtftResult> | undefined): Summary {
  const rows = scenarios.flatMap((s) => rowsOf(runs, s));
  const reference = chooseReference(rows);
  const ratios: RatioRow[] = scenarios.flatMap((scenario): RatioRow[] => {
    const gw = rowOf(rows, scenario.id, 'gateway');
    const hop = rowOf(rows, scenario.id, reference.hop);
    if (gw === undefined || hop === undefined) return [];
    const nginx = rowOf(rows, scenario.id, 'nginx');
    return [{ scenario: scenario.id, label: scenario.label, hop: ratioOf(gw, hop), ...(nginx === undefined ? {} : { nginx: ratioOf(gw, nginx) }) }];
  });
  const direct = ttft?.get('direct');
  const ttftRows: TtftRow[] = TARGETS.flatMap((target) => {
    const t = ttft?.get(target);
    if (t === undefined) return [];
    const addedP50 = target === 'direct' || direct === undefined ? NaN : t.p50 - direct.p50;
    const addedMean = target === 'direct' || direct === undefined ? NaN : t.mean - direct.mean;
    return [{ target, ...t, addedP50, addedMean }];
  });
  return { rows, reference, ratios, ttft: ttftRows };
}

/** What `npm run bench:streams` writes to bench/results/streams-latest.json. */
export interface StreamsResult {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  redis: string;
  metrics: string;
  /** Absent in results written before the streams bench used the keys store. */
  keys?: string;
  streamsWanted: number;
  /** Streams that had received their first chunk when memory was sampled. */
  streamsOpen: number;
  /** Set when fewer than streamsWanted could be opened: idle RSS + per-stream RSS x streamsWanted. */
  extrapolatedRssMiB?: number;
  failed: number;
  lastError?: string;
  /** Seconds from the first connection to the last first chunk. */
  openSeconds: number;
  gateway: {
    idleRssMiB: number;
    rssMiB: number;
    peakRssMiB: number;
    perStreamKiB: number;
    openFds: number;
    fdLimit: number;
    /** Open descriptors a few seconds after every client has gone. */
    openFdsAfterClose: number;
  };
  mockRssMiB: number;
}

export interface Check {
  target: string;
  measured: string;
  /** undefined: not measured in this run. */
  pass: boolean | undefined;
}

/** The goals of issue 26, as ratios to the reference hop (or between gateway variants) in the same run. */
export const TARGETS_OF_RUN = {
  cpuPlain: 1.0,
  cpuStream: 1.2,
  streamRps: 0.9,
  addedC1P50: 1.2,
  addedC1P99: 1.5,
  streamsRssMiB: 250,
  /** "Costs nothing measurable": within this of the gateway without the feature, CPU per request. */
  unusedFeature: 1.05,
  ttftOverHopMs: 0.3,
} as const;

export function checks(summary: Summary, streams: StreamsResult | undefined, features: { redis: boolean; metrics: boolean }): Check[] {
  const t = TARGETS_OF_RUN;
  const hopRatio = (id: string): Ratio | undefined => summary.ratios.find((r) => r.scenario === id)?.hop;
  const off = [features.redis ? '' : 'Redis', features.metrics ? '' : 'metrics'].filter(Boolean);
  const caveat = off.length === 0 ? '' : ` (${off.join(' and ')} off in this run)`;
  const result: Check[] = [];
  const check = (ids: string[], what: string, value: (r: Ratio) => number, limit: number, atMost: boolean): void => {
    for (const id of ids) {
      const r = hopRatio(id);
      if (r === undefined) continue;
      const v = value(r);
      if (!Number.isFinite(v)) {
        result.push({ target: `${what} ${atMost ? '<=' : '>='} ${limit.toFixed(1)} [${id}]${caveat}`, measured: 'no ratio: an added latency not above zero (direct\'s own tail)', pass: undefined });
        continue;
      }
      result.push({ target: `${what} ${atMost ? '<=' : '>='} ${limit.toFixed(1)} [${id}]${caveat}`, measured: ratio(v), pass: atMost ? v <= limit : v >= limit });
    }
  };
  check(['stream-c50', 'responses-c50'], 'CPU per streamed request, gateway / hop', (r) => r.cpu, t.cpuStream, true);
  check(['stream-c50', 'responses-c50'], 'streamed throughput at c=50, gateway / hop', (r) => r.rps, t.streamRps, false);
  check(['chat-c50'], 'CPU per plain chat request, gateway / hop', (r) => r.cpu, t.cpuPlain, true);
  check(['chat-c1', 'stream-c1', 'responses-c1'], 'latency added at c=1 (p50), gateway / hop', (r) => r.addedP50, t.addedC1P50, true);
  check(['chat-c1', 'stream-c1', 'responses-c1'], 'latency added at c=1 (p99), gateway / hop', (r) => r.addedP99, t.addedC1P99, true);
  if (streams === undefined) {
    result.push({ target: `10,000 idle streams under ${t.streamsRssMiB} MiB RSS`, measured: 'not measured: run `npm run bench:streams`', pass: undefined });
  } else {
    const c = streamsCheck(streams);
    result.push({ ...c, target: `${c.target} (bench:streams of ${streams.finishedAt.slice(0, 16)})` });
  }
  for (const [id, a, b, what] of [
    ['chat-c50-config-key', 'gateway', 'gateway-lean', 'keys store, ledger and Messages upstream configured, on a request using none (config key), CPU / without them'],
    ['chat-c1-config-key', 'gateway', 'gateway-lean', 'keys store, ledger and Messages upstream configured, on a request using none (config key), p50 / without them'],
    ['chat-c50', 'gateway-10k', 'gateway', '10,000 API keys in the store, CPU / one'],
  ] as const) {
    const x = rowOf(summary.rows, id, a);
    const y = rowOf(summary.rows, id, b);
    if (x === undefined || y === undefined) continue;
    const v = what.includes('p50') ? x.p50 / y.p50 : x.cpuUsPerRequest / y.cpuUsPerRequest;
    result.push({ target: `${what} <= ${t.unusedFeature} [${id}]`, measured: ratio(v), pass: v <= t.unusedFeature });
  }
  const gwTtft = summary.ttft.find((x) => x.target === 'gateway');
  const hopTtft = summary.ttft.find((x) => x.target === summary.reference.hop);
  if (gwTtft !== undefined && hopTtft !== undefined) {
    const over = gwTtft.p50 - hopTtft.p50;
    result.push({ target: `time to first token (p50), gateway minus hop <= ${t.ttftOverHopMs} ms (issue 16)`, measured: `${num(over, 3)} ms`, pass: over <= t.ttftOverHopMs });
  }
  return result;
}

export function streamsCheck(s: StreamsResult): Check {
  const limit = TARGETS_OF_RUN.streamsRssMiB;
  const target = `${num(s.streamsWanted)} idle streams under ${limit} MiB RSS`;
  if (s.extrapolatedRssMiB === undefined) {
    return { target, measured: `${num(s.gateway.peakRssMiB)} MiB peak with ${num(s.streamsOpen)} streams open`, pass: s.gateway.peakRssMiB < limit };
  }
  return {
    target,
    measured:
      `${num(s.extrapolatedRssMiB)} MiB extrapolated (${num(s.gateway.rssMiB)} MiB measured with ${num(s.streamsOpen)} ` +
      `streams, all the open-file limit allowed)`,
    pass: s.extrapolatedRssMiB < limit,
  };
}

export function checkLine(c: Check): string {
  return `${c.pass === undefined ? 'N/A ' : c.pass ? 'PASS' : 'FAIL'}  ${c.target}: ${c.measured}`;
}
