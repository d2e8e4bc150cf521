// The sources of another commit, for micro-benchmarks that run it side by side with this tree.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, SCRATCH } from './procs.js';

/** The sources of `ref` extracted into the scratch directory under `prefix`; returns their src/ directory. */
export function checkout(ref: string, prefix: string): string {
  const dir = join(SCRATCH, `${prefix}-${ref.replace(/[^A-Za-z0-9]/g, '_')}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const archive = execFileSync('git', ['archive', ref, 'src'], { cwd: ROOT, maxBuffer: 1 << 28 });
  execFileSync('tar', ['-x', '-C', dir], { input: archive });
  return join(dir, 'src');
}
