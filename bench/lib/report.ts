// The machine description, number formatting, markdown tables, and writing bench/results/.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { ROOT } from './procs.js';

export const RESULTS_DIR = join(ROOT, 'bench', 'results');

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  loadAverage: number[];
  cpuTimeSource: string;
}

export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: keep os.cpus()
  }
  return {
    cpu,
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    cpuTimeSource: '/proc/PID/stat utime+stime (clock ticks), all threads',
  };
}

export function machineLine(m: Machine): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB RAM, ${m.kernel}, Node ${m.node}, load average at start ${m.loadAverage.join(' / ')}`;
}

/** Fixed decimals with thousands separators; "–" for NaN or undefined. */
export function num(value: number | undefined, decimals = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

export function ratio(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? '–' : `${value.toFixed(2)}x`;
}

/** A markdown table; columns are right-aligned except the first (and any listed in `left`). */
export function markdownTable(header: string[], rows: string[][], left: number[] = [0]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, c) => (left.includes(c) ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, c) => (left.includes(c) ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** `2025-01-31-1405`, local time. */
export function stamp(date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}-${p(date.getHours())}${p(date.getMinutes())}`;
}

/** Writes `<name>.md`/`.json` as the latest results and, when `dated`, a dated copy of the markdown. */
export function writeResults(name: string, markdown: string, json: unknown, dated?: string): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const files = [join(RESULTS_DIR, `${name}.md`), join(RESULTS_DIR, `${name}.json`)];
  writeFileSync(files[0]!, markdown);
  writeFileSync(files[1]!, `${JSON.stringify(json, null, 2)}\n`);
  if (dated !== undefined) {
    files.push(join(RESULTS_DIR, `${dated}.md`));
    writeFileSync(files[2]!, markdown);
  }
  return files.map((f) => f.slice(ROOT.length));
}

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(RESULTS_DIR, file), 'utf8')) as T;
  } catch {
    return undefined;
  }
}
