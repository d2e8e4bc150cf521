// What `npm run bench:streams -- --heap` (or `--snapshot DIR`) reads of a gateway started with `heapProbeFlags(DIR)`: its memory
// after a forced full GC (POST /admin/heap: V8's heap, memory outside it, RSS) and a heap snapshot written on
// SIGUSR2 into DIR, to compare a gateway idle and with its streams held (Chrome DevTools' comparison view).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_ADMIN_TOKEN } from './keys-store.js';

export interface HeapReading {
  heapUsedBytes: number;
  externalBytes: number;
  arrayBuffersBytes: number;
  rssBytes: number;
  mallocedBytes: number;
}

/** The node flags that make a gateway answer POST /admin/heap and, given `dir`, write a snapshot into it on SIGUSR2. */
export function heapProbeFlags(dir: string | undefined): string[] {
  return dir === undefined ? ['--expose-gc'] : ['--expose-gc', '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`];
}

export async function readHeap(origin: string): Promise<HeapReading> {
  const res = await fetch(`${origin}/admin/heap`, { method: 'POST', headers: { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` } });
  if (res.status !== 200) throw new Error(`POST /admin/heap answered ${res.status}`);
  return (await res.json()) as HeapReading;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Asks `pid` for a heap snapshot and resolves with its path once the file stopped growing. */
export async function writeSnapshot(pid: number, dir: string): Promise<string> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let lastSize = -1; ; ) {
    await sleep(1_000);
    const made = readdirSync(dir).find((name) => name.endsWith('.heapsnapshot') && !before.has(name));
    if (made === undefined) continue;
    const size = statSync(join(dir, made)).size;
    if (size > 0 && size === lastSize) return join(dir, made);
    lastSize = size;
  }
}
