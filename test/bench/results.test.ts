// What `npm run bench` prints: a row for every scenario the speed goals name with p99 and p99.9, ratios
// against the cheaper of the two hops and against nginx when nginx ran, and a verdict for every goal. And
// the README's Performance section answers every target, met or by how much it is missed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCENARIOS, type Scenario } from '../../bench/lib/load.js';
import { checks, summarise, TARGETS_OF_RUN, type Run, type TargetName } from '../../bench/lib/results.js';
import { renderMarkdown, type Setup } from '../../bench/lib/results-markdown.js';
import type { TtftResult } from '../../bench/lib/ttft.js';

/** CPU µs per request of each target in the synthetic runs: the gateway at 1.5x the parsing hop. */
const CPU: Record<TargetName, number> = { direct: NaN, nginx: 20, 'hop-stream': 150, 'hop-parse': 120, gateway: 180, 'gateway-10k': 180, 'gateway-leased': 150, 'gateway-lean': 175 };
const RPS: Record<TargetName, number> = { direct: 40_000, nginx: 28_000, 'hop-stream': 8_000, 'hop-parse': 9_000, gateway: 8_500, 'gateway-10k': 8_500, 'gateway-leased': 9_000, 'gateway-lean': 8_600 };
const P50: Record<TargetName, number> = { direct: 1, nginx: 1.2, 'hop-stream': 2.2, 'hop-parse': 2, gateway: 2.5, 'gateway-10k': 2.5, 'gateway-leased': 2.3, 'gateway-lean': 2.4 };

function runsOf(without: TargetName[] = []): Run[] {
  return SCENARIOS.flatMap((scenario) =>
    scenario.targets
      .filter((target) => !without.includes(target))
      .map((target) => ({
        round: 1,
        scenario: scenario.id,
        target,
        load: { responses: 1_000, failures: 0, durationS: 3, rps: RPS[target], p50: P50[target], p99: P50[target] * 3, p999: P50[target] * 5, mean: P50[target], generatorCpuUs: 10 },
        cpuUsPerRequest: CPU[target],
        peakRssMiB: target === 'direct' ? NaN : 100,
        upstreamCpuUs: 20,
      })),
  );
}

const TTFT = new Map<string, TtftResult>([
  ['direct', { samples: 300, p50: 0.5, p99: 1, mean: 0.6 }],
  ['hop-parse', { samples: 300, p50: 0.8, p99: 1.5, mean: 0.9 }],
  ['gateway', { samples: 300, p50: 1.0, p99: 2, mean: 1.1 }],
]);

const SETUP: Setup = {
  machine: { cpu: 'test CPU', cores: 2, memoryGiB: 8, kernel: 'Linux', node: 'v20', loadAverage: [0, 0, 0], cpuTimeSource: '/proc/PID/stat' },
  startedAt: '2026-12-01T00:00:00.000Z',
  rounds: 1,
  durationS: 3,
  warmupS: 1,
  ttftEventGapMs: 5,
  redis: 'Redis: on',
  metrics: 'Metrics: on',
};

/** The rows of the markdown table under `heading`. */
function tableAfter(markdown: string, heading: string): string[] {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.startsWith(heading));
  const rows: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('|')) rows.push(line);
    else if (rows.length > 0) break;
  }
  return rows.slice(2);
}

const cellsOf = (row: string): string[] => row.split('|').map((c) => c.trim());
const compared = (s: Scenario): boolean => s.targets.includes('direct');

describe('the bench report', () => {
  it('runs every scenario of the goals with every feature on: plain, streamed and Responses chat at c=1 and c=50, Messages plain and streamed', () => {
    const wanted = ['chat', 'stream', 'responses'].flatMap((kind) => [1, 50].map((c) => `${kind}-c${c}`));
    expect(SCENARIOS.filter(compared).map((s) => s.id).sort()).toEqual([...wanted, 'messages-c50', 'messages-stream-c50'].sort());
    for (const s of SCENARIOS.filter(compared)) {
      expect(s).toMatchObject({ conversation: true, key: 'store' });
      expect(s.targets).toEqual(expect.arrayContaining(['direct', 'nginx', 'hop-stream', 'hop-parse', 'gateway']));
    }
  });

  it('measures the 10,000-key gateway against the one-key gateway, and the gateway with the store, ledger and Messages upstream against one without, on a config key', () => {
    expect(SCENARIOS.find((s) => s.id === 'chat-c50')?.targets).toContain('gateway-10k');
    const featuresOff = SCENARIOS.filter((s) => s.targets.includes('gateway-lean'));
    expect(featuresOff.map((s) => [s.id, s.key, [...s.targets]])).toEqual([
      ['chat-c1-config-key', 'config', ['gateway', 'gateway-lean']],
      ['chat-c50-config-key', 'config', ['gateway', 'gateway-lean']],
    ]);
  });

  it('measures the gateway with leased limits beside the exact one on plain chat at c=1 and c=50, side by side in the variants table', () => {
    expect(SCENARIOS.filter((s) => s.targets.includes('gateway-leased')).map((s) => s.id)).toEqual(['chat-c1', 'chat-c50']);
    const markdown = renderMarkdown(SETUP, summarise(runsOf(), SCENARIOS, TTFT), [], undefined);
    expect(markdown.split('\n').filter((l) => l.includes('gateway, leased limits / gateway'))).toHaveLength(2);
  });

  it('takes the cheaper hop as the reference, says so in the header, and gives p99 and p99.9 for every scenario and target', () => {
    const summary = summarise(runsOf(), SCENARIOS, TTFT);
    expect(summary.reference.hop).toBe('hop-parse');
    const markdown = renderMarkdown(SETUP, summary, checks(summary, undefined, { redis: true, metrics: true }), undefined);
    expect(markdown).toMatch(/Reference hop: \*\*hop, body parsed\*\* \(bench\/reply-from-hop\.ts\)/);
    const results = tableAfter(markdown, '### Results');
    expect(results).toHaveLength(SCENARIOS.reduce((n, s) => n + s.targets.length, 0));
    const header = cellsOf(markdown.split('\n').find((l) => l.startsWith('| scenario') && l.includes('p99.9 ms'))!);
    const [p99, p999] = [header.indexOf('p99 ms'), header.indexOf('p99.9 ms')];
    for (const row of results) {
      const cells = cellsOf(row);
      expect(cells[p99]).toMatch(/^\d/);
      expect(cells[p999]).toMatch(/^\d/);
    }
    expect(summarise(runsOf(['hop-parse']), SCENARIOS, TTFT).reference.hop).toBe('hop-stream');
  });

  it('gives a ratio row per compared scenario against the reference hop and against nginx: CPU, throughput, added p50 and p99', () => {
    const summary = summarise(runsOf(), SCENARIOS, TTFT);
    const ratios = tableAfter(renderMarkdown(SETUP, summary, [], undefined), '### Gateway / hop, body parsed (the reference)');
    expect(ratios.map((row) => cellsOf(row)[1])).toEqual(SCENARIOS.filter(compared).map((s) => s.label));
    for (const row of ratios) {
      // CPU, req/s, added p50, added p99 against the hop; the same against nginx
      expect(cellsOf(row).slice(2, 6)).toEqual(['1.50x', '0.94x', '1.50x', '1.50x']);
      expect(cellsOf(row).slice(7, 11)).toEqual(['9.00x', '0.30x', '7.50x', '7.50x']);
    }
  });

  it('leaves the nginx ratios empty when nginx is not installed', () => {
    const summary = summarise(runsOf(['nginx']), SCENARIOS, TTFT);
    const ratios = tableAfter(renderMarkdown(SETUP, summary, [], undefined), '### Gateway / hop');
    expect(ratios).toHaveLength(SCENARIOS.filter(compared).length);
    for (const row of ratios) expect(cellsOf(row)[7]).toBe('–');
  });

  it('gives every goal a verdict with the measured value', () => {
    const summary = summarise(runsOf(), SCENARIOS, TTFT);
    const lines = checks(summary, undefined, { redis: true, metrics: true });
    const verdicts = (prefix: string): [string, boolean | undefined][] => lines.filter((c) => c.target.startsWith(prefix)).map((c) => [c.measured, c.pass]);
    expect(verdicts('CPU per streamed request')).toEqual([['1.50x', false], ['1.50x', false]]);
    expect(verdicts('streamed throughput at c=50')).toEqual([['0.94x', true], ['0.94x', true]]);
    expect(verdicts('CPU per plain chat request')).toEqual([['1.50x', false]]);
    expect(verdicts('latency added at c=1 (p50)')).toHaveLength(3);
    expect(verdicts('latency added at c=1 (p99)')).toEqual([['1.50x', true], ['1.50x', true], ['1.50x', true]]);
    expect(verdicts('keys store, ledger and Messages upstream')).toEqual([['1.03x', true], ['1.04x', true]]);
    expect(verdicts('10,000 API keys')).toEqual([['1.00x', true]]);
    expect(lines.find((c) => c.target.startsWith('time to first token'))).toMatchObject({ measured: '0.200 ms', pass: true });
    expect(lines.find((c) => c.target.includes('idle streams'))?.pass).toBeUndefined();
    expect(TARGETS_OF_RUN).toMatchObject({ cpuPlain: 1.0, cpuStream: 1.2, streamRps: 0.9, addedC1P50: 1.2, addedC1P99: 1.5, streamsRssMiB: 250 });
  });
});

describe("the README's Performance section", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Performance'), readme.indexOf('\n## ', readme.indexOf('## Performance') + 1));
  const targets = [/CPU per plain chat request/, /latency added at c=1/, /streamed chat and Responses throughput/, /time to first token/, /10,000 idle streams/, /tracing off/];

  for (const target of targets) {
    it(`answers the target "${target.source}": met, or missed with the measured value`, () => {
      const row = section.split('\n').find((line) => line.startsWith('|') && target.test(line));
      expect(row).toBeDefined();
      const cells = row!.split('|').map((c) => c.trim());
      expect(cells.at(-2)).toMatch(/^(met|\*\*not met\*\*)$/);
      if (cells.at(-2) !== 'met') expect(cells.at(-3)).toMatch(/\d/);
    });
  }
});
