// What `npm run bench` prints: a row for every scenario the speed targets name, ratios against the reference
// hop and against nginx when nginx ran, and a verdict for every target. And the README's Performance
// section answers every target, met or by how much it is missed.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from '../../bench/lib/load.js';
import { checks, renderMarkdown, summarise, TARGETS_OF_RUN, type Run, type Setup, type TargetName } from '../../bench/lib/results.js';
import type { TtftResult } from '../../bench/lib/ttft.js';

/** CPU µs per request of each target in the synthetic runs: the gateway at 1.5x the hop. */
const CPU: Record<TargetName, number> = { direct: NaN, nginx: 20, hop: 120, gateway: 180 };
const RPS: Record<TargetName, number> = { direct: 40_000, nginx: 28_000, hop: 9_000, gateway: 8_500 };
const P50: Record<TargetName, number> = { direct: 1, nginx: 1.2, hop: 2, gateway: 2.5 };

function runsOf(targets: TargetName[]): Run[] {
  return SCENARIOS.flatMap((scenario) =>
    targets.map((target) => ({
      round: 1,
      scenario: scenario.id,
      target,
      load: { responses: 1_000, failures: 0, durationS: 3, rps: RPS[target], p50: P50[target], p99: P50[target] * 3, mean: P50[target], generatorCpuUs: 10 },
      cpuUsPerRequest: CPU[target],
      peakRssMiB: target === 'direct' ? NaN : 100,
      upstreamCpuUs: 20,
    })),
  );
}

const TTFT = new Map<string, TtftResult>([
  ['direct', { samples: 300, p50: 0.5, p99: 1, mean: 0.6 }],
  ['hop', { samples: 300, p50: 0.8, p99: 1.5, mean: 0.9 }],
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

describe('the bench report', () => {
  it("runs every scenario the targets name: plain, streamed and Responses chat at c=1 and c=50 with and without a conversation id, images at c=10", () => {
    const wanted = ['chat', 'stream', 'responses'].flatMap((kind) => [1, 50].flatMap((c) => [`${kind}-c${c}`, `${kind}-c${c}-conv`]));
    expect(SCENARIOS.map((s) => s.id).sort()).toEqual([...wanted, 'image-c10'].sort());
    expect(SCENARIOS.filter((s) => s.conversation).every((s) => s.label.includes('X-Conversation-Id'))).toBe(true);
  });

  it('prints a row per scenario and target, and a ratio row per scenario against the hop and against nginx', () => {
    const summary = summarise(runsOf(['direct', 'nginx', 'hop', 'gateway']), SCENARIOS, TTFT);
    const markdown = renderMarkdown(SETUP, summary, checks(summary, undefined, { redis: true, metrics: true }), undefined);
    const results = tableAfter(markdown, '### Results');
    expect(results).toHaveLength(SCENARIOS.length * 4);
    const ratios = tableAfter(markdown, '### Gateway / reference hop');
    expect(ratios.map((row) => row.split('|')[1]!.trim())).toEqual(SCENARIOS.map((s) => s.label));
    // gateway / hop CPU, then gateway / nginx CPU, in every row
    for (const row of ratios) {
      const cells = row.split('|').map((c) => c.trim());
      expect(cells[4]).toBe('1.50x');
      expect(cells[8]).toBe('9.00x');
    }
  });

  it('leaves the nginx ratios empty when nginx is not installed', () => {
    const summary = summarise(runsOf(['direct', 'hop', 'gateway']), SCENARIOS, TTFT);
    const ratios = tableAfter(renderMarkdown(SETUP, summary, [], undefined), '### Gateway / reference hop');
    expect(ratios).toHaveLength(SCENARIOS.length);
    for (const row of ratios) expect(row.split('|')[8]!.trim()).toBe('–');
  });

  it('gives every target a verdict with the measured value', () => {
    const summary = summarise(runsOf(['direct', 'hop', 'gateway']), SCENARIOS, TTFT);
    const lines = checks(summary, undefined, { redis: true, metrics: true });
    const cpu = lines.filter((c) => c.target.startsWith('CPU per plain chat request'));
    expect(cpu.map((c) => [c.measured, c.pass])).toEqual([
      ['1.50x', false],
      ['1.50x', false],
    ]);
    expect(lines.filter((c) => c.target.startsWith('latency added at c=1'))).toHaveLength(2);
    expect(lines.filter((c) => c.target.startsWith('streamed throughput'))).toHaveLength(4);
    expect(lines.find((c) => c.target.startsWith('time to first token'))).toMatchObject({ measured: '0.200 ms', pass: true });
    expect(lines.find((c) => c.target.includes('idle streams'))?.pass).toBeUndefined();
    expect(TARGETS_OF_RUN).toEqual({ cpu: 1.0, addedC1: 1.2, streamRps: 0.9, ttftOverHopMs: 0.3, streamsRssMiB: 250 });
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
