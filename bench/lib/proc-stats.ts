// Readers for /proc: CPU time and memory of another process (Linux only).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/PID/stat after the ")" that closes the command name: state is [0], utime [11], stime [12]. */
function statFields(pid: number | 'self'): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time the process has used so far, all threads (ended ones included), user + system, in nanoseconds:
 * utime + stime from /proc/PID/stat, what `top`, `pidstat` and `ps` report. Clock ticks (10 ms each,
 * usually): a few seconds at load average out.
 */
export function cpuNs(pid: number): number {
  const fields = statFields(pid);
  return ((Number(fields[11]) + Number(fields[12])) * 1e9) / clockTicks();
}

/** CPU time of this process's children that have ended and been waited for (cutime + cstime), ns. */
export function childrenCpuNs(): number {
  const fields = statFields('self');
  return ((Number(fields[13]) + Number(fields[14])) * 1e9) / clockTicks();
}

export interface Memory {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size (since start, or since the last resetPeakRss), bytes. */
  hwm: number;
}

export function memory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** Resets VmHWM to the current RSS, so the next reading is the peak of what follows; false if not allowed. */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Open file descriptors of the process. */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The process's soft limit on open files. */
export function fdLimit(pid: number): number {
  const limits = readFileSync(`/proc/${pid}/limits`, 'utf8');
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft);
}
