// `npm run bench:store-memory`: what the embedded store (PGlite) costs the gateway's process in memory, on
// its first start (an empty `database.path`: the cluster is created) and on a restart (the cluster exists).
// Each run is a fresh `node` with `npm start`'s flags, running the compiled store (dist/) without tsx; the
// table holds the medians over runs of RSS, peak RSS and PGlite's WASM memory after each step.
//   node --import tsx bench/store-memory.ts [--runs 3] [--flags=--wasm-lazy-compilation]   (node flags after npm start's)
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ProbeStep } from './store-memory-probe.js';
import { ROOT, startScriptNodeFlags, transpileToScratch } from './lib/procs.js';
import { describeMachine, machineLine, markdownTable, num, stamp, writeResults } from './lib/report.js';
import { median } from './lib/stats.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, flags: { type: 'string', default: '' } } });
const runs = Number(args.runs);
const extraFlags = args.flags.split(' ').filter((flag) => flag !== '');
const MiB = 2 ** 20;
const SCENARIOS = ['first start (empty folder)', 'restart (cluster exists)'] as const;
type Scenario = (typeof SCENARIOS)[number];

function probe(script: string, folder: string): ProbeStep[] {
  const argv = ['--expose-gc', ...startScriptNodeFlags(), ...extraFlags, script, pathToFileURL(join(ROOT, 'dist')).href, folder];
  return JSON.parse(execFileSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8' })) as ProbeStep[];
}

/** Runs both scenarios `runs` times, each on a folder of its own: the first start creates what the restart opens. */
function measure(script: string): Map<Scenario, ProbeStep[][]> {
  const results = new Map<Scenario, ProbeStep[][]>(SCENARIOS.map((s) => [s, []]));
  for (let run = 0; run < runs; run++) {
    const folder = mkdtempSync(join(tmpdir(), 'gateway-store-memory-'));
    try {
      for (const scenario of SCENARIOS) results.get(scenario)!.push(probe(script, join(folder, 'data')));
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  }
  return results;
}

function render(results: Map<Scenario, ProbeStep[][]>): string {
  const rows: string[][] = [];
  for (const [scenario, probes] of results) {
    for (const [i, { step }] of probes[0]!.entries()) {
      const mid = (pick: (s: ProbeStep) => number | undefined): string => {
        const values = probes.map((p) => pick(p[i]!)).filter((v): v is number => v !== undefined);
        return values.length === 0 ? '–' : num(median(values) / MiB);
      };
      rows.push([scenario, step, mid((s) => s.rss), mid((s) => s.hwm), mid((s) => s.wasm)]);
    }
  }
  return markdownTable(['scenario', 'after', 'RSS MiB', 'peak RSS MiB', 'WASM memory MiB'], rows, [0, 1]);
}

const machine = describeMachine();
const script = transpileToScratch('store-memory-probe.ts');
const results = measure(script);
const table = render(results);
const command = `node --import tsx bench/store-memory.ts --runs ${runs}${extraFlags.length > 0 ? ` --flags="${extraFlags.join(' ')}"` : ''}`;
const markdown = `# Embedded store memory\n\n\`${command}\`, ${new Date().toISOString()}\n\n${machineLine(machine)}\n\nMedians of ${runs} runs.\n\n${table}\n`;
const files = writeResults('store-memory', markdown, { command, machine, runs, results: Object.fromEntries(results) }, `store-memory-${stamp()}`);
process.stdout.write(`${table}\n\nwrote ${files.join(', ')}\n`);
