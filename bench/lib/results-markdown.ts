// The markdown of `npm run bench`'s results: bench/results/latest.md.
import type { TargetName } from './load.js';
import { machineLine, markdownTable, num, ratio, type Machine } from './report.js';
import { checkLine, ratioOf, rowOf, type Check, type StreamsResult, type Summary } from './results.js';

export const TARGET_LABEL: Record<TargetName, string> = {
  direct: 'direct to upstream',
  nginx: 'nginx',
  'hop-stream': 'hop, body streamed',
  'hop-parse': 'hop, body parsed',
  gateway: 'gateway',
  'gateway-10k': 'gateway, 10,000 keys',
  'gateway-leased': 'gateway, leased limits',
  'gateway-lean': 'gateway, features off',
};

export interface Setup {
  machine: Machine;
  startedAt: string;
  /** Seconds the whole run took, when known. */
  elapsedS?: number;
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
  /** The command that produced the run. */
  command?: string;
}

const ms = (v: number): string => num(v, 3);

function resultsTable(summary: Summary): string {
  return markdownTable(
    ['scenario', 'target', 'req/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'added p50 ms', 'added p99 ms', 'CPU µs/req', 'peak RSS MiB', 'upstream CPU µs/req', 'load gen. CPU µs/req'],
    summary.rows.map((r, i) => [
      i === 0 || summary.rows[i - 1]!.scenario !== r.scenario ? r.label : '',
      TARGET_LABEL[r.target] + (r.target === summary.reference.hop ? ' (reference)' : '') + (r.failures > 0 ? ` (${r.failures} failed)` : ''),
      num(r.rps),
      ms(r.p50),
      ms(r.p99),
      ms(r.p999),
      ms(r.addedP50),
      ms(r.addedP99),
      num(r.cpuUsPerRequest),
      num(r.peakRssMiB),
      num(r.upstreamCpuUs),
      num(r.generatorCpuUs),
    ]),
  );
}

function ratioTable(summary: Summary): string {
  return markdownTable(
    ['scenario', 'CPU/req', 'req/s', 'added p50', 'added p99', 'peak RSS', 'CPU/req vs nginx', 'req/s vs nginx', 'added p50 vs nginx', 'added p99 vs nginx'],
    summary.ratios.map((r) => [
      r.label,
      ratio(r.hop.cpu),
      ratio(r.hop.rps),
      ratio(r.hop.addedP50),
      ratio(r.hop.addedP99),
      ratio(r.hop.peakRss),
      ratio(r.nginx?.cpu),
      ratio(r.nginx?.rps),
      ratio(r.nginx?.addedP50),
      ratio(r.nginx?.addedP99),
    ]),
  );
}

/** The two hops side by side, and the gateway against each. */
function hopsTable(summary: Summary): string {
  const scenarios = [...new Set(summary.rows.map((r) => r.scenario))];
  const rows = scenarios.flatMap((id) => {
    const stream = rowOf(summary.rows, id, 'hop-stream');
    const parse = rowOf(summary.rows, id, 'hop-parse');
    const gw = rowOf(summary.rows, id, 'gateway');
    if (stream === undefined || parse === undefined || gw === undefined) return [];
    return [[stream.label, num(stream.cpuUsPerRequest), num(parse.cpuUsPerRequest), ratio(stream.cpuUsPerRequest / parse.cpuUsPerRequest), ratio(stream.rps / parse.rps), ratio(gw.cpuUsPerRequest / stream.cpuUsPerRequest), ratio(gw.cpuUsPerRequest / parse.cpuUsPerRequest)]];
  });
  return markdownTable(['scenario', 'CPU µs/req, body streamed', 'CPU µs/req, body parsed', 'streamed / parsed CPU', 'streamed / parsed req/s', 'gateway / streamed CPU', 'gateway / parsed CPU'], rows);
}

/** The gateway variants against each other: what unused features and many keys cost. */
function variantsTable(summary: Summary): string {
  const pairs = [
    ['chat-c1-config-key', 'gateway', 'gateway-lean'],
    ['chat-c50-config-key', 'gateway', 'gateway-lean'],
    ['chat-c50', 'gateway-10k', 'gateway'],
    ['chat-c1', 'gateway-leased', 'gateway'],
    ['chat-c50', 'gateway-leased', 'gateway'],
  ] as const;
  const rows = pairs.flatMap(([id, a, b]) => {
    const x = rowOf(summary.rows, id, a);
    const y = rowOf(summary.rows, id, b);
    if (x === undefined || y === undefined) return [];
    const r = ratioOf(x, y);
    return [[x.label, `${TARGET_LABEL[a]} / ${TARGET_LABEL[b]}`, ratio(r.cpu), ratio(r.rps), ratio(x.p50 / y.p50), ratio(x.p99 / y.p99), ratio(x.p999 / y.p999), ratio(r.peakRss)]];
  });
  return markdownTable(['scenario', 'compared', 'CPU/req', 'req/s', 'p50', 'p99', 'p99.9', 'peak RSS'], rows);
}

export function renderMarkdown(setup: Setup, summary: Summary, targetChecks: Check[], streams: StreamsResult | undefined): string {
  const { reference } = summary;
  const ttft = markdownTable(
    ['target', 'TTFT p50 ms', 'TTFT p99 ms', 'TTFT mean ms', 'added p50 ms', 'added mean ms'],
    summary.ttft.map((t) => [TARGET_LABEL[t.target], ms(t.p50), ms(t.p99), ms(t.mean), ms(t.addedP50), ms(t.addedMean)]),
  );
  const referenceLine =
    `Reference hop: **${TARGET_LABEL[reference.hop]}** (${reference.hop === 'hop-parse' ? 'bench/reply-from-hop.ts' : 'bench/reference-hop.ts'}), ` +
    `the cheaper of the two by geometric mean CPU per request over the ${reference.scenarios} scenarios both ran ` +
    `(body streamed ${num(reference.cpu['hop-stream'])} µs, body parsed ${num(reference.cpu['hop-parse'])} µs). Every ratio to "the hop" is to it.`;
  const lines = [
    `## Gateway benchmark, ${setup.startedAt.slice(0, 16).replace('T', ' ')} UTC`,
    '',
    `- Machine: ${machineLine(setup.machine)}`,
    ...(setup.command === undefined ? [] : [`- Command: \`${setup.command}\`${setup.elapsedS === undefined ? '' : `, ${Math.round(setup.elapsedS / 60)} min`}`]),
    `- ${referenceLine}`,
    `- ${setup.redis}`,
    `- ${setup.metrics}`,
    ...(setup.keys === undefined ? [] : [`- ${setup.keys}`]),
    `- Method: ${setup.rounds} rounds; in each, every scenario runs against each of its targets in turn, a different one first each round ` +
      `(${setup.warmupS} s warm-up, ${setup.durationS} s measured); medians over rounds. Load generator: ${setup.loadGenerator ?? 'autocannon'}, ` +
      `in a process of its own (its CPU is counted apart: last column). Upstream: ${setup.upstream ?? 'the mock'}, in a process of its own. ` +
      `CPU is the measured process's own (${setup.machine.cpuTimeSource}) divided by responses; "added" is the target minus direct in the same round ` +
      "(p99 minus direct's p99 for \"added p99\"). Every request carries the same X-Conversation-Id; the gateway's, the limited key issued into its keys store " +
      '(the "config key" scenarios: the limited config key).',
    '',
    '### Results',
    '',
    resultsTable(summary),
    '',
    `### Gateway / ${TARGET_LABEL[reference.hop]} (the reference), and gateway / nginx`,
    '',
    ratioTable(summary),
    '',
    '### The two hops',
    '',
    hopsTable(summary),
    '',
    '### Unused features and many keys',
    '',
    'The gateway with the keys store, the usage ledger and an `anthropic` upstream configured, serving a request of a config key (which uses none of them), ' +
      'against the gateway without them; and the gateway whose store holds 10,000 API keys against the one holding one.',
    '',
    variantsTable(summary),
    '',
    `### Time to first token (sequential streamed chats; fresh processes, mock events ${setup.ttftEventGapMs} ms apart)`,
    '',
    ttft,
    '',
  ];
  if (streams !== undefined) {
    lines.push(
      `### ${num(streams.streamsWanted)} idle streams (\`npm run bench:streams\` of ${streams.finishedAt.slice(0, 16).replace('T', ' ')} UTC, streams-latest.md)`,
      '',
      streamsSummary(streams),
      '',
    );
  }
  lines.push('### Targets (issue 26)', '', '```', ...targetChecks.map(checkLine), '```', '');
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
