// `npm run soak` keeps working: a run of a few seconds (gateway and mock from source, with Redis) reaches
// every endpoint without a failure and reports start, peak and end figures of RSS and heap after GC. And
// the run is bounded: out-of-range settings are refused before anything starts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SoakReport } from '../../bench/soak.js';
import { SOAK_REQUESTS } from '../../bench/lib/soak-requests.js';
import { ROOT } from '../helpers/gateway.js';

const dir = mkdtempSync(join(tmpdir(), 'soak-'));

function soak(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/soak.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the soak script', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs a short soak over every endpoint and reports start, peak and end memory', async () => {
    const out = join(dir, 'report.json');
    const run = await soak(['--source', '--duration', '3', '--warmup', '1', '--idle', '1', '--concurrency', '2', '--heap-every', '1', '--sample', '0.5', '--sticky-max-entries', '50', '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as SoakReport;
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!)).toEqual(report);
    expect(report.settings).toMatchObject({ durationS: 3, concurrency: 2, redis: true, stickyMaxEntries: 50 });
    expect(Object.keys(report.requests.byEndpoint).sort()).toEqual([...SOAK_REQUESTS.map((r) => r.name), 'chat-new-conversation', 'responses-by-id'].sort());
    expect(report.requests.failed).toBe(0);
    expect(report.requests.total).toBeGreaterThan(SOAK_REQUESTS.length);
    for (const phase of [report.start, report.peak, report.end]) {
      expect(phase.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(phase.heapUsedBytes).toBeGreaterThan(1024 * 1024);
    }
    expect(report.peak.heapUsedBytes).toBeGreaterThanOrEqual(report.start.heapUsedBytes);
    expect(report.heapGrowth).toBeCloseTo(report.end.heapUsedBytes / report.start.heapUsedBytes - 1, 6);
    expect(report.heapReadings.length).toBeGreaterThanOrEqual(3);
    expect(report.samples.length).toBeGreaterThan(0);
    const ok = (name: string): number => report.requests.byEndpoint[name]!.ok;
    expect(report.cacheEntriesAdded).toEqual({ pins: ok('chat-new-conversation'), responseOwners: ok('responses') + ok('responses-stream') + ok('responses-stored') });
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.metricsSeries.end).toBeGreaterThan(0);
    expect(run.stderr).toMatch(/heap after GC: start .* MiB, peak .* MiB, end .* MiB/);
  }, 120_000);

  it('refuses settings that would not bound the run', async () => {
    const cases = [['--duration', '0'], ['--duration', '99999'], ['--concurrency', '1000'], ['--max-requests', 'lots'], ['--redis', 'maybe']];
    const runs = await Promise.all(cases.map(soak));
    runs.forEach((run, i) => {
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain(`${cases[i]![0]} must be`);
    });
  }, 120_000);
});
