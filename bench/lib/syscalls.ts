// System calls per request of a running process, counted by `strace -c -f` (when strace is installed).
import { spawn, spawnSync } from 'node:child_process';
import { markdownTable, num } from './report.js';

export function straceInstalled(): boolean {
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

export interface SyscallCount {
  name: string;
  perRequest: number;
}

/**
 * Attaches strace to `pid` (every thread) while `load` runs, and divides its counts by the number of
 * requests `load` reports. strace slows the process down, so only the counts mean anything.
 */
export async function countSyscalls(pid: number, load: () => Promise<number>): Promise<SyscallCount[]> {
  const strace = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let report = '';
  strace.stderr.on('data', (chunk: Buffer) => (report += chunk.toString('utf8')));
  await new Promise((r) => setTimeout(r, 500)); // attached by now
  const requests = await load();
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
  const counts: SyscallCount[] = [];
  // "% time  seconds  usecs/call  calls  [errors]  syscall"
  for (const line of report.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m !== null) counts.push({ name: m[2]!, perRequest: Number(m[1]) / Math.max(1, requests) });
  }
  return counts.sort((a, b) => b.perRequest - a.perRequest);
}

export function renderSyscalls(counts: SyscallCount[]): string {
  const shown = counts.filter((c) => c.perRequest >= 0.05 || c.name === 'total');
  return markdownTable(['syscall', 'per request'], shown.map((c) => [c.name, num(c.perRequest, 2)]));
}
