// One process of `npm run bench:store-memory`: opens the embedded store in the folder it is given (empty: the
// gateway's first start; existing: a restart), migrates it, idles, and prints its memory at each step as
// one JSON line. Run by bench/store-memory.ts, transpiled (no tsx in the measured process) against dist/.
//   node --expose-gc <npm start's flags> store-memory-probe.mjs <dist URL> <folder>
import { readFileSync } from 'node:fs';

type EmbeddedEngine = typeof import('../src/store/embedded-engine.js');
type Migrations = typeof import('../src/store/migrations.js');

export interface ProbeStep {
  step: string;
  /** Resident set size, bytes. */
  rss: number;
  /** Peak resident set size of the process so far, bytes. */
  hwm: number;
  /** The size of PGlite's WebAssembly memory, bytes (it grows and never shrinks). */
  wasm: number | undefined;
}

const [distUrl, folder] = process.argv.slice(2) as [string, string];
const steps: ProbeStep[] = [];
let wasmBytes: (() => number) | undefined;

function record(step: string): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  steps.push({ step, rss: kb('VmRSS'), hwm: kb('VmHWM'), wasm: wasmBytes?.() });
}

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

record('node started');
const { openPglite, pgliteEngine } = (await import(`${distUrl}/store/embedded-engine.js`)) as EmbeddedEngine;
const { migrate } = (await import(`${distUrl}/store/migrations.js`)) as Migrations;
const db = await openPglite(folder);
wasmBytes = () => db.Module.wasmMemory.buffer.byteLength;
record('opened');
const engine = pgliteEngine(db);
await migrate(engine);
await engine.query('SELECT count(*) FROM gateway_keys');
record('migrated');
// What an idle gateway carries: no allocation, so no major GC runs to free what opening left behind.
await sleep(2_000);
record('idle 2 s');
gc();
await sleep(500);
record('after a full GC');
await engine.close();
process.stdout.write(`${JSON.stringify(steps)}\n`);
