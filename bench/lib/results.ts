// From raw runs to the tables and target checks that `npm run bench` prints and writes.
import type { LoadResult, Scenario } from './load.js';
import { machineLine, markdownTable, num, ratio, type Machine } from './report.js';
import { median } from './stats.js';
import type { TtftResult } from './ttft.js';

export type TargetName = 'direct' | 'nginx' | 'hop' | 'gateway';
const TARGETS: TargetName[] = ['direct', 'nginx', 'hop', 'gateway'];
const TARGET_LABEL: Record<TargetName, string> = { direct: 'direct to upstream', nginx: 'nginx', hop: 'reference hop', gateway: 'gateway' };

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
  addedP50: number;
  addedMean: number;
  cpuUsPerRequest: number;
  peakRssMiB: number;
  upstreamCpuUs: number;
  generatorCpuUs: number;
  failures: number;
}

export interface RatioRow {
  scenario: string;
  label: string;
  rps: number;
  addedP50: number;
  cpu: number;
  peakRss: number;
  /** Gateway / nginx, when nginx ran. */
  nginx?: { rps: number; addedP50: number; cpu: number };
}

export interface TtftRow extends TtftResult {
  target: TargetName;
  addedP50: number;
  addedMean: number;
}

export interface Summary {
  rows: Row[];
  ratios: RatioRow[];
  ttft: TtftRow[];
}

export function summarise(runs: Run[], scenarios: Scenario[], ttft: Map<string, TtftResult> | undefined): Summary {
  const rows: Row[] = [];
  const ratios: RatioRow[] = [];
  for (const scenario of scenarios) {
    const of = (target: TargetName): Run[] => runs.filter((r) => r.scenario === scenario.id && r.target === target);
    const direct = of('direct');
    const added = (run: Run, field: 'p50' | 'mean'): number =>
      run.load[field] - (direct.find((d) => d.round === run.round)?.load[field] ?? NaN);
    const byTarget = new Map<TargetName, Row>();
    for (const target of TARGETS) {
      const mine = of(target);
      if (mine.length === 0) continue;
      const row: Row = {
        scenario: scenario.id,
        label: scenario.label,
        target,
        rps: median(mine.map((r) => r.load.rps)),
        p50: median(mine.map((r) => r.load.p50)),
        p99: median(mine.map((r) => r.load.p99)),
        addedP50: target === 'direct' ? NaN : median(mine.map((r) => added(r, 'p50'))),
        addedMean: target === 'direct' ? NaN : median(mine.map((r) => added(r, 'mean'))),
        cpuUsPerRequest: median(mine.map((r) => r.cpuUsPerRequest)),
        peakRssMiB: Math.max(...mine.map((r) => r.peakRssMiB)),
        upstreamCpuUs: median(mine.map((r) => r.upstreamCpuUs)),
        generatorCpuUs: median(mine.map((r) => r.load.generatorCpuUs)),
        failures: mine.reduce((n, r) => n + r.load.failures, 0),
      };
      rows.push(row);
      byTarget.set(target, row);
    }
    const gw = byTarget.get('gateway');
    const hop = byTarget.get('hop');
    const nginx = byTarget.get('nginx');
    if (gw !== undefined && hop !== undefined) {
      ratios.push({
        scenario: scenario.id,
        label: scenario.label,
        rps: gw.rps / hop.rps,
        addedP50: gw.addedP50 / hop.addedP50,
        cpu: gw.cpuUsPerRequest / hop.cpuUsPerRequest,
        peakRss: gw.peakRssMiB / hop.peakRssMiB,
        ...(nginx === undefined
          ? {}
          : { nginx: { rps: gw.rps / nginx.rps, addedP50: gw.addedP50 / nginx.addedP50, cpu: gw.cpuUsPerRequest / nginx.cpuUsPerRequest } }),
      });
    }
  }
  const direct = ttft?.get('direct');
  const ttftRows: TtftRow[] = TARGETS.flatMap((target) => {
    const t = ttft?.get(target);
    if (t === undefined) return [];
    const addedP50 = target === 'direct' || direct === undefined ? NaN : t.p50 - direct.p50;
    const addedMean = target === 'direct' || direct === undefined ? NaN : t.mean - direct.mean;
    return [{ target, ...t, addedP50, addedMean }];
  });
  return { rows, ratios, ttft: ttftRows };
}

/** What `npm run bench:streams` writes to bench/results/streams-latest.json. */
export interface StreamsResult {
  startedAt: string;
  finishedAt: string;
  machine: Machine;
  redis: string;
  metrics: string;
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

/** The targets of issue 16, as ratios to the reference hop in the same run. */
export const TARGETS_OF_RUN = { cpu: 1.0, addedC1: 1.2, streamRps: 0.9, ttftOverHopMs: 0.3, streamsRssMiB: 250 } as const;

export function checks(summary: Summary, streams: StreamsResult | undefined, features: { redis: boolean; metrics: boolean }): Check[] {
  const ratioOf = (id: string): RatioRow | undefined => summary.ratios.find((r) => r.scenario === id);
  const result: Check[] = [];
  const off = [features.redis ? '' : 'Redis', features.metrics ? '' : 'metrics'].filter(Boolean);
  const caveat = off.length === 0 ? '' : ` (${off.join(' and ')} off in this run)`;
  const t = TARGETS_OF_RUN;
  for (const id of ['chat-c50', 'chat-c50-conv']) {
    const r = ratioOf(id);
    if (r === undefined) continue;
    result.push({ target: `CPU per plain chat request, gateway / hop <= ${t.cpu.toFixed(1)} [${id}]${caveat}`, measured: ratio(r.cpu), pass: r.cpu <= t.cpu });
  }
  for (const id of ['chat-c1-conv', 'chat-c1']) {
    const r = ratioOf(id);
    if (r === undefined) continue;
    result.push({ target: `latency added at c=1 (p50), gateway / hop <= ${t.addedC1} [${id}]`, measured: ratio(r.addedP50), pass: r.addedP50 <= t.addedC1 });
  }
  for (const id of ['stream-c50', 'stream-c50-conv', 'responses-c50', 'responses-c50-conv']) {
    const r = ratioOf(id);
    if (r === undefined) continue;
    result.push({ target: `streamed throughput, gateway / hop >= ${t.streamRps} [${id}]`, measured: ratio(r.rps), pass: r.rps >= t.streamRps });
  }
  const gwTtft = summary.ttft.find((x) => x.target === 'gateway');
  const hopTtft = summary.ttft.find((x) => x.target === 'hop');
  if (gwTtft !== undefined && hopTtft !== undefined) {
    const over = gwTtft.p50 - hopTtft.p50;
    result.push({ target: `time to first token (p50), gateway minus hop <= ${t.ttftOverHopMs} ms`, measured: `${num(over, 3)} ms`, pass: over <= t.ttftOverHopMs });
  }
  if (streams === undefined) {
    result.push({ target: `10,000 idle streams under ${t.streamsRssMiB} MiB RSS`, measured: 'not measured: run `npm run bench:streams`', pass: undefined });
  } else {
    const check = streamsCheck(streams);
    result.push({ ...check, target: `${check.target} (bench:streams of ${streams.finishedAt.slice(0, 16)})` });
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

export interface Setup {
  machine: Machine;
  startedAt: string;
  rounds: number;
  durationS: number;
  warmupS: number;
  ttftEventGapMs: number;
  redis: string;
  metrics: string;
  /** Absent in results written before the bench config had a limited key. */
  keys?: string;
  loadGenerator?: string;
  upstream?: string;
}

export function renderMarkdown(setup: Setup, summary: Summary, targetChecks: Check[], streams: StreamsResult | undefined): string {
  const ms = (v: number): string => num(v, 3);
  const results = markdownTable(
    ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'added p50 ms', 'added mean ms', 'CPU µs/req', 'peak RSS MiB', 'upstream CPU µs/req', 'load gen. CPU µs/req'],
    summary.rows.map((r) => [
      r.target === 'direct' ? r.label : '',
      TARGET_LABEL[r.target] + (r.failures > 0 ? ` (${r.failures} failed)` : ''),
      num(r.rps),
      ms(r.p50),
      ms(r.p99),
      ms(r.addedP50),
      ms(r.addedMean),
      num(r.cpuUsPerRequest),
      num(r.peakRssMiB),
      num(r.upstreamCpuUs),
      num(r.generatorCpuUs),
    ]),
  );
  const ratios = markdownTable(
    ['scenario', 'req/s', 'added p50', 'CPU/req', 'peak RSS', 'req/s vs nginx', 'added p50 vs nginx', 'CPU/req vs nginx'],
    summary.ratios.map((r) => [
      r.label,
      ratio(r.rps),
      ratio(r.addedP50),
      ratio(r.cpu),
      ratio(r.peakRss),
      ratio(r.nginx?.rps),
      ratio(r.nginx?.addedP50),
      ratio(r.nginx?.cpu),
    ]),
  );
  const ttft = markdownTable(
    ['target', 'TTFT p50 ms', 'TTFT p99 ms', 'TTFT mean ms', 'added p50 ms', 'added mean ms'],
    summary.ttft.map((t) => [TARGET_LABEL[t.target], ms(t.p50), ms(t.p99), ms(t.mean), ms(t.addedP50), ms(t.addedMean)]),
  );
  const lines = [
    `## Gateway benchmark, ${setup.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${machineLine(setup.machine)}`,
    `- ${setup.redis}`,
    `- ${setup.metrics}`,
    ...(setup.keys === undefined ? [] : [`- ${setup.keys}`]),
    `- Method: ${setup.rounds} rounds; in each, every scenario runs against each target in turn (${setup.warmupS} s warm-up, ` +
      `${setup.durationS} s measured); medians over rounds. Load generator: ${setup.loadGenerator ?? 'autocannon'}, in a process of its own ` +
      `(its CPU is counted apart: last column). Upstream: ${setup.upstream ?? 'the mock'}, in a process of its own. ` +
      `CPU is the measured process's own (${setup.machine.cpuTimeSource}) divided by responses; "added" is the target minus direct in the same round. ` +
      'Every request uses the limited client key; conversation scenarios send the same X-Conversation-Id on every request.',
    '',
    '### Results',
    '',
    results,
    '',
    '### Gateway / reference hop (and / nginx, when installed)',
    '',
    ratios,
    '',
    `### Time to first token (sequential streamed chats; fresh processes, mock events ${setup.ttftEventGapMs} ms apart)`,
    '',
    ttft,
    '',
  ];
  if (streams !== undefined) {
    lines.push('### 10,000 idle streams (from `npm run bench:streams`)', '', streamsSummary(streams), '');
  }
  lines.push('### Targets', '', '```', ...targetChecks.map(checkLine), '```', '');
  return lines.join('\n');
}

export function streamsSummary(s: StreamsResult): string {
  return markdownTable(
    ['streams open', 'gateway RSS idle MiB', 'RSS with streams MiB', 'peak RSS MiB', 'per stream KiB', `RSS at ${num(s.streamsWanted)} MiB`, 'gateway fds'],
    [
      [
        num(s.streamsOpen),
        num(s.gateway.idleRssMiB),
        num(s.gateway.rssMiB),
        num(s.gateway.peakRssMiB),
        num(s.gateway.perStreamKiB, 1),
        s.extrapolatedRssMiB === undefined ? num(s.gateway.peakRssMiB) : `${num(s.extrapolatedRssMiB)} (extrapolated)`,
        `${num(s.gateway.openFds)} of ${num(s.gateway.fdLimit)}`,
      ],
    ],
  );
}
